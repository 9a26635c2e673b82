//! Small readers and writers: [`empty`], [`sink`], [`repeat`], and the in-memory pipes
//! [`duplex`] and [`simplex`].

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

// Every reader and writer here is an in-memory resource that can be ready forever, so each
// operation spends coop budget, as a socket's does: a loop over one yields in time.
use netpoll_runtime::task::coop::poll_proceed;

use crate::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};

/// A reader that is always at end of stream and a writer that accepts and drops everything;
/// made by [`empty`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    _priv: (),
}

/// A reader that is always at end of stream, and a writer that drops everything, like
/// `tokio::io::empty`.
///
/// ```
/// use netpoll_io::AsyncReadExt;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut buf = Vec::new();
///     assert_eq!(netpoll_io::empty().read_to_end(&mut buf).await.unwrap(), 0);
/// });
/// ```
pub fn empty() -> Empty {
    Empty { _priv: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(poll_proceed(cx)).made_progress();
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

/// The writer half of [`Empty`] and [`Sink`]: every write is accepted whole and dropped, after
/// one unit of coop budget (so a loop writing to it still yields).
macro_rules! discarding_writer {
    ($ty:ty) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                ready!(poll_proceed(cx)).made_progress();
                Poll::Ready(Ok(buf.len()))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                ready!(poll_proceed(cx)).made_progress();
                Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(poll_proceed(cx)).made_progress();
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
    };
}

discarding_writer!(Empty);
discarding_writer!(Sink);

impl AsyncSeek for Empty {
    fn start_seek(self: Pin<&mut Self>, _position: SeekFrom) -> io::Result<()> {
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(0))
    }
}

/// A writer that accepts and drops everything; made by [`sink`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    _priv: (),
}

/// A writer that accepts and drops everything, like `tokio::io::sink`.
///
/// ```
/// use netpoll_io::AsyncWriteExt;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert_eq!(netpoll_io::sink().write(b"gone").await.unwrap(), 4);
/// });
/// ```
pub fn sink() -> Sink {
    Sink { _priv: () }
}

/// A reader that yields one byte forever; made by [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

/// A reader that yields `byte` forever, like `tokio::io::repeat`. Combine it with
/// [`take`](crate::AsyncReadExt::take) to bound it.
///
/// ```
/// use netpoll_io::AsyncReadExt;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut buf = Vec::new();
///     netpoll_io::repeat(b'z').take(3).read_to_end(&mut buf).await.unwrap();
///     assert_eq!(buf, b"zzz");
/// });
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(poll_proceed(cx)).made_progress();
        let chunk = [self.byte; 256];
        while buf.remaining() > 0 {
            let n = buf.remaining().min(chunk.len());
            buf.put_slice(&chunk[..n]);
        }
        Poll::Ready(Ok(()))
    }
}

