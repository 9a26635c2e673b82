//! [`join`]: one value from a separate reader and writer, the opposite of
//! [`split`](crate::split).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf, ZeroCopySink, ZeroCopySource};

/// Joins a reader and a writer into one value that is both, like `tokio::io::join`: reads go
/// to `reader`, writes (with flush and shutdown) to `writer`.
///
/// This is the way to hand a pair of one-way streams (a child's stdout and stdin, the two ends
/// of two [`simplex`](crate::simplex) pipes, halves from [`split`](crate::split)) to code that
/// wants a single `AsyncRead + AsyncWrite`. Zero-copy forms are passed through too, so
/// [`copy`](crate::copy) between joined sockets still splices.
///
/// ```
/// use netpoll_io::{join, AsyncReadExt, AsyncWriteExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut stream = join(&b"request"[..], Vec::new());
///     let mut got = String::new();
///     stream.read_to_string(&mut got).await.unwrap();
///     stream.write_all(b"reply").await.unwrap();
///     let (_, written) = stream.into_inner();
///     assert_eq!((got.as_str(), &written[..]), ("request", &b"reply"[..]));
/// });
/// ```
pub fn join<R, W>(reader: R, writer: W) -> Join<R, W>
where
    R: AsyncRead,
    W: AsyncWrite,
{
    Join { reader, writer }
}

pin_project! {
    /// A reader and a writer used as one stream; made by [`join`].
    #[derive(Debug)]
    pub struct Join<R, W> {
        #[pin]
        reader: R,
        #[pin]
        writer: W,
    }
}

impl<R, W> Join<R, W>
where
    R: AsyncRead,
    W: AsyncWrite,
{
    /// The reader and the writer, taken apart again.
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The writer.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// The reader, mutably.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The writer, mutably.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// The pinned reader, mutably.
    pub fn reader_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().reader
    }

    /// The pinned writer, mutably.
    pub fn writer_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.project().writer
    }
}

impl<R: AsyncRead, W> AsyncRead for Join<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().reader.poll_read(cx, buf)
    }

    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        self.reader.zero_copy_source()
    }

    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        self.project().reader.zero_copy_consumed(n)
    }
}

impl<R: AsyncBufRead, W> AsyncBufRead for Join<R, W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().reader.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().reader.consume(amt)
    }
}

impl<R, W: AsyncWrite> AsyncWrite for Join<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().writer.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().writer.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.writer.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().writer.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().writer.poll_shutdown(cx)
    }

    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        self.writer.zero_copy_sink()
    }
}
