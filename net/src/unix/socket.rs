use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{UnixDatagram, UnixListener, UnixStream};
use crate::poll_evented::PollEvented;

/// An unconfigured Unix-domain socket, like `tokio::net::UnixSocket`: create it, set options
/// through its fd, bind it, then turn it into a listener, a stream (by connecting) or a
/// datagram socket.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("netpoll-doc-unixsocket-{}", std::process::id()));
/// let _ = std::fs::remove_file(&dir);
/// let s = netpoll_net::UnixSocket::new_stream()?;
/// s.bind(&dir)?;
/// let listener = s.listen(128)?;
/// assert_eq!(listener.local_addr()?.as_pathname(), Some(dir.as_path()));
/// std::fs::remove_file(&dir)?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixSocket {
    pub(crate) inner: socket2::Socket,
}

impl UnixSocket {
    fn new(ty: socket2::Type) -> io::Result<UnixSocket> {
        Ok(UnixSocket {
            inner: crate::sys::socket(socket2::Domain::UNIX, ty)?,
        })
    }

    /// A new datagram socket (non-blocking, close-on-exec).
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(socket2::Type::DGRAM)
    }

    /// A new stream socket (non-blocking, close-on-exec).
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(socket2::Type::STREAM)
    }

    fn is_stream(&self) -> io::Result<bool> {
        Ok(self.inner.r#type()? == socket2::Type::STREAM)
    }

    fn wrong_type(what: &str) -> io::Error {
        io::Error::other(format!("{what}: the UnixSocket is of the other type"))
    }

    /// Binds to `path` (which must not exist).
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.bind(&socket2::SockAddr::unix(path)?)
    }

    /// Listens with the given backlog (stream sockets only). Must be called inside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        if !self.is_stream()? {
            return Err(UnixSocket::wrong_type("listen needs a stream socket"));
        }
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        Ok(UnixListener::from_poll_evented(PollEvented::new(
            OwnedFd::from(self.inner),
        )?))
    }

    /// Connects to the socket at `path` (stream sockets only).
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        if !self.is_stream()? {
            return Err(UnixSocket::wrong_type("connect needs a stream socket"));
        }
        UnixStream::connect_socket(self.inner, &socket2::SockAddr::unix(path)?).await
    }

    /// Turns a datagram socket into a [`UnixDatagram`]. Must be called inside a runtime.
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        if self.is_stream()? {
            return Err(UnixSocket::wrong_type("datagram needs a datagram socket"));
        }
        UnixDatagram::from_std(self.inner.into())
    }
}

impl std::os::fd::FromRawFd for UnixSocket {
    /// Takes ownership of `fd`, a Unix-domain socket (tokio's `FromRawFd`).
    ///
    /// # Safety
    /// `fd` must be an open socket that nothing else owns or closes.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        UnixSocket {
            // SAFETY: forwarded with the caller's guarantee.
            inner: unsafe { crate::sys::socket_from_raw_fd(fd) },
        }
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}
