//! A multi-producer, multi-consumer channel where every receiver sees every value, like
//! `tokio::sync::broadcast` (written here; the protocol is below).
//!
//! The channel holds the last `capacity` values, `capacity` rounded up to a power of two as in
//! tokio (`channel(3)` holds 4). Sending never waits: when the channel is full the oldest value
//! is dropped, and a receiver that had not seen it gets
//! [`RecvError::Lagged(n)`](error::RecvError::Lagged) (`n` values skipped) from its next
//! `recv`, then continues with the oldest value still held.
//!
//! # Protocol
//!
//! Everything is under one mutex. Values are numbered by position; the buffer holds positions
//! `head..tail` (at most `capacity` of them), each with the count of receivers that have yet
//! to see it (`rem`, the receivers alive when it was sent). A receiver is a position `next`.
//!
//! | transition | by | effect |
//! | --- | --- | --- |
//! | send | a sender | fails if no receiver exists; else if full, drop the oldest (`head += 1`); push with `rem` = receivers; `tail += 1`; wake every waiting receiver |
//! | receive | a receiver at `next` | `next < head`: `Lagged(head - next)`, `next = head`; `next < tail`: take position `next` (moved out if this is its last reader, else cloned), `rem -= 1`, `next += 1`; `next == tail`: `Closed` if every sender is gone, else wait |
//! | subscribe / resubscribe | a sender / a receiver | a receiver at `tail`: it sees only later values |
//! | drop receiver | a receiver | `rem -= 1` on every position it had not seen; `Sender::closed` completes when the last receiver goes |
//! | drop last sender | a sender | closed: receivers get `Closed` once they have seen everything |
//!
//! A value whose `rem` reaches 0 is dropped at once, and positions at the front with `rem == 0`
//! leave the buffer (no receiver can still need them: receivers start at `tail`, so every
//! receiver behind a position counts in its `rem`). So [`Sender::len`] is the buffer's length.
//! Values are cloned and dropped outside the lock where they can be; wakers are woken after it.
//!
//! ```
//! use netpoll::sync::broadcast;
//!
//! netpoll::runtime::Runtime::new().unwrap().block_on(async {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send("hello").unwrap();
//!     assert_eq!(rx1.recv().await, Ok("hello"));
//!     assert_eq!(rx2.recv().await, Ok("hello"));
//! });
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::Notify;

/// Errors of the [`broadcast`](super::broadcast) channel.
pub mod error {
    use std::fmt;

    send_error! {
        /// No receiver exists: the value comes back.
    }

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// This receiver fell behind: this many values were dropped before it saw them. The
        /// next `recv` returns the oldest value still held.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// This receiver has seen every value; senders are still alive.
        Empty,
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// This receiver fell behind by this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The buffer's size: the asked capacity rounded up to a power of two.
    capacity: usize,
    /// Completes `Sender::closed` (notify_waiters when the last receiver goes).
    no_receivers: Notify,
}

struct State<T> {
    buf: VecDeque<Slot<T>>,
    /// Position of `buf[0]`.
    head: u64,
    /// Position the next value gets.
    tail: u64,
    receivers: usize,
    senders: usize,
    weak_senders: usize,
    next_rx_id: u64,
    /// Receivers waiting for a value, by id.
    waiting: BTreeMap<u64, Waker>,
}

struct Slot<T> {
    /// `None` once every receiver that counts in `rem` has seen it.
    value: Option<T>,
    rem: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn new_channel(capacity: usize) -> Arc<Shared<T>> {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        Arc::new(Shared {
            state: Mutex::new(State {
                buf: VecDeque::new(),
                head: 0,
                tail: 0,
                receivers: 0,
                senders: 1,
                weak_senders: 0,
                next_rx_id: 0,
                waiting: BTreeMap::new(),
            }),
            capacity: capacity.next_power_of_two(),
            no_receivers: Notify::new(),
        })
    }

    /// A receiver at the tail.
    fn new_receiver(self: &Arc<Self>) -> Receiver<T> {
        let mut st = self.lock();
        st.receivers += 1;
        let id = st.next_rx_id;
        st.next_rx_id += 1;
        let next = st.tail;
        drop(st);
        Receiver {
            shared: self.clone(),
            next,
            id,
        }
    }
}

