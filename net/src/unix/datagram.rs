use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use netpoll_io::Direction;

use super::to_unix_addr;
use crate::poll_fd::PollFd;

/// A Unix-domain datagram socket, like `tokio::net::UnixDatagram`.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = netpoll_net::UnixDatagram::pair()?;
/// a.send(b"dgram").await?;
/// let mut buf = [0u8; 8];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"dgram");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UnixDatagram {
    io: PollFd,
}

impl UnixDatagram {
    /// Binds to `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::DGRAM)?;
        s.bind(&socket2::SockAddr::unix(path)?)?;
        Ok(UnixDatagram {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    /// An unbound socket.
    pub fn unbound() -> io::Result<UnixDatagram> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::DGRAM)?;
        Ok(UnixDatagram {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    /// A connected pair.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket.
    pub fn from_std(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        s.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    /// Sets the default peer.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.sock().connect(&socket2::SockAddr::unix(path)?)
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .async_io(Direction::Write, || crate::sys::send(fd, buf))
            .await
    }

    /// Receives from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .async_io(Direction::Read, || crate::sys::recv(fd, buf, 0))
            .await
    }

    /// Sends to `path`.
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let to = socket2::SockAddr::unix(path)?;
        let sock = self.io.sock();
        self.io
            .async_io(Direction::Write, || sock.send_to(buf, &to))
            .await
    }

    /// Receives one datagram and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let sock = self.io.sock();
        // SAFETY: recv_from only writes initialised bytes; `u8` and `MaybeUninit<u8>` share a
        // layout.
        let ubuf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        let (n, a) = self
            .io
            .async_io(Direction::Read, || sock.recv_from(ubuf))
            .await?;
        Ok((n, to_unix_addr(a)?))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_unix_addr(self.io.sock().local_addr()?)
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.io.fd())
            .finish()
    }
}
