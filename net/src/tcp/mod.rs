//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`], and the halves of a split stream.

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stream::TcpStream;

use std::net::SocketAddr;

crate::methods::stream_halves!(TcpStream, SocketAddr);
crate::methods::peek_methods!(ReadHalf<'_>, s => s.0, mut);
crate::methods::peek_methods!(OwnedReadHalf, s => s.0, mut);
