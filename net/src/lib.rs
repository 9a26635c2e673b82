//! Sockets for netpoll: [`TcpListener`], [`TcpStream`], [`TcpSocket`], [`UdpSocket`], and Unix
//! sockets ([`UnixListener`], [`UnixStream`], [`UnixDatagram`]), all on the edge-triggered
//! netpoller: each fd is registered once for both directions, operations try the syscall first
//! and park on `EAGAIN` (Go's way), writes never raise SIGPIPE, and streams have Go-style
//! read/write deadlines.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod addr;
mod poll_fd;
/// Halves of stream sockets (shared by TCP and Unix streams).
pub mod split;
mod sys;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;

/// tokio's readiness types, shared with `netpoll::io` (tokio has them at `tokio::io` only;
/// they stay here too for code written against netpoll's earlier `net::Interest`).
pub use netpoll_io::{Interest, Ready};

/// Waits until any direction in `interest` is ready (many tasks may wait at once).
pub(crate) async fn ready(io: &poll_fd::PollFd, interest: Interest) -> io::Result<Ready> {
    let reg = io.registration();
    // ERROR readiness shows on both directions (a hang-up or error ends each); PRIORITY has no
    // direction in the netpoller, so an interest of PRIORITY alone could never be met.
    let read = interest.is_readable() || interest.is_error();
    let write = interest.is_writable() || interest.is_error();
    if !read && !write {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "netpoll waits for READABLE, WRITABLE or ERROR readiness; PRIORITY is not supported",
        ));
    }
    let mut r = pin!(async {
        if read {
            reg.readable().await.map(Some)
        } else {
            std::future::pending().await
        }
    });
    let mut w = pin!(async {
        if write {
            reg.writable().await.map(Some)
        } else {
            std::future::pending().await
        }
    });
    std::future::poll_fn(|cx| {
        let mut ready = Ready::EMPTY;
        let mut any = false;
        if let Poll::Ready(res) = r.as_mut().poll(cx) {
            if let Some(ev) = res? {
                ready |= Ready::from(ev);
                any = true;
            }
        }
        if let Poll::Ready(res) = w.as_mut().poll(cx) {
            if let Some(ev) = res? {
                ready |= Ready::from(ev);
                any = true;
            }
        }
        if any {
            Poll::Ready(Ok(ready))
        } else {
            Poll::Pending
        }
    })
    .await
}
