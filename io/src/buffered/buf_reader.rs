//! [`BufReader`].

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
    /// Adds a read buffer to a reader, like `tokio::io::BufReader`: small reads are served from
    /// the buffer, and it implements [`AsyncBufRead`] (`read_line`, `lines`, ...).
    ///
    /// Reads at least as large as the buffer bypass it when it is empty. While the buffer is
    /// empty, the inner reader's zero-copy form is offered to [`copy`](crate::copy); while it
    /// holds bytes, none is (they must be copied out first).
    ///
    /// If the inner reader is also a writer, writes pass straight through.
    ///
    /// ```
    /// use netpoll_io::{AsyncBufReadExt, BufReader};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut reader = BufReader::with_capacity(4, &b"a,b,c"[..]);
    ///     let mut field = Vec::new();
    ///     reader.read_until(b',', &mut field).await.unwrap();
    ///     assert_eq!(field, b"a,");
    ///     assert_eq!(reader.buffer(), b"b,");
    /// });
    /// ```
    pub struct BufReader<R> {
        #[pin]
        inner: R,
        buf: Box<[u8]>,
        pos: usize,
        cap: usize,
        seek_state: SeekState,
    }
}

/// A [`BufReader`] without its inner reader (see [`BufReader::into_parts`]).
pub(super) struct ReaderState {
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    seek_state: SeekState,
}

#[derive(Debug, Clone, Copy)]
enum SeekState {
    /// No seek in progress.
    Init,
    /// `start_seek` was called on the inner reader; `poll_complete` will finish it.
    Pending,
    /// A `SeekFrom::Current(n)` that, corrected by the buffered bytes, did not fit an `i64`:
    /// the inner reader is seeking back over the buffered bytes first; `n` follows.
    PendingOverflowed(i64),
}

impl<R: AsyncRead> BufReader<R> {
    /// A `BufReader` with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// A `BufReader` with a buffer of `capacity` bytes.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (as tokio's does: an empty buffer could never be filled).
    #[track_caller]
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        assert!(capacity > 0, "a BufReader's capacity must be at least 1");
        BufReader {
            inner,
            buf: vec![0; capacity].into_boxed_slice(),
            pos: 0,
            cap: 0,
            seek_state: SeekState::Init,
        }
    }
}

impl<R: AsyncRead> BufReader<R> {
    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably. Reading from it directly skips the buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The pinned inner reader, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The inner reader; buffered bytes are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The buffered bytes not yet read.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.cap]
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    fn discard_buffer(self: Pin<&mut Self>) {
        let me = self.project();
        *me.pos = 0;
        *me.cap = 0;
    }
}

impl<R: AsyncRead> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Nothing buffered and a big read: skip the copy through our buffer.
        if self.pos == self.cap && buf.remaining() >= self.buf.len() {
            let res = ready!(self.as_mut().get_pin_mut().poll_read(cx, buf));
            self.discard_buffer();
            return Poll::Ready(res);
        }
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }

    /// The inner reader's zero-copy form while the buffer is empty; `None` while it holds
    /// bytes.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        if self.pos == self.cap {
            self.inner.zero_copy_source()
        } else {
            None
        }
    }

    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        debug_assert!(
            self.pos == self.cap,
            "zero-copy read from a non-empty BufReader"
        );
        self.project().inner.zero_copy_consumed(n)
    }
}

impl<R: AsyncRead> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if *me.pos >= *me.cap {
            let mut rb = ReadBuf::new(me.buf);
            ready!(me.inner.poll_read(cx, &mut rb))?;
            let filled = rb.filled().len();
            *me.cap = filled.min(me.buf.len());
            *me.pos = 0;
        }
        Poll::Ready(Ok(&me.buf[*me.pos..*me.cap]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        *me.pos = (*me.pos + amt).min(*me.cap);
    }
}

impl<R: AsyncRead + AsyncSeek> AsyncSeek for BufReader<R> {
    /// Starts a seek of the inner reader; `SeekFrom::Current` is relative to the position of
    /// the next byte this `BufReader` yields, as if there were no buffer. The buffer is
    /// discarded when the seek completes.
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let me = self.project();
        let state = match pos {
            SeekFrom::Current(n) => {
                // The inner reader is `remainder` bytes ahead of us.
                let remainder = (*me.cap - *me.pos) as i64;
                match n.checked_sub(remainder) {
                    Some(offset) => {
                        me.inner.start_seek(SeekFrom::Current(offset))?;
                        SeekState::Pending
                    }
                    None => {
                        me.inner.start_seek(SeekFrom::Current(-remainder))?;
                        SeekState::PendingOverflowed(n)
                    }
                }
            }
            other => {
                me.inner.start_seek(other)?;
                SeekState::Pending
            }
        };
        *me.seek_state = state;
        Ok(())
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        loop {
            match self.seek_state {
                // No seek started: let the inner reader finish whatever it has in flight.
                SeekState::Init => return self.get_pin_mut().poll_complete(cx),
                SeekState::Pending => {
                    let res = ready!(self.as_mut().get_pin_mut().poll_complete(cx));
                    self.as_mut().discard_buffer();
                    *self.as_mut().project().seek_state = SeekState::Init;
                    return Poll::Ready(res);
                }
                SeekState::PendingOverflowed(n) => {
                    let res = ready!(self.as_mut().get_pin_mut().poll_complete(cx));
                    self.as_mut().discard_buffer();
                    *self.as_mut().project().seek_state = SeekState::Init;
                    res?;
                    self.as_mut()
                        .get_pin_mut()
                        .start_seek(SeekFrom::Current(n))?;
                    *self.as_mut().project().seek_state = SeekState::Pending;
                }
            }
        }
    }
}

impl<R: AsyncRead + AsyncWrite> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_shutdown(cx)
    }

    /// Writes are not buffered: the inner writer's zero-copy form.
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        self.inner.zero_copy_sink()
    }
}

/// How `BufStream` swaps its layers; no bound on the inner value.
impl<R> BufReader<R> {
    /// Takes the reader apart, keeping the buffered bytes and any seek in progress, so that
    /// [`from_parts`](Self::from_parts) can put it back around another inner value (how
    /// `BufStream` swaps its layers).
    pub(super) fn into_parts(self) -> (R, ReaderState) {
        let state = ReaderState {
            buf: self.buf,
            pos: self.pos,
            cap: self.cap,
            seek_state: self.seek_state,
        };
        (self.inner, state)
    }

    /// The inverse of [`into_parts`](Self::into_parts).
    pub(super) fn from_parts(inner: R, state: ReaderState) -> BufReader<R> {
        BufReader {
            inner,
            buf: state.buf,
            pos: state.pos,
            cap: state.cap,
            seek_state: state.seek_state,
        }
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("reader", &self.inner)
            .field(
                "buffer",
                &format_args!("{}/{}", self.cap - self.pos, self.buf.len()),
            )
            .finish()
    }
}
