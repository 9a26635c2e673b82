use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use netpoll_io::{Direction, ReadBuf};

use crate::addr::{each_addr, resolve, ToSocketAddrs};
use crate::poll_fd::PollFd;
use crate::{Interest, Ready};

/// A UDP socket, like `tokio::net::UdpSocket`.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let a = netpoll_net::UdpSocket::bind("127.0.0.1:0").await?;
/// let b = netpoll_net::UdpSocket::bind("127.0.0.1:0").await?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0u8; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UdpSocket {
    io: PollFd,
}

fn to_sock(a: socket2::SockAddr) -> io::Result<SocketAddr> {
    a.as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))
}

impl UdpSocket {
    /// Binds to `addr`, trying each resolved address in turn.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            let domain = if a.is_ipv4() {
                socket2::Domain::IPV4
            } else {
                socket2::Domain::IPV6
            };
            let s = crate::sys::socket(domain, socket2::Type::DGRAM)?;
            s.bind(&a.into())?;
            Ok(UdpSocket {
                io: PollFd::new(OwnedFd::from(s))?,
            })
        })
        .await
    }

    /// Wraps a std socket (made non-blocking here).
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollFd::new(OwnedFd::from(s))?,
        })
    }

    /// Deregisters and returns a std socket.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(std::net::UdpSocket::from(self.io.into_fd()?))
    }

    /// Sets the default peer for `send`/`recv`.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let mut last = None;
        for a in resolve(&addr).await? {
            match self.io.sock().connect(&a.into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
        }))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_sock(self.io.sock().local_addr()?)
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        to_sock(self.io.sock().peer_addr()?)
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .async_io(Direction::Write, || crate::sys::send(fd, buf))
            .await
    }

    /// Receives from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.fd();
        self.io
            .async_io(Direction::Read, || crate::sys::recv(fd, buf, 0))
            .await
    }

    /// Sends to `target`.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addrs = resolve(&target).await?;
        let to = addrs
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))?;
        let to: socket2::SockAddr = (*to).into();
        let sock = self.io.sock();
        self.io
            .async_io(Direction::Write, || sock.send_to(buf, &to))
            .await
    }

    /// Receives one datagram and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| {
            let mut rb = ReadBuf::new(buf);
            self.poll_recv_from(cx, &mut rb)
                .map_ok(|a| (rb.filled().len(), a))
        })
        .await
    }

    /// Like `recv_from` but leaves the datagram queued.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let sock = self.io.sock();
        // SAFETY: `recv_from_with_flags` only writes initialised bytes; `u8` and
        // `MaybeUninit<u8>` share a layout.
        let ubuf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        let (n, a) = self
            .io
            .async_io(Direction::Read, || sock.peek_from(ubuf))
            .await?;
        Ok((n, to_sock(a)?))
    }

    /// Polls for one datagram.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let sock = self.io.sock();
        // SAFETY: recv_from only writes initialised bytes, and we mark exactly those.
        let dst = unsafe { buf.unfilled_mut() };
        let (n, a) =
            std::task::ready!(self.io.poll_io(cx, Direction::Read, || sock.recv_from(dst)))?;
        // SAFETY: the kernel wrote `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(to_sock(a))
    }

    /// Sends without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let to: socket2::SockAddr = target.into();
        let sock = self.io.sock();
        self.io.try_io(Direction::Write, || sock.send_to(buf, &to))
    }

    /// Receives without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let sock = self.io.sock();
        // SAFETY: see `peek_from`.
        let ubuf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        let (n, a) = self.io.try_io(Direction::Read, || sock.recv_from(ubuf))?;
        Ok((n, to_sock(a)?))
    }

    /// Waits for readiness.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        crate::ready(&self.io, interest).await
    }

    /// SO_BROADCAST.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_broadcast(on)
    }

    /// SO_BROADCAST.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.sock().broadcast()
    }

    /// IP_MULTICAST_LOOP.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_multicast_loop_v4(on)
    }

    /// IP_MULTICAST_TTL.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_multicast_ttl_v4(ttl)
    }

    /// IPV6_MULTICAST_LOOP.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_multicast_loop_v6(on)
    }

    /// Joins an IPv4 multicast group.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.sock().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.sock().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins an IPv6 multicast group.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.sock().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.sock().leave_multicast_v6(multiaddr, interface)
    }

    /// The IP TTL.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.sock().ttl_v4()
    }

    /// Sets the IP TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_ttl_v4(ttl)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.owned().as_fd()
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.io.fd())
            .finish()
    }
}
