//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`], and the split halves.

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stream::TcpStream;

/// The read half of [`TcpStream::split`].
pub type ReadHalf<'a> = crate::split::ReadHalf<'a, TcpStream>;
/// The write half of [`TcpStream::split`].
pub type WriteHalf<'a> = crate::split::WriteHalf<'a, TcpStream>;
/// The owned read half of [`TcpStream::into_split`].
pub type OwnedReadHalf = crate::split::OwnedReadHalf<TcpStream>;
/// The owned write half of [`TcpStream::into_split`].
pub type OwnedWriteHalf = crate::split::OwnedWriteHalf<TcpStream>;
/// Returned by [`OwnedReadHalf::reunite`] for halves of different streams.
pub type ReuniteError = crate::split::ReuniteError<TcpStream>;
