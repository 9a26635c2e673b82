//! [`Mutex`]: a one-permit [`Semaphore`] beside an `UnsafeCell`.
//!
//! The protocol: whoever holds the single permit may touch the value; a guard is the proof that
//! its owner holds it, and dropping the guard gives the permit back. Everything else (strict
//! FIFO hand-over, cancel safety of a queued `lock`) is the semaphore's: a waiter that gives up
//! before it was handed the permit just leaves the queue, and one that gives up after passes
//! the permit on to the next in line.
//!
//! Mapped guards point into the value (`*mut U`) and keep only what they need to give the
//! permit back: the semaphore (borrowed) or the `Arc` of the mutex (owned).

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::sync::Arc;

use super::semaphore::Semaphore;
use super::TryLockError;

/// An async mutex: [`lock`](Mutex::lock) waits without blocking the thread, and the guard may be
/// held across `.await`.
///
/// Fair: tasks get the lock strictly in the order they called `lock` (first come, first
/// served), and a `lock` future dropped while it waits gives its place up without losing the
/// lock for anyone.
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
pub struct Mutex<T: ?Sized> {
    s: Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: the value moves with the mutex, so `T: Send` suffices for `Send` (derived). For `Sync`:
// a shared `Mutex` hands out `&mut T` to one thread at a time (the permit serialises them), which
// is moving access between threads, so `T: Send` is needed and enough, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The guard of [`Mutex::lock`]: derefs to the value; dropping it unlocks.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    // `Send` iff `T: Send`, `Sync` iff `T: Send + Sync` (with `&Mutex<T>`), as tokio documents.
    _marker: PhantomData<&'a mut T>,
}

/// The guard of [`Mutex::lock_owned`]: like [`MutexGuard`], but holds an `Arc` of the mutex
/// instead of borrowing it, so it can move into a spawned task.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
    // Makes `Sync` need `T: Sync` (through `&T`); `Arc<Mutex<T>>` already needs `T: Send`.
    _marker: PhantomData<Box<T>>,
}

/// A [`MutexGuard`] narrowed by [`MutexGuard::map`] to a part of the value (or another value it
/// leads to). It can no longer reach the [`Mutex`], so it has no `mutex()`.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    s: &'a Semaphore,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

/// An [`OwnedMutexGuard`] narrowed by [`OwnedMutexGuard::map`] to a `U` inside the `T`.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    data: *mut U,
    lock: Arc<Mutex<T>>,
}

