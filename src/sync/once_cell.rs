//! [`OnceCell`]: a value slot, an "is set" flag and a one-permit [`Semaphore`].
//!
//! The protocol: whoever holds the single permit may initialise the slot. Once it has written
//! the value it sets the flag (release) and *closes* the semaphore, forgetting its permit:
//! every task queued for the permit then fails its `acquire`, which it reads as "initialised",
//! and every later caller sees the flag. If the initialising future is dropped (or its init
//! fails) the permit goes back to the semaphore, which hands it to the next caller in line, who
//! runs its own init. So the init runs once at a time, in arrival order, until one succeeds.

use std::cell::UnsafeCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};

use super::semaphore::{Semaphore, SemaphorePermit, TryAcquireError};

/// A cell written at most once, possibly by an async initialiser; readers get `&T` without
/// locking once it is set.
///
/// [`get_or_init`](OnceCell::get_or_init) runs the initialiser in one caller only: concurrent
/// callers wait for it and get its value. If that caller is cancelled (its future dropped) or
/// its initialiser fails ([`get_or_try_init`](OnceCell::get_or_try_init)), the next waiting
/// caller runs its own.
///
/// ```
/// use netpoll::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(v, "loaded");
///     // Already set: the second initialiser does not run.
///     let v = CONFIG.get_or_init(|| async { unreachable!() }).await;
///     assert_eq!(v, "loaded");
/// });
/// ```
pub struct OnceCell<T> {
    value_set: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
    semaphore: Semaphore,
}

// SAFETY: `&OnceCell<T>` gives `&T` to every thread (`T: Sync`) and lets one thread store a `T`
// that another thread may later drop or take (`T: Send`). `Send` is derived (`T: Send`).
unsafe impl<T: Sync + Send> Sync for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; each variant gives the value back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell was already initialised.
    AlreadyInitializedError(T),
    /// Another caller is initialising the cell right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether this is [`SetError::AlreadyInitializedError`].
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether this is [`SetError::InitializingError`].
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}

impl<T> OnceCell<T> {
    /// Creates an empty cell.
    pub fn new() -> Self {
        OnceCell::const_new()
    }

    /// Creates an empty cell in a `const` context (e.g. a `static`).
    pub const fn const_new() -> Self {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            semaphore: Semaphore::const_new(1),
        }
    }

    /// Creates a cell holding `value` if it is `Some`, else an empty one.
    pub fn new_with(value: Option<T>) -> Self {
        match value {
            Some(value) => OnceCell::const_new_with(value),
            None => OnceCell::new(),
        }
    }

    /// Creates a cell holding `value`, in a `const` context.
    ///
    /// ```
    /// static ANSWER: netpoll::sync::OnceCell<u32> = netpoll::sync::OnceCell::const_new_with(42);
    /// assert_eq!(ANSWER.get(), Some(&42));
    /// ```
    pub const fn const_new_with(value: T) -> Self {
        OnceCell {
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            semaphore: Semaphore::new_closed(),
        }
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: the flag is set (acquire) only after the value was written, and the value
            // is never written again nor removed while `&self` is borrowed.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Mutable access to the value, if set: `&mut self` proves nobody else uses the cell.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if *self.value_set.get_mut() {
            // SAFETY: the flag says the value is written; we have exclusive access.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Stores `value` and wakes the waiting callers; the caller holds the only permit.
    fn set_value(&self, value: T, permit: SemaphorePermit<'_>) -> &T {
        // SAFETY: the permit is the right to write, and nobody reads before the flag is set.
        unsafe { (*self.value.get()).write(value) };
        self.value_set.store(true, Ordering::Release);
        // Waiters fail their `acquire` and then read the flag, set above.
        self.semaphore.close();
        permit.forget();
        // SAFETY: written just above, never removed while `&self` is borrowed.
        unsafe { (*self.value.get()).assume_init_ref() }
    }

    /// Sets the value if the cell is empty and nobody is initialising it.
    ///
    /// ```
    /// let cell = netpoll::sync::OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// let err = cell.set(2).unwrap_err();
    /// assert!(err.is_already_init_err());
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                self.set_value(value, permit);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// Returns the value, running `f` to produce it if the cell is empty.
    ///
    /// Only one caller runs its `f` at a time; the others wait and return the value it
    /// produced.
    ///
    /// # Cancel safety
    /// Cancel-safe: if this future is dropped while `f`'s future runs, the cell stays empty and
    /// the next waiting caller runs its own `f`.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(v) = self.get() {
            return v;
        }
        match self.semaphore.acquire().await {
            Ok(permit) => {
                debug_assert!(!self.initialized(), "the permit is forgotten once set");
                let value = f().await;
                self.set_value(value, permit)
            }
            Err(_) => self
                .get()
                .expect("the semaphore is closed only once the value is set"),
        }
    }

    /// Like [`get_or_init`](Self::get_or_init), but `f` may fail: the error is returned and the
    /// cell stays empty (the next waiting caller then tries its own `f`).
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let cell = netpoll::sync::OnceCell::new();
    ///     let r = cell.get_or_try_init(|| async { Err::<u32, _>("not yet") }).await;
    ///     assert_eq!(r, Err("not yet"));
    ///     let r = cell.get_or_try_init(|| async { Ok::<_, &str>(3) }).await;
    ///     assert_eq!(r, Ok(&3));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        match self.semaphore.acquire().await {
            Ok(permit) => {
                debug_assert!(!self.initialized(), "the permit is forgotten once set");
                // On error the permit is dropped, handing the turn to the next caller.
                let value = f().await?;
                Ok(self.set_value(value, permit))
            }
            Err(_) => Ok(self
                .get()
                .expect("the semaphore is closed only once the value is set")),
        }
    }

    /// Consumes the cell and returns its value, if set.
    pub fn into_inner(mut self) -> Option<T> {
        if *self.value_set.get_mut() {
            *self.value_set.get_mut() = false;
            // SAFETY: the value was written; the flag is now clear, so `Drop` will not drop it.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// Takes the value out, leaving the cell empty (and ready to be initialised again).
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if *self.value_set.get_mut() {
            // SAFETY: the flag says the value is written, and it is dropped only here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
