use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use netpoll_io::Direction;

use super::{TcpListener, TcpStream};
use crate::addr::to_inet;
use crate::poll_evented::PollEvented;

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
    pub(crate) inner: socket2::Socket,
}

impl TcpSocket {
    /// A new IPv4 socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(socket2::Domain::IPV4)
    }

    /// A new IPv6 socket (non-blocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(socket2::Domain::IPV6)
    }

    fn new(domain: socket2::Domain) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            inner: crate::sys::socket(domain, socket2::Type::STREAM)?,
        })
    }

    /// Sets SO_KEEPALIVE.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// SO_KEEPALIVE.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets SO_REUSEADDR: bind a listening address while old connections linger in TIME_WAIT.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// SO_REUSEADDR.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets SO_REUSEPORT: several listeners on one port, the kernel spreading connections.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// SO_REUSEPORT.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets SO_SNDBUF (the kernel may round it; Linux doubles it).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// SO_SNDBUF, as the kernel reports it.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(clamp_u32)
    }

    /// Sets SO_RCVBUF (the kernel may round it; Linux doubles it).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// SO_RCVBUF, as the kernel reports it.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(clamp_u32)
    }

    /// Sets SO_LINGER. A non-zero linger blocks the thread that closes the socket; see
    /// [`set_zero_linger`](Self::set_zero_linger).
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// SO_LINGER with a zero timeout: close sends an RST and discards unsent data.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.inner.set_linger(Some(Duration::ZERO))
    }

    /// SO_LINGER.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Sets TCP_NODELAY (no Nagle delay for small writes) for the connection to come.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// TCP_NODELAY.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// IPV6_TCLASS (IPv6 sockets).
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.inner.tclass_v6()
    }

    /// Sets IPV6_TCLASS (IPv6 sockets).
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.inner.set_tclass_v6(tclass)
    }

    /// IP_TOS (IPv4 sockets).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.inner.tos_v4()
    }

    /// IP_TOS (IPv4 sockets).
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Sets IP_TOS (IPv4 sockets).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.inner.set_tos_v4(tos)
    }

    /// Sets IP_TOS (IPv4 sockets).
    #[deprecated(
        note = "`tos` related methods have been renamed `set_tos_v4` since they are IPv4-specific."
    )]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// The interface bound with SO_BINDTODEVICE (Linux; `Unsupported` elsewhere).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        crate::sys::device(&socket2::SockRef::from(&self.inner))
    }

    /// Binds the socket to an interface (SO_BINDTODEVICE, Linux; `Unsupported` elsewhere);
    /// `None` removes the binding.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        crate::sys::bind_device(&socket2::SockRef::from(&self.inner), interface)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_inet(self.inner.local_addr()?)
    }

    /// The pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// Starts listening with the given backlog. Must be called inside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        Ok(TcpListener::from_poll_evented(PollEvented::new(
            OwnedFd::from(self.inner),
        )?))
    }

    /// Connects: a non-blocking `connect`, a wait for writability, then `SO_ERROR`.
    ///
    /// # Cancel safety
    /// Not cancel safe in the sense that a cancelled connect closes the socket.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let io = PollEvented::new(OwnedFd::from(self.inner))?;
        // Writable means the handshake finished, one way or the other; SO_ERROR says which.
        loop {
            std::future::poll_fn(|cx| io.poll_ready(cx, Direction::Write)).await?;
            let ev = io.registration().readiness(Direction::Write);
            if let Some(e) = io.take_error()? {
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
        Ok(TcpStream::from_poll_evented(io))
    }

    /// Wraps a std stream as a socket, to set options on it (tokio's `from_std_stream`); the
    /// stream is made non-blocking. `connect` on it fails (it is connected already).
    pub fn from_std_stream(std_stream: std::net::TcpStream) -> TcpSocket {
        let inner = socket2::Socket::from(std_stream);
        // A failure leaves a blocking socket, which every netpoll operation on it tolerates
        // (the first accept or read would block its worker); tokio's signature has no Result.
        let _ = inner.set_nonblocking(true);
        TcpSocket { inner }
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl std::os::fd::FromRawFd for TcpSocket {
    /// Takes ownership of `fd`, a TCP socket (tokio's `FromRawFd`).
    ///
    /// # Safety
    /// `fd` must be an open socket that nothing else owns or closes.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        TcpSocket {
            // SAFETY: forwarded with the caller's guarantee.
            inner: unsafe { crate::sys::socket_from_raw_fd(fd) },
        }
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}
