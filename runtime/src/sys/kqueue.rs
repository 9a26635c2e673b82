//! macOS/FreeBSD backend: one kqueue. Every fd is registered once, at `register`, for both
//! `EVFILT_READ` and `EVFILT_WRITE` with `EV_ADD | EV_CLEAR` (edge-triggered, like Go's
//! `netpollopen`), its token carried in `udata`. Wake-ups use an `EVFILT_USER` event reserved at
//! `new()` and fired with `NOTE_TRIGGER` (Go's `netpollBreak`); `select` swallows it.
//!
//! Unlike epoll, kqueue reports each filter as an event of its own, so one fd may show up twice
//! in a batch (once readable, once writable) with the same token.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::time::Duration;

/// The token the wake-up event is registered with; no fd may use it. `select` recognises the
/// wake-up by its filter, so the token only has to stay out of the fds' way.
const WAKE_TOKEN: u64 = u64::MAX;

/// The ident of the `EVFILT_USER` wake-up event. User events have an ident space of their own,
/// so this cannot clash with an fd.
const WAKE_IDENT: usize = 0;

/// The most changes one `apply` call submits (`register`/`deregister` use two: read and write).
const MAX_CHANGES: usize = 2;

/// Builds one change-list entry; `udata` carries `token`.
fn change(ident: usize, filter: i16, flags: u16, fflags: u32, token: u64) -> libc::kevent {
    // SAFETY: `kevent` holds only integers, a raw pointer and (on FreeBSD) an integer array,
    // all of which are valid when zeroed; this also leaves FreeBSD's `ext` cleared.
    let mut ev: libc::kevent = unsafe { mem::zeroed() };
    ev.ident = ident as _;
    ev.filter = filter as _;
    ev.flags = flags as _;
    ev.fflags = fflags as _;
    ev.udata = token as usize as *mut libc::c_void;
    ev
}

/// Converts a wait into a `timespec`, saturating seconds that `time_t` cannot hold.
fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// The kqueue instance the netpoller waits on.
#[derive(Debug)]
pub(crate) struct Selector {
    /// The kqueue descriptor, close-on-exec.
    kq: OwnedFd,
}

impl Selector {
    /// Creates the kqueue and reserves the `EVFILT_USER` event that `wake` fires.
    pub(crate) fn new() -> io::Result<Selector> {
        let kq = syscall!(kqueue())?;
        // SAFETY: `kq` was just returned by kqueue and is owned by nobody else.
        let kq = unsafe { OwnedFd::from_raw_fd(kq) };
        // kqueue() takes no flags, so close-on-exec is set afterwards.
        syscall!(fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC))?;
        let sel = Selector { kq };
        let flags = libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT;
        sel.apply(
            &[change(WAKE_IDENT, libc::EVFILT_USER, flags, 0, WAKE_TOKEN)],
            |_| false,
        )?;
        Ok(sel)
    }

    /// Submits `changes` (each carrying `EV_RECEIPT`) without waiting and returns the first
    /// per-change error that `benign` does not excuse.
    ///
    /// Because every change asks for a receipt and the event list holds exactly one receipt per
    /// change, the kernel returns straight after the change list: this never blocks and never
    /// consumes readiness events meant for `select`.
    fn apply(
        &self,
        changes: &[libc::kevent],
        benign: impl Fn(&libc::kevent) -> bool,
    ) -> io::Result<()> {
        assert!(
            changes.len() <= MAX_CHANGES,
            "too many kqueue changes at once"
        );
        // SAFETY: an all-zero `kevent` is valid (see `change`); zeroed receipts read as success,
        // so entries the kernel did not write are never mistaken for errors.
        let mut receipts: [libc::kevent; MAX_CHANGES] = unsafe { mem::zeroed() };
        let n = changes.len() as libc::c_int;
        let zero = timespec(Duration::ZERO);
        let res = syscall!(kevent(
            self.kq.as_raw_fd(),
            changes.as_ptr(),
            n,
            receipts.as_mut_ptr(),
            n,
            &zero,
        ));
        match res {
            Ok(_) => {}
            // kevent(2): when the call fails with EINTR the change list has still been applied.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for r in &receipts[..changes.len()] {
            if r.flags & libc::EV_ERROR != 0 && r.data != 0 && !benign(r) {
                return Err(io::Error::from_raw_os_error(r.data as i32));
            }
        }
        Ok(())
    }

    /// Adds `fd` for both directions, edge-triggered. Called once per fd.
    pub(crate) fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let flags = libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT;
        let changes = [
            change(fd as usize, libc::EVFILT_READ, flags, 0, token),
            change(fd as usize, libc::EVFILT_WRITE, flags, 0, token),
        ];
        // Older macOS answers EPIPE for the write filter of a pipe whose reader is already gone
        // (mio sees the same); the next write reports the broken pipe, so it is not an error here.
        self.apply(&changes, |r| {
            r.filter == libc::EVFILT_WRITE && r.data == libc::EPIPE as _
        })
    }

    /// Removes `fd`; called before the fd is closed. A filter that is not registered (ENOENT,
    /// e.g. the write filter `register` let pass with EPIPE) is not an error.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let flags = libc::EV_DELETE | libc::EV_RECEIPT;
        let changes = [
            change(fd as usize, libc::EVFILT_READ, flags, 0, 0),
            change(fd as usize, libc::EVFILT_WRITE, flags, 0, 0),
        ];
        self.apply(&changes, |r| r.data == libc::ENOENT as _)
    }

    /// Waits for events; `None` blocks until one arrives or `wake` is called.
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        // kqueue takes nanoseconds, so unlike epoll's milliseconds no rounding is needed.
        let ts = timeout.map(timespec);
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |t| t as *const libc::timespec);
        events.list.clear();
        let cap = events
            .list
            .capacity()
            .min(events.limit)
            .min(libc::c_int::MAX as usize) as libc::c_int;
        let res = syscall!(kevent(
            self.kq.as_raw_fd(),
            ptr::null(),
            0,
            events.list.as_mut_ptr(),
            cap,
            ts_ptr,
        ));
        let n = match res {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: kevent initialised the first `n` entries, and `n <= cap <= capacity`.
        unsafe { events.list.set_len(n) };
        // EV_CLEAR re-arms the wake-up as it is delivered, so dropping it is all that is needed.
        events.list.retain(|e| e.filter != libc::EVFILT_USER);
        Ok(())
    }

    /// Interrupts a concurrent or the next `select`. Wake-ups coalesce until delivered.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let flags = libc::EV_RECEIPT;
        let trigger = change(
            WAKE_IDENT,
            libc::EVFILT_USER,
            flags,
            libc::NOTE_TRIGGER,
            WAKE_TOKEN,
        );
        self.apply(&[trigger], |_| false)
    }
}

