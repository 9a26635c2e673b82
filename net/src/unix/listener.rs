use std::io;
use std::path::Path;
use std::task::{Context, Poll};

use super::{SocketAddr, UnixStream};
use crate::accept::Acceptor;
use crate::poll_evented::PollEvented;

/// A Unix-domain listening socket, like `tokio::net::UnixListener`. Its accept loop survives
/// fd exhaustion the same way [`TcpListener`](crate::TcpListener)'s does.
pub struct UnixListener {
    io: Acceptor,
}

crate::methods::std_conversions!(UnixListener, std::os::unix::net::UnixListener);

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens. Must be called inside a runtime.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::bind_sock(&socket2::SockAddr::unix(path)?)
    }

    /// Binds to `socket_addr` (a path, or on Linux an abstract name) and listens.
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::bind_sock(&socket_addr.to_sock()?)
    }

    fn bind_sock(addr: &socket2::SockAddr) -> io::Result<UnixListener> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::STREAM)?;
        s.bind(addr)?;
        s.listen(1024)?;
        Ok(UnixListener::from_poll_evented(PollEvented::new(s.into())?))
    }

    pub(crate) fn from_poll_evented(io: PollEvented) -> UnixListener {
        UnixListener {
            io: Acceptor::new(io),
        }
    }

    /// Accepts a connection, with the peer's address (usually unnamed).
    ///
    /// # Cancel safety
    /// Cancel safe: no connection is lost if the future is dropped.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, addr) = self.io.accept().await?;
        Ok((UnixStream::from_owned(fd)?, SocketAddr::from_sock(addr)?))
    }

    /// Polls for a connection; errors are returned as they are. Only the task of the last call
    /// is woken.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (fd, addr) = std::task::ready!(self.io.poll_accept(cx))?;
        Poll::Ready(Ok((
            UnixStream::from_owned(fd)?,
            SocketAddr::from_sock(addr)?,
        )))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        SocketAddr::from_sock(self.io.sock().local_addr()?)
    }

    /// The pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.io.fd())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}
