//! A single value that receivers watch for changes, like `tokio::sync::watch` (written here on
//! [`Notify`]; no maintained runtime-agnostic crate tracks tokio's per-receiver
//! "seen" version).
//!
//! Receivers only ever see the latest value: [`Receiver::changed`] waits until a value newer
//! than the last one this receiver marked seen is sent, and [`Receiver::borrow`] reads the
//! current value. Values sent in between are not queued.
//!
//! A [`Ref`] returned by `borrow` holds a read lock: drop it before an `.await` or a send, or
//! the sender waits for it.
//!
//! ```
//! use netpoll::sync::watch;
//!
//! netpoll::runtime::Runtime::new().unwrap().block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     netpoll::spawn(async move {
//!         tx.send("ready").unwrap();
//!     });
//!     rx.changed().await.unwrap();
//!     assert_eq!(*rx.borrow_and_update(), "ready");
//! });
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use super::Notify;

/// Errors of the [`watch`](super::watch) channel.
pub mod error {
    use std::fmt;

    send_error! {
        /// No receiver exists: the value comes back, and is not stored.
    }

    /// Every sender is gone (and, for `changed`, the latest value was already seen).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RwLock<T>,
    /// Bumped, under the value's write lock, by every change.
    version: AtomicUsize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Wakes `Receiver::changed` on a change and when the last sender goes.
    changed: Notify,
    /// Wakes `Sender::closed` when the last receiver goes.
    closed: Notify,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        // A panic in a `send_modify` closure poisons the lock; the value is still usable.
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates a channel holding `init`; the receiver counts `init` as already seen.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicUsize::new(0),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        changed: Notify::new(),
        closed: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, version: 0 },
    )
}

/// The sending half: replaces or modifies the value and wakes the receivers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half: reads the latest value and waits for changes.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    version: usize,
}

/// A read-locked view of the value, from [`Sender::borrow`] or the `borrow` methods of
/// [`Receiver`]. Drop it soon: senders wait while it lives.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Sender<T> {
    /// Creates a sender holding `init`, with no receiver yet (see [`subscribe`](Self::subscribe)).
    pub fn new(init: T) -> Sender<T> {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Replaces the value and wakes the receivers; fails, returning the value unstored, if no
    /// receiver exists.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(SeqCst) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value (even with no receiver), wakes the receivers, and returns the old
    /// value.
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        let mut old = None;
        self.send_if_modified(|v| {
            old = value.take().map(|new| std::mem::replace(v, new));
            true
        });
        old.expect("send_if_modified runs the closure")
    }

    /// Modifies the value in place and wakes the receivers (even with no receiver).
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_modify<F>(&self, modify: F)
    where
        F: FnOnce(&mut T),
    {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Runs `modify` on the value; if it returns `true`, counts that as a change and wakes the
    /// receivers. Returns what `modify` returned.
    pub fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        let modified = {
            let mut value = self
                .shared
                .value
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let modified = modify(&mut value);
            if modified {
                self.shared.version.fetch_add(1, SeqCst);
            }
            modified
        };
        if modified {
            self.shared.changed.notify_waiters();
        }
        modified
    }

    /// Reads the current value (holding a read lock while the [`Ref`] lives).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// Whether no receiver exists.
    pub fn is_closed(&self) -> bool {
        self.shared.receivers.load(SeqCst) == 0
    }

    /// Waits until no receiver exists.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, rx) = netpoll::sync::watch::channel(0);
    ///     netpoll::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.closed.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Creates a receiver that counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, SeqCst);
        let version = {
            let _value = self.shared.read();
            self.shared.version.load(SeqCst)
        };
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(SeqCst)
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(SeqCst)
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Receiver<T> {
    /// Reads the current value without marking it seen (holding a read lock while the [`Ref`]
    /// lives).
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let has_changed = self.shared.version.load(SeqCst) != self.version;
        Ref { guard, has_changed }
    }

    /// Reads the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.version.load(SeqCst);
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// Whether a value newer than the last seen one was sent; fails if every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.shared.senders.load(SeqCst) == 0 {
            return Err(RecvError(()));
        }
        Ok(self.shared.version.load(SeqCst) != self.version)
    }

    /// Marks the current value unseen, so the next [`changed`](Self::changed) returns at once.
    pub fn mark_changed(&mut self) {
        self.version = self.shared.version.load(SeqCst).wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.version.load(SeqCst);
    }

    /// Waits for a value newer than the last seen one and marks it seen; read it with
    /// [`borrow`](Self::borrow) or [`borrow_and_update`](Self::borrow_and_update).
    ///
    /// Returns at once if an unseen value is there, even when every sender is gone; fails once
    /// every sender is gone and the latest value was seen. Cancel-safe.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::watch::channel(0);
    ///     tx.send(1).unwrap();
    ///     tx.send(2).unwrap(); // 1 is never seen: only the latest value is kept
    ///     drop(tx);
    ///     assert!(rx.changed().await.is_ok());
    ///     assert_eq!(*rx.borrow(), 2);
    ///     assert!(rx.changed().await.is_err());
    /// });
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        changed(&self.shared, &mut self.version).await
    }

    /// Waits until the value satisfies `f` (checking the current value first), marks it seen,
    /// and returns it read-locked. Fails if every sender goes first.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let (tx, mut rx) = netpoll::sync::watch::channel(0);
    ///     netpoll::spawn(async move {
    ///         for i in 1..=10 {
    ///             tx.send(i).unwrap();
    ///             netpoll::task::yield_now().await;
    ///         }
    ///     });
    ///     let v = rx.wait_for(|v| *v >= 5).await.unwrap();
    ///     assert!(*v >= 5);
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let shared = &*self.shared;
        loop {
            {
                let guard = shared.read();
                let version = shared.version.load(SeqCst);
                let has_changed = version != self.version;
                self.version = version;
                if f(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
            }
            changed(shared, &mut self.version).await?;
        }
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether every sender is gone (the value can no longer change).
    ///
    /// ```
    /// let (tx, rx) = netpoll::sync::watch::channel(());
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.senders.load(SeqCst) == 0
    }
}

async fn changed<T>(shared: &Shared<T>, seen: &mut usize) -> Result<(), RecvError> {
    loop {
        // Created before the checks, so a send or drop after them still wakes it.
        let notified = shared.changed.notified();
        let version = shared.version.load(SeqCst);
        if version != *seen {
            *seen = version;
            return Ok(());
        }
        if shared.senders.load(SeqCst) == 0 {
            return Err(RecvError(()));
        }
        notified.await;
    }
}

impl<T> Ref<'_, T> {
    /// Whether the value was unseen by the receiver when this `Ref` was taken (always `false`
    /// from [`Sender::borrow`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.guard, f)
    }
}

impl<T: Default> Default for Sender<T> {
    /// A sender holding `T::default()`, with no receiver yet.
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, SeqCst);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, SeqCst);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, SeqCst) == 1 {
            self.shared.changed.notify_waiters();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, SeqCst) == 1 {
            self.shared.closed.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.shared.read())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("value", &*self.shared.read())
            .field("version", &self.version)
            .finish()
    }
}
