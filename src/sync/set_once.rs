//! [`SetOnce`]: a value slot, a three-state flag and a [`Notify`].
//!
//! The protocol: `set` moves the flag EMPTY → WRITING (compare-exchange, so one caller wins),
//! writes the value, moves it to SET and calls `notify_waiters`. `wait` creates its `Notified`
//! future *before* checking the flag, so a `set` that completes after the check still wakes it
//! (`notify_waiters` wakes futures created before it, polled or not).

use std::cell::UnsafeCell;
use std::error::Error;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering::SeqCst};

use super::Notify;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const SET: u8 = 2;

/// A cell written at most once that tasks can [`wait`](SetOnce::wait) on: an event carrying a
/// value (like Python's `asyncio.Event`).
///
/// ```
/// use std::sync::Arc;
/// use netpoll::sync::SetOnce;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let ready = Arc::new(SetOnce::new());
///     let waiter = {
///         let ready = ready.clone();
///         netpoll::spawn(async move { *ready.wait().await })
///     };
///     ready.set(7).unwrap();
///     assert_eq!(waiter.await.unwrap(), 7);
///     assert!(ready.set(8).is_err());
/// });
/// ```
pub struct SetOnce<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
    notify: Notify,
}

// SAFETY: `&SetOnce<T>` gives `&T` to every thread (`T: Sync`) and lets one thread store a `T`
// that another may later drop (`T: Send`). `Send` is derived (`T: Send`).
unsafe impl<T: Sync + Send> Sync for SetOnce<T> {}

/// [`SetOnce::set`] found the cell already set (or being set); the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// Creates an empty cell.
    pub fn new() -> Self {
        SetOnce::const_new()
    }

    /// Creates an empty cell in a `const` context (e.g. a `static`).
    pub const fn const_new() -> Self {
        SetOnce {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            notify: Notify::const_new(),
        }
    }

    /// Creates a cell holding `value` if it is `Some`, else an empty one.
    pub fn new_with(value: Option<T>) -> Self {
        match value {
            Some(value) => SetOnce::const_new_with(value),
            None => SetOnce::new(),
        }
    }

    /// Creates a cell holding `value`, in a `const` context.
    pub const fn const_new_with(value: T) -> Self {
        SetOnce {
            state: AtomicU8::new(SET),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            notify: Notify::const_new(),
        }
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.state.load(SeqCst) == SET
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: SET is stored only after the value was written, and the value is never
            // written again nor removed while `&self` is borrowed.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Sets the value and wakes every [`wait`](Self::wait)er; fails if the cell is already set
    /// (or another `set` is writing it).
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, SeqCst, SeqCst)
            .is_err()
        {
            return Err(SetOnceError(value));
        }
        // SAFETY: winning EMPTY → WRITING is the only right to write, and readers look at the
        // value only once they see SET.
        unsafe { (*self.value.get()).write(value) };
        self.state.store(SET, SeqCst);
        self.notify.notify_waiters();
        Ok(())
    }

    /// Waits until the cell is set and returns the value (at once if it is set already).
    ///
    /// # Cancel safety
    /// Cancel-safe: it only waits.
    pub async fn wait(&self) -> &T {
        loop {
            // Created before the check: see the module docs.
            let notified = self.notify.notified();
            if let Some(v) = self.get() {
                return v;
            }
            notified.await;
        }
    }

    /// Consumes the cell and returns its value, if set.
    pub fn into_inner(mut self) -> Option<T> {
        if *self.state.get_mut() == SET {
            *self.state.get_mut() = EMPTY;
            // SAFETY: the value was written; the state is now EMPTY, so `Drop` will not drop it.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == SET {
            // SAFETY: SET says the value is written, and it is dropped only here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> Self {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> Self {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}
