//! [`AsyncWriteExt`] and the futures it returns.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;

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

    /// Writes some of `src`'s remaining bytes and advances `src` past them, returning how many
    /// were accepted (`0` if `src` has nothing left, or the writer can take no more).
    ///
    /// A writer that prefers vectored writes ([`AsyncWrite::is_write_vectored`]) gets up to
    /// 64 of `src`'s chunks in one call, so a chained or segmented buffer is written with one
    /// syscall.
    ///
    /// ```
    /// use netpoll_io::AsyncWriteExt;
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut out: Vec<u8> = Vec::new();
    ///     let mut src = &b"hello"[..];
    ///     let n = out.write_buf(&mut src).await.unwrap();
    ///     assert_eq!(n, 5);
    ///     assert!(src.is_empty());
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was written and `src`
    /// was not advanced.
    fn write_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteBuf<'a, Self, B>
    where
        Self: Sized + Unpin,
        B: Buf,
    {
        WriteBuf {
            writer: self,
            buf: src,
        }
    }

    /// Writes all of `src`'s remaining bytes, advancing `src` as they are accepted;
    /// `WriteZero` if the writer stops accepting bytes.
    ///
    /// Like [`write_buf`](Self::write_buf), a writer that prefers vectored writes gets several
    /// chunks per call.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, some of `src` may have been written, but
    /// `src` has been advanced past exactly those bytes: awaiting `write_all_buf` again with the
    /// same buffer writes the rest, and nothing twice.
    fn write_all_buf<'a, B>(&'a mut self, src: &'a mut B) -> WriteAllBuf<'a, Self, B>
    where
        Self: Sized + Unpin,
        B: Buf,
    {
        WriteAllBuf {
            writer: self,
            buf: src,
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
        write_u128 -> WriteU128, u128, to_be_bytes, "a big-endian `u128`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_u128_le -> WriteU128Le, u128, to_le_bytes, "a little-endian `u128`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i128 -> WriteI128, i128, to_be_bytes, "a big-endian `i128`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_i128_le -> WriteI128Le, i128, to_le_bytes, "a little-endian `i128`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_f32 -> WriteF32, f32, to_be_bytes, "a big-endian `f32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_f32_le -> WriteF32Le, f32, to_le_bytes, "a little-endian `f32`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_f64 -> WriteF64, f64, to_be_bytes, "a big-endian `f64`",
            "Not cancel safe: if the future is dropped, some of the bytes may have been written already.";
        write_f64_le -> WriteF64Le, f64, to_le_bytes, "a little-endian `f64`",
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

/// Most chunks of a `Buf` handed to one vectored write.
const MAX_VECTORED_CHUNKS: usize = 64;

/// One write of `buf`'s remaining bytes (vectored when the writer prefers it); advances `buf`
/// past what was accepted and returns that count.
fn poll_write_buf_once<W: AsyncWrite + ?Sized, B: Buf + ?Sized>(
    writer: Pin<&mut W>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<usize>> {
    if !buf.has_remaining() {
        return Poll::Ready(Ok(0));
    }
    let n = if writer.is_write_vectored() {
        let mut slices = [IoSlice::new(&[]); MAX_VECTORED_CHUNKS];
        let cnt = buf.chunks_vectored(&mut slices);
        ready!(writer.poll_write_vectored(cx, &slices[..cnt]))?
    } else {
        ready!(writer.poll_write(cx, buf.chunk()))?
    };
    buf.advance(n);
    Poll::Ready(Ok(n))
}

/// Future for [`AsyncWriteExt::write_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteBuf<'a, W, B> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<W: AsyncWrite + Unpin, B: Buf> Future for WriteBuf<'_, W, B> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        poll_write_buf_once(Pin::new(&mut *me.writer), cx, &mut *me.buf)
    }
}

/// Future for [`AsyncWriteExt::write_all_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAllBuf<'a, W, B> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<W: AsyncWrite + Unpin, B: Buf> Future for WriteAllBuf<'_, W, B> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = &mut *self;
        while me.buf.has_remaining() {
            match ready!(poll_write_buf_once(
                Pin::new(&mut *me.writer),
                cx,
                &mut *me.buf
            )) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                // As `write_all`: an interrupted write is retried.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
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
    WriteU128, write_u128, u128;
    WriteU128Le, write_u128_le, u128;
    WriteI128, write_i128, i128;
    WriteI128Le, write_i128_le, i128;
    WriteF32, write_f32, f32;
    WriteF32Le, write_f32_le, f32;
    WriteF64, write_f64, f64;
    WriteF64Le, write_f64_le, f64;
}
