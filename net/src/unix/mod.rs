//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with `pair()`), [`UnixDatagram`],
//! their addresses ([`SocketAddr`]), peer credentials ([`UCred`]) and the halves of a split
//! stream.

mod datagram;
mod listener;
pub mod pipe;
mod socket;
mod socketaddr;
mod stream;
mod ucred;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use socket::UnixSocket;
pub use socketaddr::SocketAddr;
pub use stream::UnixStream;
pub use ucred::{gid_t, pid_t, uid_t, UCred};

crate::methods::stream_halves!(UnixStream, SocketAddr);
