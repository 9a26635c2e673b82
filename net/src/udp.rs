use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use netpoll_io::ReadBuf;

use crate::addr::{each_addr, resolve, to_inet, ToSocketAddrs};
use crate::poll_evented::PollEvented;

/// A UDP socket, like `tokio::net::UdpSocket`. The methods shared with `UnixDatagram` are
/// written once, in `PollEvented`.
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
    io: PollEvented,
}

crate::methods::datagram_methods!(UdpSocket, std::net::UdpSocket, SocketAddr, to_inet);

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
                io: PollEvented::new(OwnedFd::from(s))?,
            })
        })
        .await
    }

    /// Sets the default peer for `send`/`recv` (and receives only from it), trying each
    /// resolved address in turn.
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

    /// Sends one datagram to `target` (the first address it resolves to), waiting for room.
    ///
    /// # Cancel safety
    /// Cancel safe: if cancelled, nothing was sent.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addrs = resolve(&target).await?;
        let to = addrs
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))?;
        self.io.send_to(buf, &(*to).into()).await
    }

    /// Polls sending one datagram to `target`. Under a full send buffer this is `Pending`, and
    /// the task is woken when there is room.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_send_to(cx, buf, &target.into())
    }

    /// Sends one datagram to `target` without waiting; `WouldBlock` clears send readiness.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_send_to(buf, &target.into())
    }

    /// Receives the next datagram from the connected peer without removing it from the queue.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf, libc::MSG_PEEK).await
    }

    /// Polls a [`peek`](Self::peek) into `buf`.
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.io.poll_recv(cx, buf, libc::MSG_PEEK).map_ok(|_| ())
    }

    /// [`peek`](Self::peek) without waiting.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_peek(buf)
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, a) = self.io.recv_from(buf, libc::MSG_PEEK).await?;
        Ok((n, to_inet(a)?))
    }

    /// Polls a [`peek_from`](Self::peek_from) into `buf`.
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let a = std::task::ready!(self.io.poll_recv_from(cx, buf, libc::MSG_PEEK))?;
        Poll::Ready(to_inet(a))
    }

    /// [`peek_from`](Self::peek_from) without waiting.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, a) = self.io.try_recv_from(buf, libc::MSG_PEEK)?;
        Ok((n, to_inet(a)?))
    }

    /// The sender of the next datagram, leaving it queued; waits for one.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        std::future::poll_fn(|cx| self.poll_peek_sender(cx)).await
    }

    /// Polls [`peek_sender`](Self::peek_sender).
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        let a = std::task::ready!(self.io.poll_peek_sender(cx))?;
        Poll::Ready(to_inet(a))
    }

    /// [`peek_sender`](Self::peek_sender) without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        to_inet(self.io.try_peek_sender()?)
    }

    /// SO_BROADCAST.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.sock().broadcast()
    }

    /// Sets SO_BROADCAST: allow sending to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_broadcast(on)
    }

    /// IP_MULTICAST_LOOP.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.sock().multicast_loop_v4()
    }

    /// Sets IP_MULTICAST_LOOP.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_multicast_loop_v4(on)
    }

    /// IP_MULTICAST_TTL.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.sock().multicast_ttl_v4()
    }

    /// Sets IP_MULTICAST_TTL.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_multicast_ttl_v4(ttl)
    }

    /// IPV6_MULTICAST_LOOP.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.sock().multicast_loop_v6()
    }

    /// Sets IPV6_MULTICAST_LOOP.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.sock().set_multicast_loop_v6(on)
    }

    /// IPV6_TCLASS.
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.io.sock().tclass_v6()
    }

    /// Sets IPV6_TCLASS.
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.io.sock().set_tclass_v6(tclass)
    }

    /// IP_TTL.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.sock().ttl_v4()
    }

    /// Sets IP_TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_ttl_v4(ttl)
    }

    /// IP_TOS.
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.io.sock().tos_v4()
    }

    /// IP_TOS.
    #[deprecated(
        note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific."
    )]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Sets IP_TOS.
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.io.sock().set_tos_v4(tos)
    }

    /// Sets IP_TOS.
    #[deprecated(
        note = "`tos` related methods have been renamed `set_tos_v4` since they are IPv4-specific."
    )]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// The interface bound with SO_BINDTODEVICE (Linux; `Unsupported` elsewhere).
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        crate::sys::device(&self.io.sock())
    }

    /// Binds the socket to an interface (SO_BINDTODEVICE, Linux; `Unsupported` elsewhere).
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        crate::sys::bind_device(&self.io.sock(), interface)
    }

    /// Joins an IPv4 multicast group on `interface`.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.sock().join_multicast_v4(&multiaddr, &interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.sock().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.sock().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.sock().leave_multicast_v6(multiaddr, interface)
    }
}
