use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::TcpSocket;
use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::addr::{each_addr, to_inet, ToSocketAddrs};
use crate::poll_evented::PollEvented;

/// A TCP connection, like `tokio::net::TcpStream`, with Go's deadlines.
///
/// Reads and writes are optimistic (Go's way): the syscall is tried first, and only on `EAGAIN`
/// does the task park on the netpoller. `netpoll_io::copy` between two of these uses `splice(2)`.
/// The methods shared with `UnixStream` (readiness, `try_*`, halves) are written once, in
/// `PollEvented`.
pub struct TcpStream {
    pub(crate) io: PollEvented,
}

crate::methods::stream_methods!(TcpStream, std::net::TcpStream, SocketAddr, to_inet);
crate::methods::peek_methods!(TcpStream, s => s,);

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn; the last error if none
    /// accepts.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| async move {
            let s = if a.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            s.connect(a).await
        })
        .await
    }

    /// TCP_NODELAY: whether small writes go out at once (no Nagle delay).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.sock().tcp_nodelay()
    }

    /// Sets TCP_NODELAY.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.sock().set_tcp_nodelay(nodelay)
    }

    /// TCP_QUICKACK (Linux; `Unsupported` elsewhere).
    pub fn quickack(&self) -> io::Result<bool> {
        crate::sys::quickack(&self.io.sock())
    }

    /// Sets TCP_QUICKACK: acknowledge at once instead of delaying (Linux; `Unsupported`
    /// elsewhere). The kernel may turn it off again by itself.
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        crate::sys::set_quickack(&self.io.sock(), quickack)
    }

    /// SO_LINGER.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.sock().linger()
    }

    /// Sets SO_LINGER. A non-zero linger makes `close` block the thread that drops the stream
    /// until the data is sent or the time is up, which is why tokio deprecates it; use
    /// [`set_zero_linger`](Self::set_zero_linger) for the reset-on-close case. (netpoll does
    /// not mark it `#[deprecated]` yet: its own examples and tests still call it.)
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.io.sock().set_linger(dur)
    }

    /// SO_LINGER with a zero timeout: closing the stream discards unsent data and sends an RST,
    /// so the peer sees `ConnectionReset`. Never blocks.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.io.sock().set_linger(Some(Duration::ZERO))
    }

    /// IP_TTL.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.sock().ttl_v4()
    }

    /// Sets IP_TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_ttl_v4(ttl)
    }

    /// SO_KEEPALIVE with the given idle time before probes; `None` turns keepalive off
    /// (netpoll's addition).
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        match idle {
            Some(t) => self
                .io
                .sock()
                .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t)),
            None => self.io.sock().set_keepalive(false),
        }
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.io.fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
