//! [`Lines`].

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::poll_read_until;
use crate::AsyncBufRead;

pin_project! {
    /// The lines of a buffered reader, made by
    /// [`AsyncBufReadExt::lines`](crate::AsyncBufReadExt::lines).
    ///
    /// ```
    /// use netpoll_io::{AsyncBufReadExt, BufReader};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut lines = BufReader::new(&b"a\r\nb\n"[..]).lines();
    ///     let mut all = Vec::new();
    ///     while let Some(line) = lines.next_line().await.unwrap() {
    ///         all.push(line);
    ///     }
    ///     assert_eq!(all, ["a", "b"]);
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Lines<R> {
        #[pin]
        reader: R,
        buf: Vec<u8>,
    }
}

impl<R> Lines<R> {
    pub(crate) fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
        }
    }

    /// The pinned reader, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().reader
    }
}

impl<R> Lines<R>
where
    R: AsyncBufRead + Unpin,
{
    /// The next line without its `\n` or `\r\n`; `None` at end of stream. A last line without
    /// `\n` is returned too.
    ///
    /// A line that is not valid UTF-8 is an `InvalidData` error (and is skipped). After an I/O
    /// error the bytes of the partly read line are kept, and the next call continues it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partly read line is kept in the `Lines`, so dropping the future and
    /// calling `next_line` again (as a `select!` loop does) loses nothing.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_line(cx)).await
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader; a partly read line is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// Polls for the next line; see [`next_line`](Self::next_line).
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let me = self.project();
        ready!(poll_read_until(me.reader, cx, b'\n', me.buf))?;
        if me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        if me.buf.last() == Some(&b'\n') {
            me.buf.pop();
            if me.buf.last() == Some(&b'\r') {
                me.buf.pop();
            }
        }
        match String::from_utf8(std::mem::take(me.buf)) {
            Ok(line) => Poll::Ready(Ok(Some(line))),
            Err(e) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                e.utf8_error(),
            ))),
        }
    }
}
