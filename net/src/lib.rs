//! Sockets for netpoll: [`TcpListener`], [`TcpStream`], [`TcpSocket`], [`UdpSocket`], and Unix
//! sockets ([`UnixListener`], [`UnixStream`], [`UnixDatagram`]), all on the edge-triggered
//! netpoller: each fd is registered once for both directions, operations try the syscall first
//! and park on `EAGAIN` (Go's way), writes never raise SIGPIPE, and streams have Go-style
//! read/write deadlines.
//!
//! Every operation is written once, on `PollEvented` (an fd and its registration, tokio's
//! anchor); the socket types are typed fronts over it, stamped by the macros in `methods`.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod accept;
mod addr;
#[cfg(feature = "futures-io")]
mod futures_io;
mod methods;
mod poll_evented;
mod sys;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};

/// tokio's readiness types, shared with `netpoll::io` (tokio has them at `tokio::io` only;
/// they stay here too for code written against netpoll's earlier `net::Interest`).
pub use netpoll_io::{Interest, Ready};
