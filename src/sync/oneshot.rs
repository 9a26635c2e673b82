//! A channel for a single value, like `tokio::sync::oneshot` (built on `futures-channel`).
//!
//! The [`Receiver`] is itself the future: it resolves to the value, or to [`error::RecvError`]
//! if the [`Sender`] was dropped without sending.
//!
//! ```
//! use netpoll::sync::oneshot;
//!
//! netpoll::runtime::Runtime::new().unwrap().block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     netpoll::spawn(async move {
//!         let _ = tx.send(42);
//!     });
//!     assert_eq!(rx.await, Ok(42));
//!
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     drop(tx);
//!     assert!(rx.await.is_err());
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot as imp;

/// Errors of the [`oneshot`](super::oneshot) channel.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value was sent yet; the sender is still alive.
        Empty,
        /// The sender was dropped without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// Creates a channel for one value: the [`Sender`] sends it, the [`Receiver`] is awaited for it.
///
/// ```
/// let (tx, rx) = netpoll::sync::oneshot::channel();
/// tx.send("hi").unwrap();
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     assert_eq!(rx.await.unwrap(), "hi");
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = imp::channel();
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// Sends the one value; see [`channel`].
pub struct Sender<T> {
    inner: imp::Sender<T>,
}

/// Receives the one value by being awaited; see [`channel`].
pub struct Receiver<T> {
    inner: imp::Receiver<T>,
}

impl<T> Sender<T> {
    /// Sends `value`, waking the receiver. Never waits.
    ///
    /// Returns the value back if the receiver was dropped or [closed](Receiver::close).
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(7), Err(7));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        self.inner.send(value)
    }

    /// Whether the receiver was dropped or closed, so a send would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.is_canceled()
    }

    /// Waits until the receiver is dropped or closed: lets a producer stop computing a value
    /// nobody wants.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (mut tx, rx) = netpoll::sync::oneshot::channel::<()>();
    ///     netpoll::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&mut self) {
        self.inner.cancellation().await
    }

    /// Polls for the receiver being dropped or closed (the poll form of [`closed`](Self::closed)).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll_canceled(cx)
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// ```
    /// use netpoll::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.try_recv() {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TryRecvError::Empty),
            Err(imp::Canceled) => Err(TryRecvError::Closed),
        }
    }

    /// Refuses the value: a later [`Sender::send`] fails and [`Sender::closed`] completes. A value
    /// sent before still can be received.
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// Blocks this thread until the value arrives: for plain threads outside any runtime.
    ///
    /// Do not call it from a task: it would block a worker thread.
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::oneshot::channel();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.blocking_recv(), Ok(5));
    /// ```
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block::block_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let polled = Pin::new(&mut self.inner)
            .poll(cx)
            .map(|r| r.map_err(|imp::Canceled| RecvError(())));
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
