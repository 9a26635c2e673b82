//! The state both kinds of channel share, and the protocol that keeps it consistent.
//!
//! A channel is one [`Chan`]: a queue behind a small mutex, the receiver's waker, and for a
//! bounded channel a [`Semaphore`] holding one permit per free slot. Capacity is taken from
//! the semaphore *before* the queue is touched, so waiting senders queue in the semaphore's
//! FIFO (first come, first served; a dropped `send`/`reserve` future leaves the queue and
//! loses no permit), and a receiver that takes `n` values gives `n` permits back.
//!
//! # State (under `Chan::state`'s lock unless noted)
//!
//! | field | meaning |
//! | --- | --- |
//! | `queue` | values sent and not yet received |
//! | `reserved` | slots held by live `Permit`s / `OwnedPermit`s / unconsumed `PermitIterator` items |
//! | `rx_closed` | the receiver called `close` or was dropped: new sends and reservations fail |
//! | `rx_dropped` | the receiver is gone: nothing will ever be received, so values are dropped at once |
//! | `tx_gone` | the last strong sender was dropped (`senders`, an atomic, reached 0) |
//! | `rx_waker` | the waker of the receiver's last pending poll |
//!
//! Capacity invariant of a bounded channel: free permits + `queue.len()` + `reserved` =
//! the bound, except inside a single call between taking a permit and pushing (no await in
//! between).
//!
//! # Transitions and who makes them
//!
//! | transition | by | effect |
//! | --- | --- | --- |
//! | send | a sender holding a permit (bounded) or any sender (unbounded) | fails if `rx_closed` (the permit goes back); else push, wake the receiver |
//! | reserve | a sender holding `n` permits | fails if `rx_closed` (permits go back); else `reserved += n` |
//! | send on a permit | a `Permit`/`OwnedPermit` | `reserved -= 1`; push even if `rx_closed` (tokio: a permit taken before `close` may still send); dropped if `rx_dropped` |
//! | release | a dropped permit | `reserved -= n`, `n` permits back; wakes the receiver if that was the last reservation after `close` |
//! | receive | the receiver | pop up to `limit` values, give that many permits back |
//! | close | the receiver (`close` or drop) | `rx_closed`; the semaphore closes (waiting senders fail); `Sender::closed` futures complete |
//! | drop receiver | the receiver | also `rx_dropped`, and the queued values are dropped |
//! | last sender dropped | a sender | `tx_gone`; wake the receiver |
//!
//! The receiver sees the end of the channel (`None`) when the queue is empty and either
//! `tx_gone`, or `rx_closed` with no reservation left (tokio's rule: `close` does not cut off
//! permits taken before it).
//!
//! Wakers are taken under the lock and woken after it is released.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::sync::{Notify, Semaphore};

/// The largest bound a channel may have (the semaphore's limit, as in tokio).
pub(super) const MAX_BOUND: usize = usize::MAX >> 3;

pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
    /// One permit per free slot; `None` for an unbounded channel.
    sem: Option<Semaphore>,
    bound: usize,
    /// Strong senders. Reaching 0 is final: `upgrade` never raises it from 0.
    senders: AtomicUsize,
    weak_senders: AtomicUsize,
    /// `state.rx_closed`, readable without the lock.
    closed_flag: AtomicBool,
    /// Completes `Sender::closed` futures (notify_waiters on close).
    closed_notify: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    reserved: usize,
    rx_closed: bool,
    rx_dropped: bool,
    tx_gone: bool,
    rx_waker: Option<Waker>,
}

/// A strong sender's hold on the channel: it counts in `senders` from creation to drop, so the
/// channel's sender types get `Clone`/`Drop` from here.
pub(super) struct Tx<T>(Arc<Chan<T>>);

/// A weak sender's hold: it keeps the memory, not the channel, open.
pub(super) struct WeakTx<T>(Arc<Chan<T>>);

impl<T> Tx<T> {
    /// The hold of the sender a new channel starts with (counted by `Chan::new`).
    pub(super) fn first(chan: Arc<Chan<T>>) -> Tx<T> {
        Tx(chan)
    }

    pub(super) fn downgrade(&self) -> WeakTx<T> {
        self.0.add_weak();
        WeakTx(self.0.clone())
    }

    pub(super) fn same_channel(&self, other: &Tx<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> WeakTx<T> {
    /// A strong hold, unless every strong sender is gone.
    pub(super) fn upgrade(&self) -> Option<Tx<T>> {
        self.0.upgrade().then(|| Tx(self.0.clone()))
    }
}

impl<T> std::ops::Deref for Tx<T> {
    type Target = Chan<T>;

    fn deref(&self) -> &Chan<T> {
        &self.0
    }
}

impl<T> std::ops::Deref for WeakTx<T> {
    type Target = Chan<T>;

    fn deref(&self) -> &Chan<T> {
        &self.0
    }
}

impl<T> fmt::Debug for Tx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        self.0.add_sender();
        Tx(self.0.clone())
    }
}

impl<T> Drop for Tx<T> {
    fn drop(&mut self) {
        self.0.drop_sender();
    }
}

impl<T> Clone for WeakTx<T> {
    fn clone(&self) -> Self {
        self.0.add_weak();
        WeakTx(self.0.clone())
    }
}

impl<T> Drop for WeakTx<T> {
    fn drop(&mut self) {
        self.0.drop_weak();
    }
}

/// Why a push was refused; the value comes back.
pub(super) struct Refused<T>(pub(super) T);

