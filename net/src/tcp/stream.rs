use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use netpoll_io::{Direction, ReadBuf, ReadyEvent};

use super::TcpSocket;
use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::addr::{each_addr, ToSocketAddrs};
use crate::poll_fd::PollFd;
use crate::split;
use crate::Interest;

/// A TCP connection, like `tokio::net::TcpStream`, with Go's deadlines.
///
/// Reads and writes are optimistic (Go's way): the syscall is tried first, and only on `EAGAIN`
/// does the task park on the netpoller. `netpoll_io::copy` between two of these uses `splice(2)`.
pub struct TcpStream {
    pub(crate) io: PollFd,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| async move {
            let s = if a.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            s.connect(a).await
        })
        .await
    }

    pub(crate) fn from_poll_fd(io: PollFd) -> TcpStream {
        TcpStream { io }
    }

    pub(crate) fn from_owned(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollFd::new(fd)?,
        })
    }

    /// Wraps a connected std stream (made non-blocking here).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_owned(OwnedFd::from(stream))
    }

    /// Deregisters and returns a std stream (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(self.io.into_fd()?))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io
            .sock()
            .peer_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io
            .sock()
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Reads some bytes; `Ok(0)` is end of stream.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.stream_recv(buf).await
    }

    /// Writes some bytes.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.stream_send(buf).await
    }

    /// Reads without consuming (MSG_PEEK).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .async_io(Direction::Read, || {
                crate::sys::recv(fd, buf, libc::MSG_PEEK)
            })
            .await
    }

    /// Polls a peek.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        let before = buf.filled().len();
        std::task::ready!(self.io.poll_recv(cx, buf, libc::MSG_PEEK))?;
        Poll::Ready(Ok(buf.filled().len() - before))
    }

    /// Reads without waiting: `WouldBlock` if nothing is there.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .try_io(Direction::Read, || crate::sys::recv(fd, buf, 0))
    }

    /// Writes without waiting: `WouldBlock` if the socket buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .try_io(Direction::Write, || crate::sys::send(fd, buf))
    }

    /// Writes several buffers without waiting.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .try_io(Direction::Write, || crate::sys::send_vectored(fd, bufs))
    }

    /// Waits until readable (or the peer closed).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(|_| ())
    }

    /// Waits until writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// Waits for any of the `interest`s; the readiness is a hint: retry the I/O call.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        crate::ready(&self.io, interest).await
    }

    /// Polls for read readiness.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(|_| ())
    }

    /// Polls for write readiness.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(|_| ())
    }

    /// Shuts down one or both directions.
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.sock().shutdown(how)
    }

    /// TCP_NODELAY.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.sock().tcp_nodelay()
    }

    /// Sets TCP_NODELAY (no Nagle delay for small writes).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_tcp_nodelay(on)
    }

    /// SO_KEEPALIVE with the given idle time before probes (`None` turns keepalive off).
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        match idle {
            Some(t) => self
                .io
                .sock()
                .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t)),
            None => self.io.sock().set_keepalive(false),
        }
    }

    /// SO_LINGER. `Some(Duration::ZERO)` makes close send an RST.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.io.sock().set_linger(dur)
    }

    /// SO_LINGER.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.sock().linger()
    }

    /// The IP TTL.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.sock().ttl_v4()
    }

    /// Sets the IP TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_ttl_v4(ttl)
    }

    /// Sets the read deadline (Go's `SetReadDeadline`): reads after it fail with `TimedOut`
    /// until it is moved or cleared. Costs no allocation per read.
    pub fn set_read_deadline(&self, at: Option<Instant>) {
        self.io.set_deadline(Direction::Read, at)
    }

    /// Sets the write deadline (Go's `SetWriteDeadline`).
    pub fn set_write_deadline(&self, at: Option<Instant>) {
        self.io.set_deadline(Direction::Write, at)
    }

    /// Sets both deadlines (Go's `SetDeadline`).
    pub fn set_deadline(&self, at: Option<Instant>) {
        self.set_read_deadline(at);
        self.set_write_deadline(at);
    }

    /// The read deadline.
    pub fn read_deadline(&self) -> Option<Instant> {
        self.io.deadline(Direction::Read)
    }

    /// The write deadline.
    pub fn write_deadline(&self) -> Option<Instant> {
        self.io.deadline(Direction::Write)
    }

    /// Borrowed halves, usable concurrently from one task (no lock: reads and writes of a
    /// socket are independent).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Owned halves, usable from different tasks; [`OwnedReadHalf::reunite`] puts them back.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    /// The readiness of one direction as the netpoller last saw it (for tests and tools).
    pub fn readiness(&self, d: Direction) -> ReadyEvent {
        self.io.registration().readiness(d)
    }
}

crate::split::stream_io_impls!(TcpStream);
crate::split::stream_io_impls!(&TcpStream);

impl crate::split::sealed::Sealed for TcpStream {}

impl crate::split::StreamOps for TcpStream {
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.io.poll_recv(cx, buf, 0)
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_send(cx, buf)
    }

    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_send_vectored(cx, bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.sock().shutdown(Shutdown::Write) {
            // Already gone: the write side is as shut as it gets.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    fn zero_copy(&self) -> (RawFd, &netpoll_io::Registration) {
        (self.io.fd(), self.io.registration())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.owned().as_fd()
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.io.fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

use crate::Ready;
