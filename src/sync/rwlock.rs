//! [`RwLock`]: `async-lock`'s, with tokio's method names.

use std::fmt;
use std::sync::Arc;

use super::TryLockError;

/// An async reader-writer lock: many readers or one writer.
///
/// Built on `async-lock`, which is write-preferring: once a writer waits, new readers queue
/// behind it, so writers are never starved (tokio's is FIFO, which also never starves them).
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
// `repr(transparent)`: the owned guards turn `Arc<RwLock<T>>` into `Arc<async_lock::RwLock<T>>`.
#[repr(transparent)]
pub struct RwLock<T: ?Sized> {
    inner: async_lock::RwLock<T>,
}

/// The guard of [`RwLock::read`]: shared access; dropping it releases the read lock.
pub use async_lock::RwLockReadGuard;

/// The guard of [`RwLock::write`]: exclusive access; dropping it releases the write lock.
pub use async_lock::RwLockWriteGuard;

/// The guard of [`RwLock::read_owned`]: like [`RwLockReadGuard`], holding an `Arc` of the lock.
pub type OwnedRwLockReadGuard<T> = async_lock::RwLockReadGuardArc<T>;

/// The guard of [`RwLock::write_owned`]: like [`RwLockWriteGuard`], holding an `Arc` of the lock.
pub type OwnedRwLockWriteGuard<T> = async_lock::RwLockWriteGuardArc<T>;

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            inner: async_lock::RwLock::new(value),
        }
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::new(value)
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }

    /// Waits for a read lock, returning a guard that owns a reference count of the lock.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.into_inner_arc().read_arc().await
    }

    /// Takes a read lock if no writer holds or waits for the lock, returning an owned guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.into_inner_arc().try_read_arc().ok_or(TryLockError(()))
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for a read lock (shared with other readers). Cancel-safe.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.inner.read().await
    }

    /// Waits for the write lock (exclusive). Cancel-safe.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.inner.write().await
    }

    /// Takes a read lock if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.inner.try_read().ok_or(TryLockError(()))
    }

    /// Takes the write lock if nobody holds the lock.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.inner.try_write().ok_or(TryLockError(()))
    }

    /// Takes a read lock from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        self.inner.read_blocking()
    }

    /// Takes the write lock from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        self.inner.write_blocking()
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
        self.into_inner_arc().write_arc().await
    }

    /// Takes the write lock if nobody holds the lock, returning an owned guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.into_inner_arc()
            .try_write_arc()
            .ok_or(TryLockError(()))
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    fn into_inner_arc(self: Arc<Self>) -> Arc<async_lock::RwLock<T>> {
        let raw = Arc::into_raw(self) as *const async_lock::RwLock<T>;
        // SAFETY: `RwLock<T>` is `repr(transparent)` over `async_lock::RwLock<T>`, so both have
        // the same size, alignment and (for unsized `T`) pointer metadata, and `raw` came from
        // `Arc::into_raw` of an `Arc` whose allocation is laid out for either type.
        unsafe { Arc::from_raw(raw) }
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
        fmt::Debug::fmt(&self.inner, f)
    }
}
