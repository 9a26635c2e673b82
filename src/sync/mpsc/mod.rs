//! Multi-producer, single-consumer queues, like `tokio::sync::mpsc` (written here; the
//! protocol is in `chan.rs`).
//!
//! [`channel`] is bounded: a full channel makes [`Sender::send`] wait until the receiver takes a
//! value (backpressure). Waiting senders are served first come, first served, and capacity can
//! be taken ahead of the value with [`Sender::reserve`] (a [`Permit`]), so a task can wait for
//! room before it builds what it sends. [`unbounded_channel`] never makes the sender wait.
//!
//! The channel closes when every sender is dropped (the receiver then drains what is queued and
//! gets `None`) or when the receiver is dropped or [closed](Receiver::close) (sends then fail;
//! permits taken before `close` may still send). [`WeakSender`]s do not keep it open.
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

mod bounded;
mod chan;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

/// Errors of the [`mpsc`](super::mpsc) channels.
pub mod error {
    use std::fmt;

    send_error! {
        /// The receiver is gone (dropped or closed): the value comes back.
    }

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

    /// Why [`Sender::send_timeout`](super::Sender::send_timeout) failed; the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum SendTimeoutError<T> {
        /// No capacity became free before the timeout.
        Timeout(T),
        /// The receiver is gone.
        Closed(T),
    }

    impl<T> SendTimeoutError<T> {
        /// The value that was not sent.
        pub fn into_inner(self) -> T {
            match self {
                SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
            }
        }
    }

    impl<T> fmt::Debug for SendTimeoutError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
                SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
            }
        }
    }

    impl<T> fmt::Display for SendTimeoutError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                SendTimeoutError::Timeout(_) => f.write_str("timed out waiting on send operation"),
                SendTimeoutError::Closed(_) => f.write_str("channel closed"),
            }
        }
    }

    impl<T> std::error::Error for SendTimeoutError<T> {}
}
