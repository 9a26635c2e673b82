//! A multi-producer, multi-consumer channel where every receiver sees every value, like
//! `tokio::sync::broadcast` (built on `async-broadcast`).
//!
//! The channel holds the last `capacity` values. Sending never waits: when the channel is full
//! the oldest value is dropped, and a receiver that had not seen it gets
//! [`RecvError::Lagged(n)`](error::RecvError::Lagged) (`n` values skipped) from its next
//! `recv`, then continues with the oldest value still held. This is `async-broadcast`'s
//! "overflow mode", which is tokio's semantics; `async-broadcast`'s default would make the
//! sender wait for the slowest receiver instead.
//!
//! Differences from tokio: the capacity is exactly the one asked for (tokio rounds it up to a
//! power of two), and receivers have no `len`.
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

use std::fmt;
use std::sync::Arc;

/// Errors of the [`broadcast`](super::broadcast) channel.
pub mod error {
    use std::fmt;

    /// No receiver exists: the value comes back.
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

/// Creates a channel holding the last `capacity` values, with one receiver; more come from
/// [`Sender::subscribe`].
///
/// # Panics
/// If `capacity` is 0.
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
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    let (mut tx, rx) = async_broadcast::broadcast(capacity);
    tx.set_overflow(true);
    // An inactive receiver keeps the channel open while no receiver exists, so `send` fails
    // but `subscribe` still works, as in tokio (async-broadcast would close it for good).
    let keep_open = Arc::new(tx.new_receiver().deactivate());
    (
        Sender {
            inner: tx,
            _keep_open: keep_open,
        },
        Receiver { inner: rx },
    )
}

/// The sending half: [`send`](Sender::send) never waits. Clone it for more senders; the channel
/// closes when the last is dropped.
pub struct Sender<T> {
    inner: async_broadcast::Sender<T>,
    _keep_open: Arc<async_broadcast::InactiveReceiver<T>>,
}

/// A receiving half: sees every value sent after it was created (unless it lags).
pub struct Receiver<T> {
    inner: async_broadcast::Receiver<T>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver, dropping the oldest value if the channel is full.
    /// Returns how many receivers there are, or the value back if there are none.
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::broadcast::channel(4);
    /// assert_eq!(tx.send(1).unwrap(), 1);
    /// drop(rx);
    /// assert!(tx.send(2).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        match self.inner.try_broadcast(value) {
            // With overflow on, a full channel drops its oldest value; that value is `Some`.
            Ok(_) => Ok(self.inner.receiver_count()),
            Err(e) => Err(SendError(e.into_inner())),
        }
    }
}

impl<T> Sender<T> {
    /// Creates a receiver that sees the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.new_receiver(),
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }

    /// How many values the channel holds now (not yet seen by some receiver).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the channel holds no value.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting while there is none.
    ///
    /// Fails with [`RecvError::Lagged`] if values were dropped before this receiver saw them
    /// (then carries on from the oldest value held), and with [`RecvError::Closed`] once every
    /// sender is gone and every value was seen. Cancel-safe.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        super::coop_budget().await;
        self.inner.recv_direct().await.map_err(|e| match e {
            async_broadcast::RecvError::Overflowed(n) => RecvError::Lagged(n),
            async_broadcast::RecvError::Closed => RecvError::Closed,
        })
    }

    /// Receives the next value if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|e| match e {
            async_broadcast::TryRecvError::Overflowed(n) => TryRecvError::Lagged(n),
            async_broadcast::TryRecvError::Empty => TryRecvError::Empty,
            async_broadcast::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    /// Receives from a plain thread, blocking it while there is no value.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        super::block::block_on(self.recv())
    }

    /// Creates another receiver that sees the values sent from now on (not the ones this
    /// receiver has yet to see).
    pub fn resubscribe(&self) -> Self {
        Receiver {
            inner: self.inner.new_receiver(),
        }
    }
}

impl<T> Receiver<T> {
    /// Whether every sender is gone (values may still be left to receive).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
            _keep_open: self._keep_open.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender")
            .field("len", &self.inner.len())
            .field("capacity", &self.inner.capacity())
            .field("receivers", &self.inner.receiver_count())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("closed", &self.inner.is_closed())
            .finish()
    }
}
