use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::os::fd::RawFd;

use netpoll_io::{AsyncRead, AsyncWrite, ReadBuf, Registration, ZeroCopySink, ZeroCopySource};

/// What a stream socket offers its halves (TCP and Unix streams implement it).
pub trait StreamOps: sealed::Sealed + Send + Sync {
    #[doc(hidden)]
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>>;
    #[doc(hidden)]
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    #[doc(hidden)]
    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    #[doc(hidden)]
    fn shutdown_write(&self) -> io::Result<()>;
    #[doc(hidden)]
    fn zero_copy(&self) -> (RawFd, &Registration);
}

pub(crate) mod sealed {
    pub trait Sealed {}
    impl<S: Sealed> Sealed for &S {}
}

impl<S: StreamOps> StreamOps for &S {
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        (**self).poll_read_priv(cx, buf)
    }
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        (**self).poll_write_priv(cx, buf)
    }
    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        (**self).poll_write_vectored_priv(cx, bufs)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        (**self).shutdown_write()
    }
    fn zero_copy(&self) -> (RawFd, &Registration) {
        (**self).zero_copy()
    }
}

/// The read half of a borrowed `split()` of a stream socket.
#[derive(Debug)]
pub struct ReadHalf<'a, S>(&'a S);

/// The write half of a borrowed `split()`; dropping it does not shut the socket down.
#[derive(Debug)]
pub struct WriteHalf<'a, S>(&'a S);

pub(crate) fn split<S>(s: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(s), WriteHalf(s))
}

/// The owned read half of an `into_split()`.
#[derive(Debug)]
pub struct OwnedReadHalf<S>(Arc<S>);

/// The owned write half of an `into_split()`. Dropping it shuts the write side down (a FIN to
/// the peer), as tokio's does.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: StreamOps> {
    inner: Arc<S>,
    shutdown_on_drop: bool,
}

pub(crate) fn into_split<S: StreamOps>(s: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let a = Arc::new(s);
    (
        OwnedReadHalf(a.clone()),
        OwnedWriteHalf {
            inner: a,
            shutdown_on_drop: true,
        },
    )
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError<S: StreamOps>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: StreamOps + std::fmt::Debug> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl<S: StreamOps + std::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S: StreamOps> OwnedReadHalf<S> {
    /// Puts the halves back together.
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.0, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        let mut other = other;
        other.shutdown_on_drop = false;
        let inner = other.inner.clone();
        drop(other);
        drop(self);
        match Arc::try_unwrap(inner) {
            Ok(s) => Ok(s),
            Err(_) => unreachable!("both halves were consumed"),
        }
    }
}

impl<S> AsRef<S> for OwnedReadHalf<S> {
    /// The stream both halves share (for addresses, options, deadlines).
    fn as_ref(&self) -> &S {
        &self.0
    }
}

impl<S: StreamOps> OwnedWriteHalf<S> {
    /// Drops the half without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: StreamOps> AsRef<S> for OwnedWriteHalf<S> {
    /// The stream both halves share.
    fn as_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: StreamOps> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write();
        }
    }
}

macro_rules! read_half {
    ($t:ty, $s:ident => $e:expr) => {
        impl<S: StreamOps> AsyncRead for $t {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                let $s = &*self;
                $e.poll_read_priv(cx, buf)
            }
            fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
                let $s = self;
                let (fd, registration) = $e.zero_copy();
                Some((ZeroCopySource::Socket { fd, registration }, None))
            }
        }
    };
}

macro_rules! write_half {
    ($t:ty, $s:ident => $e:expr) => {
        impl<S: StreamOps> AsyncWrite for $t {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $e.poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $s = &*self;
                $e.poll_write_vectored_priv(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = &*self;
                Poll::Ready($e.shutdown_write())
            }
            fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
                let $s = self;
                let (fd, registration) = $e.zero_copy();
                Some(ZeroCopySink::Socket { fd, registration })
            }
        }
    };
}

read_half!(ReadHalf<'_, S>, s => s.0);
write_half!(WriteHalf<'_, S>, s => s.0);
read_half!(OwnedReadHalf<S>, s => s.0);
write_half!(OwnedWriteHalf<S>, s => s.inner);

/// The `AsyncRead`/`AsyncWrite` impls of a stream socket type and of `&` it.
macro_rules! stream_io_impls {
    ($t:ty) => {
        impl netpoll_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut netpoll_io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                crate::split::StreamOps::poll_read_priv(&*self, cx, buf)
            }
            fn zero_copy_source(&self) -> Option<(netpoll_io::ZeroCopySource<'_>, Option<u64>)> {
                let (fd, registration) = crate::split::StreamOps::zero_copy(&*self);
                Some((
                    netpoll_io::ZeroCopySource::Socket { fd, registration },
                    None,
                ))
            }
        }

        impl netpoll_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::split::StreamOps::poll_write_priv(&*self, cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::split::StreamOps::poll_write_vectored_priv(&*self, cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(crate::split::StreamOps::shutdown_write(&*self))
            }
            fn zero_copy_sink(&self) -> Option<netpoll_io::ZeroCopySink<'_>> {
                let (fd, registration) = crate::split::StreamOps::zero_copy(&*self);
                Some(netpoll_io::ZeroCopySink::Socket { fd, registration })
            }
        }
    };
}
pub(crate) use stream_io_impls;
