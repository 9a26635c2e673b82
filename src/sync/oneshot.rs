//! A channel for a single value, like `tokio::sync::oneshot` (written here: a small mutex-
//! guarded state, so that `is_empty` can look at the value without taking it).
//!
//! The [`Receiver`] is itself the future: it resolves to the value, or to [`error::RecvError`]
//! if the [`Sender`] was dropped without sending.
//!
//! # Protocol
//!
//! | field (under the lock) | set by | cleared by |
//! | --- | --- | --- |
//! | `value` | `Sender::send` (unless `rx_closed`) | the receiver taking it; `Receiver` drop |
//! | `tx_done` (sent or dropped: no value will come later) | `Sender::send`, `Sender` drop | never |
//! | `rx_closed` (a send would fail) | `Receiver::close`, `Receiver` drop | never |
//! | `rx_waker` | a pending receiver poll | `send`, `Sender` drop (woken) |
//! | `tx_waker` | a pending `Sender::poll_closed` | `close`, `Receiver` drop (woken) |
//!
//! The receiver is *terminated* once it has returned a value or an error; it then holds no
//! state and must not be polled again.
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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

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

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    tx_done: bool,
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Stores `cx`'s waker in `slot` unless an equivalent one is there.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

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
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            tx_done: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

/// Sends the one value; see [`channel`].
pub struct Sender<T> {
    /// `None` once the value was sent.
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the one value by being awaited; see [`channel`].
pub struct Receiver<T> {
    /// `None` once terminated (a value or an error was returned).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_deref()
            .expect("a Sender holds the channel until it sends")
    }

    /// Sends `value`, waking the receiver. Never waits.
    ///
    /// Returns the value back if the receiver was dropped or [closed](Receiver::close).
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(7), Err(7));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a Sender sends once");
        let mut st = inner.lock();
        st.tx_done = true;
        let result = if st.rx_closed {
            Err(value)
        } else {
            st.value = Some(value);
            Ok(())
        };
        // Either way no value can come later: a receiver still awaiting (after `close`) must
        // be woken to see `tx_done`.
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        result
    }

    /// Whether the receiver was dropped or closed, so a send would fail.
    pub fn is_closed(&self) -> bool {
        self.inner().lock().rx_closed
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
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver being dropped or closed (the poll form of [`closed`](Self::closed)).
    /// Only the waker of the latest `Pending` poll is woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let mut st = self.inner().lock();
        if st.rx_closed {
            coop.made_progress();
            return Poll::Ready(());
        }
        register(&mut st.tx_waker, cx);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut st = inner.lock();
        st.tx_done = true;
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting: `Empty` if nothing was sent yet,
    /// `Closed` if the sender was dropped without sending or the value was already taken.
    /// Never fails spuriously.
    ///
    /// ```
    /// use netpoll::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let mut st = inner.lock();
        let outcome = match st.value.take() {
            Some(v) => Ok(v),
            None if st.tx_done => Err(TryRecvError::Closed),
            None => return Err(TryRecvError::Empty),
        };
        drop(st);
        self.inner = None;
        outcome
    }

    /// Refuses the value: a later [`Sender::send`] fails and [`Sender::closed`] completes. A value
    /// sent before still can be received.
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            let mut st = inner.lock();
            st.rx_closed = true;
            let waker = st.tx_waker.take();
            drop(st);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Whether this receiver has returned its value or error (from `.await`, a poll or
    /// [`try_recv`](Self::try_recv)); it must not be polled again.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::oneshot::channel();
    ///     assert!(!rx.is_terminated());
    ///     tx.send(1).unwrap();
    ///     assert!(!rx.is_terminated());
    ///     assert_eq!((&mut rx).await, Ok(1));
    ///     assert!(rx.is_terminated());
    /// });
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether no value is waiting to be received: nothing sent yet, the sender dropped
    /// without sending, or the value already taken (a terminated receiver is empty).
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::oneshot::channel();
    /// assert!(rx.is_empty());
    /// tx.send(5).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.lock().value.is_none(),
            None => true,
        }
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

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut st = inner.lock();
        st.rx_closed = true;
        let value = st.value.take();
        let waker = st.tx_waker.take();
        drop(st);
        // The value's Drop runs outside the lock.
        drop(value);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// # Panics
    /// If polled after it returned `Ready` (see [`Receiver::is_terminated`]).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
        let inner = self
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after it completed");
        let mut st = inner.lock();
        let outcome = match st.value.take() {
            Some(v) => Ok(v),
            None if st.tx_done => Err(RecvError(())),
            None => {
                register(&mut st.rx_waker, cx);
                return Poll::Pending;
            }
        };
        drop(st);
        self.inner = None;
        coop.made_progress();
        Poll::Ready(outcome)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.inner.as_ref().map(|i| i.lock().rx_closed))
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}