/// A batch of readiness events filled by [`Selector::select`].
pub(crate) struct Events {
    /// Raw kernel events; `udata` holds tokens, never real pointers.
    list: Vec<libc::kevent>,
    /// At most this many events per `select` (at least 1, at most the capacity).
    limit: usize,
}

// SAFETY: the only pointer in a `kevent` is `udata`, which this backend uses as an integer token
// and never dereferences, so moving the buffer to another thread is as safe as moving integers.
unsafe impl Send for Events {}
// SAFETY: as for `Send`; shared access only copies the integer fields out.
unsafe impl Sync for Events {}

impl Events {
    /// A buffer for up to `n` kernel events (at least one). Each counts one filter, not one fd.
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events {
            list: Vec::with_capacity(n.max(1)),
            limit: n.max(1),
        }
    }

    /// Makes the next `select`s return at most `n` events (at least 1, at most the capacity
    /// given to `with_capacity`); the rest stay queued in the kernel for the next one.
    pub(crate) fn set_limit(&mut self, n: usize) {
        self.limit = n.max(1);
    }

    /// The events of the last `select`, wake-ups already removed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().map(|e| Event {
            filter: e.filter as _,
            flags: e.flags as _,
            fflags: e.fflags as _,
            token: e.udata as usize as u64,
        })
    }
}

/// One filter's readiness for one fd as the kernel reported it. Readiness is a hint: the I/O
/// call decides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    /// `EVFILT_READ` or `EVFILT_WRITE`.
    filter: i16,
    /// `EV_*` flags, e.g. `EV_EOF` and `EV_ERROR`.
    flags: u16,
    /// Filter-specific flags; with `EV_EOF` on a socket, its pending error, if any.
    fflags: u32,
    /// The token given to `register`.
    token: u64,
}

impl Event {
    /// A readable event for `token`, for tests of the layers above.
    #[cfg(all(test, loom))]
    pub(crate) fn test_readable(token: u64) -> Event {
        Event {
            filter: libc::EVFILT_READ as _,
            flags: 0,
            fflags: 0,
            token,
        }
    }

    /// The token the fd was registered with.
    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    /// The read filter fired: data, a connection to accept, or EOF is there.
    pub(crate) fn is_readable(&self) -> bool {
        self.filter == libc::EVFILT_READ
    }

    /// The write filter fired: buffer space is there, or the write side is shut.
    pub(crate) fn is_writable(&self) -> bool {
        self.filter == libc::EVFILT_WRITE
    }

    /// The peer has shut its write side: reads will see EOF.
    pub(crate) fn is_read_closed(&self) -> bool {
        self.filter == libc::EVFILT_READ && self.flags & libc::EV_EOF != 0
    }

    /// Our write side can no longer send (peer gone or shut down).
    pub(crate) fn is_write_closed(&self) -> bool {
        self.filter == libc::EVFILT_WRITE && self.flags & libc::EV_EOF != 0
    }

    /// The kernel reported an error, or EOF together with a socket error in `fflags`.
    pub(crate) fn is_error(&self) -> bool {
        self.flags & libc::EV_ERROR != 0 || (self.flags & libc::EV_EOF != 0 && self.fflags != 0)
    }
}
