//! `futures_io::{AsyncRead, AsyncWrite}` on the stream sockets, their halves and the pipe ends
//! (feature `futures-io`), so `futures`/`async-std`-style code uses them without a `Compat`
//! wrapper. Each impl forwards to the type's own `netpoll_io` impl: written once, here.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use netpoll_io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::unix::pipe;
use crate::{tcp, unix};

fn poll_read<T: AsyncRead + Unpin>(
    t: &mut T,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    ready!(Pin::new(t).poll_read(cx, &mut rb))?;
    Poll::Ready(Ok(rb.filled().len()))
}

macro_rules! futures_read {
    ($($t:ty),* $(,)?) => {$(
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                poll_read(self.get_mut(), cx, buf)
            }
        }
    )*};
}

macro_rules! futures_write {
    ($($t:ty),* $(,)?) => {$(
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            /// Shuts the write direction down (futures' `close` is tokio's `shutdown`).
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_shutdown(self, cx)
            }
        }
    )*};
}

futures_read!(
    crate::TcpStream,
    crate::UnixStream,
    tcp::ReadHalf<'_>,
    tcp::OwnedReadHalf,
    unix::ReadHalf<'_>,
    unix::OwnedReadHalf,
    pipe::Receiver,
);

futures_write!(
    crate::TcpStream,
    crate::UnixStream,
    tcp::WriteHalf<'_>,
    tcp::OwnedWriteHalf,
    unix::WriteHalf<'_>,
    unix::OwnedWriteHalf,
    pipe::Sender,
);

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::pin::Pin;

    #[test]
    fn futures_io_round_trip_on_a_unix_pair_and_close_is_a_half_close() {
        let rt = netpoll_runtime::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (mut a, mut b) = crate::UnixStream::pair().expect("pair");
            let n = poll_fn(|cx| futures_io::AsyncWrite::poll_write(Pin::new(&mut a), cx, b"fio"))
                .await
                .expect("write");
            assert_eq!(n, 3);
            poll_fn(|cx| futures_io::AsyncWrite::poll_close(Pin::new(&mut a), cx))
                .await
                .expect("close");
            let mut buf = [0u8; 8];
            let mut got = Vec::new();
            loop {
                let n =
                    poll_fn(|cx| futures_io::AsyncRead::poll_read(Pin::new(&mut b), cx, &mut buf))
                        .await
                        .expect("read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"fio");
        });
    }
}
