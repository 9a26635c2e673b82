//! [`Take`]: a reader limited to a number of bytes (Go's `io.LimitedReader`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::check_read_buf;
use crate::{AsyncBufRead, AsyncRead, ReadBuf, ZeroCopySource};

pin_project! {
    /// A reader that yields at most `limit` bytes from an inner reader, then end of stream;
    /// made by [`AsyncReadExt::take`](crate::AsyncReadExt::take). Go's `io.LimitedReader`.
    ///
    /// It forwards the inner reader's zero-copy form with the limit lowered, so
    /// [`copy`](crate::copy) moves no more than `limit` bytes on its `splice`/`sendfile` paths
    /// either.
    ///
    /// ```
    /// use netpoll_io::AsyncReadExt;
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let reader: &[u8] = b"hello world";
    ///     let mut first = reader.take(5);
    ///     let mut out = String::new();
    ///     first.read_to_string(&mut out).await.unwrap();
    ///     assert_eq!(out, "hello");
    ///     assert_eq!(first.limit(), 0);
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read from"]
    pub struct Take<R> {
        #[pin]
        inner: R,
        limit: u64,
    }
}

impl<R: AsyncRead> Take<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Take<R> {
        Take { inner, limit }
    }

    /// How many more bytes this reader may yield.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Sets how many more bytes this reader may yield (regardless of how many it yielded).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably. Reading from it directly bypasses the limit.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The pinned inner reader, mutably. Reading from it directly bypasses the limit.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The inner reader; bytes not yet read stay in it.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.project();
        if *me.limit == 0 || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let max = usize::try_from(*me.limit).unwrap_or(usize::MAX);
        let (filled, initialized) = {
            let mut sub = buf.take(max);
            let ptr = sub.filled().as_ptr();
            let cap = sub.capacity();
            ready!(me.inner.poll_read(cx, &mut sub))?;
            check_read_buf(&sub, ptr, cap)
        };
        // SAFETY: `check_read_buf` proved the inner reader worked in place on `sub`, which is
        // `buf`'s unfilled part, and it had initialised its first `initialized` bytes.
        unsafe { buf.assume_init(initialized) };
        buf.advance(filled);
        *me.limit -= filled as u64;
        Poll::Ready(Ok(()))
    }

    /// The inner reader's zero-copy form with the limit lowered to at most this reader's
    /// remaining count; `None` if the inner reader has none.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        let (source, inner_limit) = self.inner.zero_copy_source()?;
        let limit = match inner_limit {
            Some(l) => l.min(self.limit),
            None => self.limit,
        };
        Some((source, Some(limit)))
    }

    /// Lowers the remaining count by `n` and tells the inner reader.
    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        let me = self.project();
        *me.limit = me.limit.saturating_sub(n);
        me.inner.zero_copy_consumed(n);
    }
}

impl<R: AsyncBufRead> AsyncBufRead for Take<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if *me.limit == 0 {
            return Poll::Ready(Ok(&[]));
        }
        let buf = ready!(me.inner.poll_fill_buf(cx))?;
        let n = usize::try_from(*me.limit).map_or(buf.len(), |l| l.min(buf.len()));
        Poll::Ready(Ok(&buf[..n]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        let amt = usize::try_from(*me.limit).map_or(amt, |l| l.min(amt));
        *me.limit -= amt as u64;
        me.inner.consume(amt);
    }
}
