//! The bounded channel: [`channel`], [`Sender`], [`Receiver`], the permits and [`WeakSender`].

use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::chan::{Chan, Refused, Tx, WeakTx, MAX_BOUND};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::sync::{Semaphore, TryAcquireError};

/// Creates a bounded channel holding at most `buffer` values.
///
/// # Panics
/// If `buffer` is 0 or above [`Semaphore::MAX_PERMITS`] (as tokio's does).
///
/// ```
/// use netpoll::sync::mpsc::{self, error::TrySendError};
///
/// let (tx, mut rx) = mpsc::channel(1);
/// tx.try_send(1).unwrap();
/// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    assert!(
        buffer <= MAX_BOUND,
        "mpsc bounded channel requires buffer <= Semaphore::MAX_PERMITS"
    );
    let chan = Arc::new(Chan::new(Some(buffer)));
    (
        Sender {
            chan: Tx::first(chan.clone()),
        },
        Receiver { chan },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Tx<T>,
}

/// A sender that does not keep the channel open: [`upgrade`](WeakSender::upgrade) it to send.
/// Once every [`Sender`] is dropped the channel is closed, whatever weak senders remain.
pub struct WeakSender<T> {
    chan: WeakTx<T>,
}

/// Capacity for one value, taken by [`Sender::reserve`] or [`Sender::try_reserve`]: its
/// [`send`](Permit::send) cannot wait or fail. Dropping it gives the slot back.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// Capacity for `n` values ([`Sender::reserve_many`]), handed out one [`Permit`] at a time.
/// Dropping it gives back the slots not yet handed out.
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    left: usize,
}

/// A [`Permit`] that owns its [`Sender`] ([`Sender::reserve_owned`]), so it can be kept in a
/// `'static` place; `send` and `release` give the sender back.
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// Takes `n` permits from `sem` (in `u32`-sized steps for very large `n`); on failure or
/// cancellation, nothing stays taken.
async fn acquire(sem: &Semaphore, n: usize) -> Result<(), ()> {
    struct Taken<'a>(&'a Semaphore, usize);
    impl Drop for Taken<'_> {
        fn drop(&mut self) {
            if self.1 > 0 {
                self.0.add_permits(self.1);
            }
        }
    }
    let mut taken = Taken(sem, 0);
    while taken.1 < n {
        let step = (n - taken.1).min(u32::MAX as usize);
        sem.acquire_many(step as u32)
            .await
            .map_err(|_| ())?
            .forget();
        taken.1 += step;
    }
    taken.1 = 0;
    Ok(())
}

