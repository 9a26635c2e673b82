use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use netpoll_io::Direction;

use super::{TcpListener, TcpStream};
use crate::poll_fd::PollFd;

/// An unconnected TCP socket to configure before `listen` or `connect`, like
/// `tokio::net::TcpSocket`.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let s = netpoll_net::TcpSocket::new_v4()?;
/// s.set_reuseaddr(true)?;
/// s.set_recv_buffer_size(1 << 20)?;
/// s.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = s.listen(4096)?;
/// assert!(listener.local_addr()?.port() != 0);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    inner: socket2::Socket,
}

impl TcpSocket {
    /// A new IPv4 socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: crate::sys::socket(socket2::Domain::IPV4, socket2::Type::STREAM)?,
        })
    }

    /// A new IPv6 socket (non-blocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: crate::sys::socket(socket2::Domain::IPV6, socket2::Type::STREAM)?,
        })
    }

    /// SO_REUSEADDR.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_address(on)
    }

    /// SO_REUSEPORT: several listeners on one port, the kernel spreading connections.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.inner.set_reuse_port(on)
    }

    /// SO_SNDBUF.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// SO_RCVBUF.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// TCP_NODELAY (before connecting).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(on)
    }

    /// SO_KEEPALIVE.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.inner.set_keepalive(on)
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Starts listening with the given backlog.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        Ok(TcpListener::from_poll_fd(PollFd::new(OwnedFd::from(
            self.inner,
        ))?))
    }

    /// Connects: a non-blocking `connect`, a wait for writability, then `SO_ERROR`.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let io = PollFd::new(OwnedFd::from(self.inner))?;
        // Writable means the handshake finished, one way or the other; SO_ERROR says which.
        loop {
            let ev = std::future::poll_fn(|cx| io.poll_ready(cx, Direction::Write)).await?;
            if let Some(e) = io.sock().take_error()? {
                return Err(e);
            }
            match io.sock().peer_addr() {
                Ok(_) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                    // Spurious readiness (the initial optimistic state): wait for the real event.
                    io.registration().clear_readiness(ev);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(TcpStream::from_poll_fd(io))
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