impl<T> State<T> {
    /// Drops the front positions no receiver needs; returns their values (dropped by the
    /// caller, outside the lock).
    fn trim(&mut self) -> Vec<T> {
        let mut gone = Vec::new();
        while self.buf.front().is_some_and(|s| s.rem == 0) {
            if let Some(v) = self.buf.pop_front().and_then(|s| s.value) {
                gone.push(v);
            }
            self.head += 1;
        }
        gone
    }
}

/// Creates a channel holding the last `capacity` values (rounded up to a power of two), with
/// one receiver; more come from [`Sender::subscribe`].
///
/// # Panics
/// If `capacity` is 0 or above `usize::MAX / 2`.
///
/// ```
/// use netpoll::sync::broadcast::{self, error::RecvError};
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..5 {
///         tx.send(i).unwrap(); // never waits
///     }
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3))); // 0, 1, 2 were dropped
///     assert_eq!(rx.recv().await, Ok(3));
///     assert_eq!(rx.recv().await, Ok(4));
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// });
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

/// The sending half: [`send`](Sender::send) never waits. Clone it for more senders; the channel
/// closes when the last one is dropped ([`WeakSender`]s do not count).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open: [`upgrade`](WeakSender::upgrade) it to send.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half: sees every value sent after it was created, in order.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next value this receiver reads.
    next: u64,
    id: u64,
}

impl<T> Sender<T> {
    /// Creates a sender for a new channel (see [`channel`]) with no receiver yet: values sent
    /// before the first [`subscribe`](Self::subscribe) fail.
    ///
    /// # Panics
    /// If `capacity` is 0 or above `usize::MAX / 2`.
    pub fn new(capacity: usize) -> Self {
        Sender {
            shared: Shared::new_channel(capacity),
        }
    }

    /// Sends `value` to every receiver, dropping the oldest held value if the channel is full.
    /// Returns how many receivers exist (each will see it unless it lags or drops first);
    /// fails, giving the value back, if there is none. A failure does not close the channel:
    /// a later [`subscribe`](Self::subscribe) makes sends work again.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut st = self.shared.lock();
        if st.receivers == 0 {
            return Err(SendError(value));
        }
        let mut evicted = None;
        if st.buf.len() == self.shared.capacity {
            evicted = st.buf.pop_front().and_then(|s| s.value);
            st.head += 1;
        }
        let receivers = st.receivers;
        st.buf.push_back(Slot {
            value: Some(value),
            rem: receivers,
        });
        st.tail += 1;
        let waiting = std::mem::take(&mut st.waiting);
        drop(st);
        drop(evicted);
        for w in waiting.into_values() {
            w.wake();
        }
        Ok(receivers)
    }

    /// A receiver that sees the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.new_receiver()
    }

    /// A [`WeakSender`] to this channel: it does not keep the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.lock().weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// How many values are queued: sent and not yet seen by every receiver alive when they were
    /// sent (values dropped because the channel was full do not count).
    pub fn len(&self) -> usize {
        self.shared.lock().buf.len()
    }

    /// Whether no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes when no receiver exists (it may return while a receiver is being created by
    /// `subscribe` on another thread).
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, rx) = netpoll::sync::broadcast::channel::<u8>(4);
    ///     netpoll::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        loop {
            // Created before the check: the last receiver's drop after it still wakes it.
            let notified = self.shared.no_receivers.notified();
            if self.receiver_count() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// How many [`Sender`]s the channel has.
    pub fn strong_count(&self) -> usize {
        self.shared.lock().senders
    }

    /// How many [`WeakSender`]s the channel has.
    pub fn weak_count(&self) -> usize {
        self.shared.lock().weak_senders
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], unless every `Sender` of the channel is gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut st = self.shared.lock();
        if st.senders == 0 {
            return None;
        }
        st.senders += 1;
        drop(st);
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// How many [`Sender`]s the channel has.
    pub fn strong_count(&self) -> usize {
        self.shared.lock().senders
    }

    /// How many [`WeakSender`]s the channel has.
    pub fn weak_count(&self) -> usize {
        self.shared.lock().weak_senders
    }
}

