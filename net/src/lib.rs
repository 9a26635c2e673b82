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

/// Which readiness to wait for in `ready()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable (or the peer closed).
    pub const READABLE: Interest = Interest(1);
    /// Writable.
    pub const WRITABLE: Interest = Interest(2);

    /// Both.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
    /// True if it includes readable.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }
    /// True if it includes writable.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

/// The readiness `ready()` found: a hint, the I/O call decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    readable: bool,
    writable: bool,
    read_closed: bool,
    write_closed: bool,
}

impl Ready {
    /// Readable.
    pub fn is_readable(&self) -> bool {
        self.readable || self.read_closed
    }
    /// Writable.
    pub fn is_writable(&self) -> bool {
        self.writable || self.write_closed
    }
    /// The peer closed its write side (reads will return 0).
    pub fn is_read_closed(&self) -> bool {
        self.read_closed
    }
    /// The write side is closed (writes will fail).
    pub fn is_write_closed(&self) -> bool {
        self.write_closed
    }
}

/// Waits until any direction in `interest` is ready (many tasks may wait at once).
pub(crate) async fn ready(io: &poll_fd::PollFd, interest: Interest) -> io::Result<Ready> {
    let reg = io.registration();
    let mut r = pin!(async {
        if interest.is_readable() {
            reg.readable().await.map(Some)
        } else {
            std::future::pending().await
        }
    });
    let mut w = pin!(async {
        if interest.is_writable() {
            reg.writable().await.map(Some)
        } else {
            std::future::pending().await
        }
    });
    std::future::poll_fn(|cx| {
        let mut ready = Ready::default();
        let mut any = false;
        if let Poll::Ready(res) = r.as_mut().poll(cx) {
            if let Some(ev) = res? {
                ready.readable = ev.is_ready();
                ready.read_closed = ev.is_closed();
                any = true;
            }
        }
        if let Poll::Ready(res) = w.as_mut().poll(cx) {
            if let Some(ev) = res? {
                ready.writable = ev.is_ready();
                ready.write_closed = ev.is_closed();
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
