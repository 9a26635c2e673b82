//! [`AsyncReadExt`] and the futures it returns.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::read_buf::ReadBuf as ReadBufFut;
use super::{Chain, StringBytes, Take};
use bytes::BufMut;

use crate::{AsyncRead, ReadBuf};

/// Reads of this size go to a stack buffer first when the `Vec` is full and has never been
/// grown, so an exactly-sized `Vec` is not doubled just to learn that the reader is at its end.
const PROBE_SIZE: usize = 32;

/// Checks that a reader filled `buf` in place, i.e. did not replace the `ReadBuf` we gave it by
/// another one over different memory, and returns `(filled, initialized)`.
///
/// # Panics
/// If the `ReadBuf` no longer points at `ptr` or has a capacity other than `cap`.
pub(crate) fn check_read_buf(buf: &ReadBuf<'_>, ptr: *const u8, cap: usize) -> (usize, usize) {
    assert!(
        std::ptr::eq(buf.filled().as_ptr(), ptr) && buf.capacity() == cap,
        "the reader replaced the ReadBuf it was given"
    );
    (buf.filled().len(), buf.initialized().len())
}

/// Polls `reader` into `spare`, of which the first `init` bytes are initialised. Returns the
/// poll result with the number of bytes filled and the number now initialised (both counted
/// from the start of `spare`).
///
/// # Safety
/// The first `init` bytes of `spare` must be initialised.
pub(super) unsafe fn poll_read_spare<R: AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    spare: &mut [MaybeUninit<u8>],
    init: usize,
) -> (Poll<io::Result<()>>, usize, usize) {
    let ptr = spare.as_ptr().cast::<u8>();
    let cap = spare.len();
    let mut rb = ReadBuf::uninit(spare);
    // SAFETY: the caller guarantees the first `init` bytes of `spare` are initialised.
    unsafe { rb.assume_init(init.min(cap)) };
    let res = reader.poll_read(cx, &mut rb);
    let (filled, initialized) = check_read_buf(&rb, ptr, cap);
    (res, filled, initialized)
}

/// Appends to a `Vec<u8>` from a reader, round by round, growing it geometrically and
/// remembering how much of its spare capacity earlier rounds initialised, so that a reader
/// that zeroes its `ReadBuf` (`initialize_unfilled`) zeroes each byte of capacity at most once.
#[derive(Debug)]
pub(crate) struct VecFiller {
    /// The capacity the `Vec` came with: while unchanged, a full `Vec` is probed before grown.
    start_cap: usize,
    /// The capacity after our last round (a change means a reallocation: forget `spare_init`).
    cap: usize,
    /// Bytes of spare capacity (from `len`) known to be initialised.
    spare_init: usize,
}

impl VecFiller {
    pub(crate) fn new(capacity: usize) -> VecFiller {
        VecFiller {
            start_cap: capacity,
            cap: capacity,
            spare_init: 0,
        }
    }

    fn note_capacity(&mut self, vec: &Vec<u8>) {
        if vec.capacity() != self.cap {
            self.cap = vec.capacity();
            self.spare_init = 0;
        }
    }

