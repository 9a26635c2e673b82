use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::task::{Context, Poll};

use super::SocketAddr;
use crate::poll_evented::PollEvented;

/// A Unix-domain datagram socket, like `tokio::net::UnixDatagram`. The methods shared with
/// `UdpSocket` are written once, in `PollEvented`.
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
    io: PollEvented,
}

crate::methods::datagram_methods!(
    UnixDatagram,
    std::os::unix::net::UnixDatagram,
    SocketAddr,
    SocketAddr::from_sock
);

impl UnixDatagram {
    fn new() -> io::Result<UnixDatagram> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::DGRAM)?;
        Ok(UnixDatagram {
            io: PollEvented::new(OwnedFd::from(s))?,
        })
    }

    /// A socket bound to `path` (which must not exist). Must be called inside a runtime.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let s = UnixDatagram::new()?;
        s.io.sock().bind(&socket2::SockAddr::unix(path)?)?;
        Ok(s)
    }

    /// A socket bound to no address: it can send, and receive replies only if connected.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new()
    }

    /// A connected pair of sockets (`socketpair`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Sets the default peer for `send`/`recv`, and receives only from it.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.sock().connect(&socket2::SockAddr::unix(path)?)
    }

    /// Sends one datagram to the socket at `target`, waiting for room.
    ///
    /// # Cancel safety
    /// Cancel safe: if cancelled, nothing was sent.
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        self.io
            .send_to(buf, &socket2::SockAddr::unix(target)?)
            .await
    }

    /// Polls sending one datagram to `target`.
    pub fn poll_send_to<P: AsRef<Path>>(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: P,
    ) -> Poll<io::Result<usize>> {
        let to = socket2::SockAddr::unix(target)?;
        self.io.poll_send_to(cx, buf, &to)
    }

    /// Sends one datagram to `target` without waiting; `WouldBlock` clears send readiness.
    pub fn try_send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        self.io.try_send_to(buf, &socket2::SockAddr::unix(target)?)
    }

    /// Shuts down reading, writing or both (`shutdown(2)`).
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.sock().shutdown(how)
    }
}
