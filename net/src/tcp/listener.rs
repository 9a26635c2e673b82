use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::{TcpSocket, TcpStream};
use crate::accept::Acceptor;
use crate::addr::{each_addr, to_inet, ToSocketAddrs};
use crate::poll_evented::PollEvented;

/// A TCP listening socket, like `tokio::net::TcpListener`.
///
/// ```
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
/// use netpoll_net::{TcpListener, TcpStream};
///
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// netpoll_runtime::spawn(async move {
///     let (mut s, _) = listener.accept().await.unwrap();
///     let mut buf = [0u8; 5];
///     s.read_exact(&mut buf).await.unwrap();
///     s.write_all(&buf).await.unwrap();
/// });
/// let mut c = TcpStream::connect(addr).await?;
/// c.write_all(b"hello").await?;
/// let mut back = [0u8; 5];
/// c.read_exact(&mut back).await?;
/// assert_eq!(&back, b"hello");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    io: Acceptor,
}

crate::methods::std_conversions!(TcpListener, std::net::TcpListener);

impl TcpListener {
    /// Binds to `addr` (SO_REUSEADDR, backlog 1024), trying each resolved address in turn.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            let s = if a.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            s.set_reuseaddr(true)?;
            s.bind(a)?;
            s.listen(1024)
        })
        .await
    }

    pub(crate) fn from_poll_evented(io: PollEvented) -> TcpListener {
        TcpListener {
            io: Acceptor::new(io),
        }
    }

    /// Accepts one connection, with its peer's address. Resource exhaustion (EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM) does not end an accept loop: this backs off (5 ms doubling to 500 ms,
    /// as Go's `http.Server` does), logs once per episode, and retries until fds free up.
    /// Connections that died in the backlog are skipped.
    ///
    /// # Cancel safety
    /// Cancel safe: no connection is lost if the future is dropped.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = self.io.accept().await?;
        Ok((
            TcpStream::from_poll_evented(PollEvented::new(fd)?),
            to_inet(addr)?,
        ))
    }

    /// Polls for one connection; errors (EMFILE included) are returned as they are. Only the
    /// task of the last call is woken.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (fd, addr) = std::task::ready!(self.io.poll_accept(cx))?;
        Poll::Ready(Ok((
            TcpStream::from_poll_evented(PollEvented::new(fd)?),
            to_inet(addr)?,
        )))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        to_inet(self.io.sock().local_addr()?)
    }

    /// IP_TTL.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.sock().ttl_v4()
    }

    /// Sets IP_TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.sock().set_ttl_v4(ttl)
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.io.fd())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}