    /// One read: `Ok(0)` means end of stream.
    pub(crate) fn poll_round<R: AsyncRead + ?Sized>(
        &mut self,
        reader: Pin<&mut R>,
        cx: &mut Context<'_>,
        vec: &mut Vec<u8>,
    ) -> Poll<io::Result<usize>> {
        self.note_capacity(vec);
        let spare = vec.capacity() - vec.len();
        if spare < PROBE_SIZE && vec.capacity() == self.start_cap {
            let mut probe = [0u8; PROBE_SIZE];
            let mut rb = ReadBuf::new(&mut probe);
            ready!(reader.poll_read(cx, &mut rb))?;
            let got = rb.filled();
            if got.len() <= spare {
                self.spare_init = self.spare_init.saturating_sub(got.len());
            }
            vec.extend_from_slice(got);
            self.note_capacity(vec);
            return Poll::Ready(Ok(got.len()));
        }
        if spare < PROBE_SIZE {
            // `Vec` grows to at least twice its capacity: geometric growth.
            vec.reserve(PROBE_SIZE);
            self.note_capacity(vec);
        }
        let len = vec.len();
        // SAFETY: `spare_init` counts spare bytes initialised by earlier rounds in this same
        // allocation (`note_capacity` resets it on reallocation); `Vec` never writes its spare
        // capacity, so they are still initialised.
        let (res, filled, initialized) =
            unsafe { poll_read_spare(reader, cx, vec.spare_capacity_mut(), self.spare_init) };
        // SAFETY: `check_read_buf` proved the reader filled our spare capacity in place, and a
        // `ReadBuf` only counts initialised bytes as filled, so `filled <= spare` bytes after
        // `len` are initialised.
        unsafe { vec.set_len(len + filled) };
        self.spare_init = initialized - filled;
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(filled)),
        }
    }

    /// Rounds until end of stream (retrying `Interrupted`).
    pub(crate) fn poll_to_end<R: AsyncRead + ?Sized>(
        &mut self,
        mut reader: Pin<&mut R>,
        cx: &mut Context<'_>,
        vec: &mut Vec<u8>,
    ) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.poll_round(reader.as_mut(), cx, vec)) {
                Ok(0) => return Poll::Ready(Ok(())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Fills `buf[*filled..]` completely; `UnexpectedEof` if the reader ends first.
fn poll_fill_exact<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    filled: &mut usize,
) -> Poll<io::Result<()>> {
    while *filled < buf.len() {
        let mut rb = ReadBuf::new(&mut buf[*filled..]);
        match ready!(reader.as_mut().poll_read(cx, &mut rb)) {
            Ok(()) => {}
            // As std's `read_exact`: an interrupted read is retried. A reader may have filled
            // some bytes before it was interrupted; they count.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                *filled += rb.filled().len();
                continue;
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
        let n = rb.filled().len();
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "early end of stream",
            )));
        }
        *filled += n;
    }
    Poll::Ready(Ok(()))
}

macro_rules! read_int_methods {
    ($($method:ident -> $fut:ident, $ty:ty, $what:literal, $cancel:literal;)*) => {$(
        #[doc = concat!("Reads ", $what, ".")]
        ///
        /// `UnexpectedEof` if the stream ends first.
        ///
        /// # Cancel safety
        ///
        #[doc = $cancel]
        fn $method(&mut self) -> $fut<'_, Self>
        where
            Self: Unpin,
        {
            $fut {
                reader: self,
                buf: [0; std::mem::size_of::<$ty>()],
                filled: 0,
            }
        }
    )*};
}

