//! Interoperability with the `futures-io` traits (used by `futures`, `async-std`, `smol`...),
//! like `tokio_util::compat`: one adapter, [`Compat`], that works in both directions.
//!
//! * `Compat<T>` where `T` implements `futures_io::{AsyncRead, AsyncWrite, AsyncBufRead,
//!   AsyncSeek}` implements this crate's [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`] and
//!   [`AsyncSeek`];
//! * `Compat<T>` where `T` implements this crate's traits implements `futures-io`'s.
//!
//! `poll_close` and `poll_shutdown` correspond. The extension traits (named like
//! `tokio_util::compat`'s, so ports compile unchanged; "Tokio" stands for this crate's
//! tokio-shaped traits) provide `.compat()` and `.compat_write()`.
//!
//! Compat offers no zero-copy form to [`copy`](crate::copy): `futures-io` has no such notion.
//!
//! ```
//! use futures_util::io::AsyncReadExt as _; // futures' extension trait
//! use netpoll_io::TokioAsyncReadCompatExt;
//!
//! let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     // One of this crate's readers, read through futures-io.
//!     let mut reader = (&b"hello"[..]).compat();
//!     let mut out = String::new();
//!     reader.read_to_string(&mut out).await.unwrap();
//!     assert_eq!(out, "hello");
//! });
//! ```

use std::io::{self, IoSlice, IoSliceMut, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

pin_project! {
    /// Adapts a `futures-io` stream to this crate's traits, or one of this crate's streams to
    /// `futures-io`'s.
    ///
    /// * `Compat<T>` where `T` implements `futures_io::{AsyncRead, AsyncWrite, AsyncBufRead,
    ///   AsyncSeek}` implements this crate's [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`]
    ///   and [`AsyncSeek`];
    /// * `Compat<T>` where `T` implements this crate's traits implements `futures-io`'s.
    ///
    /// `poll_close` and `poll_shutdown` correspond. [`FuturesAsyncReadCompatExt`],
    /// [`TokioAsyncReadCompatExt`] and their `Write` siblings make one with `.compat()` or
    /// `.compat_write()`. No zero-copy form is offered to [`copy`](crate::copy) through it.
    ///
    /// ```
    /// use netpoll_io::{AsyncReadExt, Compat};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     // A futures-io reader, read through this crate's `AsyncReadExt`.
    ///     let mut reader = Compat::new(futures_util::io::Cursor::new(b"abc".to_vec()));
    ///     let mut out = Vec::new();
    ///     reader.read_to_end(&mut out).await.unwrap();
    ///     assert_eq!(out, b"abc");
    /// });
    /// ```
    #[derive(Debug)]
    pub struct Compat<T> {
        #[pin]
        inner: T,
        // A seek requested through this crate's `start_seek` of a futures-io seeker, run by
        // `poll_complete` (futures-io seeks in one call).
        seek_pos: Option<SeekFrom>,
    }
}

impl<T> Compat<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Compat<T> {
        Compat {
            inner,
            seek_pos: None,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The pinned wrapped stream, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

// ---- futures-io stream -> this crate's traits ----

impl<T: futures_io::AsyncRead> AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // futures-io reads into initialised memory; `ReadBuf` remembers what it initialised,
        // so repeated reads into the same buffer do not zero it again.
        let n = ready!(self
            .project()
            .inner
            .poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncBufRead> AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<T: futures_io::AsyncWrite> AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// `futures-io`'s `poll_close`.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<T: futures_io::AsyncSeek> AsyncSeek for Compat<T> {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        *self.project().seek_pos = Some(position);
        Ok(())
    }

    /// Runs the seek given to `start_seek`; without one, reports the current position.
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.project();
        let position = me.seek_pos.unwrap_or(SeekFrom::Current(0));
        let res = ready!(me.inner.poll_seek(cx, position));
        *me.seek_pos = None;
        Poll::Ready(res)
    }
}

// ---- this crate's stream -> futures-io traits ----

impl<T: AsyncRead> futures_io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        ready!(AsyncRead::poll_read(self.project().inner, cx, &mut rb))?;
        Poll::Ready(Ok(rb.filled().len()))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(buf) => futures_io::AsyncRead::poll_read(self, cx, buf),
            None => Poll::Ready(Ok(0)),
        }
    }
}

impl<T: AsyncBufRead> futures_io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        AsyncBufRead::poll_fill_buf(self.project().inner, cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        AsyncBufRead::consume(self.project().inner, amt)
    }
}

impl<T: AsyncWrite> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self.project().inner, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write_vectored(self.project().inner, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self.project().inner, cx)
    }

    /// This crate's `poll_shutdown`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(self.project().inner, cx)
    }
}

impl<T: AsyncSeek> futures_io::AsyncSeek for Compat<T> {
    /// Finishes any operation in flight, starts the seek, and waits for it. If this returns
    /// `Pending` after the seek started, the next call (whatever its `pos`) finishes that seek.
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let mut me = self.project();
        if me.seek_pos.is_none() {
            ready!(me.inner.as_mut().poll_complete(cx))?;
            me.inner.as_mut().start_seek(pos)?;
            *me.seek_pos = Some(pos);
        }
        let res = ready!(me.inner.poll_complete(cx));
        *me.seek_pos = None;
        Poll::Ready(res)
    }
}

/// `.compat()` for `futures-io` readers: makes them this crate's readers (like
/// `tokio_util::compat::FuturesAsyncReadCompatExt`).
pub trait FuturesAsyncReadCompatExt: futures_io::AsyncRead {
    /// Wraps `self` in [`Compat`].
    fn compat(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: futures_io::AsyncRead + ?Sized> FuturesAsyncReadCompatExt for T {}

/// `.compat_write()` for `futures-io` writers: makes them this crate's writers (like
/// `tokio_util::compat::FuturesAsyncWriteCompatExt`).
pub trait FuturesAsyncWriteCompatExt: futures_io::AsyncWrite {
    /// Wraps `self` in [`Compat`].
    fn compat_write(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: futures_io::AsyncWrite + ?Sized> FuturesAsyncWriteCompatExt for T {}

/// `.compat()` for this crate's readers: makes them `futures-io` readers (like
/// `tokio_util::compat::TokioAsyncReadCompatExt`).
pub trait TokioAsyncReadCompatExt: AsyncRead {
    /// Wraps `self` in [`Compat`].
    fn compat(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: AsyncRead + ?Sized> TokioAsyncReadCompatExt for T {}

/// `.compat_write()` for this crate's writers: makes them `futures-io` writers (like
/// `tokio_util::compat::TokioAsyncWriteCompatExt`).
pub trait TokioAsyncWriteCompatExt: AsyncWrite {
    /// Wraps `self` in [`Compat`].
    fn compat_write(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: AsyncWrite + ?Sized> TokioAsyncWriteCompatExt for T {}
