//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with `pair()`), [`UnixDatagram`].

mod datagram;
mod stream;

pub use datagram::UnixDatagram;
pub use stream::{UnixListener, UnixStream};

/// The read half of [`UnixStream::split`].
pub type ReadHalf<'a> = crate::split::ReadHalf<'a, UnixStream>;
/// The write half of [`UnixStream::split`].
pub type WriteHalf<'a> = crate::split::WriteHalf<'a, UnixStream>;
/// The owned read half of [`UnixStream::into_split`].
pub type OwnedReadHalf = crate::split::OwnedReadHalf<UnixStream>;
/// The owned write half of [`UnixStream::into_split`].
pub type OwnedWriteHalf = crate::split::OwnedWriteHalf<UnixStream>;

use std::io;

pub(crate) fn to_unix_addr(a: socket2::SockAddr) -> io::Result<std::os::unix::net::SocketAddr> {
    match a.as_pathname() {
        Some(p) => std::os::unix::net::SocketAddr::from_pathname(p),
        // Unnamed (socketpair, unbound) or abstract: std can only express unnamed ones this way.
        None => {
            let (a, _b) = std::os::unix::net::UnixDatagram::pair()?;
            a.local_addr()
        }
    }
}
