use std::fmt;
use std::mem::MaybeUninit;

/// A buffer being filled by a read, tracking how much is filled and how much is initialised
/// (tokio's `ReadBuf`): `[ filled | initialised, unfilled | uninitialised ]`.
///
/// ```
/// let mut storage = [0u8; 8];
/// let mut buf = netpoll_io::ReadBuf::new(&mut storage);
/// buf.put_slice(b"abc");
/// assert_eq!(buf.filled(), b"abc");
/// assert_eq!(buf.remaining(), 5);
/// ```
pub struct ReadBuf<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    filled: usize,
    initialized: usize,
}

impl<'a> ReadBuf<'a> {
    /// A buffer over initialised memory.
    pub fn new(buf: &'a mut [u8]) -> ReadBuf<'a> {
        let initialized = buf.len();
        // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and we never write
        // uninitialised bytes through the result (all writes keep `initialized` honest).
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        ReadBuf {
            buf,
            filled: 0,
            initialized,
        }
    }

    /// A buffer over possibly uninitialised memory.
    pub fn uninit(buf: &'a mut [MaybeUninit<u8>]) -> ReadBuf<'a> {
        ReadBuf {
            buf,
            filled: 0,
            initialized: 0,
        }
    }

    /// Total capacity.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The filled part.
    pub fn filled(&self) -> &[u8] {
        // SAFETY: `filled <= initialized`, so these bytes are initialised.
        unsafe { &*(&self.buf[..self.filled] as *const [MaybeUninit<u8>] as *const [u8]) }
    }

    /// The filled part, mutably.
    pub fn filled_mut(&mut self) -> &mut [u8] {
        // SAFETY: `filled <= initialized`, so these bytes are initialised.
        unsafe { &mut *(&mut self.buf[..self.filled] as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// The initialised part (filled or not).
    pub fn initialized(&self) -> &[u8] {
        // SAFETY: the first `initialized` bytes are initialised.
        unsafe { &*(&self.buf[..self.initialized] as *const [MaybeUninit<u8>] as *const [u8]) }
    }

    /// The initialised part (filled or not), mutably.
    pub fn initialized_mut(&mut self) -> &mut [u8] {
        // SAFETY: the first `initialized` bytes are initialised.
        unsafe { &mut *(&mut self.buf[..self.initialized] as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// The whole buffer, filled, initialised and uninitialised parts alike.
    ///
    /// # Safety
    /// The caller must not de-initialise bytes that were initialised (write `MaybeUninit::uninit()`
    /// over them).
    pub unsafe fn inner_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        self.buf
    }

    /// A new `ReadBuf` over the unfilled part (up to `n` bytes... all of it here), for
    /// delegating to an inner reader.
    pub fn take(&mut self, n: usize) -> ReadBuf<'_> {
        let max = n.min(self.remaining());
        let init = self.initialized.saturating_sub(self.filled).min(max);
        ReadBuf {
            buf: &mut self.buf[self.filled..self.filled + max],
            filled: 0,
            initialized: init,
        }
    }

    /// The unfilled part, initialising it first (zeroes) if needed.
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        self.initialize_unfilled_to(self.remaining())
    }

    /// The first `n` unfilled bytes, initialised.
    ///
    /// # Panics
    /// If `n > remaining()`.
    pub fn initialize_unfilled_to(&mut self, n: usize) -> &mut [u8] {
        assert!(self.remaining() >= n, "n overflows remaining");
        let end = self.filled + n;
        if self.initialized < end {
            for b in &mut self.buf[self.initialized..end] {
                b.write(0);
            }
            self.initialized = end;
        }
        // SAFETY: `[filled, end)` is initialised (just above, or before).
        unsafe { &mut *(&mut self.buf[self.filled..end] as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// The unfilled part, possibly uninitialised.
    ///
    /// # Safety
    /// The caller must not de-initialise bytes that were initialised.
    pub unsafe fn unfilled_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.buf[self.filled..]
    }

    /// Bytes left to fill.
    pub fn remaining(&self) -> usize {
        self.capacity() - self.filled
    }

    /// Empties the filled part (the memory stays initialised).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Marks `n` more bytes as filled.
    ///
    /// # Panics
    /// If that would fill uninitialised bytes.
    pub fn advance(&mut self, n: usize) {
        let new = self.filled.checked_add(n).expect("filled overflow");
        self.set_filled(new);
    }

    /// Sets the filled length.
    ///
    /// # Panics
    /// If `n` exceeds the initialised length.
    pub fn set_filled(&mut self, n: usize) {
        assert!(
            n <= self.initialized,
            "filled must not become larger than initialized"
        );
        self.filled = n;
    }

    /// Declares that the first `n` unfilled bytes were initialised (e.g. by a syscall).
    ///
    /// # Safety
    /// Those bytes must really be initialised.
    pub unsafe fn assume_init(&mut self, n: usize) {
        let new = self.filled + n;
        if new > self.initialized {
            self.initialized = new;
        }
    }

    /// Appends `data`.
    ///
    /// # Panics
    /// If it does not fit.
    pub fn put_slice(&mut self, data: &[u8]) {
        assert!(
            self.remaining() >= data.len(),
            "buf.len() must fit in remaining()"
        );
        let end = self.filled + data.len();
        for (dst, src) in self.buf[self.filled..end].iter_mut().zip(data) {
            dst.write(*src);
        }
        if self.initialized < end {
            self.initialized = end;
        }
        self.filled = end;
    }
}

// SAFETY: `chunk_mut` hands out only the unfilled part, `remaining_mut` is its length, and
// `advance_mut` marks bytes filled only after the caller (per `BufMut::advance_mut`'s contract)
// has initialised them; it panics rather than move past the capacity.
unsafe impl bytes::BufMut for ReadBuf<'_> {
    fn remaining_mut(&self) -> usize {
        self.remaining()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: `BufMut::advance_mut`'s caller guarantees the next `cnt` bytes of `chunk_mut`
        // (our unfilled part) are initialised.
        unsafe { self.assume_init(cnt) };
        self.advance(cnt);
    }

    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        // SAFETY: an `UninitSlice` never de-initialises memory: it only lets the caller write
        // initialised bytes into it.
        bytes::buf::UninitSlice::uninit(unsafe { self.unfilled_mut() })
    }

    fn put_slice(&mut self, src: &[u8]) {
        ReadBuf::put_slice(self, src)
    }
}

impl fmt::Debug for ReadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf")
            .field("filled", &self.filled)
            .field("initialized", &self.initialized)
            .field("capacity", &self.capacity())
            .finish()
    }
}
