//! [`Split`].

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::poll_read_until;
use crate::AsyncBufRead;

pin_project! {
    /// The segments of a buffered reader separated by a delimiter byte, made by
    /// [`AsyncBufReadExt::split`](crate::AsyncBufReadExt::split).
    ///
    /// ```
    /// use netpoll_io::{AsyncBufReadExt, BufReader};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut segments = BufReader::new(&b"a\0bc\0"[..]).split(0);
    ///     assert_eq!(segments.next_segment().await.unwrap(), Some(b"a".to_vec()));
    ///     assert_eq!(segments.next_segment().await.unwrap(), Some(b"bc".to_vec()));
    ///     assert_eq!(segments.next_segment().await.unwrap(), None);
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Split<R> {
        #[pin]
        reader: R,
        buf: Vec<u8>,
        delim: u8,
    }
}

impl<R> Split<R> {
    pub(crate) fn new(reader: R, delim: u8) -> Split<R> {
        Split {
            reader,
            buf: Vec::new(),
            delim,
        }
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The pinned reader, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().reader
    }

    /// The reader; a partly read segment is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R> Split<R>
where
    R: AsyncBufRead + Unpin,
{
    /// The next segment without its delimiter; `None` at end of stream. A last segment without
    /// a delimiter is returned too.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partly read segment is kept in the `Split`.
    pub async fn next_segment(&mut self) -> io::Result<Option<Vec<u8>>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_segment(cx)).await
    }
}

impl<R: AsyncBufRead> Split<R> {
    /// Polls for the next segment; see [`next_segment`](Self::next_segment).
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let me = self.project();
        ready!(poll_read_until(me.reader, cx, *me.delim, me.buf))?;
        if me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        if me.buf.last() == Some(me.delim) {
            me.buf.pop();
        }
        Poll::Ready(Ok(Some(std::mem::take(me.buf))))
    }
}
