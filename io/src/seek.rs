//! [`AsyncSeek`] and [`AsyncSeekExt`], like tokio's.

use std::future::Future;
use std::io::{self, SeekFrom};
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Seeks asynchronously, like `tokio::io::AsyncSeek`: a seek is started with
/// [`start_seek`](Self::start_seek) and finished with [`poll_complete`](Self::poll_complete).
pub trait AsyncSeek {
    /// Starts a seek to `position`. Call [`poll_complete`](Self::poll_complete) first if an
    /// operation may be in flight: implementations may refuse to start a seek then.
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()>;

    /// Waits for the seek started by [`start_seek`](Self::start_seek) (or any operation in
    /// flight) and returns the new position from the start of the stream. Without a seek in
    /// progress, what it returns is implementation-defined (usually the current position).
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>>;
}

impl<T: ?Sized + AsyncSeek + Unpin> AsyncSeek for Box<T> {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        Pin::new(&mut **self).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut **self).poll_complete(cx)
    }
}

impl<T: ?Sized + AsyncSeek + Unpin> AsyncSeek for &mut T {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        Pin::new(&mut **self).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut **self).poll_complete(cx)
    }
}

impl<P> AsyncSeek for Pin<P>
where
    P: DerefMut,
    P::Target: AsyncSeek,
{
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        crate::traits::pin_as_deref_mut(self).start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        crate::traits::pin_as_deref_mut(self).poll_complete(cx)
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncSeek for io::Cursor<T> {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        io::Seek::seek(&mut *self, position).map(drop)
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.position()))
    }
}

/// Extension methods for every [`AsyncSeek`], like `tokio::io::AsyncSeekExt`.
///
/// ```
/// use std::io::SeekFrom;
/// use netpoll_io::{AsyncReadExt, AsyncSeekExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut cursor = std::io::Cursor::new(b"0123456789".to_vec());
///     assert_eq!(cursor.seek(SeekFrom::End(-3)).await.unwrap(), 7);
///     assert_eq!(cursor.read_u8().await.unwrap(), b'7');
///     assert_eq!(cursor.stream_position().await.unwrap(), 8);
/// });
/// ```
pub trait AsyncSeekExt: AsyncSeek {
    /// Seeks to `position`, returning the new position from the start of the stream.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the seek may or may not have happened.
    fn seek(&mut self, position: SeekFrom) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        Seek {
            seeker: self,
            position: Some(position),
        }
    }

    /// Seeks to the start of the stream; returns `0`.
    fn rewind(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Start(0))
    }

    /// The current position from the start of the stream (a seek by 0).
    fn stream_position(&mut self) -> Seek<'_, Self>
    where
        Self: Unpin,
    {
        self.seek(SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// Future for [`AsyncSeekExt::seek`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Seek<'a, S: ?Sized> {
    seeker: &'a mut S,
    position: Option<SeekFrom>,
}

impl<S: AsyncSeek + ?Sized + Unpin> Future for Seek<'_, S> {
    type Output = io::Result<u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = &mut *self;
        if let Some(position) = me.position {
            // Finish whatever is in flight, then start ours.
            ready!(Pin::new(&mut *me.seeker).poll_complete(cx))?;
            me.position = None;
            Pin::new(&mut *me.seeker).start_seek(position)?;
        }
        Pin::new(&mut *me.seeker).poll_complete(cx)
    }
}
