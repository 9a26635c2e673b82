//! [hyper](https://docs.rs/hyper/1) 1.x on netpoll (the `hyper` feature).
//!
//! hyper 1 brings no runtime of its own: a connection asks its host for three things, the traits
//! of `hyper::rt`, and this module gives them:
//!
//! - an **executor** for the tasks hyper spawns (HTTP/2 streams, a client connection's
//!   background work): [`NetpollExecutor`], which spawns netpoll tasks;
//! - a **timer** for hyper's timeouts (the HTTP/1 header read timeout, HTTP/2 keep-alive pings):
//!   [`NetpollTimer`], whose sleeps live in netpoll's timer wheel and are reset in place;
//! - **I/O** in hyper's own traits `hyper::rt::{Read, Write}`: [`NetpollIo`] wraps any netpoll
//!   [`AsyncRead`]/[`AsyncWrite`] (a [`TcpStream`](crate::net::TcpStream), a
//!   [`UnixStream`](crate::net::UnixStream), a split half...) into them, and, the other way
//!   round, wraps a type with hyper's traits (`hyper::upgrade::Upgraded`) into netpoll's, so
//!   an upgraded connection works with [`netpoll::io`](crate::io) (`copy`, `AsyncReadExt`...).
//!
//! The HTTP parts come from hyper's own features, which this crate leaves to the application:
//!
//! ```toml
//! [dependencies]
//! netpoll = { version = "0.1", features = ["hyper"] }
//! hyper = { version = "1", features = ["server", "client", "http1", "http2"] }
//! ```
//!
//! # Example
//!
//! An HTTP/1.1 server and hyper's client talking to it, both on one netpoll runtime:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use netpoll::hyper::{NetpollIo, NetpollTimer};
//! use netpoll::net::{TcpListener, TcpStream};
//!
//! async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let rt = netpoll::runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     netpoll::spawn(async move {
//!         while let Ok((stream, _peer)) = listener.accept().await {
//!             netpoll::spawn(async move {
//!                 let served = hyper::server::conn::http1::Builder::new()
//!                     .timer(NetpollTimer::new()) // for the header read timeout
//!                     .serve_connection(NetpollIo::new(stream), hyper::service::service_fn(hello))
//!                     .await;
//!                 if let Err(e) = served {
//!                     eprintln!("connection: {e}");
//!                 }
//!             });
//!         }
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, connection) =
//!         hyper::client::conn::http1::handshake(NetpollIo::new(stream)).await?;
//!     netpoll::spawn(connection);
//!     let response = sender
//!         .send_request(Request::get("/").body(Empty::<Bytes>::new())?)
//!         .await?;
//!     let body = response.into_body().collect().await?.to_bytes();
//!     assert_eq!(body, "Hello, World!");
//!     Ok(())
//! })
//! # }
//! ```
//!
//! HTTP/2 is the same with `hyper::server::conn::http2::Builder::new(NetpollExecutor::new())`
//! on the server and `hyper::client::conn::http2::handshake(NetpollExecutor::new(), io)` on the
//! client: hyper runs each stream as a task of the executor. The `hyper_server` example serves
//! both protocols on one port.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use crate::io::{AsyncRead, AsyncWrite, ReadBuf};
use crate::runtime::Handle;

/// A `hyper::rt::Executor` that runs hyper's background futures as netpoll tasks, like
/// hyper-util's `TokioExecutor`.
///
/// [`NetpollExecutor::new`] spawns on the runtime current where hyper calls
/// [`execute`](hyper::rt::Executor::execute): hyper does that while a connection is polled, so
/// a connection served or driven from a netpoll task needs nothing more. Outside any netpoll
/// runtime that call panics, as [`netpoll::spawn`](crate::spawn) does; an executor made by
/// [`NetpollExecutor::with_handle`] spawns on its runtime from any thread instead.
///
/// The spawned tasks are detached: they run to completion (or until the runtime shuts down)
/// without anybody awaiting them.
#[derive(Clone, Debug, Default)]
pub struct NetpollExecutor {
    handle: Option<Handle>,
}

impl NetpollExecutor {
    /// An executor spawning on the runtime of the thread that calls `execute`.
    pub fn new() -> NetpollExecutor {
        NetpollExecutor { handle: None }
    }

    /// An executor spawning on `handle`'s runtime, whichever thread calls `execute`.
    pub fn with_handle(handle: Handle) -> NetpollExecutor {
        NetpollExecutor {
            handle: Some(handle),
        }
    }
}

impl<F> hyper::rt::Executor<F> for NetpollExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Dropping the JoinHandle detaches the task.
        match &self.handle {
            Some(handle) => drop(handle.spawn(future)),
            None => drop(crate::spawn(future)),
        }
    }
}

/// A `hyper::rt::Timer` on netpoll's timers, like hyper-util's `TokioTimer`.
///
/// Its sleeps are [`NetpollSleep`]s: a [`netpoll::time::Sleep`](crate::time::Sleep) each, bound
/// to the runtime they are first polled in (so they may be made anywhere, and must be polled
/// inside a netpoll runtime, as hyper does from a connection's task). `reset` moves the
/// deadline of an existing sleep instead of allocating a new one, which matters to hyper: it
/// resets the HTTP/1 header timer and the HTTP/2 keep-alive timer over and over.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetpollTimer {
    _private: (),
}

