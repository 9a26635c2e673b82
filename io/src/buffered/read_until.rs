//! The loop under `read_until`, `read_line`, [`Lines`](super::Lines) and [`Split`](super::Split).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::AsyncBufRead;

/// Moves bytes from `reader`'s buffer to `buf` up to and including `delim`, or to end of
/// stream. Bytes already moved stay in `buf` if this returns an error or `Pending`.
pub(crate) fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        let (found, used) = {
            let available = match ready!(reader.as_mut().poll_fill_buf(cx)) {
                Ok(available) => available,
                // As std's `read_until`: an interrupted fill is retried.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            match available.iter().position(|&b| b == delim) {
                Some(i) => {
                    buf.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (false, available.len())
                }
            }
        };
        reader.as_mut().consume(used);
        if found || used == 0 {
            return Poll::Ready(Ok(()));
        }
    }
}
