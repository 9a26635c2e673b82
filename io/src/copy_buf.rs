//! [`copy_buf`]: a copy out of a reader's own buffer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use netpoll_runtime::task::coop::poll_proceed;

use crate::{AsyncBufRead, AsyncWrite};

/// Copies everything from a buffered reader to `writer` and returns the byte count, like
/// `tokio::io::copy_buf`.
///
/// Unlike [`copy`](crate::copy), no buffer of its own is used: each chunk the reader's
/// [`poll_fill_buf`](AsyncBufRead::poll_fill_buf) offers is written straight from it, and only
/// the bytes the writer accepted are [consumed](AsyncBufRead::consume). A read or write that
/// fails with [`ErrorKind::Interrupted`](io::ErrorKind::Interrupted) is retried. The writer is
/// flushed when the reader reaches end of stream (it is not shut down), and also whenever the
/// reader has nothing to give yet, so a peer waiting for the bytes already written (through a
/// [`BufWriter`](crate::BufWriter), say) gets them. Each chunk spends one unit of the task's
/// coop budget, so a copy between always-ready ends still lets other tasks run.
///
/// ```
/// use netpoll_io::{copy_buf, BufReader};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut reader = BufReader::with_capacity(4, &b"hello, world"[..]);
///     let mut writer = Vec::new();
///     let n = copy_buf(&mut reader, &mut writer).await.unwrap();
///     assert_eq!(n, 12);
///     assert_eq!(writer, b"hello, world");
/// });
/// ```
///
/// # Errors
///
/// The first error of the reader or writer other than `Interrupted`, and
/// [`WriteZero`](io::ErrorKind::WriteZero) if the writer accepts no bytes of a non-empty chunk.
///
/// # Cancel safety
///
/// Bytes are consumed from the reader only once written, so dropping the future loses none
/// of the reader's bytes; those written and not yet flushed stay in the writer.
pub async fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> io::Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf {
        reader,
        writer,
        copied: 0,
        unflushed: false,
    }
    .await
}

/// The state of a [`copy_buf`].
struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    copied: u64,
    /// Bytes were written since the last flush.
    unflushed: bool,
}

impl<R, W> Future for CopyBuf<'_, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        loop {
            let coop = ready!(poll_proceed(cx));
            let chunk = match Pin::new(&mut *me.reader).poll_fill_buf(cx) {
                Poll::Ready(Ok(chunk)) => chunk,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => {
                    coop.made_progress();
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    // Nothing to copy now: push out what was written, in case the other end
                    // waits for it before it sends more.
                    if me.unflushed {
                        ready!(Pin::new(&mut *me.writer).poll_flush(cx))?;
                        me.unflushed = false;
                    }
                    return Poll::Pending;
                }
            };
            coop.made_progress();
            if chunk.is_empty() {
                ready!(Pin::new(&mut *me.writer).poll_flush(cx))?;
                me.unflushed = false;
                return Poll::Ready(Ok(me.copied));
            }
            let n = match ready!(Pin::new(&mut *me.writer).poll_write(cx, chunk)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted no bytes",
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            me.copied += n as u64;
            me.unflushed = true;
            Pin::new(&mut *me.reader).consume(n);
        }
    }
}
