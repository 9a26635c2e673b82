use std::io::{self, IoSlice};
use std::ops::DerefMut;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use netpoll_runtime::io::Registration;

use crate::ReadBuf;

/// `Pin::as_deref_mut` (stable only since Rust 1.84, above this crate's floor): the pinned
/// target of a pinned pointer, which is what the `Pin<P>` impls below forward to.
pub(crate) fn pin_as_deref_mut<P: DerefMut>(pin: Pin<&mut Pin<P>>) -> Pin<&mut P::Target> {
    // SAFETY: the `&mut Pin<P>` is used only to reborrow its target as pinned (`Pin::as_mut`);
    // the `Pin<P>` itself is never moved out of or replaced, so its pinning is kept.
    unsafe { pin.get_unchecked_mut() }.as_mut()
}

/// A reader's zero-copy form, offered to [`copy`](crate::copy) through
/// [`AsyncRead::zero_copy_source`]: Rust's version of Go's `io.Copy` asking `src.(WriterTo)` and
/// `*TCPConn`/`*os.File` type assertions.
#[derive(Debug, Clone, Copy)]
pub enum ZeroCopySource<'a> {
    /// A connected stream socket (TCP or Unix stream) or a pipe (a child process's stdout or
    /// stderr), non-blocking, with its netpoller registration: `copy` may `splice(2)` out of it
    /// and park on its read readiness.
    Socket {
        /// The socket.
        fd: RawFd,
        /// Its netpoller registration.
        registration: &'a Registration,
    },
    /// A regular file, read from `offset`: `copy` may `sendfile(2)` from it.
    File {
        /// The file.
        fd: RawFd,
        /// Where the reader's next byte is.
        offset: u64,
    },
}

/// A writer's zero-copy form (Go's `dst.(ReaderFrom)`), offered through
/// [`AsyncWrite::zero_copy_sink`].
#[derive(Debug, Clone, Copy)]
pub enum ZeroCopySink<'a> {
    /// A connected stream socket or a pipe (a child process's stdin), with its netpoller
    /// registration: `copy` may `splice(2)` or `sendfile(2)` into it and park on its write
    /// readiness.
    Socket {
        /// The socket.
        fd: RawFd,
        /// Its netpoller registration.
        registration: &'a Registration,
    },
}

/// Reads bytes asynchronously, like `tokio::io::AsyncRead`.
pub trait AsyncRead {
    /// Reads into `buf`; `Ready(Ok(()))` with nothing filled means end of stream.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>>;

    /// The reader's zero-copy form and the most bytes it may still yield (`None`: no limit),
    /// or `None` if it has none. Readers that hold bytes in a user-space buffer must return
    /// `None` while the buffer is not empty. The default is `None`.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        None
    }

    /// Tells the reader that `copy` moved `n` bytes out of its zero-copy form, so it can update
    /// its position or limit (a file's offset, a `take`'s remaining count). The default does
    /// nothing.
    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        let _ = n;
    }
}

/// Writes bytes asynchronously, like `tokio::io::AsyncWrite`.
pub trait AsyncWrite {
    /// Writes some of `buf`; returns how much.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Flushes buffered data.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the write side down (for a socket: `shutdown(SHUT_WR)`, a FIN to the peer).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes from several buffers; the default writes the first non-empty one.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.poll_write(cx, buf)
    }

    /// True if `poll_write_vectored` is better than a loop of `poll_write`.
    fn is_write_vectored(&self) -> bool {
        false
    }

    /// The writer's zero-copy form, or `None` (the default). Writers that buffer in user space
    /// must return `None` while their buffer holds data.
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        None
    }
}

/// A buffered reader, like `tokio::io::AsyncBufRead`.
pub trait AsyncBufRead: AsyncRead {
    /// The buffered bytes, filling the buffer if it is empty; empty at end of stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;
    /// Marks `amt` buffered bytes as read.
    fn consume(self: Pin<&mut Self>, amt: usize);
}

macro_rules! deref_async_read {
    () => {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_read(cx, buf)
        }
        fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
            (**self).zero_copy_source()
        }
        fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
            Pin::new(&mut **self).zero_copy_consumed(n)
        }
    };
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for Box<T> {
    deref_async_read!();
}

impl<T: ?Sized + AsyncRead + Unpin> AsyncRead for &mut T {
    deref_async_read!();
}

impl<P> AsyncRead for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        pin_as_deref_mut(self).poll_read(cx, buf)
    }
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        (**self).zero_copy_source()
    }
    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        pin_as_deref_mut(self).zero_copy_consumed(n)
    }
}

impl AsyncRead for &[u8] {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.len().min(buf.remaining());
        let (a, b) = self.split_at(n);
        buf.put_slice(a);
        *self = b;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncRead for io::Cursor<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let pos = self.position();
        let data = self.get_ref().as_ref();
        let start = (pos.min(data.len() as u64)) as usize;
        let n = (data.len() - start).min(buf.remaining());
        buf.put_slice(&data[start..start + n]);
        self.set_position(pos + n as u64);
        Poll::Ready(Ok(()))
    }
}

macro_rules! deref_async_write {
    () => {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write(cx, buf)
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut **self).poll_write_vectored(cx, bufs)
        }
        fn is_write_vectored(&self) -> bool {
            (**self).is_write_vectored()
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut **self).poll_shutdown(cx)
        }
        fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
            (**self).zero_copy_sink()
        }
    };
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for Box<T> {
    deref_async_write!();
}

impl<T: ?Sized + AsyncWrite + Unpin> AsyncWrite for &mut T {
    deref_async_write!();
}

impl<P> AsyncWrite for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        pin_as_deref_mut(self).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        pin_as_deref_mut(self).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        (**self).is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pin_as_deref_mut(self).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pin_as_deref_mut(self).poll_shutdown(cx)
    }
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        (**self).zero_copy_sink()
    }
}

impl AsyncWrite for Vec<u8> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let v = self.get_mut();
        let mut n = 0;
        for b in bufs {
            v.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncBufRead + ?Sized + Unpin> AsyncBufRead for Box<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut **self).consume(amt)
    }
}

impl<T: AsyncBufRead + ?Sized + Unpin> AsyncBufRead for &mut T {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut **self).consume(amt)
    }
}

impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(*self.get_mut()))
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        *self = &self[amt..];
    }
}

impl<P> AsyncBufRead for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncBufRead,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        pin_as_deref_mut(self).poll_fill_buf(cx)
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        pin_as_deref_mut(self).consume(amt)
    }
}

/// The cursor's bytes from its position on (none once it is at or past the end); `consume`
/// moves the position, as `std::io::BufRead` does for a cursor.
impl<T: AsRef<[u8]> + Unpin> AsyncBufRead for io::Cursor<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(io::BufRead::fill_buf(self.get_mut()))
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        io::BufRead::consume(self.get_mut(), amt)
    }
}

/// `AsyncWrite` for the cursors std can write to and tokio implements it for: every call
/// completes at once with what `std::io::Write` does (a fixed-size cursor writes what fits
/// and then `0`; a `Vec`-backed one overwrites from its position and grows). Shutdown is a
/// flush.
macro_rules! cursor_async_write {
    ($($ty:ty),* $(,)?) => {$(
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(io::Write::write(self.get_mut(), buf))
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(io::Write::write_vectored(self.get_mut(), bufs))
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(io::Write::flush(self.get_mut()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush(cx)
            }
        }
    )*};
}

cursor_async_write!(
    io::Cursor<&mut [u8]>,
    io::Cursor<&mut Vec<u8>>,
    io::Cursor<Vec<u8>>,
    io::Cursor<Box<[u8]>>,
);
