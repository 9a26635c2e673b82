//! An fd owned together with its netpoller registration and its deadlines: what every socket
//! type is made of. Field order matters: the registration drops (deregisters) before the fd
//! closes.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use netpoll_io::{Direction, ReadBuf, Registration};
use netpoll_runtime::time::{sleep_until, Sleep};
use parking::Mutex;

/// A tiny mutex for the deadline state (rarely contended; std's is fine).
mod parking {
    pub(crate) type Mutex<T> = std::sync::Mutex<T>;
}

pub(crate) struct PollFd {
    reg: Registration,
    fd: OwnedFd,
    /// Allocated on the first `set_*_deadline`; sockets that never use deadlines pay one word.
    deadlines: OnceLock<Box<Deadlines>>,
}

#[derive(Default)]
struct Deadlines {
    any: [AtomicBool; 2],
    dir: [Mutex<DirDeadline>; 2],
}

#[derive(Default)]
struct DirDeadline {
    at: Option<Instant>,
    /// One timer per direction, reset when the deadline moves: no allocation per operation.
    timer: Option<Sleep>,
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::Read => 0,
        Direction::Write => 1,
    }
}

fn timed_out(d: Direction) -> io::Error {
    let what = match d {
        Direction::Read => "read",
        Direction::Write => "write",
    };
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} deadline exceeded"))
}

impl PollFd {
    /// Registers `fd` (already non-blocking) with the current runtime's netpoller.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<PollFd> {
        let reg = Registration::new(fd.as_raw_fd())?;
        Ok(PollFd {
            reg,
            fd,
            deadlines: OnceLock::new(),
        })
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn owned(&self) -> &OwnedFd {
        &self.fd
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Deregisters and returns the fd (for `into_std`).
    pub(crate) fn into_fd(self) -> io::Result<OwnedFd> {
        let PollFd { reg, fd, .. } = self;
        reg.deregister()?;
        Ok(fd)
    }

    /// Sets (or clears) the deadline of one direction, Go's `SetReadDeadline`. Operations past it
    /// fail with `TimedOut`; moving it makes the socket usable again.
    pub(crate) fn set_deadline(&self, d: Direction, at: Option<Instant>) {
        let dl = self.deadlines.get_or_init(Box::default);
        let mut g = dl.dir[idx(d)].lock().unwrap_or_else(|e| e.into_inner());
        g.at = at;
        match (at, &mut g.timer) {
            (Some(at), Some(t)) => std::pin::Pin::new(t).reset(at),
            (Some(at), None) => g.timer = Some(sleep_until(at)),
            (None, _) => g.timer = None,
        }
        dl.any[idx(d)].store(at.is_some(), Release);
        drop(g);
        // Wake parked operations so they re-check against the new deadline.
        self.reg.wake_waiters(d);
    }

    pub(crate) fn deadline(&self, d: Direction) -> Option<Instant> {
        let dl = self.deadlines.get()?;
        dl.dir[idx(d)].lock().unwrap_or_else(|e| e.into_inner()).at
    }

    /// `Some(Err(TimedOut))` if the deadline passed; else arms its timer with `cx` when `arm`.
    fn check_deadline(&self, d: Direction, cx: Option<&mut Context<'_>>) -> Option<io::Error> {
        let dl = self.deadlines.get()?;
        if !dl.any[idx(d)].load(Acquire) {
            return None;
        }
        let mut g = dl.dir[idx(d)].lock().unwrap_or_else(|e| e.into_inner());
        let at = g.at?;
        if Instant::now() >= at {
            return Some(timed_out(d));
        }
        if let (Some(cx), Some(t)) = (cx, g.timer.as_mut()) {
            if std::pin::Pin::new(t).poll(cx).is_ready() {
                return Some(timed_out(d));
            }
        }
        None
    }

    /// Runs the non-blocking `f` until it does not say `WouldBlock`, parking on `d`'s readiness
    /// (and on the deadline's timer, if one is set).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        d: Direction,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if let Some(e) = self.check_deadline(d, None) {
            return Poll::Ready(Err(e));
        }
        match self.reg.poll_io(cx, d, f) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => match self.check_deadline(d, Some(cx)) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }

    /// Waits for readiness of `d` (honouring the deadline).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        d: Direction,
    ) -> Poll<io::Result<netpoll_io::ReadyEvent>> {
        if let Some(e) = self.check_deadline(d, None) {
            return Poll::Ready(Err(e));
        }
        match self.reg.poll_ready(d, cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => match self.check_deadline(d, Some(cx)) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }

    pub(crate) fn try_io<R>(
        &self,
        d: Direction,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        if let Some(e) = self.check_deadline(d, None) {
            return Err(e);
        }
        self.reg.try_io(d, f)
    }

    pub(crate) async fn async_io<R>(
        &self,
        d: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, d, &mut f)).await
    }

    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        flags: libc::c_int,
    ) -> Poll<io::Result<()>> {
        let fd = self.fd();
        // SAFETY: recv only writes initialised bytes into the buffer, and we mark exactly the
        // `n` bytes it wrote as initialised and filled.
        let dst = unsafe { buf.unfilled_mut() };
        let n = std::task::ready!(
            self.poll_io(cx, Direction::Read, || crate::sys::recv_uninit(
                fd, dst, flags
            ))
        )?;
        // SAFETY: the kernel wrote `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.fd();
        self.poll_io(cx, Direction::Write, || crate::sys::send(fd, buf))
    }

    pub(crate) fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd();
        self.poll_io(cx, Direction::Write, || crate::sys::send_vectored(fd, bufs))
    }

    pub(crate) fn sock(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(&self.fd)
    }
}

impl std::fmt::Debug for PollFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollFd").field("fd", &self.fd()).finish()
    }
}

use std::future::Future;
