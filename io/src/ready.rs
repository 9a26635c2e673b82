//! [`Ready`]: the readiness an I/O resource was found to have.

use std::fmt;
use std::ops;

use netpoll_runtime::io::{Direction, ReadyEvent};

const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
#[cfg(any(target_os = "linux", target_os = "android"))]
const PRIORITY: usize = 1 << 4;
const ERROR: usize = 1 << 5;

/// A set of readiness states of an I/O resource, like `tokio::io::Ready`: what a `ready()`
/// call reports. It is a hint (the next operation decides); combine and take sets apart with
/// `|`, `&` and `-`.
///
/// A closed side counts as ready: [`is_readable`](Self::is_readable) is true for
/// [`READ_CLOSED`](Self::READ_CLOSED) (a read returns end of stream at once) and
/// [`is_writable`](Self::is_writable) for [`WRITE_CLOSED`](Self::WRITE_CLOSED) (a write fails
/// at once).
///
/// ```
/// use netpoll_io::Ready;
///
/// let ready = Ready::READABLE | Ready::WRITE_CLOSED;
/// assert!(ready.is_readable() && ready.is_writable() && ready.is_write_closed());
/// assert_eq!(ready - Ready::WRITE_CLOSED, Ready::READABLE);
/// assert_eq!(ready & Ready::WRITABLE, Ready::EMPTY);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ready(usize);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);

    /// Readable.
    pub const READABLE: Ready = Ready(READABLE);

    /// Writable.
    pub const WRITABLE: Ready = Ready(WRITABLE);

    /// The read side is closed: the peer will send nothing more.
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);

    /// The write side is closed: the peer takes nothing more.
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);

    /// Priority data or event (`EPOLLPRI`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const PRIORITY: Ready = Ready(PRIORITY);

    /// An error is pending.
    pub const ERROR: Ready = Ready(ERROR);

    /// Every readiness state this platform has.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const ALL: Ready =
        Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | PRIORITY | ERROR);

    /// Every readiness state this platform has.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub const ALL: Ready = Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR);

    /// True for the empty set.
    ///
    /// ```
    /// use netpoll_io::Ready;
    ///
    /// assert!(Ready::EMPTY.is_empty());
    /// assert!(!Ready::ERROR.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if readable or read-closed.
    pub const fn is_readable(self) -> bool {
        self.0 & (READABLE | READ_CLOSED) != 0
    }

    /// True if writable or write-closed.
    pub const fn is_writable(self) -> bool {
        self.0 & (WRITABLE | WRITE_CLOSED) != 0
    }

    /// True if the read side is closed.
    pub const fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// True if the write side is closed.
    pub const fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// True if priority readiness is included.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }

    /// True if error readiness is included.
    pub const fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }
}

/// The union.
impl ops::BitOr<Ready> for Ready {
    type Output = Ready;

    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

/// The union, in place.
impl ops::BitOrAssign<Ready> for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

/// The intersection.
impl ops::BitAnd<Ready> for Ready {
    type Output = Ready;

    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

/// The difference: `self` without the states in `other`.
impl ops::Sub<Ready> for Ready {
    type Output = Ready;

    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

/// A struct of flags: `Ready { is_readable: true, is_writable: false, .. }`.
impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Ready");
        d.field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_error", &self.is_error());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        d.field("is_priority", &self.is_priority());
        d.finish()
    }
}

/// What one direction's netpoller snapshot means as `Ready` (netpoll's addition: the bridge
/// from [`Registration`](crate::Registration)'s readiness to tokio's type). A closed read side
/// is also readable: the read returns 0.
impl From<ReadyEvent> for Ready {
    fn from(event: ReadyEvent) -> Ready {
        let mut r = Ready::EMPTY;
        match event.direction() {
            Direction::Read => {
                if event.is_ready() {
                    r |= Ready::READABLE;
                }
                if event.is_closed() {
                    r |= Ready::READ_CLOSED | Ready::READABLE;
                }
            }
            Direction::Write => {
                if event.is_ready() {
                    r |= Ready::WRITABLE;
                }
                if event.is_closed() {
                    r |= Ready::WRITE_CLOSED;
                }
            }
        }
        r
    }
}