/// The non-waiting form of [`acquire`].
fn try_acquire(sem: &Semaphore, n: usize) -> Result<(), TryAcquireError> {
    let n = u32::try_from(n).map_err(|_| TryAcquireError::NoPermits)?;
    sem.try_acquire_many(n)?.forget();
    Ok(())
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Fails, giving the value back, once the receiver is dropped or closed. `Ok` does not
    /// mean the value will be received: the receiver may go away right after.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the value was not sent (and is dropped).
    /// Waiting senders are served in the order they started waiting; a cancelled `send` gives
    /// up its place. To keep the value when cancelled, [`reserve`](Self::reserve) first.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::coop_budget().await;
        self.send_inner(value).await
    }

    async fn send_inner(&self, value: T) -> Result<(), SendError<T>> {
        if acquire(self.chan.sem(), 1).await.is_err() {
            return Err(SendError(value));
        }
        self.chan.send(value).map_err(|Refused(v)| SendError(v))
    }

    /// Sends `value` if there is room now: `Full` if not, `Closed` if the receiver is gone.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match try_acquire(self.chan.sem(), 1) {
            Ok(()) => self
                .chan
                .send(value)
                .map_err(|Refused(v)| TrySendError::Closed(v)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends `value`, waiting at most `timeout` for room.
    ///
    /// ```
    /// use std::time::Duration;
    /// use netpoll::sync::mpsc::{self, error::SendTimeoutError};
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, _rx) = mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     let r = tx.send_timeout(2, Duration::from_millis(10)).await;
    ///     assert!(matches!(r, Err(SendTimeoutError::Timeout(2))));
    /// });
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        crate::sync::coop_budget().await;
        match netpoll_runtime::time::timeout(timeout, acquire(self.chan.sem(), 1)).await {
            Err(_elapsed) => Err(SendTimeoutError::Timeout(value)),
            Ok(Err(())) => Err(SendTimeoutError::Closed(value)),
            Ok(Ok(())) => self
                .chan
                .send(value)
                .map_err(|Refused(v)| SendTimeoutError::Closed(v)),
        }
    }

    /// Sends `value` from a plain thread, blocking it while the channel is full.
    ///
    /// Do not call it from a task: it would block a worker thread.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::mpsc::channel(1);
    ///     let t = std::thread::spawn(move || {
    ///         for i in 0..3 {
    ///             tx.blocking_send(i).unwrap();
    ///         }
    ///     });
    ///     assert_eq!(rx.recv().await, Some(0));
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, Some(2));
    ///     assert_eq!(rx.recv().await, None);
    ///     t.join().unwrap();
    /// });
    /// ```
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::block::block_on(self.send_inner(value))
    }

    /// Waits for room for one value and reserves it: the returned [`Permit`] sends without
    /// waiting. Fails once the receiver is dropped or closed.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert!(tx.try_send(1).is_err(), "the only slot is reserved");
    ///     permit.send(2);
    ///     assert_eq!(rx.recv().await, Some(2));
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Waiters are served in order; a cancelled `reserve` gives up its place and takes nothing.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        crate::sync::coop_budget().await;
        self.reserve_n(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for room for `n` values and reserves it all at once; the iterator yields `n`
    /// [`Permit`]s. Fails if the receiver is gone, or if `n` exceeds
    /// [`max_capacity`](Self::max_capacity) (it could never be granted).
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve).
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        crate::sync::coop_budget().await;
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        self.reserve_n(n).await?;
        Ok(PermitIterator {
            chan: &self.chan,
            left: n,
        })
    }

    async fn reserve_n(&self, n: usize) -> Result<(), SendError<()>> {
        acquire(self.chan.sem(), n)
            .await
            .map_err(|()| SendError(()))?;
        self.chan.reserve(n).map_err(|Refused(())| SendError(()))
    }

    /// [`reserve`](Self::reserve) that moves the sender into the permit, for a permit that
    /// must be `'static`; [`OwnedPermit::send`] gives the sender back.
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve).
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        crate::sync::coop_budget().await;
        self.reserve_n(1).await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Reserves room for one value if there is some now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.try_reserve_n(1)?;
        Ok(Permit { chan: &self.chan })
    }

    /// Reserves room for `n` values if there is that much now; `Full` otherwise (also when
    /// `n` exceeds the channel's capacity).
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        if n > self.max_capacity() {
            return Err(TrySendError::Full(()));
        }
        self.try_reserve_n(n)?;
        Ok(PermitIterator {
            chan: &self.chan,
            left: n,
        })
    }

    fn try_reserve_n(&self, n: usize) -> Result<(), TrySendError<()>> {
        match try_acquire(self.chan.sem(), n) {
            Ok(()) => self
                .chan
                .reserve(n)
                .map_err(|Refused(())| TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// [`try_reserve`](Self::try_reserve) that moves the sender into the permit; on failure
    /// the sender comes back inside the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.try_reserve_n(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, rx) = netpoll::sync::mpsc::channel::<u8>(1);
    ///     netpoll::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).await.is_err());
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: once closed, the channel stays closed and `closed` returns at once.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// How many more values fit now: it goes down on `send` and `reserve`, up on receive.
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound()
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakSender`] to this channel: it does not keep the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.downgrade(),
        }
    }

    /// How many [`Sender`]s this channel has.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakSender`]s this channel has.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`], unless every `Sender` of the channel is gone.
    ///
    /// ```
    /// let (tx, _rx) = netpoll::sync::mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().map(|chan| Sender { chan })
    }

    /// How many [`Sender`]s the channel has.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakSender`]s the channel has.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` in the reserved slot. It cannot fail: a value sent on a permit taken
    /// before [`Receiver::close`] is still received; if the receiver is dropped, the value
    /// is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        chan.send_reserved(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release(1);
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        self.chan.release(self.left);
    }
}

