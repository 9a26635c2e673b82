//! [`Interest`]: the readiness a task wants to wait for.

use std::fmt;
use std::ops;

// One bit each; the same bits as `Ready`'s for the kinds both have.
const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
#[cfg(any(target_os = "linux", target_os = "android"))]
const PRIORITY: usize = 1 << 4;
const ERROR: usize = 1 << 5;

/// The kinds of readiness to wait for on an I/O resource, like `tokio::io::Interest`: one or
/// more of [`READABLE`](Self::READABLE), [`WRITABLE`](Self::WRITABLE),
/// [`ERROR`](Self::ERROR) and, on Linux and Android, [`PRIORITY`](Self::PRIORITY), combined
/// with `|` or [`add`](Self::add). An `Interest` is never empty.
///
/// ```
/// use netpoll_io::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::READABLE), Some(Interest::WRITABLE));
/// assert_eq!(format!("{both:?}"), "READABLE | WRITABLE");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(usize);

impl Interest {
    /// The netpoller directions (read, write) a wait for this interest watches: `ERROR` is
    /// reported on both. `PRIORITY` alone is `Unsupported` (netpoll registers no `EPOLLPRI`).
    /// Shared by `AsyncFd` and the sockets; not part of tokio's API.
    #[doc(hidden)]
    pub fn wait_directions(self) -> std::io::Result<(bool, bool)> {
        let read = self.is_readable() || self.is_error();
        let write = self.is_writable() || self.is_error();
        if !read && !write {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "netpoll waits for READABLE, WRITABLE or ERROR readiness; PRIORITY is not supported",
            ));
        }
        Ok((read, write))
    }

    /// Readable: there are bytes (or a connection, or a datagram) to read, or the read side
    /// was closed.
    pub const READABLE: Interest = Interest(READABLE);

    /// Writable: a write would make progress, or the write side was closed.
    pub const WRITABLE: Interest = Interest(WRITABLE);

    /// Error readiness: the resource has an error pending (what this reports, and whether a
    /// resource can wait for it alone, depends on the platform).
    pub const ERROR: Interest = Interest(ERROR);

    /// Priority readiness (`EPOLLPRI`): out-of-band data on a socket, a state change of a
    /// pseudo-terminal or of a file in `/proc` or `sysfs`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const PRIORITY: Interest = Interest(PRIORITY);

    /// True if readable interest is included.
    ///
    /// ```
    /// use netpoll_io::Interest;
    ///
    /// assert!(Interest::READABLE.is_readable());
    /// assert!(!Interest::WRITABLE.is_readable());
    /// ```
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// True if writable interest is included.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// True if error interest is included.
    pub const fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }

    /// True if priority interest is included.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }

    /// Both interests together; the same as `self | other`, and usable in a `const`.
    ///
    /// ```
    /// use netpoll_io::Interest;
    ///
    /// const RW: Interest = Interest::READABLE.add(Interest::WRITABLE);
    /// assert!(RW.is_readable() && RW.is_writable());
    /// ```
    #[must_use = "this returns the combined interest and leaves `self` as it was"]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// `self` without the kinds in `other` (kinds of `other` that `self` lacks are ignored);
    /// `None` if nothing would be left.
    ///
    /// ```
    /// use netpoll_io::Interest;
    ///
    /// let rw = Interest::READABLE | Interest::WRITABLE;
    /// assert_eq!(rw.remove(Interest::ERROR), Some(rw));
    /// assert_eq!(rw.remove(rw), None);
    /// ```
    #[must_use = "this returns the remaining interest and leaves `self` as it was"]
    pub fn remove(self, other: Interest) -> Option<Interest> {
        match self.0 & !other.0 {
            0 => None,
            rest => Some(Interest(rest)),
        }
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

/// The kinds it includes, joined by ` | `: `READABLE | WRITABLE`.
impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            (self.is_priority(), "PRIORITY"),
            (self.is_error(), "ERROR"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}
