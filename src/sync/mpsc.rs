//! Multi-producer, single-consumer queues, like `tokio::sync::mpsc` (built on `async-channel`).
//!
//! [`channel`] is bounded: a full channel makes [`Sender::send`] wait until the receiver takes a
//! value (backpressure). [`unbounded_channel`] never makes the sender wait.
//!
//! The channel closes when every sender is dropped (the receiver then drains what is queued and
//! gets `None`) or when the receiver is dropped or [closed](Receiver::close) (sends then fail).
//!
//! Both halves also work from plain threads: [`Sender::blocking_send`] and
//! [`Receiver::blocking_recv`].
//!
//! ```
//! use netpoll::sync::mpsc;
//!
//! netpoll::runtime::Runtime::new().unwrap().block_on(async {
//!     let (tx, mut rx) = mpsc::channel(2);
//!     netpoll::spawn(async move {
//!         for i in 0..10 {
//!             tx.send(i).await.unwrap(); // waits while 2 values are queued
//!         }
//!     });
//!     let mut sum = 0;
//!     while let Some(i) = rx.recv().await {
//!         sum += i;
//!     }
//!     assert_eq!(sum, 45);
//! });
//! ```

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

/// Errors of the [`mpsc`](super::mpsc) channels.
pub mod error {
    use std::fmt;

    /// The receiver is gone (dropped or closed): the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Sender::try_send`](super::Sender::try_send) failed; the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum TrySendError<T> {
        /// The channel holds its capacity of values.
        Full(T),
        /// The receiver is gone.
        Closed(T),
    }

    impl<T> TrySendError<T> {
        /// The value that was not sent.
        pub fn into_inner(self) -> T {
            match self {
                TrySendError::Full(v) | TrySendError::Closed(v) => v,
            }
        }
    }

    impl<T> From<SendError<T>> for TrySendError<T> {
        fn from(e: SendError<T>) -> Self {
            TrySendError::Closed(e.0)
        }
    }

    impl<T> fmt::Debug for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TrySendError::Full(_) => f.write_str("Full(..)"),
                TrySendError::Closed(_) => f.write_str("Closed(..)"),
            }
        }
    }

    impl<T> fmt::Display for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TrySendError::Full(_) => f.write_str("no available capacity"),
                TrySendError::Closed(_) => f.write_str("channel closed"),
            }
        }
    }

    impl<T> std::error::Error for TrySendError<T> {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing is queued; senders are still alive.
        Empty,
        /// Nothing is queued and no sender is left (or the receiver closed the channel).
        Disconnected,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("receiving on an empty channel"),
                TryRecvError::Disconnected => f.write_str("receiving on a closed channel"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{SendError, TryRecvError, TrySendError};

/// Creates a bounded channel holding at most `buffer` values.
///
/// # Panics
/// If `buffer` is 0 (as tokio's does).
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
    let (tx, rx) = async_channel::bounded(buffer);
    (
        Sender { inner: tx },
        Receiver {
            inner: Box::pin(rx),
        },
    )
}

/// Creates a channel without a bound: sending never waits (memory is the limit).
///
/// ```
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let (tx, mut rx) = netpoll::sync::mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     let mut n = 0;
///     while rx.recv().await.is_some() {
///         n += 1;
///     }
///     assert_eq!(n, 1000);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = async_channel::unbounded();
    (
        UnboundedSender { inner: tx },
        UnboundedReceiver {
            inner: Receiver {
                inner: Box::pin(rx),
            },
        },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    inner: async_channel::Sender<T>,
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    // async-channel's receiver is `!Unpin`; boxing lets `poll_recv` take `&mut self`.
    inner: Pin<Box<async_channel::Receiver<T>>>,
}

/// The sending half of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    inner: async_channel::Sender<T>,
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    inner: Receiver<T>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Fails, giving the value back, once the receiver is dropped or closed. If the future is
    /// dropped before it completes, the value is dropped and not sent.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        super::coop_budget().await;
        self.inner
            .send(value)
            .await
            .map_err(|async_channel::SendError(v)| SendError(v))
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(value).map_err(|e| match e {
            async_channel::TrySendError::Full(v) => TrySendError::Full(v),
            async_channel::TrySendError::Closed(v) => TrySendError::Closed(v),
        })
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
        self.inner
            .send_blocking(value)
            .map_err(|async_channel::SendError(v)| SendError(v))
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
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
    pub async fn closed(&self) {
        self.inner.closed().await
    }

    /// How many more values fit now.
    pub fn capacity(&self) -> usize {
        self.max_capacity().saturating_sub(self.inner.len())
    }

    /// The bound given to [`channel`].
    pub fn max_capacity(&self) -> usize {
        self.inner.capacity().unwrap_or(usize::MAX)
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty.
    ///
    /// Returns `None` once the channel is closed and drained. Cancel-safe: dropping the future
    /// loses no value.
    pub async fn recv(&mut self) -> Option<T> {
        super::coop_budget().await;
        self.inner.recv().await.ok()
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
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        let Some(first) = self.recv().await else {
            return 0;
        };
        buffer.push(first);
        let mut n = 1;
        while n < limit {
            match self.inner.try_recv() {
                Ok(v) => {
                    buffer.push(v);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }

    /// Receives a value if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|e| match e {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Disconnected,
        })
    }

    /// Receives from a plain thread, blocking it while the channel is empty; `None` once closed
    /// and drained.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv(&mut self) -> Option<T> {
        self.inner.recv_blocking().ok()
    }

    /// Polls for the next value (the poll form of [`recv`](Self::recv)), for hand-written
    /// futures and streams.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let polled = self.inner.as_mut().poll_next(cx);
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }

    /// Closes the channel from the receiving side: sends fail from now on, and values already
    /// queued can still be received.
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
        self.inner.close();
    }

    /// Whether the channel is closed (all senders gone, or [`close`](Self::close) called).
    /// Values may still be queued.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// How many more values fit now (`usize::MAX` minus the queue for an unbounded channel).
    pub fn capacity(&self) -> usize {
        self.max_capacity().saturating_sub(self.inner.len())
    }

    /// The bound given to [`channel`] (`usize::MAX` for an unbounded channel).
    pub fn max_capacity(&self) -> usize {
        self.inner.capacity().unwrap_or(usize::MAX)
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value`; never waits. Fails, giving the value back, once the receiver is dropped or
    /// closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.inner.closed().await
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting while the channel is empty; `None` once the channel is
    /// closed and drained. Cancel-safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.inner.recv().await
    }

    /// Receives up to `limit` values into `buffer`, waiting only for the first (see
    /// [`Receiver::recv_many`]).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.inner.recv_many(buffer, limit).await
    }

    /// Receives a value if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Receives from a plain thread, blocking it while the channel is empty.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv(&mut self) -> Option<T> {
        self.inner.blocking_recv()
    }

    /// Polls for the next value (the poll form of [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }

    /// Closes the channel from the receiving side; queued values can still be received.
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// Whether the channel is closed. Values may still be queued.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.inner.len()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.inner.len())
            .field("max_capacity", &self.max_capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("len", &self.inner.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}
