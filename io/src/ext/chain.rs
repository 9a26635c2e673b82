//! [`Chain`]: one reader after another.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::{AsyncBufRead, AsyncRead, ReadBuf, ZeroCopySource};

pin_project! {
    /// A reader that yields its first reader's bytes, then its second's; made by
    /// [`AsyncReadExt::chain`](crate::AsyncReadExt::chain).
    ///
    /// Once the first reader has reached its end, the chain offers the second reader's
    /// zero-copy form (if any) to [`copy`](crate::copy); before that it offers none.
    ///
    /// ```
    /// use netpoll_io::AsyncReadExt;
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (a, b): (&[u8], &[u8]) = (b"foo", b"bar");
    ///     let mut out = Vec::new();
    ///     a.chain(b).read_to_end(&mut out).await.unwrap();
    ///     assert_eq!(out, b"foobar");
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read from"]
    pub struct Chain<T, U> {
        #[pin]
        first: T,
        #[pin]
        second: U,
        done_first: bool,
    }
}

impl<T, U> Chain<T, U>
where
    T: AsyncRead,
    U: AsyncRead,
{
    pub(crate) fn new(first: T, second: U) -> Chain<T, U> {
        Chain {
            first,
            second,
            done_first: false,
        }
    }

    /// Both readers.
    pub fn get_ref(&self) -> (&T, &U) {
        (&self.first, &self.second)
    }

    /// Both readers, mutably. Reading from them directly may confuse the chain.
    pub fn get_mut(&mut self) -> (&mut T, &mut U) {
        (&mut self.first, &mut self.second)
    }

    /// Both pinned readers, mutably.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> (Pin<&mut T>, Pin<&mut U>) {
        let me = self.project();
        (me.first, me.second)
    }

    /// Both readers.
    pub fn into_inner(self) -> (T, U) {
        (self.first, self.second)
    }
}

impl<T: AsyncRead, U: AsyncRead> AsyncRead for Chain<T, U> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.project();
        if !*me.done_first {
            let before = buf.remaining();
            ready!(me.first.poll_read(cx, buf))?;
            if buf.remaining() != before || before == 0 {
                return Poll::Ready(Ok(()));
            }
            *me.done_first = true;
        }
        me.second.poll_read(cx, buf)
    }

    /// The second reader's zero-copy form once the first is exhausted; `None` before.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        if self.done_first {
            self.second.zero_copy_source()
        } else {
            None
        }
    }

    /// Forwards to the second reader (the only one that can have offered a zero-copy form).
    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        let me = self.project();
        if *me.done_first {
            me.second.zero_copy_consumed(n);
        }
    }
}

impl<T: AsyncBufRead, U: AsyncBufRead> AsyncBufRead for Chain<T, U> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if !*me.done_first {
            match ready!(me.first.poll_fill_buf(cx))? {
                [] => *me.done_first = true,
                buf => return Poll::Ready(Ok(buf)),
            }
        }
        me.second.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        if *me.done_first {
            me.second.consume(amt)
        } else {
            me.first.consume(amt)
        }
    }
}
