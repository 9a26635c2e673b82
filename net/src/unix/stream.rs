use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Instant;

use netpoll_io::{Direction, ReadBuf};

use super::{to_unix_addr, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::poll_fd::PollFd;
use crate::{Interest, Ready};

/// A Unix-domain stream socket, like `tokio::net::UnixStream`. `netpoll_io::copy` between two
/// stream sockets (Unix or TCP) uses `splice(2)`.
///
/// ```
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = netpoll_net::UnixStream::pair()?;
/// a.write_all(b"over the pair").await?;
/// let mut buf = [0u8; 13];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"over the pair");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UnixStream {
    io: PollFd,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::STREAM)?;
        match s.connect(&socket2::SockAddr::unix(path)?) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let io = PollFd::new(OwnedFd::from(s))?;
        std::future::poll_fn(|cx| io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = io.sock().take_error()? {
            return Err(e);
        }
        Ok(UnixStream { io })
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a std stream (made non-blocking here).
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Ok(UnixStream {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    pub(crate) fn from_owned(fd: OwnedFd) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollFd::new(fd)?,
        })
    }

    /// Deregisters and returns a std stream.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(std::os::unix::net::UnixStream::from(self.io.into_fd()?))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_unix_addr(self.io.sock().local_addr()?)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        to_unix_addr(self.io.sock().peer_addr()?)
    }

    /// Reads some bytes; `Ok(0)` is end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.stream_recv(buf).await
    }

    /// Writes some bytes.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.stream_send(buf).await
    }

    /// Reads without waiting.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .try_io(Direction::Read, || crate::sys::recv(fd, buf, 0))
    }

    /// Writes without waiting.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .try_io(Direction::Write, || crate::sys::send(fd, buf))
    }

    /// Waits for readiness.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        crate::ready(&self.io, interest).await
    }

    /// Waits until readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(|_| ())
    }

    /// Waits until writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// Shuts down one or both directions.
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.sock().shutdown(how)
    }

    /// Sets the read deadline (see `TcpStream::set_read_deadline`).
    pub fn set_read_deadline(&self, at: Option<Instant>) {
        self.io.set_deadline(Direction::Read, at)
    }

    /// Sets the write deadline.
    pub fn set_write_deadline(&self, at: Option<Instant>) {
        self.io.set_deadline(Direction::Write, at)
    }

    /// Borrowed halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        crate::split::split(self)
    }

    /// Owned halves.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        crate::split::into_split(self)
    }
}

crate::split::stream_io_impls!(UnixStream);
crate::split::stream_io_impls!(&UnixStream);

impl crate::split::sealed::Sealed for UnixStream {}

impl crate::split::StreamOps for UnixStream {
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
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }
    fn zero_copy(&self) -> (RawFd, &netpoll_io::Registration) {
        (self.io.fd(), self.io.registration())
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.owned().as_fd()
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.io.fd())
            .finish()
    }
}

/// A Unix-domain listening socket, like `tokio::net::UnixListener`.
pub struct UnixListener {
    io: PollFd,
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens. Must be called inside a runtime.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::STREAM)?;
        s.bind(&socket2::SockAddr::unix(path)?)?;
        s.listen(1024)?;
        Ok(UnixListener {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    /// Wraps a std listener.
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollFd::new(OwnedFd::from(l))?,
        })
    }

    /// Deregisters and returns a std listener.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(std::os::unix::net::UnixListener::from(self.io.into_fd()?))
    }

    /// Accepts a connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let fd = self.io.fd();
        let (s, addr) = std::task::ready!(self
            .io
            .poll_io(cx, Direction::Read, || crate::sys::accept(fd)))?;
        Poll::Ready(UnixStream::from_owned(s).and_then(|s| Ok((s, to_unix_addr(addr)?))))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_unix_addr(self.io.sock().local_addr()?)
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.io.fd())
            .finish()
    }
}
