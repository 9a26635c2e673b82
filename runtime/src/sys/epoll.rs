//! Linux backend: one epoll instance, every fd added once with
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET` (Go's `netpollopen`), and an eventfd for wake-ups
//! (Go's `netpollBreak`). Edge-triggered only, which is also all that Miri's epoll supports.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The token the eventfd is registered with; `select` swallows its events.
const WAKE_TOKEN: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct Selector {
    ep: OwnedFd,
    wake_fd: OwnedFd,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        let ep = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        // SAFETY: `ep` was just returned by epoll_create1 and is owned by nobody else.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        let efd = syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))?;
        // SAFETY: `efd` was just returned by eventfd and is owned by nobody else.
        let wake_fd = unsafe { OwnedFd::from_raw_fd(efd) };
        let sel = Selector { ep, wake_fd };
        sel.ctl(
            libc::EPOLL_CTL_ADD,
            sel.wake_fd.as_raw_fd(),
            WAKE_TOKEN,
            libc::EPOLLIN | libc::EPOLLET,
        )?;
        Ok(sel)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, flags: libc::c_int) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: flags as u32,
            u64: token,
        };
        syscall!(epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev))?;
        Ok(())
    }

    /// Adds `fd` for both directions, edge-triggered. Called once per fd.
    pub(crate) fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, flags)
    }

    /// Removes `fd`; called before the fd is closed.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits for events; `None` blocks until one arrives or `wake` is called.
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms = match timeout {
            None => -1,
            // Round up so a wait never ends before the timer it waits for.
            Some(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int,
        };
        events.list.clear();
        let cap = events
            .list
            .capacity()
            .min(events.limit)
            .min(i32::MAX as usize) as libc::c_int;
        let n = match syscall!(epoll_wait(
            self.ep.as_raw_fd(),
            events.list.as_mut_ptr(),
            cap,
            timeout_ms
        )) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: epoll_wait initialised the first `n` entries, and `n <= capacity`.
        unsafe { events.list.set_len(n) };
        if events.list.iter().any(|e| e.u64 == WAKE_TOKEN) {
            self.drain_wake();
            events.list.retain(|e| e.u64 != WAKE_TOKEN);
        }
        Ok(())
    }

    /// Interrupts a concurrent or the next `select`.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        match syscall!(write(
            self.wake_fd.as_raw_fd(),
            (&one as *const u64).cast(),
            8
        )) {
            // The counter is saturated: a wake-up is pending anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    fn drain_wake(&self) {
        let mut buf = 0u64;
        // Non-blocking read resets the counter; EAGAIN just means another select drained it.
        let _ = syscall!(read(
            self.wake_fd.as_raw_fd(),
            (&mut buf as *mut u64).cast(),
            8
        ));
    }
}

/// A batch of readiness events filled by [`Selector::select`].
pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
    /// At most this many events per `select` (at least 1, at most the capacity).
    limit: usize,
}

impl Events {
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

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().map(|e| Event {
            flags: e.events,
            token: e.u64,
        })
    }
}

/// One fd's readiness as the kernel reported it. Readiness is a hint: the I/O call decides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    flags: u32,
    token: u64,
}

impl Event {
    /// A readable event for `token`, for tests of the layers above.
    #[cfg(all(test, loom))]
    pub(crate) fn test_readable(token: u64) -> Event {
        Event {
            flags: libc::EPOLLIN as u32,
            token,
        }
    }

    pub(crate) fn token(&self) -> u64 {
        self.token
    }
    pub(crate) fn is_readable(&self) -> bool {
        self.flags & (libc::EPOLLIN | libc::EPOLLPRI) as u32 != 0
    }
    pub(crate) fn is_writable(&self) -> bool {
        self.flags & libc::EPOLLOUT as u32 != 0
    }
    pub(crate) fn is_read_closed(&self) -> bool {
        self.flags & (libc::EPOLLHUP | libc::EPOLLRDHUP) as u32 != 0
    }
    pub(crate) fn is_write_closed(&self) -> bool {
        self.flags & libc::EPOLLHUP as u32 != 0
    }
    pub(crate) fn is_error(&self) -> bool {
        self.flags & libc::EPOLLERR as u32 != 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The selector on its own (these also run under Miri, whose epoll is edge-triggered only).
    use super::*;
    use std::os::unix::net::UnixStream;

    use crate::sys::test_fds::{raw_write, set_nonblocking};

    #[test]
    fn readiness_of_a_socketpair_is_reported_once_per_edge() {
        let sel = Selector::new().unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        set_nonblocking(&a);
        sel.register(a.as_raw_fd(), 42).unwrap();
        let mut events = Events::with_capacity(8);
        // The initial edge: writable.
        sel.select(&mut events, Some(Duration::ZERO)).unwrap();
        let ev: Vec<_> = events.iter().collect();
        assert!(
            ev.iter().any(|e| e.token() == 42 && e.is_writable()),
            "{ev:?}"
        );
        // Nothing new: no event (edge-triggered).
        sel.select(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().count(), 0);
        // Data arrives: one readable edge.
        raw_write(&b, b"x").unwrap();
        sel.select(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let ev: Vec<_> = events.iter().collect();
        assert!(
            ev.iter().any(|e| e.token() == 42 && e.is_readable()),
            "{ev:?}"
        );
        // The peer hangs up: read-closed.
        drop(b);
        sel.select(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == 42 && e.is_read_closed()));
        sel.deregister(a.as_raw_fd()).unwrap();
    }

    #[test]
    fn wake_interrupts_a_blocking_select_and_is_swallowed() {
        let sel = std::sync::Arc::new(Selector::new().unwrap());
        let s2 = sel.clone();
        let t = std::thread::spawn(move || {
            let mut events = Events::with_capacity(8);
            s2.select(&mut events, None).unwrap();
            events.iter().count()
        });
        std::thread::sleep(Duration::from_millis(10));
        sel.wake().unwrap();
        assert_eq!(
            t.join().unwrap(),
            0,
            "the wake-up event must not reach the caller"
        );
        // A wake before the select is not lost either.
        sel.wake().unwrap();
        let mut events = Events::with_capacity(8);
        sel.select(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
    }
}