/// One direction of an in-memory pipe: a bounded byte queue with a parked reader and writer.
struct Pipe {
    buf: VecDeque<u8>,
    max_buf_size: usize,
    /// The writing end shut down or went away: the reader gets end of stream once `buf` is
    /// drained, and further writes fail.
    write_closed: bool,
    /// The reading end went away: writes fail with `BrokenPipe`.
    read_closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

fn park(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl Pipe {
    fn new(max_buf_size: usize) -> Pipe {
        assert!(
            max_buf_size > 0,
            "an in-memory pipe needs a buffer of at least 1 byte"
        );
        Pipe {
            buf: VecDeque::new(),
            max_buf_size,
            write_closed: false,
            read_closed: false,
            read_waker: None,
            write_waker: None,
        }
    }

    fn close_write(&mut self) {
        self.write_closed = true;
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
    }

    fn close_read(&mut self) {
        self.read_closed = true;
        self.buf = VecDeque::new();
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let coop = ready!(poll_proceed(cx));
        let polled = self.poll_read_inner(cx, buf);
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    fn poll_read_inner(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.buf.is_empty() {
            if self.write_closed {
                return Poll::Ready(Ok(()));
            }
            park(&mut self.read_waker, cx);
            return Poll::Pending;
        }
        let n = buf.remaining().min(self.buf.len());
        let (a, b) = self.buf.as_slices();
        let from_a = n.min(a.len());
        buf.put_slice(&a[..from_a]);
        buf.put_slice(&b[..n - from_a]);
        self.buf.drain(..n);
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let coop = ready!(poll_proceed(cx));
        let polled = self.poll_write_inner(cx, bufs);
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    fn poll_write_inner(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.write_closed || self.read_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let room = self.max_buf_size.saturating_sub(self.buf.len());
        if room == 0 {
            park(&mut self.write_waker, cx);
            return Poll::Pending;
        }
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(room - n);
            self.buf.extend(&b[..take]);
            n += take;
            if n == room {
                break;
            }
        }
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

fn lock(pipe: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    // The critical sections cannot leave a `Pipe` inconsistent, so a poisoned lock is fine.
    pipe.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One end of an in-memory, bidirectional pipe; made by [`duplex`].
///
/// Each direction buffers at most `max_buf_size` bytes: writes wait while the peer's buffer is
/// full, reads wait while it is empty. Shutting an end down gives its peer end of stream (after
/// the buffered bytes); dropping it does too, and makes the peer's writes fail with
/// `BrokenPipe`.
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

/// A connected pair of in-memory streams, like `tokio::io::duplex`: what one end writes, the
/// other reads. Each direction buffers at most `max_buf_size` bytes (backpressure).
///
/// # Panics
/// If `max_buf_size` is 0 (writes could never proceed).
///
/// ```
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (mut a, mut b) = netpoll_io::duplex(1024);
///     a.write_all(b"hello").await.unwrap();
///     a.shutdown().await.unwrap();
///     let mut got = String::new();
///     b.read_to_string(&mut got).await.unwrap();
///     assert_eq!(got, "hello");
/// });
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    let one = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let two = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        lock(&self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        lock(&self.write).poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        lock(&self.write).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Gives the peer end of stream once it has read what is buffered. Later writes fail with
    /// `BrokenPipe`; reading still works.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.write).close_write();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        lock(&self.write).close_write();
        lock(&self.read).close_read();
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuplexStream").finish_non_exhaustive()
    }
}

/// An in-memory, one-direction pipe that is both the reader and the writer, like
/// `tokio::io::SimplexStream`; usually used through [`simplex`].
///
/// Writes wait while `max_buf_size` bytes are buffered; reads wait while none are.
/// [`shutdown`](crate::AsyncWriteExt::shutdown) gives the reader end of stream. (Dropping one
/// half made by [`simplex`] does not: the halves share the stream.)
pub struct SimplexStream {
    pipe: Pipe,
}

impl SimplexStream {
    /// A simplex stream buffering at most `max_buf_size` bytes, not split into halves.
    ///
    /// # Panics
    /// If `max_buf_size` is 0.
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        SimplexStream {
            pipe: Pipe::new(max_buf_size),
        }
    }
}

/// A one-direction in-memory pipe as a read half and a write half, like `tokio::io::simplex`.
///
/// # Panics
/// If `max_buf_size` is 0.
///
/// ```
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (mut rx, mut tx) = netpoll_io::simplex(16);
///     tx.write_all(b"one way").await.unwrap();
///     tx.shutdown().await.unwrap();
///     let mut got = Vec::new();
///     rx.read_to_end(&mut got).await.unwrap();
///     assert_eq!(got, b"one way");
/// });
/// ```
pub fn simplex(max_buf_size: usize) -> (ReadHalf<SimplexStream>, WriteHalf<SimplexStream>) {
    crate::split(SimplexStream::new_unsplit(max_buf_size))
}

impl AsyncRead for SimplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().pipe.poll_read(cx, buf)
    }
}

impl AsyncWrite for SimplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .pipe
            .poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().pipe.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().pipe.close_write();
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for SimplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimplexStream")
            .field("buffered", &self.pipe.buf.len())
            .field("max_buf_size", &self.pipe.max_buf_size)
            .finish()
    }
}
