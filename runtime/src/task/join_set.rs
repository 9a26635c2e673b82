//! [`JoinSet`]: a collection of spawned tasks, awaited in the order they finish.
//!
//! # How the set learns which task finished
//!
//! Each entry owns the task's `JoinHandle` and a waker of its own, which the task's cell
//! holds as its join waker (`set_join_waker`, at spawn, and again whenever the entry is
//! polled). When the task completes, the cell wakes that waker, which pushes the entry's slab
//! key onto the set's `ready` list and wakes whoever waits in `join_next`. So `join_next`
//! costs O(1) per finished task, however many tasks the set holds.
//!
//! The `ready` list may hold keys that no longer name the entry that pushed them (an entry
//! joined through another notification, detached, or a reused slab key): `join_next` polls the
//! entry under each key, and one that is not finished is simply polled again later, when its
//! own waker fires. Spurious keys cost a poll, never a lost task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::{AbortHandle, Id, JoinError, JoinHandle};
use crate::runtime::Handle;

/// A set of tasks spawned on a runtime, like `tokio::task::JoinSet`: [`join_next`] returns
/// their outputs in the order they finish. Dropping the set aborts every task still in it.
///
/// [`join_next`]: JoinSet::join_next
///
/// ```
/// use netpoll_runtime::task::JoinSet;
/// use std::time::Duration;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut set = JoinSet::new();
/// for i in [30u64, 10, 20] {
///     set.spawn(async move {
///         netpoll_runtime::time::sleep(Duration::from_millis(i)).await;
///         i
///     });
/// }
/// let mut order = Vec::new();
/// while let Some(res) = set.join_next().await {
///     order.push(res.unwrap());
/// }
/// assert_eq!(order, [10, 20, 30]);
/// # });
/// ```
pub struct JoinSet<T> {
    entries: Slab<Entry<T>>,
    notify: Arc<Notify>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

/// Keys of entries whose task may have finished, and the waker of a waiting `join_next`.
struct Notify {
    inner: Mutex<NotifyInner>,
}

struct NotifyInner {
    ready: Vec<usize>,
    waiter: Option<Waker>,
}

impl Notify {
    fn lock(&self) -> std::sync::MutexGuard<'_, NotifyInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One entry's waker: pushes its key and wakes the waiter.
struct EntryWaker {
    key: usize,
    notify: Arc<Notify>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut inner = self.notify.lock();
            inner.ready.push(self.key);
            inner.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            notify: Arc::new(Notify {
                inner: Mutex::new(NotifyInner {
                    ready: Vec::new(),
                    waiter: None,
                }),
            }),
        }
    }

    /// The number of tasks in the set, finished or not, that have not been joined yet.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: 'static> JoinSet<T> {
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.entries.vacant_entry();
        let waker = Waker::from(Arc::new(EntryWaker {
            key: slot.key(),
            notify: self.notify.clone(),
        }));
        handle.set_join_waker(&waker);
        slot.insert(Entry { handle, waker });
        abort
    }

    /// Spawns `task` on the current runtime and adds it to the set; returns a handle that can
    /// abort it.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(crate::runtime::spawn(task))
    }

    /// Spawns `task` on the runtime of `handle` and adds it to the set.
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(task))
    }

    /// Spawns a `!Send` future on the [`LocalSet`](super::LocalSet) being driven on this
    /// thread and adds it to the set.
    ///
    /// # Panics
    /// Outside a `LocalSet`.
    pub fn spawn_local<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(task))
    }

    /// Spawns a `!Send` future on `local_set` and adds it to the set.
    pub fn spawn_local_on<F>(&mut self, task: F, local_set: &super::LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local_set.spawn_local(task))
    }

    /// Runs the blocking closure `f` on the current runtime's blocking pool and adds it to
    /// the set. Aborting it has no effect once it has started.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(crate::runtime::spawn_blocking(f))
    }

    /// Runs the blocking closure `f` on the blocking pool of `handle`'s runtime.
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn_blocking(f))
    }

    /// Waits for one of the tasks to finish and returns its output, or `None` if the set is
    /// empty.
    ///
    /// Cancel safe: if the future is dropped before it completes, no output is lost; the
    /// finished task stays in the set for the next call.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next), with the finished task's id. Cancel safe.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that has already finished, if any; `None` if none has (or the
    /// set is empty). Never waits.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|r| r.map(|(_, v)| v))
    }

    /// [`try_join_next`](Self::try_join_next), with the task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        loop {
            let key = self.notify.lock().ready.pop()?;
            if let Some(done) = self.poll_entry(key) {
                return Some(done);
            }
        }
    }

    /// The poll form of [`join_next`](Self::join_next): `Ready(None)` if the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|o| o.map(|r| r.map(|(_, v)| v)))
    }

    /// The poll form of [`join_next_with_id`](Self::join_next_with_id).
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            self.notify.lock().ready.clear();
            return Poll::Ready(None);
        }
        let coop = std::task::ready!(super::coop::poll_proceed(cx));
        loop {
            let key = {
                let mut inner = self.notify.lock();
                match inner.ready.pop() {
                    Some(key) => key,
                    None => {
                        // Under the lock that entry wakers push under: a task finishing
                        // after this sees our waker.
                        match &inner.waiter {
                            Some(w) if w.will_wake(cx.waker()) => {}
                            _ => inner.waiter = Some(cx.waker().clone()),
                        }
                        return Poll::Pending;
                    }
                }
            };
            if let Some(done) = self.poll_entry(key) {
                coop.made_progress();
                return Poll::Ready(Some(done));
            }
        }
    }

    /// Polls the entry under `key` with its own waker; removes and returns it if finished.
    fn poll_entry(&mut self, key: usize) -> Option<Result<(Id, T), JoinError>> {
        let entry = self.entries.get_mut(key)?;
        let mut cx = Context::from_waker(&entry.waker);
        match Pin::new(&mut entry.handle).poll(&mut cx) {
            Poll::Ready(res) => {
                let id = entry.handle.id();
                self.entries.remove(key);
                Some(res.map(|v| (id, v)))
            }
            Poll::Pending => None,
        }
    }

    /// Aborts every task and waits until all have finished; the set is empty afterwards.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they finished.
    ///
    /// # Panics
    /// If a task panicked (the panic is resumed here) or was cancelled; the tasks still
    /// running are aborted when the set drops.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("JoinSet::join_all: {e}"),
            }
        }
        out
    }
}

impl<T: 'static> JoinSet<T> {
    /// Aborts every task in the set. They stay in it: `join_next` returns each one's
    /// (usually cancelled) result.
    pub fn abort_all(&mut self) {
        self.abort_entries();
    }

    /// Removes every task from the set without aborting it: they keep running, detached.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.notify.lock().ready.clear();
    }
}

impl<T> JoinSet<T> {
    fn abort_entries(&self) {
        for (_, entry) in self.entries.iter() {
            entry.handle.abort();
        }
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_entries();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// Spawns every future on the current runtime into a new set.
///
/// # Panics
/// Outside a runtime.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns every future on the current runtime into the set.
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for task in iter {
            self.spawn(task);
        }
    }
}
