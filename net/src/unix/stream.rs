use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use netpoll_io::Direction;

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, SocketAddr, UCred, WriteHalf};
use crate::poll_evented::PollEvented;

/// A Unix-domain stream socket, like `tokio::net::UnixStream`. `netpoll_io::copy` between two
/// stream sockets (Unix or TCP) uses `splice(2)`. The methods shared with `TcpStream`
/// (readiness, `try_*`, halves, deadlines) are written once, in `PollEvented`.
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
    pub(crate) io: PollEvented,
}

crate::methods::stream_methods!(
    UnixStream,
    std::os::unix::net::UnixStream,
    SocketAddr,
    SocketAddr::from_sock
);

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        UnixStream::connect_sock(&socket2::SockAddr::unix(path)?).await
    }

    /// Connects to `socket_addr` (a path, or on Linux an abstract name).
    pub async fn connect_addr(socket_addr: &SocketAddr) -> io::Result<UnixStream> {
        UnixStream::connect_sock(&socket_addr.to_sock()?).await
    }

    async fn connect_sock(addr: &socket2::SockAddr) -> io::Result<UnixStream> {
        let s = crate::sys::socket(socket2::Domain::UNIX, socket2::Type::STREAM)?;
        UnixStream::connect_socket(s, addr).await
    }

    /// Connects the (non-blocking) stream socket `s` to `addr` (`UnixSocket::connect` too).
    pub(crate) async fn connect_socket(
        s: socket2::Socket,
        addr: &socket2::SockAddr,
    ) -> io::Result<UnixStream> {
        match s.connect(addr) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let io = PollEvented::new(OwnedFd::from(s))?;
        std::future::poll_fn(|cx| io.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = io.take_error()? {
            return Err(e);
        }
        Ok(UnixStream { io })
    }

    /// A connected pair of streams (`socketpair`). Must be called inside a runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    pub(crate) fn from_owned(fd: OwnedFd) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(fd)?,
        })
    }

    /// The credentials of the process at the other end (taken when the connection was made).
    pub fn peer_cred(&self) -> io::Result<UCred> {
        let (pid, uid, gid) = crate::sys::peer_cred(self.io.owned())?;
        Ok(UCred { pid, uid, gid })
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.io.fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
