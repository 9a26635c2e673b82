use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::core::{Join, TaskRef};
use super::{Id, JoinError};

/// An owned permission to await a spawned task's output, like `tokio::task::JoinHandle`.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
/// Dropping it detaches the task, which keeps running.
///
/// ```
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// let out = rt.block_on(async {
///     let handle = netpoll_runtime::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
///
/// A handle is `Send` and `Sync` exactly when the output is `Send`, so a `!Send` output of a
/// [`LocalSet`](super::LocalSet) task stays on its thread:
///
/// ```compile_fail
/// fn needs_send<T: Send>(_: T) {}
/// fn give(h: netpoll_runtime::task::JoinHandle<std::rc::Rc<u8>>) {
///     needs_send(h);
/// }
/// ```
pub struct JoinHandle<T> {
    raw: Arc<dyn Join<T>>,
    /// Not `Send`/`Sync` by itself: see the impls below.
    _not_send: std::marker::PhantomData<*const ()>,
}

// SAFETY: the handle gives access to the task's output `T` (by value, once), so it may move
// to, or be shared with, another thread exactly when `T` may (tokio's rule). The task behind it
// is `Send + Sync` (`Join` requires it); for a `LocalSet` task with a `!Send` output this keeps
// the output on the set's thread (see `task::local`).
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: through `&JoinHandle` only `abort`, `is_finished` and `id` are reachable, none of
// which touches `T`; the output is taken through `Pin<&mut JoinHandle>`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Asks the task to stop: its future is dropped the next time a worker reaches it (at once
    /// if it is idle), and awaiting this handle then yields a cancelled [`JoinError`] (unless the
    /// task had already finished).
    pub fn abort(&self) {
        self.raw.clone().abort();
    }

    /// True once the task has finished: completed, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }

    /// A handle that can abort the task without owning the output.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            raw: self.raw.clone().task_ref(),
        }
    }

    /// Registers `waker` for the task's completion without taking the output (`JoinSet`).
    pub(crate) fn set_join_waker(&self, waker: &std::task::Waker) {
        self.raw.set_join_waker(waker);
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.raw.poll_join(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Aborts a task without awaiting it, like `tokio::task::AbortHandle`; cheap to clone.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = netpoll_runtime::spawn(std::future::pending::<()>());
/// let abort = handle.abort_handle();
/// assert_eq!(abort.id(), handle.id());
/// abort.abort();
/// assert!(handle.await.unwrap_err().is_cancelled());
/// assert!(abort.is_finished());
/// # });
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    raw: Arc<dyn TaskRef>,
}

impl AbortHandle {
    /// Same as [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.raw.clone().abort()
    }

    /// True once the task has finished: completed, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