// SAFETY: a `MappedMutexGuard` is a `&mut T` plus a `&Semaphore` (which is `Sync`): sending it is
// sending the `&mut T`, sharing it shares `&T`; the same bounds as for `&mut T`.
unsafe impl<'a, T: ?Sized + Send + 'a> Send for MappedMutexGuard<'a, T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<'a, T: ?Sized + Sync + 'a> Sync for MappedMutexGuard<'a, T> {}
// SAFETY: the guard gives `&mut U` to whoever holds it and, when dropped, may drop the last
// `Arc` of the mutex and so the `T` on that thread: both must be `Send`. Sharing it shares `&U`.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: see the `Send` impl above; `&Guard` only gives `&U`, but tokio also asks for
// `T: Send + Sync` and `U: Send + Sync`, which we keep so code moves between the two unchanged.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub const fn new(value: T) -> Self
    where
        T: Sized,
    {
        Mutex {
            s: Semaphore::const_new(1),
            c: UnsafeCell::new(value),
        }
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    ///
    /// ```
    /// static COUNT: netpoll::sync::Mutex<u32> = netpoll::sync::Mutex::const_new(0);
    /// ```
    pub const fn const_new(value: T) -> Self
    where
        T: Sized,
    {
        Mutex::new(value)
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T
    where
        T: Sized,
    {
        self.c.into_inner()
    }

    async fn acquire(&self) {
        // The semaphore of a mutex is never closed.
        if self.s.acquire_raw(1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
    }

    /// Waits for the lock.
    ///
    /// # Cancel safety
    /// Cancel-safe and fair: waiters get the lock in the order they first polled this future;
    /// dropping it gives up its place (and passes the lock on if it had just been handed it).
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// Takes the lock if it is free now (and nobody waits for it).
    ///
    /// ```
    /// let m = netpoll::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire_raw(1) {
            Ok(()) => Ok(MutexGuard {
                lock: self,
                _marker: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Takes the lock from a plain thread, blocking it while the lock is held.
    ///
    /// Do not call it from a task: it would block a worker thread.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(netpoll::sync::Mutex::new(0));
    /// let m2 = m.clone();
    /// std::thread::spawn(move || *m2.blocking_lock() += 1).join().unwrap();
    /// assert_eq!(*m.blocking_lock(), 1);
    /// ```
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::block::block_on(self.lock())
    }

    /// [`blocking_lock`](Self::blocking_lock) returning an owned guard.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::block::block_on(self.lock_owned())
    }

    /// Waits for the lock and returns a guard that owns a reference count of the mutex.
    /// Cancel-safe and fair, as [`lock`](Self::lock).
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
        self.acquire().await;
        OwnedMutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// Takes the lock if it is free now, returning an owned guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire_raw(1) {
            Ok(()) => Ok(OwnedMutexGuard {
                lock: self,
                _marker: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds the mutex.
    pub fn get_mut(&mut self) -> &mut T {
        self.c.get_mut()
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
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

// ===== MutexGuard =====

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value; the lock stays held until the mapped guard is
    /// dropped. An associated function (`MutexGuard::map(guard, f)`), so it does not hide a
    /// method of `T`.
    ///
    /// ```
    /// use netpoll::sync::{MappedMutexGuard, Mutex, MutexGuard};
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let m = Mutex::new((1, String::from("a")));
    ///     let mut name: MappedMutexGuard<'_, String> = MutexGuard::map(m.lock().await, |v| &mut v.1);
    ///     name.push('b');
    ///     drop(name);
    ///     assert_eq!(m.lock().await.1, "ab");
    /// });
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds the permit, so nobody else reaches the value; the `&mut T`
        // lives as long as the permit, which the mapped guard takes over (if `f` declines, the
        // reference is gone before `this` is returned).
        let data = match f(unsafe { &mut *this.lock.c.get() }) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let s = &this.lock.s;
        mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            _marker: PhantomData,
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit: no `&mut T` exists elsewhere.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit and is borrowed mutably: this is the only access.
        unsafe { &mut *self.lock.c.get() }
    }
}

// ===== OwnedMutexGuard =====

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Takes the `Arc` out without running `Drop` (which would unlock).
    fn into_lock(self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out exactly once.
        unsafe { ptr::read(&this.lock) }
    }

    /// Narrows the guard to a part of the value, keeping the `Arc` of the mutex.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use netpoll::sync::{Mutex, OwnedMutexGuard};
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let m = Arc::new(Mutex::new([0u8; 4]));
    ///     let mut third = OwnedMutexGuard::map(m.clone().lock_owned().await, |a| &mut a[2]);
    ///     *third = 7;
    ///     drop(third);
    ///     assert_eq!(*m.lock().await, [0, 0, 7, 0]);
    /// });
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        U: ?Sized,
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds the permit; the `Arc` moves into the mapped guard, which keeps
        // the mutex (and so the value) alive as long as the pointer.
        let data = match f(unsafe { &mut *this.lock.c.get() }) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit.
        unsafe { &*self.lock.c.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit and is borrowed mutably.
        unsafe { &mut *self.lock.c.get() }
    }
}

// ===== MappedMutexGuard =====

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: `data` points into the locked value and the guard holds the permit.
        let data = match f(unsafe { &mut *this.data }) {
            Some(data) => data as *mut U,
            None => return Err(this),
        };
        let s = this.s;
        mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the locked value and the guard holds the permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.data }
    }
}

// ===== OwnedMappedMutexGuard =====

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    fn into_lock(self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out exactly once.
        unsafe { ptr::read(&this.lock) }
    }

    /// Narrows the guard further.
    pub fn map<S, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        match Self::try_map(this, |v| Some(f(v))) {
            Ok(guard) => guard,
            Err(_) => unreachable!("`f` always returns `Some`"),
        }
    }

    /// Like [`map`](Self::map), but `f` may decline (`None`): then the original guard comes back.
    pub fn try_map<S, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        // SAFETY: `data` points into the value of the mutex the guard keeps alive and locked.
        let data = match f(unsafe { &mut *this.data }) {
            Some(data) => data as *mut S,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            data,
            lock: this.into_lock(),
        })
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value of the mutex the guard keeps alive and locked.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.data }
    }
}

// ===== Debug and Display: as the value =====

macro_rules! fmt_as_target {
    ($({$($gen:tt)*} $guard:ty => $target:ident;)*) => {$(
        impl<$($gen)*> fmt::Debug for $guard
        where
            $target: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> fmt::Display for $guard
        where
            $target: fmt::Display,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}
pub(super) use fmt_as_target;

fmt_as_target! {
    {T: ?Sized} MutexGuard<'_, T> => T;
    {T: ?Sized} OwnedMutexGuard<T> => T;
    {T: ?Sized} MappedMutexGuard<'_, T> => T;
    {T: ?Sized, U: ?Sized} OwnedMappedMutexGuard<T, U> => U;
}
