use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll_io::Direction;

use super::{TcpSocket, TcpStream};
use crate::addr::{each_addr, ToSocketAddrs};
use crate::poll_fd::PollFd;

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
    io: PollFd,
    /// Set once an fd-exhaustion episode was logged, cleared when accept succeeds again.
    exhausted_logged: AtomicBool,
}

/// Errors that mean "out of fds or memory for now": accept backs off and retries.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Errors about one pending connection (it died in the backlog): skip it.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(libc::EPROTO | libc::EPERM))
}

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

    pub(crate) fn from_poll_fd(io: PollFd) -> TcpListener {
        TcpListener {
            io,
            exhausted_logged: AtomicBool::new(false),
        }
    }

    /// Accepts one connection. Resource exhaustion (EMFILE, ENFILE, ENOBUFS, ENOMEM) does not
    /// end an accept loop: this backs off (5 ms doubling to 500 ms, as Go's `http.Server` does),
    /// logs once per episode, and retries until fds free up. Connections that died in the backlog
    /// are skipped.
    ///
    /// # Cancel safety
    /// Cancel safe: no connection is lost if the future is dropped.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut delay = Duration::from_millis(5);
        loop {
            match std::future::poll_fn(|cx| self.poll_accept(cx)).await {
                Ok(r) => {
                    if self.exhausted_logged.swap(false, Relaxed) {
                        eprintln!("netpoll: accept on {:?} recovered", self.local_addr().ok());
                    }
                    return Ok(r);
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    if !self.exhausted_logged.swap(true, Relaxed) {
                        eprintln!(
                            "netpoll: accept on {:?}: {e}; backing off until it recovers",
                            self.local_addr().ok()
                        );
                    }
                    netpoll_runtime::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls for one connection; errors (including EMFILE) are returned as they are.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let fd = self.io.fd();
        let (s, addr) = std::task::ready!(self
            .io
            .poll_io(cx, Direction::Read, || crate::sys::accept(fd)))?;
        let addr = addr
            .as_socket()
            .ok_or_else(|| io::Error::other("accepted a non-IP socket"))?;
        Poll::Ready(TcpStream::from_owned(s).map(|s| (s, addr)))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io
            .sock()
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Wraps a std listener (made non-blocking here).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener::from_poll_fd(PollFd::new(OwnedFd::from(
            listener,
        ))?))
    }

    /// Deregisters and returns a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(self.io.into_fd()?))
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

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.owned().as_fd()
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
