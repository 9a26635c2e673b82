//! [`RwLock`]: a [`Semaphore`] of `max_readers` permits beside an `UnsafeCell`.
//!
//! The protocol: a reader holds one permit, a writer holds all `max_readers` of them, so a
//! writer excludes everyone and readers exclude only writers. The semaphore serves waiters
//! strictly first come, first served and hands released permits to the head waiter even when
//! they are not yet enough for it, so:
//!
//! - a writer queued behind readers collects the permits they give back and blocks every reader
//!   that comes after it (no writer starvation, no reader overtaking);
//! - [`RwLockWriteGuard::downgrade`] gives back `max_readers - 1` permits in one step under the
//!   semaphore's lock: they go to the readers at the head of the queue, and a writer at the head
//!   can collect them but still lacks the one the downgraded guard keeps, so no writer gets in
//!   between;
//! - a dropped `read`/`write` future returns whatever permits it had been handed (cancel safety
//!   is the semaphore's).

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::sync::Arc;

use super::mutex::fmt_as_target;
use super::semaphore::Semaphore;
use super::TryLockError;

/// The most readers a [`RwLock`] may admit at once (tokio's limit).
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock: many readers or one writer.
///
/// Fair: readers and writers are served in the order they asked (first come, first served),
/// so once a writer waits, readers that come later wait behind it and writers are never
/// starved. `read` and `write` futures are cancel-safe.
///
/// ```
/// use std::sync::Arc;
/// use netpoll::sync::RwLock;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let lock = Arc::new(RwLock::new(5));
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // readers share
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    mr: u32,
    s: Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: a shared `RwLock` gives `&mut T` to one writer at a time (moving access between
// threads: `T: Send`) and `&T` to many readers at once (`T: Sync`), as `std::sync::RwLock`.
// `Send` is derived (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// The guard of [`RwLock::read`]: shared access; dropping it releases the read lock.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    data: *const T,
    _marker: PhantomData<&'a T>,
}

/// The guard of [`RwLock::read_owned`]: like [`RwLockReadGuard`], holding an `Arc` of the lock.
/// `U` is the part of the `T` it reads after [`map`](OwnedRwLockReadGuard::map).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    data: *const U,
    lock: Arc<RwLock<T>>,
}

/// The guard of [`RwLock::write`]: exclusive access; dropping it releases the write lock.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    permits_acquired: u32,
    s: &'a Semaphore,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

/// The guard of [`RwLock::write_owned`]: like [`RwLockWriteGuard`], holding an `Arc` of the lock.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// A [`RwLockWriteGuard`] narrowed by [`map`](RwLockWriteGuard::map) (or turned by
/// [`into_mapped`](RwLockWriteGuard::into_mapped)); it can no longer be downgraded.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    permits_acquired: u32,
    s: &'a Semaphore,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

/// An [`OwnedRwLockWriteGuard`] narrowed to a `U` inside the `T`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    data: *mut U,
    lock: Arc<RwLock<T>>,
}

