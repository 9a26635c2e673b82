//! [`AsyncBufReadExt`] and the futures it returns.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::StringBytes;
use crate::buffered::{poll_read_until, Lines, Split};
use crate::AsyncBufRead;

/// Extension methods for every [`AsyncBufRead`], like `tokio::io::AsyncBufReadExt`.
///
/// ```
/// use netpoll_io::{AsyncBufReadExt, BufReader};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut reader = BufReader::new(&b"one\ntwo\r\nthree"[..]);
///     let mut line = String::new();
///     reader.read_line(&mut line).await.unwrap();
///     assert_eq!(line, "one\n");
///     let mut lines = reader.lines();
///     assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
///     assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("three"));
///     assert_eq!(lines.next_line().await.unwrap(), None);
/// });
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads bytes up to and including `byte` (or to end of stream), appending them to `buf`;
    /// returns how many were appended (`0` at end of stream).
    ///
    /// If an error occurs, the bytes read before it stay in `buf`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in tokio's sense: if the future is dropped, the bytes read so far have been
    /// appended to `buf`, and calling `read_until` again continues where it left off.
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            delim: byte,
            start_len: buf.len(),
            buf,
        }
    }

    /// Reads a line (up to and including `\n`, or to end of stream) and appends it to `buf`;
    /// returns how many bytes were appended (`0` at end of stream).
    ///
    /// Like tokio: if the line is not valid UTF-8 the error is `InvalidData` and `buf` keeps
    /// only its original contents; if an I/O error occurs, the valid bytes read before it stay
    /// in `buf`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the bytes read so far are lost (`buf` gets
    /// its original contents back). Use [`lines`](Self::lines), whose `next_line` is cancel
    /// safe, in a `select!` loop.
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        ReadLine {
            reader: self,
            out: StringBytes::new(buf),
        }
    }

    /// The buffered bytes, reading more if the buffer is empty; an empty slice means end of
    /// stream. Call [`consume`](Self::consume) with how many of them were used.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no data was consumed.
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` bytes returned by [`fill_buf`](Self::fill_buf) as used.
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }

    /// The lines of this reader, without their `\n` or `\r\n`; see [`Lines::next_line`].
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(self)
    }

    /// The segments of this reader separated by `byte`, without it; see
    /// [`Split::next_segment`].
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized + Unpin,
    {
        Split::new(self, byte)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Future for [`AsyncBufReadExt::read_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadUntil<'a, R: ?Sized> {
    reader: &'a mut R,
    delim: u8,
    buf: &'a mut Vec<u8>,
    start_len: usize,
}

impl<R: AsyncBufRead + ?Sized + Unpin> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        ready!(poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            me.delim,
            me.buf
        ))?;
        let n = me.buf.len() - me.start_len;
        me.start_len = me.buf.len();
        Poll::Ready(Ok(n))
    }
}

/// Future for [`AsyncBufReadExt::read_line`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadLine<'a, R: ?Sized> {
    reader: &'a mut R,
    out: StringBytes<'a>,
}

impl<R: AsyncBufRead + ?Sized + Unpin> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        assert!(!me.out.is_finished(), "ReadLine polled after completion");
        let res = ready!(poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            b'\n',
            &mut me.out.bytes
        ));
        Poll::Ready(me.out.finish(res, false))
    }
}

/// Future for [`AsyncBufReadExt::fill_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FillBuf<'a, R: ?Sized> {
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + ?Sized + Unpin> Future for FillBuf<'a, R> {
    type Output = io::Result<&'a [u8]>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&'a [u8]>> {
        let reader = self.reader.take().expect("FillBuf polled after completion");
        // First a short borrow, to learn whether the buffer is ready without giving up `reader`
        // if it is not.
        match Pin::new(&mut *reader).poll_fill_buf(cx) {
            Poll::Pending => {
                self.reader = Some(reader);
                return Poll::Pending;
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => {}
        }
        // The buffer is filled: asking again returns the same bytes without I/O, now borrowed
        // for `'a`. (This sidesteps a borrow checker limitation without `unsafe`.) If a reader
        // that just reported end of stream is not ready on the second call, report the end of
        // stream it reported.
        match Pin::new(reader).poll_fill_buf(cx) {
            Poll::Ready(res) => Poll::Ready(res),
            Poll::Pending => Poll::Ready(Ok(&[])),
        }
    }
}
