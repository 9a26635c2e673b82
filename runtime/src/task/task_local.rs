//! Task-local storage (`task_local!`), as tokio has it.
//!
//! A [`LocalKey`] is a thread-local slot, `RefCell<Option<T>>`, that holds a value only while
//! a scope is entered. A [`TaskLocalFuture`] owns its value between polls; each poll swaps the
//! value into the slot, polls the inner future, and swaps it back out (also when the poll
//! panics). The value therefore travels with the future, whichever worker polls it, and nested
//! scopes of the same key see the innermost value.
//!
//! States of the slot on one thread: *empty* (no scope entered), *holding* (inside `scope`'s
//! poll, `sync_scope`'s closure, or the drop of a scope's future), *borrowed* (inside `with`'s
//! closure). Entering a scope needs the slot not *borrowed*; doing it from inside `with` on
//! the same key panics, as tokio documents.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A key for task-local data, declared with [`task_local!`](crate::task_local).
///
/// Unlike `std::thread::LocalKey`, it has no initial value: the value exists while a future
/// runs inside [`scope`](LocalKey::scope) (or a closure inside
/// [`sync_scope`](LocalKey::sync_scope)).
pub struct LocalKey<T: 'static> {
    inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

/// Why a task-local value could not be read: no scope of this key is entered, or the thread's
/// storage is being destroyed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}

/// Why a scope could not be entered.
enum ScopeError {
    Borrowed,
    Destroyed,
}

impl ScopeError {
    fn panic(self) -> ! {
        match self {
            ScopeError::Borrowed => panic!(
                "cannot enter a task-local scope while the task-local value is borrowed \
                 (a scope of this key was entered inside its `with`)"
            ),
            ScopeError::Destroyed => panic!(
                "cannot enter a task-local scope while the thread's storage is being destroyed"
            ),
        }
    }
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(inner: std::thread::LocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { inner }
    }

    /// Runs `f` with `value` as this key's value: the returned future sets it on each poll
    /// and takes it back after, and drops it when it finishes (or is dropped).
    ///
    /// # Panics
    /// Polling the returned future inside [`with`](Self::with) or
    /// [`try_with`](Self::try_with) of the same key panics.
    pub fn scope<F: Future>(&'static self, value: T, f: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(f),
            _pinned: PhantomPinned,
        }
    }

    /// Runs the closure `f` with `value` as this key's value, then drops the value.
    ///
    /// # Panics
    /// When called inside [`with`](Self::with) of the same key.
    pub fn sync_scope<F, R>(&'static self, value: T, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        let mut slot = Some(value);
        match self.enter(&mut slot, f) {
            Ok(r) => r,
            Err(e) => e.panic(),
        }
    }

    /// Swaps `slot` into the thread's storage for the duration of `f`, and back afterwards,
    /// also if `f` panics.
    fn enter<F, R>(&'static self, slot: &mut Option<T>, f: F) -> Result<R, ScopeError>
    where
        F: FnOnce() -> R,
    {
        struct Restore<'a, T: 'static> {
            key: &'static std::thread::LocalKey<RefCell<Option<T>>>,
            slot: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                // Cannot fail: `enter` swapped in with the same checks, and a `with` borrow
                // taken inside `f` has ended by the time `f` returns or unwinds.
                let _ = self.key.try_with(|cell| {
                    if let Ok(mut held) = cell.try_borrow_mut() {
                        std::mem::swap(&mut *held, self.slot);
                    }
                });
            }
        }

        self.inner
            .try_with(|cell| {
                cell.try_borrow_mut()
                    .map(|mut held| std::mem::swap(&mut *held, slot))
                    .map_err(|_| ScopeError::Borrowed)
            })
            .map_err(|_| ScopeError::Destroyed)??;
        let _restore = Restore {
            key: &self.inner,
            slot,
        };
        Ok(f())
    }

    /// Runs `f` with a reference to the current value.
    ///
    /// # Panics
    /// Outside a scope of this key.
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "cannot access a task-local value outside a scope: set it with `LocalKey::scope`"
            ),
        }
    }

    /// Runs `f` with a reference to the current value, or returns [`AccessError`] outside a
    /// scope of this key (or while the thread's storage is destroyed).
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        let err = AccessError { _private: () };
        self.inner
            .try_with(|cell| {
                let held = cell.try_borrow().map_err(|_| err)?;
                match held.as_ref() {
                    Some(value) => Ok(f(value)),
                    None => Err(err),
                }
            })
            .map_err(|_| err)?
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the current value.
    ///
    /// # Panics
    /// Outside a scope of this key.
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A clone of the current value, or [`AccessError`] outside a scope.
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// A future that runs with a task-local value set: [`LocalKey::scope`]'s return value.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    slot: Option<T>,
    future: Option<F>,
    _pinned: PhantomPinned,
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the value out of the scope: the inner future sees no value from then on.
    /// `None` if it was already taken, or the future has completed (its value is dropped then).
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        // SAFETY: `slot` is not structurally pinned (it is moved in and out on every poll);
        // only `future` is, and it is not touched here.
        let this = unsafe { self.get_unchecked_mut() };
        this.slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is polled in place through
        // `Pin::new_unchecked` below and dropped in place (`Option::set`-style assignment of
        // `None` in this fn and in `Drop`), never moved. `slot` and `key` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let key = this.key;
        let future = &mut this.future;
        let polled = key.enter(&mut this.slot, || {
            let Some(inner) = future.as_mut() else {
                panic!("`TaskLocalFuture` polled after completion");
            };
            // SAFETY: `inner` is inside the pinned `TaskLocalFuture` and never moved (above).
            let inner = unsafe { Pin::new_unchecked(inner) };
            let out = inner.poll(cx);
            if out.is_ready() {
                // Dropped in place, inside the scope, as a finished future's state should be.
                *future = None;
            }
            out
        });
        match polled {
            Ok(Poll::Ready(out)) => {
                this.slot = None;
                Poll::Ready(out)
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(e) => e.panic(),
        }
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future.is_none() {
            return;
        }
        // Drop the unfinished future inside its scope, so its destructors see the value; if
        // the scope cannot be entered (thread storage gone, or inside `with`), drop it
        // outside. Either way in place: `future` is pinned.
        let key = self.key;
        let future = &mut self.future;
        if key.enter(&mut self.slot, || *future = None).is_err() {
            self.future = None;
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.slot)
            .finish_non_exhaustive()
    }
}