impl<T> Chan<T> {
    /// A channel with one strong sender. `bound` is `None` for an unbounded channel.
    pub(super) fn new(bound: Option<usize>) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                reserved: 0,
                rx_closed: false,
                rx_dropped: false,
                tx_gone: false,
                rx_waker: None,
            }),
            sem: bound.map(Semaphore::new),
            bound: bound.unwrap_or(usize::MAX),
            senders: AtomicUsize::new(1),
            weak_senders: AtomicUsize::new(0),
            closed_flag: AtomicBool::new(false),
            closed_notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The capacity semaphore of a bounded channel.
    pub(super) fn sem(&self) -> &Semaphore {
        self.sem
            .as_ref()
            .expect("capacity is only taken on a bounded channel")
    }

    pub(super) fn bound(&self) -> usize {
        self.bound
    }

    /// Free slots of a bounded channel.
    pub(super) fn capacity(&self) -> usize {
        self.sem().available_permits()
    }

    fn give_back(&self, n: usize) {
        if let (Some(sem), true) = (&self.sem, n > 0) {
            sem.add_permits(n);
        }
    }

    // -----------------------------------------------------------------------------------------
    // senders

    /// Pushes a value for which capacity was taken (bounded) or none is needed (unbounded).
    /// Refused, with the capacity given back, if the receiver closed.
    pub(super) fn send(&self, value: T) -> Result<(), Refused<T>> {
        let mut st = self.lock();
        if st.rx_closed {
            drop(st);
            self.give_back(1);
            return Err(Refused(value));
        }
        st.queue.push_back(value);
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Turns `n` permits already taken into `n` reservations; refused (permits given back) if
    /// the receiver closed.
    pub(super) fn reserve(&self, n: usize) -> Result<(), Refused<()>> {
        let mut st = self.lock();
        if st.rx_closed {
            drop(st);
            self.give_back(n);
            return Err(Refused(()));
        }
        st.reserved += n;
        Ok(())
    }

    /// Sends on one reservation: pushed even after `close`, dropped if the receiver is gone.
    pub(super) fn send_reserved(&self, value: T) {
        let mut st = self.lock();
        st.reserved -= 1;
        if st.rx_dropped {
            drop(st);
            drop(value);
            return;
        }
        st.queue.push_back(value);
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Gives `n` unused reservations back.
    pub(super) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut st = self.lock();
        st.reserved -= n;
        let waker = if st.rx_closed && st.reserved == 0 {
            st.rx_waker.take()
        } else {
            None
        };
        drop(st);
        self.give_back(n);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the receiver closed or was dropped.
    pub(super) fn is_closed(&self) -> bool {
        self.closed_flag.load(Ordering::Acquire)
    }

    /// Completes once the receiver closed or was dropped.
    pub(super) async fn closed(&self) {
        loop {
            // Created before the check: `notify_waiters` after a close we did not see wakes it.
            let notified = self.closed_notify.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// A strong sender from a weak one, unless every strong sender is gone.
    fn upgrade(&self) -> bool {
        let mut n = self.senders.load(Ordering::Relaxed);
        loop {
            if n == 0 {
                return false;
            }
            match self
                .senders
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
    }

    fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let mut st = self.lock();
        st.tx_gone = true;
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn add_weak(&self) {
        self.weak_senders.fetch_add(1, Ordering::Relaxed);
    }

    fn drop_weak(&self) {
        self.weak_senders.fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn strong_count(&self) -> usize {
        self.senders.load(Ordering::Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.weak_senders.load(Ordering::Acquire)
    }

    // -----------------------------------------------------------------------------------------
    // the receiver

    /// Takes up to `limit` (> 0) values into `sink`. `Ready(n)` with `n > 0` values taken, or
    /// `Ready(0)` at the end of the channel; `Pending` when empty but not ended, with `cx`'s
    /// waker registered if given.
    pub(super) fn poll_take(
        &self,
        cx: Option<&mut Context<'_>>,
        limit: usize,
        mut sink: impl FnMut(T),
    ) -> Poll<usize> {
        let mut st = self.lock();
        let n = st.queue.len().min(limit);
        if n > 0 {
            for v in st.queue.drain(..n) {
                sink(v);
            }
            drop(st);
            self.give_back(n);
            return Poll::Ready(n);
        }
        if st.tx_gone || (st.rx_closed && st.reserved == 0) {
            return Poll::Ready(0);
        }
        if let Some(cx) = cx {
            match &mut st.rx_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    /// Whether the channel is closed for the receiver: every strong sender gone, or `close`.
    pub(super) fn rx_is_closed(&self) -> bool {
        let st = self.lock();
        st.tx_gone || st.rx_closed
    }

    pub(super) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// `close` (`dropping`: the receiver is going away, so queued values are dropped too).
    pub(super) fn close(&self, dropping: bool) {
        let mut st = self.lock();
        st.rx_closed = true;
        let queued = if dropping {
            st.rx_dropped = true;
            st.rx_waker = None;
            std::mem::take(&mut st.queue)
        } else {
            VecDeque::new()
        };
        drop(st);
        // Values are dropped outside the lock: a value's Drop may use the channel.
        drop(queued);
        if !self.closed_flag.swap(true, Ordering::AcqRel) {
            if let Some(sem) = &self.sem {
                sem.close();
            }
            self.closed_notify.notify_waiters();
        }
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Chan")
            .field("queued", &st.queue.len())
            .field("reserved", &st.reserved)
            .field("bound", &self.sem.as_ref().map(|_| self.bound))
            .field("rx_closed", &st.rx_closed)
            .field("senders", &self.strong_count())
            .finish()
    }
}
