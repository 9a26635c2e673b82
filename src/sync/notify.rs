//! [`Notify`], written here: a mutex-guarded FIFO of waiters plus a stored permit.
//!
//! `event-listener` comes close, but drops a notification that finds no listener; storing it as
//! a permit beside it races (a listener can register between the notifier seeing nobody and
//! the notifier storing the permit, and then sleep with the permit stored). Taking one small
//! lock for both closes that window.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Wakes one task or all of them, with tokio's semantics.
///
/// - [`notify_one`](Notify::notify_one) wakes the longest-waiting [`notified`](Notify::notified)
///   future; if none waits it stores a single permit, which the next `notified().await`
///   consumes at once (several `notify_one` calls with nobody waiting still store one permit).
/// - [`notify_waiters`](Notify::notify_waiters) wakes every waiting future, including those
///   created (by `notified()`) before the call but not yet polled, and stores no permit.
///
/// ```
/// use std::sync::Arc;
/// use netpoll::sync::Notify;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let notify = Arc::new(Notify::new());
///     let n2 = notify.clone();
///     let waiter = netpoll::spawn(async move {
///         n2.notified().await;
///         "woken"
///     });
///     notify.notify_one(); // wakes the task, or leaves a permit if it has not waited yet
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    state: Mutex<State>,
    /// How many times `notify_waiters` ran; changed only under the lock.
    waiters_calls: AtomicUsize,
}

struct State {
    permit: bool,
    next_id: u64,
    /// Futures waiting for a notification, in arrival order (ids increase).
    waiting: BTreeMap<u64, Option<Waker>>,
    /// Futures picked by `notify_one` (`false`) or `notify_last` (`true`) that have not been
    /// polled since; a dropped one passes its notification on the same way.
    notified: BTreeMap<u64, bool>,
}

/// The future of [`Notify::notified`].
///
/// It counts as waiting for [`Notify::notify_waiters`] from its creation, and for
/// [`Notify::notify_one`] from its first poll (or [`enable`](Notified::enable)). Dropping it
/// after `notify_one` picked it but before it completed passes that notification on to the next
/// waiter (or stores it as the permit).
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    waiter: Waiter,
}

/// The future of [`Notify::notified_owned`]: [`Notified`] holding an `Arc` of the `Notify`, so
/// it can be stored or moved into a task without a lifetime.
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedNotified {
    notify: Arc<Notify>,
    waiter: Waiter,
}

/// What `Notified` and `OwnedNotified` share: the protocol, given the `Notify`.
struct Waiter {
    /// `waiters_calls` when the future was created.
    calls: usize,
    state: Wait,
}

enum Wait {
    Init,
    Waiting(u64),
    Done,
}

impl Notify {
    /// Creates a `Notify` with no permit stored.
    pub const fn new() -> Notify {
        Notify {
            state: Mutex::new(State {
                permit: false,
                next_id: 0,
                waiting: BTreeMap::new(),
                notified: BTreeMap::new(),
            }),
            waiters_calls: AtomicUsize::new(0),
        }
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    pub const fn const_new() -> Notify {
        Notify::new()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; a poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns a future that completes when this `Notify` is notified.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let notify = netpoll::sync::Notify::new();
    ///     notify.notify_one(); // nobody waits: stores a permit
    ///     notify.notified().await; // consumes it at once
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            waiter: self.new_waiter(),
        }
    }