/// What one attempt to receive found.
enum Take<T> {
    Value(T),
    Lagged(u64),
    Empty,
    Closed,
}

impl<T: Clone> Receiver<T> {
    /// One receive attempt; registers `cx`'s waker when empty if given.
    fn take(&mut self, cx: Option<&Context<'_>>) -> Take<T> {
        let mut st = self.shared.lock();
        if self.next < st.head {
            let missed = st.head - self.next;
            self.next = st.head;
            return Take::Lagged(missed);
        }
        if self.next == st.tail {
            if st.senders == 0 {
                return Take::Closed;
            }
            if let Some(cx) = cx {
                match st.waiting.get_mut(&self.id) {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    Some(w) => *w = cx.waker().clone(),
                    None => {
                        st.waiting.insert(self.id, cx.waker().clone());
                    }
                }
            }
            return Take::Empty;
        }
        let idx = (self.next - st.head) as usize;
        self.next += 1;
        let slot = &mut st.buf[idx];
        slot.rem -= 1;
        let value = if slot.rem == 0 {
            // The last reader takes the value itself.
            slot.value
                .take()
                .expect("a value is held until its last reader")
        } else {
            slot.value
                .clone()
                .expect("a value is held until its last reader")
        };
        let gone = st.trim();
        drop(st);
        drop(gone);
        Take::Value(value)
    }

    /// Receives the next value: `Err(Lagged(n))` if `n` values were dropped before this
    /// receiver saw them (the next call continues with the oldest held), `Err(Closed)` once
    /// every sender is gone and every value was seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no value was taken.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| {
            let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
            let got = match self.take(Some(cx)) {
                Take::Value(v) => Ok(v),
                Take::Lagged(n) => Err(RecvError::Lagged(n)),
                Take::Closed => Err(RecvError::Closed),
                Take::Empty => return Poll::Pending,
            };
            coop.made_progress();
            Poll::Ready(got)
        })
        .await
    }

    /// Receives a value if one is waiting now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.take(None) {
            Take::Value(v) => Ok(v),
            Take::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Take::Closed => Err(TryRecvError::Closed),
            Take::Empty => Err(TryRecvError::Empty),
        }
    }

    /// Receives from a plain thread, blocking it while no value is waiting.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        super::block::block_on(self.recv())
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel that sees the values sent from now on (not the ones
    /// this receiver has yet to see).
    pub fn resubscribe(&self) -> Self {
        self.shared.new_receiver()
    }

    /// How many values were sent that this receiver has yet to receive, counting values
    /// already dropped because the channel was full: above the capacity, the next `recv`
    /// returns `Lagged`.
    pub fn len(&self) -> usize {
        (self.shared.lock().tail - self.next) as usize
    }

    /// Whether this receiver has seen every value sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many [`Sender`]s the channel has.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.lock().senders
    }

    /// How many [`WeakSender`]s the channel has.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.lock().weak_senders
    }

    /// Whether every sender is gone. Values may still be waiting.
    pub fn is_closed(&self) -> bool {
        self.sender_strong_count() == 0
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.waiting.remove(&self.id);
        let from = self.next.max(st.head);
        let mut gone = Vec::new();
        for pos in from..st.tail {
            let idx = (pos - st.head) as usize;
            let slot = &mut st.buf[idx];
            slot.rem -= 1;
            if slot.rem == 0 {
                gone.extend(slot.value.take());
            }
        }
        gone.extend(st.trim());
        st.receivers -= 1;
        let last = st.receivers == 0;
        drop(st);
        drop(gone);
        if last {
            self.shared.no_receivers.notify_waiters();
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        let waiting = if st.senders == 0 {
            std::mem::take(&mut st.waiting)
        } else {
            BTreeMap::new()
        };
        drop(st);
        for w in waiting.into_values() {
            w.wake();
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().weak_senders += 1;
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.lock().weak_senders -= 1;
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("broadcast::Sender")
            .field("queued", &st.buf.len())
            .field("receivers", &st.receivers)
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::WeakSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}
