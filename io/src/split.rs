//! [`split`]: a read half and a write half of one stream, for two tasks.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::{AsyncRead, AsyncWrite, ReadBuf};

/// Splits a stream into a read half and a write half that can move to different tasks, like
/// `tokio::io::split`.
///
/// The halves share the stream behind an `Arc` and a mutex, held only for the duration of one
/// `poll_*` call (never across an `.await`), so the two halves never wait on each other for
/// long. [`ReadHalf::unsplit`] puts the stream back together.
///
/// The halves offer no zero-copy form to [`copy`](crate::copy) (their hooks return `None`):
/// handing out the stream's file descriptor would escape the lock. Sockets have their own
/// lock-free `split`/`into_split` in `netpoll-net`, which do offer it.
///
/// ```
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (client, mut server) = netpoll_io::duplex(64);
///     let (mut rd, mut wr) = netpoll_io::split(client);
///     wr.write_all(b"ping").await.unwrap();
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await.unwrap();
///     server.write_all(b"pong").await.unwrap();
///     rd.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"pong");
///     let _client = rd.unsplit(wr);
/// });
/// ```
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let is_write_vectored = stream.is_write_vectored();
    let inner = Arc::new(Inner {
        stream: Mutex::new(stream),
        is_write_vectored,
    });
    (
        ReadHalf {
            inner: inner.clone(),
        },
        WriteHalf { inner },
    )
}

struct Inner<T> {
    stream: Mutex<T>,
    is_write_vectored: bool,
}

impl<T> Inner<T> {
    fn with_lock<R>(&self, f: impl FnOnce(Pin<&mut T>) -> R) -> R {
        // A panic in another half's poll poisons the mutex; the stream itself is as usable as
        // after any interrupted poll, so carry on.
        let mut guard = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: the stream lives in the `Arc`'s allocation and is never moved while shared:
        // the only way out is `unsplit`, which requires `T: Unpin`. So pinning it here is sound
        // even for `!Unpin` streams.
        let stream = unsafe { Pin::new_unchecked(&mut *guard) };
        f(stream)
    }
}

/// The read half of a stream, made by [`split`].
pub struct ReadHalf<T> {
    inner: Arc<Inner<T>>,
}

/// The write half of a stream, made by [`split`].
pub struct WriteHalf<T> {
    inner: Arc<Inner<T>>,
}

impl<T> ReadHalf<T> {
    /// True if `other` is the write half of the same stream.
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Puts the stream back together.
    ///
    /// # Panics
    /// If `wr` is not the write half of this stream.
    pub fn unsplit(self, wr: WriteHalf<T>) -> T
    where
        T: Unpin,
    {
        assert!(
            self.is_pair_of(&wr),
            "unrelated WriteHalf passed to ReadHalf::unsplit"
        );
        drop(wr);
        let inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(_) => unreachable!("both halves were given, so no other reference exists"),
        };
        inner
            .stream
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> WriteHalf<T> {
    /// True if `other` is the read half of the same stream.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        other.is_pair_of(self)
    }
}

impl<T: AsyncRead> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.with_lock(|stream| stream.poll_read(cx, buf))
    }
}

impl<T: AsyncWrite> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.with_lock(|stream| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner
            .with_lock(|stream| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.with_lock(|stream| stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.with_lock(|stream| stream.poll_shutdown(cx))
    }
}

impl<T: fmt::Debug> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
