//! [`BufStream`].

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{BufReader, BufWriter};
use crate::{
    AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf, ZeroCopySink, ZeroCopySource,
};

pin_project! {
    /// Buffers both directions of a stream, like `tokio::io::BufStream`: a [`BufWriter`]
    /// inside a [`BufReader`], so reads are served from a read buffer and small writes are
    /// collected in a write buffer.
    ///
    /// Everything [`BufReader`] and [`BufWriter`] say holds here; in particular, **written
    /// bytes stay in the buffer until [`flush`](crate::AsyncWriteExt::flush) or
    /// [`shutdown`](crate::AsyncWriteExt::shutdown)**, and are lost if the stream is dropped
    /// first. A request/response protocol must flush its request before it waits for the
    /// reply.
    ///
    /// ```
    /// use netpoll_io::{duplex, AsyncBufReadExt, AsyncWriteExt, BufStream};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (client, server) = duplex(64);
    ///     let mut client = BufStream::new(client);
    ///     let mut server = BufStream::new(server);
    ///
    ///     client.write_all(b"ping\n").await.unwrap();
    ///     client.flush().await.unwrap();
    ///
    ///     let mut line = String::new();
    ///     server.read_line(&mut line).await.unwrap();
    ///     assert_eq!(line, "ping\n");
    /// });
    /// ```
    #[derive(Debug)]
    pub struct BufStream<RW> {
        #[pin]
        inner: BufReader<BufWriter<RW>>,
    }
}

impl<RW: AsyncRead + AsyncWrite> BufStream<RW> {
    /// Buffers `stream` both ways, with tokio's default buffer sizes (8 KiB each).
    pub fn new(stream: RW) -> BufStream<RW> {
        BufStream {
            inner: BufReader::new(BufWriter::new(stream)),
        }
    }

    /// Buffers `stream` with a read buffer of `reader_capacity` bytes and a write buffer of
    /// `writer_capacity` bytes.
    ///
    /// # Panics
    ///
    /// If `reader_capacity` is 0.
    #[track_caller]
    pub fn with_capacity(
        reader_capacity: usize,
        writer_capacity: usize,
        stream: RW,
    ) -> BufStream<RW> {
        BufStream {
            inner: BufReader::with_capacity(
                reader_capacity,
                BufWriter::with_capacity(writer_capacity, stream),
            ),
        }
    }

    /// The stream. Reading from or writing to it directly bypasses (and reorders against) the
    /// buffers.
    pub fn get_ref(&self) -> &RW {
        self.inner.get_ref().get_ref()
    }

    /// The stream, mutably (see [`get_ref`](Self::get_ref)).
    pub fn get_mut(&mut self) -> &mut RW {
        self.inner.get_mut().get_mut()
    }

    /// The pinned stream, mutably (see [`get_ref`](Self::get_ref)).
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut RW> {
        self.project().inner.get_pin_mut().get_pin_mut()
    }

    /// The stream; bytes still in either buffer are lost (flush first).
    pub fn into_inner(self) -> RW {
        self.inner.into_inner().into_inner()
    }
}

/// Takes the layers as they are, buffered bytes included.
impl<RW> From<BufReader<BufWriter<RW>>> for BufStream<RW> {
    fn from(inner: BufReader<BufWriter<RW>>) -> BufStream<RW> {
        BufStream { inner }
    }
}

/// Swaps the layers; both buffers move over with their bytes (and any seek in progress), so
/// nothing read ahead or written is lost.
impl<RW> From<BufWriter<BufReader<RW>>> for BufStream<RW> {
    fn from(outer: BufWriter<BufReader<RW>>) -> BufStream<RW> {
        let (reader, writer_state) = outer.into_parts();
        let (stream, reader_state) = reader.into_parts();
        let writer = BufWriter::from_parts(stream, writer_state);
        BufStream {
            inner: BufReader::from_parts(writer, reader_state),
        }
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncRead for BufStream<RW> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }

    /// The stream's zero-copy form while the read buffer is empty.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        self.inner.zero_copy_source()
    }

    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        self.project().inner.zero_copy_consumed(n)
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncBufRead for BufStream<RW> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<RW: AsyncRead + AsyncWrite> AsyncWrite for BufStream<RW> {
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

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    /// Writes the write buffer out and flushes the stream.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// Writes the write buffer out and shuts the stream's write side down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    /// The stream's zero-copy form while the write buffer is empty.
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        self.inner.zero_copy_sink()
    }
}

/// Seeks the stream; `SeekFrom::Current` is relative to where the stream would be without the
/// buffers. The write buffer is written out first and the read buffer is discarded, so
/// [`into_inner`](BufStream::into_inner) right after a seek gives the stream at the position
/// the seek returned.
impl<RW: AsyncRead + AsyncWrite + AsyncSeek> AsyncSeek for BufStream<RW> {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.project().inner.start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        self.project().inner.poll_complete(cx)
    }
}