impl NetpollTimer {
    /// The timer.
    pub fn new() -> NetpollTimer {
        NetpollTimer { _private: () }
    }
}

impl hyper::rt::Timer for NetpollTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(NetpollSleep {
            inner: crate::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(NetpollSleep {
            inner: crate::time::sleep_until(deadline.into()),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<NetpollSleep>() {
            Some(ours) => ours.reset(new_deadline),
            // Somebody else's sleep: replace it.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep of [`NetpollTimer`]: a `hyper::rt::Sleep` over a
/// [`netpoll::time::Sleep`](crate::time::Sleep). Dropping it cancels the timer.
#[derive(Debug)]
pub struct NetpollSleep {
    inner: crate::time::Sleep,
}

impl NetpollSleep {
    /// The instant it completes at.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }

    /// Moves the deadline, also after completion. Like a new sleep, the moved one is armed by
    /// its next poll (hyper polls a sleep right after resetting it).
    pub fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        Pin::new(&mut self.inner).reset(deadline.into());
    }
}

impl Future for NetpollSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl hyper::rt::Sleep for NetpollSleep {}

/// I/O in both trait families, like hyper-util's `TokioIo`:
///
/// - for `T` with netpoll's [`AsyncRead`]/[`AsyncWrite`] (sockets, split halves, buffered
///   streams), `NetpollIo<T>` has hyper's `hyper::rt::Read`/`hyper::rt::Write`, so hyper can
///   serve or call over it;
/// - for `T` with hyper's traits (`hyper::upgrade::Upgraded`), `NetpollIo<T>` has netpoll's, so
///   an upgraded connection can be used with [`netpoll::io`](crate::io).
///
/// Reads go straight into the caller's buffer, uninitialised memory included (no zeroing, no
/// copy), and vectored writes and shutdown are passed through.
///
/// ```
/// # netpoll::runtime::Runtime::new().unwrap().block_on(async {
/// use netpoll::io::{duplex, AsyncReadExt, AsyncWriteExt};
/// use netpoll::hyper::NetpollIo;
///
/// // netpoll I/O -> hyper's traits -> netpoll's again: the bytes pass through untouched.
/// let (a, b) = duplex(64);
/// let mut a = NetpollIo::new(NetpollIo::new(a));
/// let mut b = NetpollIo::new(NetpollIo::new(b));
/// a.write_all(b"ping").await.unwrap();
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"ping");
/// # });
/// ```
#[derive(Debug)]
pub struct NetpollIo<T> {
    inner: T,
}

impl<T> NetpollIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> NetpollIo<T> {
        NetpollIo { inner }
    }

    /// The wrapped I/O object.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped I/O object, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the I/O object.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// The wrapped object, still pinned.
    fn pinned(self: Pin<&mut Self>) -> Pin<&mut T> {
        // SAFETY: `inner` is structurally pinned. `NetpollIo` has no `Drop` impl, is not
        // `repr(packed)`, is `Unpin` only when `T` is (the auto impl), and moves `inner` only
        // through `&mut self`/`self` methods, which a pinned `!Unpin` value cannot reach
        // without `unsafe`. So a pinned `NetpollIo<T>` keeps its `T` in place until it drops.
        unsafe { self.map_unchecked_mut(|io| &mut io.inner) }
    }
}

impl<T: AsyncRead> hyper::rt::Read for NetpollIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = {
            // SAFETY: `as_mut` must not be used to de-initialise bytes. The netpoll `ReadBuf`
            // over them starts by counting none as initialised and only ever writes
            // initialised bytes into them (`put_slice`, zeroing, or a reader honouring
            // `unfilled_mut`'s same contract), so whatever was initialised stays so.
            let unfilled = unsafe { cursor.as_mut() };
            let mut buf = ReadBuf::uninit(unfilled);
            ready!(self.pinned().poll_read(cx, &mut buf))?;
            buf.filled().len()
        };
        // SAFETY: the first `filled` bytes of the cursor's unfilled part are the `ReadBuf`'s
        // filled part, which a `ReadBuf` only lets be filled with initialised bytes.
        unsafe { cursor.advance(filled) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> hyper::rt::Write for NetpollIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pinned().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pinned().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pinned().poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pinned().poll_write_vectored(cx, bufs)
    }
}

impl<T: hyper::rt::Read> AsyncRead for NetpollIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = {
            // SAFETY: `unfilled_mut` must not be used to de-initialise bytes. hyper's `ReadBuf`
            // over them starts by counting none as initialised and, by its own contract, only
            // ever writes initialised bytes into them.
            let unfilled = unsafe { buf.unfilled_mut() };
            let mut theirs = hyper::rt::ReadBuf::uninit(unfilled);
            ready!(self.pinned().poll_read(cx, theirs.unfilled()))?;
            theirs.filled().len()
        };
        // SAFETY: hyper's reader filled the first `filled` unfilled bytes, and hyper's
        // `ReadBuf` only counts initialised bytes as filled.
        unsafe { buf.assume_init(filled) };
        buf.advance(filled);
        Poll::Ready(Ok(()))
    }
}

impl<T: hyper::rt::Write> AsyncWrite for NetpollIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pinned().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pinned().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pinned().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pinned().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
