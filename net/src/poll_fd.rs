//! An fd owned together with its netpoller registration: what every socket type is made of.
//! Field order matters: the registration drops (deregisters) before the fd closes. Deadlines
//! live in the registration (Go keeps them in the pollDesc), so every wait honours them,
//! including the zero-copy paths of `copy`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Instant;

use netpoll_io::{Direction, ReadBuf, Registration};

pub(crate) struct PollFd {
    reg: Registration,
    fd: OwnedFd,
}

impl PollFd {
    /// Registers `fd` (already non-blocking) with the current runtime's netpoller.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<PollFd> {
        let reg = Registration::new(fd.as_raw_fd())?;
        Ok(PollFd { reg, fd })
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
        let PollFd { reg, fd } = self;
        reg.deregister()?;
        Ok(fd)
    }

    /// Sets (or clears) the deadline of one direction (see `Registration::set_deadline`).
    pub(crate) fn set_deadline(&self, d: Direction, at: Option<Instant>) {
        self.reg.set_deadline(d, at)
    }

    pub(crate) fn deadline(&self, d: Direction) -> Option<Instant> {
        self.reg.deadline(d)
    }

    /// Runs the non-blocking `f` until it does not say `WouldBlock`, parking on `d`'s readiness
    /// (and on the deadline, if one is set).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        d: Direction,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg.poll_io(cx, d, f)
    }

    /// Waits for readiness of `d` (honouring the deadline).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        d: Direction,
    ) -> Poll<io::Result<netpoll_io::ReadyEvent>> {
        self.reg.poll_ready(d, cx)
    }

    pub(crate) fn try_io<R>(
        &self,
        d: Direction,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.reg.try_io(d, f)
    }

    pub(crate) async fn async_io<R>(
        &self,
        d: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, d, &mut f)).await
    }

    /// `recv` into `buf` on a byte stream, waiting for readiness: a short read clears read
    /// readiness (see `Registration::poll_io_stream`). Not for datagram sockets.
    pub(crate) async fn stream_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd();
        let want = buf.len();
        std::future::poll_fn(|cx| {
            self.reg
                .poll_io_stream(cx, Direction::Read, want, || crate::sys::recv(fd, buf, 0))
        })
        .await
    }

    /// `send` of `buf` on a byte stream, waiting for readiness: a short write clears write
    /// readiness. Not for datagram sockets.
    pub(crate) async fn stream_send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.fd();
        std::future::poll_fn(|cx| {
            self.reg
                .poll_io_stream(cx, Direction::Write, buf.len(), || {
                    crate::sys::send(fd, buf)
                })
        })
        .await
    }

    /// `recv` on a byte stream (TCP, Unix stream): a short read clears read readiness (see
    /// `Registration::poll_io_stream`). Not for datagram sockets.
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
        let want = dst.len();
        let n = if flags == 0 {
            // Only stream sockets come here with no flags: a short read means drained.
            std::task::ready!(self.reg.poll_io_stream(cx, Direction::Read, want, || {
                crate::sys::recv_uninit(fd, dst, flags)
            }))?
        } else {
            std::task::ready!(
                self.poll_io(cx, Direction::Read, || crate::sys::recv_uninit(
                    fd, dst, flags
                ))
            )?
        };
        // SAFETY: the kernel wrote `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// `send` on a byte stream: a short write clears write readiness. Not for datagrams.
    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.fd();
        self.reg
            .poll_io_stream(cx, Direction::Write, buf.len(), || {
                crate::sys::send(fd, buf)
            })
    }

    pub(crate) fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd();
        let want = bufs.iter().map(|b| b.len()).sum();
        self.reg.poll_io_stream(cx, Direction::Write, want, || {
            crate::sys::send_vectored(fd, bufs)
        })
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
