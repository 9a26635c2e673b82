//! [`Mutex`]: `async-lock`'s, with tokio's method names.

use std::fmt;
use std::sync::Arc;

use super::TryLockError;

/// An async mutex: [`lock`](Mutex::lock) waits without blocking the thread, and the guard may be
/// held across `.await`.
///
/// Built on `async-lock`. Waiters are served eventually-fairly: a waiter starved for about half a
/// millisecond gets the lock handed over in FIFO order (tokio's is always FIFO).
///
/// ```
/// use std::sync::Arc;
/// use netpoll::sync::Mutex;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..10 {
///         let count = count.clone();
///         tasks.push(netpoll::spawn(async move {
///             let mut n = count.lock().await;
///             netpoll::task::yield_now().await; // the guard lives across an await
///             *n += 1;
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
// `repr(transparent)`: `lock_owned` turns `Arc<Mutex<T>>` into `Arc<async_lock::Mutex<T>>`.
#[repr(transparent)]
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

/// The guard of [`Mutex::lock`]: derefs to the value; dropping it unlocks.
pub use async_lock::MutexGuard;

/// The guard of [`Mutex::lock_owned`]: like [`MutexGuard`], but holds an `Arc` of the mutex
/// instead of borrowing it, so it can move into a spawned task.
pub type OwnedMutexGuard<T> = async_lock::MutexGuardArc<T>;

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            inner: async_lock::Mutex::new(value),
        }
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    ///
    /// ```
    /// static COUNT: netpoll::sync::Mutex<u32> = netpoll::sync::Mutex::const_new(0);
    /// ```
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex::new(value)
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock. Cancel-safe: dropping the future before it completes leaves the
    /// mutex as it was.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().await
    }

    /// Takes the lock if it is free now.
    ///
    /// ```
    /// let m = netpoll::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.inner.try_lock().ok_or(TryLockError(()))
    }

    /// Takes the lock from a plain thread, blocking it while the lock is held.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock_blocking()
    }

    /// Waits for the lock and returns a guard that owns a reference count of the mutex.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let m = Arc::new(netpoll::sync::Mutex::new(Vec::new()));
    ///     let mut guard = m.clone().lock_owned().await;
    ///     let task = netpoll::spawn(async move { guard.push(1) });
    ///     task.await.unwrap();
    ///     assert_eq!(*m.lock().await, [1]);
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.into_inner_arc().lock_arc().await
    }

    /// Takes the lock if it is free now, returning an owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.into_inner_arc().try_lock_arc().ok_or(TryLockError(()))
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the mutex.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    fn into_inner_arc(self: Arc<Self>) -> Arc<async_lock::Mutex<T>> {
        let raw = Arc::into_raw(self) as *const async_lock::Mutex<T>;
        // SAFETY: `Mutex<T>` is `repr(transparent)` over `async_lock::Mutex<T>`, so both have the
        // same size, alignment and (for unsized `T`) pointer metadata, and `raw` came from
        // `Arc::into_raw` of an `Arc` whose allocation is laid out for either type.
        unsafe { Arc::from_raw(raw) }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