/// Extension methods for every [`AsyncRead`], like `tokio::io::AsyncReadExt`.
///
/// ```
/// use netpoll_io::AsyncReadExt;
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut reader: &[u8] = b"\x00\x2aHello, world";
///     assert_eq!(reader.read_u16().await.unwrap(), 42);
///     let mut word = [0u8; 5];
///     reader.read_exact(&mut word).await.unwrap();
///     assert_eq!(&word, b"Hello");
///     let mut rest = String::new();
///     reader.read_to_string(&mut rest).await.unwrap();
///     assert_eq!(rest, ", world");
/// });
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`, returning how many; `0` means end of stream (or an empty
    /// `buf`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no data was read.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes, returning `buf.len()`; `UnexpectedEof` if the stream
    /// ends first (then the contents of `buf` are unspecified).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, some bytes may already have been read into
    /// `buf` and are lost to the caller.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            filled: 0,
        }
    }

    /// Reads until end of stream, appending to `buf`; returns how many bytes were appended.
    ///
    /// The `Vec` grows geometrically; spare capacity is never zeroed more than once. If an
    /// error occurs, the bytes read before it stay in `buf`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe in the sense that the count is lost, but bytes read before the future
    /// was dropped stay in `buf`.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let filler = VecFiller::new(buf.capacity());
        ReadToEnd {
            reader: self,
            start_len: buf.len(),
            buf,
            filler,
        }
    }

    /// Reads until end of stream, appending to `dst` if what was read is valid UTF-8; returns
    /// how many bytes were appended.
    ///
    /// Like tokio: if the bytes are not valid UTF-8 the error is `InvalidData`, and on any error
    /// `dst` keeps only its original contents.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the bytes read so far are lost (`dst` gets its
    /// original contents back).
    fn read_to_string<'a>(&'a mut self, dst: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        let out = StringBytes::new(dst);
        let filler = VecFiller::new(out.bytes.capacity());
        ReadToString {
            reader: self,
            out,
            filler,
        }
    }

    /// Reads once, appending to a growable buffer such as a `Vec<u8>` (growing it if it is
    /// full); returns how many bytes were appended, `0` at end of stream.
    ///
    /// ```
    /// use netpoll_io::AsyncReadExt;
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut reader: &[u8] = b"abc";
    ///     let mut buf = Vec::new();
    ///     assert_eq!(reader.read_buf(&mut buf).await.unwrap(), 3);
    ///     assert_eq!(buf, b"abc");
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no data was read.
    fn read_buf<'a, B>(&'a mut self, buf: &'a mut B) -> ReadBufFut<'a, Self, B>
    where
        Self: Unpin,
        B: BufMut + ?Sized,
    {
        ReadBufFut::new(self, buf)
    }

    /// A reader that yields at most `limit` bytes from this one (Go's `io.LimitReader`).
    ///
    /// `copy` honours the limit on its zero-copy paths too: [`Take`] forwards the inner reader's
    /// zero-copy form with the limit lowered.
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take::new(self, limit)
    }

    /// A reader that yields this one's bytes, then `next`'s.
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain::new(self, next)
    }

    read_int_methods! {
        read_u8 -> ReadU8, u8, "an unsigned byte",
            "Cancel safe: a single byte is either read or not.";
        read_i8 -> ReadI8, i8, "a signed byte",
            "Cancel safe: a single byte is either read or not.";
        read_u16 -> ReadU16, u16, "a big-endian `u16`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i16 -> ReadI16, i16, "a big-endian `i16`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u32 -> ReadU32, u32, "a big-endian `u32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i32 -> ReadI32, i32, "a big-endian `i32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u64 -> ReadU64, u64, "a big-endian `u64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i64 -> ReadI64, i64, "a big-endian `i64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u16_le -> ReadU16Le, u16, "a little-endian `u16`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i16_le -> ReadI16Le, i16, "a little-endian `i16`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u32_le -> ReadU32Le, u32, "a little-endian `u32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i32_le -> ReadI32Le, i32, "a little-endian `i32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u64_le -> ReadU64Le, u64, "a little-endian `u64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i64_le -> ReadI64Le, i64, "a little-endian `i64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u128 -> ReadU128, u128, "a big-endian `u128`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_u128_le -> ReadU128Le, u128, "a little-endian `u128`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i128 -> ReadI128, i128, "a big-endian `i128`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_i128_le -> ReadI128Le, i128, "a little-endian `i128`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_f32 -> ReadF32, f32, "a big-endian `f32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_f32_le -> ReadF32Le, f32, "a little-endian `f32`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_f64 -> ReadF64, f64, "a big-endian `f64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
        read_f64_le -> ReadF64Le, f64, "a little-endian `f64`",
            "Not cancel safe: if the future is dropped after some but not all of the bytes were read, those bytes are lost.";
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// Future for [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + ?Sized + Unpin> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        let mut rb = ReadBuf::new(me.buf);
        ready!(Pin::new(&mut *me.reader).poll_read(cx, &mut rb))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

/// Future for [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    filled: usize,
}

impl<R: AsyncRead + ?Sized + Unpin> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        ready!(poll_fill_exact(
            Pin::new(&mut *me.reader),
            cx,
            me.buf,
            &mut me.filled
        ))?;
        Poll::Ready(Ok(me.buf.len()))
    }
}

/// Future for [`AsyncReadExt::read_to_end`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    start_len: usize,
    filler: VecFiller,
}

impl<R: AsyncRead + ?Sized + Unpin> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        ready!(me.filler.poll_to_end(Pin::new(&mut *me.reader), cx, me.buf))?;
        Poll::Ready(Ok(me.buf.len() - me.start_len))
    }
}

/// Future for [`AsyncReadExt::read_to_string`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    out: StringBytes<'a>,
    filler: VecFiller,
}

impl<R: AsyncRead + ?Sized + Unpin> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        assert!(
            !me.out.is_finished(),
            "ReadToString polled after completion"
        );
        let res = ready!(me
            .filler
            .poll_to_end(Pin::new(&mut *me.reader), cx, &mut me.out.bytes));
        Poll::Ready(me.out.finish(res, true))
    }
}

macro_rules! read_int_futures {
    ($($fut:ident, $method:ident, $ty:ty, $conv:ident;)*) => {$(
        #[doc = concat!("Future for [`AsyncReadExt::", stringify!($method), "`].")]
        #[derive(Debug)]
        #[must_use = "futures do nothing unless you `.await` or poll them"]
        pub struct $fut<'a, R: ?Sized> {
            reader: &'a mut R,
            buf: [u8; std::mem::size_of::<$ty>()],
            filled: usize,
        }

        impl<R: AsyncRead + ?Sized + Unpin> Future for $fut<'_, R> {
            type Output = io::Result<$ty>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<$ty>> {
                let me = &mut *self;
                ready!(poll_fill_exact(Pin::new(&mut *me.reader), cx, &mut me.buf, &mut me.filled))?;
                Poll::Ready(Ok(<$ty>::$conv(me.buf)))
            }
        }
    )*};
}

read_int_futures! {
    ReadU8, read_u8, u8, from_be_bytes;
    ReadI8, read_i8, i8, from_be_bytes;
    ReadU16, read_u16, u16, from_be_bytes;
    ReadI16, read_i16, i16, from_be_bytes;
    ReadU32, read_u32, u32, from_be_bytes;
    ReadI32, read_i32, i32, from_be_bytes;
    ReadU64, read_u64, u64, from_be_bytes;
    ReadI64, read_i64, i64, from_be_bytes;
    ReadU16Le, read_u16_le, u16, from_le_bytes;
    ReadI16Le, read_i16_le, i16, from_le_bytes;
    ReadU32Le, read_u32_le, u32, from_le_bytes;
    ReadI32Le, read_i32_le, i32, from_le_bytes;
    ReadU64Le, read_u64_le, u64, from_le_bytes;
    ReadI64Le, read_i64_le, i64, from_le_bytes;
    ReadU128, read_u128, u128, from_be_bytes;
    ReadU128Le, read_u128_le, u128, from_le_bytes;
    ReadI128, read_i128, i128, from_be_bytes;
    ReadI128Le, read_i128_le, i128, from_le_bytes;
    ReadF32, read_f32, f32, from_be_bytes;
    ReadF32Le, read_f32_le, f32, from_le_bytes;
    ReadF64, read_f64, f64, from_be_bytes;
    ReadF64Le, read_f64_le, f64, from_le_bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    /// A reader that zeroes the whole unfilled part every time (the worst case for
    /// `read_to_end`), then yields `chunk` bytes of `b'x'` until `total` are out, and counts how
    /// many bytes it had to zero.
    struct Zeroing {
        left: usize,
        chunk: usize,
        zeroed: usize,
    }

    impl AsyncRead for Zeroing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.initialized().len();
            let n = self.chunk.min(self.left).min(buf.remaining());
            buf.initialize_unfilled()[..n].fill(b'x');
            self.zeroed += buf.initialized().len() - before;
            buf.advance(n);
            self.left -= n;
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn read_to_end_zeroes_each_byte_at_most_once() {
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let total = 1 << 20;
        let mut r = Zeroing {
            left: total,
            chunk: 1000,
            zeroed: 0,
        };
        let mut v = Vec::new();
        let mut fut = r.read_to_end(&mut v);
        match Pin::new(&mut fut).poll(&mut cx) {
            Poll::Ready(Ok(n)) => assert_eq!(n, total),
            other => panic!("unexpected {other:?}"),
        }
        drop(fut);
        assert_eq!(v.len(), total);
        assert!(v.iter().all(|&b| b == b'x'));
        // Every byte of every allocation at most once: with doubling, that is < 2 * final capacity.
        assert!(
            r.zeroed <= 2 * v.capacity(),
            "zeroed {} for capacity {}",
            r.zeroed,
            v.capacity()
        );
    }

    #[test]
    fn read_to_end_exact_vec_does_not_grow() {
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut src: &[u8] = &[7u8; 100];
        let mut v = Vec::with_capacity(100);
        let mut fut = src.read_to_end(&mut v);
        assert!(matches!(
            Pin::new(&mut fut).poll(&mut cx),
            Poll::Ready(Ok(100))
        ));
        drop(fut);
        assert_eq!(v.capacity(), 100);
    }
}
