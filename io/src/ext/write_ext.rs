//! [`AsyncWriteExt`] and the futures it returns.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::AsyncWrite;

/// Writes all of `buf[*written..]`; `WriteZero` if the writer accepts nothing.
fn poll_write_exact<W: AsyncWrite + ?Sized>(
    mut writer: Pin<&mut W>,
    cx: &mut Context<'_>,
    buf: &[u8],
    written: &mut usize,
) -> Poll<io::Result<()>> {
    while *written < buf.len() {
        let n = match ready!(writer.as_mut().poll_write(cx, &buf[*written..])) {
            Ok(n) => n,
            // As std's `write_all`: an interrupted write is retried.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        *written += n;
    }
    Poll::Ready(Ok(()))
}

macro_rules! write_int_methods {
    ($($method:ident -> $fut:ident, $ty:ty, $conv:ident, $what:literal, $cancel:literal;)*) => {$(
        #[doc = concat!("Writes ", $what, ".")]
        ///
        /// # Cancel safety
        ///
        #[doc = $cancel]
        fn $method(&mut self, n: $ty) -> $fut<'_, Self>
        where
            Self: Unpin,
        {
            $fut {
                writer: self,
                buf: n.$conv(),
                written: 0,
            }
        }
    )*};
}

/// Extension methods for every [`AsyncWrite`], like `tokio::io::AsyncWriteExt`.
///
/// ```
/// use netpoll_io::AsyncWriteExt;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut out: Vec<u8> = Vec::new();
///     out.write_u16(0x0102).await.unwrap();
///     out.write_all(b"hi").await.unwrap();
///     out.flush().await.unwrap();
///     assert_eq!(out, b"\x01\x02hi");
/// });
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `src`, returning how many bytes were accepted (`0` only if `src` is
    /// empty or the writer can take no more).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written.
    fn write<'a>(&'a mut self, src: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write {
            writer: self,
            buf: src,
        }
    }

    /// Writes some of the bytes in `bufs`, in order, returning how many were accepted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written.
    fn write_vectored<'a, 'b>(&'a mut self, bufs: &'a [IoSlice<'b>]) -> WriteVectored<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteVectored { writer: self, bufs }
    }

    /// Writes all of `src`; `WriteZero` if the writer stops accepting bytes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, an unknown prefix of `src` may have been
    /// written.
    fn write_all<'a>(&'a mut self, src: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll {
            writer: self,
            buf: src,
            written: 0,
        }
    }

    /// Flushes buffered data to its destination.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that dropping the future loses nothing: buffered data stays buffered
    /// (some of it may have been written already).
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Flushes and shuts the writer down: for a socket, the peer sees end of stream; for an
    /// in-memory pipe, the reader does.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the writer flushed but not shut down.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    write_int_methods! {
        write_u8 -> WriteU8, u8, to_be_bytes, "an unsigned byte",
            "Cancel safe: a single byte is either written or not.";
        write_i8 -> WriteI8, i8, to_be_bytes, "a signed byte",
            "Cancel safe: a single byte is either written or not.";
        write_u16 -> WriteU16, u16, to_be_bytes, "a big-endian `u16`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i16 -> WriteI16, i16, to_be_bytes, "a big-endian `i16`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u32 -> WriteU32, u32, to_be_bytes, "a big-endian `u32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i32 -> WriteI32, i32, to_be_bytes, "a big-endian `i32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u64 -> WriteU64, u64, to_be_bytes, "a big-endian `u64`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i64 -> WriteI64, i64, to_be_bytes, "a big-endian `i64`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u16_le -> WriteU16Le, u16, to_le_bytes, "a little-endian `u16`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i16_le -> WriteI16Le, i16, to_le_bytes, "a little-endian `i16`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u32_le -> WriteU32Le, u32, to_le_bytes, "a little-endian `u32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i32_le -> WriteI32Le, i32, to_le_bytes, "a little-endian `i32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u64_le -> WriteU64Le, u64, to_le_bytes, "a little-endian `u64`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i64_le -> WriteI64Le, i64, to_le_bytes, "a little-endian `i64`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// Future for [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + ?Sized + Unpin> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        Pin::new(&mut *me.writer).poll_write(cx, me.buf)
    }
}

/// Future for [`AsyncWriteExt::write_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteVectored<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    bufs: &'a [IoSlice<'b>],
}

impl<W: AsyncWrite + ?Sized + Unpin> Future for WriteVectored<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        Pin::new(&mut *me.writer).poll_write_vectored(cx, me.bufs)
    }
}

/// Future for [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
    written: usize,
}

impl<W: AsyncWrite + ?Sized + Unpin> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = &mut *self;
        poll_write_exact(Pin::new(&mut *me.writer), cx, me.buf, &mut me.written)
    }
}

/// Future for [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + ?Sized + Unpin> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.writer).poll_flush(cx)
    }
}

/// Future for [`AsyncWriteExt::shutdown`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + ?Sized + Unpin> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.writer).poll_shutdown(cx)
    }
}

macro_rules! write_int_futures {
    ($($fut:ident, $method:ident, $ty:ty;)*) => {$(
        #[doc = concat!("Future for [`AsyncWriteExt::", stringify!($method), "`].")]
        #[derive(Debug)]
        #[must_use = "futures do nothing unless you `.await` or poll them"]
        pub struct $fut<'a, W: ?Sized> {
            writer: &'a mut W,
            buf: [u8; std::mem::size_of::<$ty>()],
            written: usize,
        }

        impl<W: AsyncWrite + ?Sized + Unpin> Future for $fut<'_, W> {
            type Output = io::Result<()>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let me = &mut *self;
                poll_write_exact(Pin::new(&mut *me.writer), cx, &me.buf, &mut me.written)
            }
        }
    )*};
}

write_int_futures! {
    WriteU8, write_u8, u8;
    WriteI8, write_i8, i8;
    WriteU16, write_u16, u16;
    WriteI16, write_i16, i16;
    WriteU32, write_u32, u32;
    WriteI32, write_i32, i32;
    WriteU64, write_u64, u64;
    WriteI64, write_i64, i64;
    WriteU16Le, write_u16_le, u16;
    WriteI16Le, write_i16_le, i16;
    WriteU32Le, write_u32_le, u32;
    WriteI32Le, write_i32_le, i32;
    WriteU64Le, write_u64_le, u64;
    WriteI64Le, write_i64_le, i64;
}