// The guards hold raw pointers, so their Send/Sync are written out, with tokio's bounds.
//
// SAFETY (all impls below): a read guard is a `&T` (or `&U`) plus a way to give back a permit
// (`&Semaphore`, `Sync`); sending it sends a `&T`, which needs `T: Sync`. A write guard is a
// `&mut T`; sending it needs `T: Send`, sharing it shares `&T` and needs `T: Sync`. An owned
// guard may drop the last `Arc` of the lock, dropping the `T` on whichever thread holds it, and
// `Arc<RwLock<T>>` itself is `Send` only for `T: Send + Sync`.
// SAFETY: see above.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T: ?Sized> RwLock<T> {
    /// Creates an unlocked lock holding `value`, admitting up to `u32::MAX >> 3` readers at once.
    pub const fn new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// Creates an unlocked lock admitting at most `max_reads` readers at once (a writer waits
    /// for all of them to leave).
    ///
    /// # Panics
    /// If `max_reads` is more than `u32::MAX >> 3`, or 0 (a lock without readers would let
    /// every writer in at once; tokio does not check this).
    ///
    /// ```
    /// let lock = netpoll::sync::RwLock::with_max_readers(0, 2);
    /// let (_a, _b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
    /// assert!(lock.try_read().is_err());
    /// ```
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock::const_with_max_readers(value, max_reads)
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    pub const fn const_new(value: T) -> RwLock<T>
    where
        T: Sized,
    {
        RwLock::new(value)
    }

    /// [`with_max_readers`](Self::with_max_readers) as a `const fn`.
    ///
    /// # Panics
    /// As `with_max_readers`.
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T>
    where
        T: Sized,
    {
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        assert!(max_reads > 0, "a RwLock must admit at least one reader");
        RwLock {
            mr: max_reads,
            s: Semaphore::const_new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }

    async fn acquire(&self, n: u32) {
        if self.s.acquire_raw(n).await.is_err() {
            unreachable!("a RwLock's semaphore is never closed");
        }
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            s: &self.s,
            data: self.c.get(),
            _marker: PhantomData,
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            permits_acquired: self.mr,
            s: &self.s,
            data: self.c.get(),
            _marker: PhantomData,
        }
    }

    /// Waits for a read lock (shared with other readers).
    ///
    /// # Cancel safety
    /// Cancel-safe and fair: requests are served in the order they were first polled, so a
    /// reader asking after a waiting writer waits for it.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        self.read_guard()
    }

    /// Takes a read lock from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::block::block_on(self.read())
    }

    /// Waits for a read lock, returning a guard that owns a reference count of the lock.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard {
            data: self.c.get(),
            lock: self,
        }
    }

    /// Takes a read lock if no writer holds it or waits for it.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.s.try_acquire_raw(1) {
            Ok(()) => Ok(self.read_guard()),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_read`](Self::try_read) returning an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_acquire_raw(1) {
            Ok(()) => Ok(OwnedRwLockReadGuard {
                data: self.c.get(),
                lock: self,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for the write lock (exclusive). Cancel-safe and fair, as [`read`](Self::read).
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.mr).await;
        self.write_guard()
    }

    /// Takes the write lock from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(netpoll::sync::RwLock::new(1));
    /// let l2 = lock.clone();
    /// std::thread::spawn(move || *l2.blocking_write() += 1).join().unwrap();
    /// assert_eq!(*lock.blocking_read(), 2);
    /// ```
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::block::block_on(self.write())
    }

    /// Waits for the write lock, returning a guard that owns a reference count of the lock.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let lock = Arc::new(netpoll::sync::RwLock::new(String::new()));
    ///     let mut w = lock.clone().write_owned().await;
    ///     netpoll::spawn(async move { w.push_str("hi") }).await.unwrap();
    ///     assert_eq!(*lock.read().await, "hi");
    /// });
    /// ```
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.mr).await;
        OwnedRwLockWriteGuard { lock: self }
    }

    /// Takes the write lock if nobody holds it or waits for it.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.s.try_acquire_raw(self.mr) {
            Ok(()) => Ok(self.write_guard()),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_write`](Self::try_write) returning an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_acquire_raw(self.mr) {
            Ok(()) => Ok(OwnedRwLockWriteGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

// ===== RwLockReadGuard =====

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the value; the read lock stays held.
    ///
    /// ```
    /// use netpoll::sync::{RwLock, RwLockReadGuard};
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let lock = RwLock::new((1, 2));
    ///     let second = RwLockReadGuard::map(lock.read().await, |v| &v.1);
    ///     assert_eq!(*second, 2);
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        // SAFETY: the guard holds a read permit: no writer exists while the result lives.
        let data = match f(unsafe { &*this.data }) {
            Some(data) => data as *const U,
            None => return Err(this),
        };
        let s = this.s;
        mem::forget(this);
        Ok(RwLockReadGuard {
            s,
            data,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read permit: no writer exists.
        unsafe { &*self.data }
    }
}

// ===== OwnedRwLockReadGuard =====

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out exactly once.
        unsafe { ptr::read(&this.lock) }
    }

    /// Narrows the guard to a part of the value; the read lock stays held.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        // SAFETY: the guard holds a read permit and keeps the lock alive.
        let data = match f(unsafe { &*this.data }) {
            Some(data) => data as *const V,
            None => return Err(this),
        };
        Ok(OwnedRwLockReadGuard {
            data,
            lock: this.into_lock(),
        })
    }

    /// The lock this guard reads.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds a read permit and keeps the lock alive.
        unsafe { &*self.data }
    }
}

