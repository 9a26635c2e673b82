//! [`BufWriter`].

use std::fmt;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::DEFAULT_BUF_SIZE;
use crate::{
    AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf, ZeroCopySink, ZeroCopySource,
};

pin_project! {
    /// Adds a write buffer to a writer, like `tokio::io::BufWriter`: small writes are collected
    /// and passed on in large ones.
    ///
    /// Buffered bytes reach the inner writer when the buffer is full, on
    /// [`flush`](crate::AsyncWriteExt::flush) and on
    /// [`shutdown`](crate::AsyncWriteExt::shutdown). They are **lost if the `BufWriter` is
    /// dropped without a flush** (an async flush cannot run in `drop`). Writes at least as
    /// large as the buffer go straight through once it is empty.
    ///
    /// While the buffer is empty, the inner writer's zero-copy form is offered to
    /// [`copy`](crate::copy); while it holds bytes, none is (they would be overtaken).
    ///
    /// If the inner writer is also a reader, reads pass straight through.
    ///
    /// ```
    /// use netpoll_io::{AsyncWriteExt, BufWriter};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut writer = BufWriter::new(Vec::new());
    ///     writer.write_all(b"hello").await.unwrap();
    ///     assert!(writer.get_ref().is_empty()); // still buffered
    ///     writer.flush().await.unwrap();
    ///     assert_eq!(writer.get_ref(), b"hello");
    /// });
    /// ```
    pub struct BufWriter<W> {
        #[pin]
        inner: W,
        buf: Vec<u8>,
        written: usize,
        seek_pos: Option<SeekFrom>,
    }
}

/// A [`BufWriter`] without its inner writer (see [`BufWriter::into_parts`]).
pub(super) struct WriterState {
    buf: Vec<u8>,
    written: usize,
    seek_pos: Option<SeekFrom>,
}

impl<W: AsyncWrite> BufWriter<W> {
    /// A `BufWriter` with an 8 KiB buffer.
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// A `BufWriter` with a buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            written: 0,
            seek_pos: None,
        }
    }

    /// Writes the buffer out (not flushing the inner writer). On error or `Pending`, what was
    /// written is remembered and the rest stays buffered.
    fn flush_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut me = self.project();
        let mut ret = Ok(());
        while *me.written < me.buf.len() {
            match ready!(me.inner.as_mut().poll_write(cx, &me.buf[*me.written..])) {
                Ok(0) => {
                    ret = Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write the buffered data",
                    ));
                    break;
                }
                Ok(n) => *me.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    ret = Err(e);
                    break;
                }
            }
        }
        if *me.written > 0 {
            me.buf.drain(..*me.written);
        }
        *me.written = 0;
        Poll::Ready(ret)
    }
}

impl<W: AsyncWrite> BufWriter<W> {
    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably. Writing to it directly overtakes the buffered bytes.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The pinned inner writer, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.project().inner
    }

    /// The inner writer; buffered bytes are lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The buffered bytes not yet written.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

impl<W: AsyncWrite> AsyncWrite for BufWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() + buf.len() > self.buf.capacity() {
            ready!(self.as_mut().flush_buf(cx))?;
        }
        let me = self.project();
        if buf.len() >= me.buf.capacity() {
            me.inner.poll_write(cx, buf)
        } else {
            me.buf.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.inner.is_write_vectored() {
            let total = bufs
                .iter()
                .fold(0usize, |acc, b| acc.saturating_add(b.len()));
            if total > self.buf.capacity() - self.buf.len() {
                ready!(self.as_mut().flush_buf(cx))?;
            }
            let me = self.project();
            if total >= me.buf.capacity() {
                return me.inner.poll_write_vectored(cx, bufs);
            }
            for b in bufs {
                me.buf.extend_from_slice(b);
            }
            return Poll::Ready(Ok(total));
        }
        // The inner writer takes one slice at a time: buffer as many whole slices as fit.
        let mut bufs = bufs.iter().skip_while(|b| b.is_empty());
        let Some(first) = bufs.next() else {
            return Poll::Ready(Ok(0));
        };
        if first.len() > self.buf.capacity() - self.buf.len() {
            ready!(self.as_mut().flush_buf(cx))?;
        }
        let me = self.project();
        if first.len() >= me.buf.capacity() {
            return me.inner.poll_write(cx, first);
        }
        me.buf.extend_from_slice(first);
        let mut total = first.len();
        for b in bufs {
            if b.len() > me.buf.capacity() - me.buf.len() {
                break;
            }
            me.buf.extend_from_slice(b);
            total += b.len();
        }
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Writes the buffer out, then flushes the inner writer.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().flush_buf(cx))?;
        self.get_pin_mut().poll_flush(cx)
    }

    /// Writes the buffer out, then shuts the inner writer down.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().flush_buf(cx))?;
        self.get_pin_mut().poll_shutdown(cx)
    }

    /// The inner writer's zero-copy form while the buffer is empty; `None` while it holds
    /// bytes.
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        if self.buf.is_empty() {
            self.inner.zero_copy_sink()
        } else {
            None
        }
    }
}

impl<W: AsyncWrite + AsyncSeek> AsyncSeek for BufWriter<W> {
    /// Remembers the seek; [`poll_complete`](AsyncSeek::poll_complete) writes the buffer out
    /// first, then seeks the inner writer.
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        *self.project().seek_pos = Some(pos);
        Ok(())
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        if let Some(pos) = self.seek_pos {
            ready!(self.as_mut().flush_buf(cx))?;
            let me = self.as_mut().project();
            *me.seek_pos = None;
            me.inner.start_seek(pos)?;
        }
        self.get_pin_mut().poll_complete(cx)
    }
}

impl<W: AsyncWrite + AsyncRead> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_read(cx, buf)
    }

    /// Reads are not buffered: the inner reader's zero-copy form.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        self.inner.zero_copy_source()
    }

    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        self.get_pin_mut().zero_copy_consumed(n)
    }
}

impl<W: AsyncWrite + AsyncBufRead> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_pin_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}

/// How `BufStream` swaps its layers; no bound on the inner value.
impl<W> BufWriter<W> {
    /// Takes the writer apart, keeping the buffered bytes and any seek in progress (see
    /// `BufReader::into_parts`).
    pub(super) fn into_parts(self) -> (W, WriterState) {
        let state = WriterState {
            buf: self.buf,
            written: self.written,
            seek_pos: self.seek_pos,
        };
        (self.inner, state)
    }

    /// The inverse of [`into_parts`](Self::into_parts).
    pub(super) fn from_parts(inner: W, state: WriterState) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: state.buf,
            written: state.written,
            seek_pos: state.seek_pos,
        }
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("writer", &self.inner)
            .field(
                "buffer",
                &format_args!("{}/{}", self.buf.len() - self.written, self.buf.capacity()),
            )
            .field("written", &self.written)
            .finish()
    }
}