    /// [`notified`](Self::notified) for an `Arc<Notify>`: the future owns a reference count, so
    /// it is `'static`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let notify = Arc::new(netpoll::sync::Notify::new());
    ///     let waiter = netpoll::spawn(notify.clone().notified_owned());
    ///     notify.notify_one();
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            waiter: self.new_waiter(),
            notify: self,
        }
    }

    fn new_waiter(&self) -> Waiter {
        Waiter {
            calls: self.waiters_calls.load(SeqCst),
            state: Wait::Init,
        }
    }

    /// Wakes the longest-waiting future, or stores a permit if none waits.
    pub fn notify_one(&self) {
        let waker = {
            let mut st = self.lock();
            st.notify(false)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes the most recently registered waiting future (last in, first out), or stores a
    /// permit if none waits.
    ///
    /// ```
    /// use std::pin::pin;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let notify = netpoll::sync::Notify::new();
    ///     let mut first = pin!(notify.notified());
    ///     let mut second = pin!(notify.notified());
    ///     first.as_mut().enable();
    ///     second.as_mut().enable();
    ///     notify.notify_last();
    ///     assert!(second.as_mut().enable(), "the later waiter was picked");
    ///     assert!(!first.as_mut().enable());
    /// });
    /// ```
    pub fn notify_last(&self) {
        let waker = {
            let mut st = self.lock();
            st.notify(true)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every future waiting now, and every future already returned by
    /// [`notified`](Self::notified) even if not polled yet. Stores no permit.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let notify = netpoll::sync::Notify::new();
    ///     let (a, b) = (notify.notified(), notify.notified());
    ///     notify.notify_waiters();
    ///     a.await;
    ///     b.await;
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let waiting = {
            let mut st = self.lock();
            self.waiters_calls.fetch_add(1, SeqCst);
            std::mem::take(&mut st.waiting)
        };
        for waker in waiting.into_values().flatten() {
            waker.wake();
        }
    }
}

impl State {
    /// Picks the first (`last == false`) or last waiter, returning its waker, or stores the
    /// permit if nobody waits.
    fn notify(&mut self, last: bool) -> Option<Waker> {
        let picked = if last {
            self.waiting.pop_last()
        } else {
            self.waiting.pop_first()
        };
        match picked {
            Some((id, waker)) => {
                self.notified.insert(id, last);
                waker
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Notify")
            .field("permit", &st.permit)
            .field("waiting", &st.waiting.len())
            .finish()
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so that a later
    /// [`Notify::notify_one`] can pick it; returns whether it is already complete (then
    /// awaiting it returns at once).
    ///
    /// ```
    /// use std::pin::pin;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let notify = netpoll::sync::Notify::new();
    ///     let mut waiter = pin!(notify.notified());
    ///     assert!(!waiter.as_mut().enable());
    ///     notify.notify_one(); // goes to `waiter`, not to a permit
    ///     waiter.await;
    /// });
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter.poll(this.notify, None)
    }
}

impl OwnedNotified {
    /// Registers this future as a waiter without polling it; see [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter.poll(&this.notify, None)
    }
}

impl Waiter {
    /// Registers (with `waker` if given) or checks for a notification; `true` once notified.
    fn poll(&mut self, notify: &Notify, waker: Option<&Waker>) -> bool {
        match self.state {
            Wait::Done => true,
            Wait::Init => {
                let mut st = notify.lock();
                if notify.waiters_calls.load(SeqCst) != self.calls {
                    drop(st);
                    self.state = Wait::Done;
                    return true;
                }
                if st.permit {
                    st.permit = false;
                    drop(st);
                    self.state = Wait::Done;
                    return true;
                }
                let id = st.next_id;
                st.next_id += 1;
                st.waiting.insert(id, waker.cloned());
                drop(st);
                self.state = Wait::Waiting(id);
                false
            }
            Wait::Waiting(id) => {
                let mut st = notify.lock();
                if st.notified.remove(&id).is_some() {
                    drop(st);
                    self.state = Wait::Done;
                    return true;
                }
                match st.waiting.get_mut(&id) {
                    // Taken out by `notify_waiters`.
                    None => {
                        drop(st);
                        self.state = Wait::Done;
                        true
                    }
                    Some(slot) => {
                        if let Some(new) = waker {
                            match slot {
                                Some(old) if old.will_wake(new) => {}
                                _ => *slot = Some(new.clone()),
                            }
                        }
                        false
                    }
                }
            }
        }
    }

    /// Leaves the queue; a notification picked for us but not consumed goes to another waiter.
    fn cancel(&mut self, notify: &Notify) {
        let Wait::Waiting(id) = self.state else {
            return;
        };
        self.state = Wait::Done;
        let waker = {
            let mut st = notify.lock();
            match st.notified.remove(&id) {
                // Picked but never completed: pass the notification on, the same way.
                Some(last) => st.notify(last),
                None => {
                    st.waiting.remove(&id);
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.waiter.poll(this.notify, Some(cx.waker())) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.waiter.poll(&this.notify, Some(cx.waker())) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.waiter.cancel(self.notify);
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        self.waiter.cancel(&self.notify);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified").finish_non_exhaustive()
    }
}