// ===== RwLockWriteGuard =====

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Narrows the guard to a part of the value; the write lock stays held.
    ///
    /// ```
    /// use netpoll::sync::{RwLock, RwLockWriteGuard};
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let lock = RwLock::new(vec![1, 2, 3]);
    ///     *RwLockWriteGuard::map(lock.write().await, |v| &mut v[0]) = 10;
    ///     assert_eq!(*lock.read().await, [10, 2, 3]);
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds every permit: this is the only access to the value.
        let data = match f(unsafe { &mut *this.data }) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let (s, permits_acquired) = (this.s, this.permits_acquired);
        mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            permits_acquired,
            s,
            data,
            _marker: PhantomData,
        })
    }

    /// Turns the guard into a mapped one for the whole value (which cannot be downgraded).
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |v| v)
    }

    /// Gives up the write lock but keeps a read lock, atomically: readers waiting at the head
    /// of the queue get in, a writer does not get in between.
    ///
    /// ```
    /// use netpoll::sync::RwLock;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let lock = RwLock::new(1);
    ///     let mut w = lock.write().await;
    ///     *w = 2;
    ///     let r = w.downgrade();
    ///     assert_eq!(*r, 2, "nobody wrote in between");
    ///     assert!(lock.try_read().is_ok() && lock.try_write().is_err());
    /// });
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let (s, data, permits) = (self.s, self.data, self.permits_acquired);
        mem::forget(self);
        // One call: all `permits - 1` go out under the semaphore's lock, to the queue in order.
        s.release(permits - 1);
        RwLockReadGuard {
            s,
            data,
            _marker: PhantomData,
        }
    }

    /// Narrows the guard to a part of the value and downgrades it to a read lock, atomically
    /// (as [`downgrade`](Self::downgrade)).
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        match Self::try_downgrade_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`downgrade_map`](Self::downgrade_map), but `f` may decline (`None`): then the write
    /// guard comes back, still a write guard.
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        // SAFETY: the guard holds every permit; the shared reference then lives under the read
        // permit that the downgrade keeps.
        let data = match f(unsafe { &*this.data }) {
            Some(data) => data as *const U,
            None => return Err(this),
        };
        let read = this.downgrade();
        let s = read.s;
        mem::forget(read);
        Ok(RwLockReadGuard {
            s,
            data,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits_acquired);
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit and is borrowed mutably.
        unsafe { &mut *self.data }
    }
}

// ===== RwLockMappedWriteGuard =====

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds every permit.
        let data = match f(unsafe { &mut *this.data }) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let (s, permits_acquired) = (this.s, this.permits_acquired);
        mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            permits_acquired,
            s,
            data,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits_acquired);
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit and is borrowed mutably.
        unsafe { &mut *self.data }
    }
}

// ===== OwnedRwLockWriteGuard =====

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out exactly once.
        unsafe { ptr::read(&this.lock) }
    }

    /// Narrows the guard to a part of the value; the write lock stays held.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        Ok(OwnedRwLockMappedWriteGuard {
            data,
            lock: this.into_lock(),
        })
    }

    /// Turns the guard into a mapped one for the whole value (which cannot be downgraded).
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockWriteGuard::map(this, |v| v)
    }

    /// Gives up the write lock but keeps a read lock, atomically (see
    /// [`RwLockWriteGuard::downgrade`]).
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let lock = self.into_lock();
        lock.s.release(lock.mr - 1);
        OwnedRwLockReadGuard {
            data: lock.c.get(),
            lock,
        }
    }

    /// Narrows the guard and downgrades it to a read lock, atomically.
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        match Self::try_downgrade_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`downgrade_map`](Self::downgrade_map), but `f` may decline (`None`): then the write
    /// guard comes back, still a write guard.
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data = match f(&*this) {
            Some(data) => data as *const U,
            None => return Err(this),
        };
        let read = this.downgrade();
        Ok(OwnedRwLockReadGuard {
            data,
            lock: read.into_lock(),
        })
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr);
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit and is borrowed mutably.
        unsafe { &mut *self.lock.c.get() }
    }
}

// ===== OwnedRwLockMappedWriteGuard =====

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out exactly once.
        unsafe { ptr::read(&this.lock) }
    }

    /// Narrows the guard further.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<F, V: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let data = match f(&mut *this) {
            Some(data) => data as *mut V,
            None => return Err(this),
        };
        Ok(OwnedRwLockMappedWriteGuard {
            data,
            lock: this.into_lock(),
        })
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds every permit and keeps the lock alive.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: the guard holds every permit and is borrowed mutably.
        unsafe { &mut *self.data }
    }
}

fmt_as_target! {
    {T: ?Sized} RwLockReadGuard<'_, T> => T;
    {T: ?Sized, U: ?Sized} OwnedRwLockReadGuard<T, U> => U;
    {T: ?Sized} RwLockWriteGuard<'_, T> => T;
    {T: ?Sized} RwLockMappedWriteGuard<'_, T> => T;
    {T: ?Sized} OwnedRwLockWriteGuard<T> => T;
    {T: ?Sized, U: ?Sized} OwnedRwLockMappedWriteGuard<T, U> => U;
}
