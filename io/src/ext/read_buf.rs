//! The future of [`AsyncReadExt::read_buf`](crate::AsyncReadExt::read_buf), named `ReadBuf` in
//! this module as in tokio's `io::util::read_buf` (the I/O buffer type is
//! [`crate::ReadBuf`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BufMut;

use super::read_ext::poll_read_spare;
use crate::AsyncRead;

/// Future for [`AsyncReadExt::read_buf`](crate::AsyncReadExt::read_buf).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadBuf<'a, R: ?Sized, B: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut B,
}

impl<R, B> Future for ReadBuf<'_, R, B>
where
    R: AsyncRead + ?Sized + Unpin,
    B: BufMut + ?Sized,
{
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        if !me.buf.has_remaining_mut() {
            return Poll::Ready(Ok(0));
        }
        // SAFETY: `UninitSlice` is a view of possibly uninitialised bytes; we only let the
        // reader write initialised bytes into it through a `ReadBuf` that claims none are
        // initialised (`init` = 0).
        let spare = unsafe { me.buf.chunk_mut().as_uninit_slice_mut() };
        // SAFETY: we claim no initialised bytes (`init` = 0).
        let (res, filled, _) = unsafe { poll_read_spare(Pin::new(&mut *me.reader), cx, spare, 0) };
        ready!(res)?;
        // SAFETY: `check_read_buf` proved the reader filled the chunk in place, and a `ReadBuf`
        // only counts initialised bytes as filled; `filled` fits in that chunk.
        unsafe { me.buf.advance_mut(filled) };
        Poll::Ready(Ok(filled))
    }
}

impl<'a, R: ?Sized, B: ?Sized> ReadBuf<'a, R, B> {
    pub(super) fn new(reader: &'a mut R, buf: &'a mut B) -> Self {
        ReadBuf { reader, buf }
    }
}