impl<T> OwnedPermit<T> {
    fn take_sender(&mut self) -> Sender<T> {
        self.sender
            .take()
            .expect("an OwnedPermit holds its sender until consumed")
    }

    /// Sends `value` in the reserved slot (it cannot fail, as [`Permit::send`]) and gives the
    /// sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.take_sender();
        sender.chan.send_reserved(value);
        sender
    }

    /// Gives the slot back without sending, and the sender with it.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.take_sender();
        sender.chan.release(1);
        sender
    }

    /// Whether both permits belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.sender, &other.sender) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Whether this permit belongs to `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.sender.as_ref().is_some_and(|s| s.same_channel(sender))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.release(1);
        }
    }
}

impl<T> Receiver<T> {
    pub(super) fn from_chan(chan: Arc<Chan<T>>) -> Receiver<T> {
        Receiver { chan }
    }

    /// Receives the next value, waiting while the channel is empty.
    ///
    /// Returns `None` once the channel is closed and drained: every sender is gone, or
    /// [`close`](Self::close) was called and every permit taken before it was used or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no value was taken from the channel.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives up to `limit` values into `buffer`, waiting only for the first; returns how many
    /// were added (0 only when the channel is closed and drained, or `limit` is 0).
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::mpsc::channel(8);
    ///     for i in 0..5 {
    ///         tx.send(i).await.unwrap();
    ///     }
    ///     let mut buf = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut buf, 3).await, 2);
    ///     assert_eq!(buf, [0, 1, 2, 3, 4]);
    /// });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no value was taken from the channel.
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.poll_recv_many(cx, buffer, limit)).await
    }

    /// Receives a value if one is queued now: `Empty` while senders or permits remain,
    /// `Disconnected` when the channel has ended. Never spuriously `Empty`.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut got = None;
        match self.chan.poll_take(None, 1, |v| got = Some(v)) {
            Poll::Ready(0) => Err(TryRecvError::Disconnected),
            Poll::Ready(_) => Ok(got.expect("one value was taken")),
            Poll::Pending => Err(TryRecvError::Empty),
        }
    }

    /// Receives from a plain thread, blocking it while the channel is empty; `None` once closed
    /// and drained.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::block::block_on(std::future::poll_fn(|cx| {
            let mut got = None;
            self.chan
                .poll_take(Some(cx), 1, |v| got = Some(v))
                .map(|_| got)
        }))
    }

    /// [`recv_many`](Self::recv_many) from a plain thread.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        crate::sync::block::block_on(std::future::poll_fn(|cx| {
            self.chan.poll_take(Some(cx), limit, |v| buffer.push(v))
        }))
    }

    /// Polls for the next value (the poll form of [`recv`](Self::recv)): `Ready(None)` once
    /// the channel is closed and drained. Only the waker of the latest `Pending` poll is woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let mut got = None;
        let polled = self.chan.poll_take(Some(cx), 1, |v| got = Some(v));
        if polled.is_ready() {
            coop.made_progress();
        }
        polled.map(|_| got)
    }

    /// Polls for up to `limit` values into `buffer`: `Ready(n)` with the count added, which
    /// is 0 only when the channel is closed and drained or `limit` is 0.
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let polled = self.chan.poll_take(Some(cx), limit, |v| buffer.push(v));
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    /// Closes the channel from the receiving side: sends and reservations fail from now on;
    /// values already queued, and values sent on permits taken before, can still be received
    /// (`recv` returns `None` only after them).
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::mpsc::channel(4);
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn close(&mut self) {
        self.chan.close(false);
    }

    /// Whether the channel is closed (all senders gone, or [`close`](Self::close) called).
    /// Values may still be queued.
    pub fn is_closed(&self) -> bool {
        self.chan.rx_is_closed()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// How many more values fit now (see [`Sender::capacity`]).
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.chan.bound()
    }

    /// How many [`Sender`]s the channel has.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakSender`]s the channel has.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close(true);
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &self.chan).finish()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("chan", &self.chan).finish()
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("chan", &self.chan)
            .field("left", &self.left)
            .finish()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("chan", &self.sender.as_ref().map(|s| &s.chan))
            .finish()
    }
}
