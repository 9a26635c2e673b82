//! The unbounded channel: [`unbounded_channel`], [`UnboundedSender`], [`UnboundedReceiver`],
//! [`WeakUnboundedSender`]. The same [`Chan`] as the bounded channel, without a semaphore.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::bounded::Receiver;
use super::chan::{Chan, Refused, Tx, WeakTx};
use super::error::{SendError, TryRecvError};

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
    let chan = Arc::new(Chan::new(None));
    (
        UnboundedSender {
            chan: Tx::first(chan.clone()),
        },
        UnboundedReceiver {
            inner: Receiver::from_chan(chan),
        },
    )
}

/// The sending half of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Tx<T>,
}

/// An unbounded sender that does not keep the channel open (see
/// [`WeakSender`](super::WeakSender)).
pub struct WeakUnboundedSender<T> {
    chan: WeakTx<T>,
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    inner: Receiver<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value`; never waits. Fails, giving the value back, once the receiver is dropped
    /// or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.send(value).map_err(|Refused(v)| SendError(v))
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: once closed, the channel stays closed and `closed` returns at once.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakUnboundedSender`] to this channel: it does not keep the channel open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            chan: self.chan.downgrade(),
        }
    }

    /// How many [`UnboundedSender`]s this channel has.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakUnboundedSender`]s this channel has.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`], unless every `UnboundedSender` of the channel is gone.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().map(|chan| UnboundedSender { chan })
    }

    /// How many [`UnboundedSender`]s the channel has.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakUnboundedSender`]s the channel has.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value, waiting while the channel is empty; `None` once the channel is
    /// closed and drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no value was taken from the channel.
    pub async fn recv(&mut self) -> Option<T> {
        self.inner.recv().await
    }

    /// Receives up to `limit` values into `buffer`, waiting only for the first (see
    /// [`Receiver::recv_many`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no value was taken from the channel.
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

    /// [`recv_many`](Self::recv_many) from a plain thread.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.inner.blocking_recv_many(buffer, limit)
    }

    /// Polls for the next value (the poll form of [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.poll_recv(cx)
    }

    /// Polls for up to `limit` values (see [`Receiver::poll_recv_many`]).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.inner.poll_recv_many(cx, buffer, limit)
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

    /// How many [`UnboundedSender`]s the channel has.
    pub fn sender_strong_count(&self) -> usize {
        self.inner.sender_strong_count()
    }

    /// How many [`WeakUnboundedSender`]s the channel has.
    pub fn sender_weak_count(&self) -> usize {
        self.inner.sender_weak_count()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver")
            .field("inner", &self.inner)
            .finish()
    }
}
