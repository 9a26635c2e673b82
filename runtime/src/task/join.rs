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
pub struct JoinHandle<T> {
    raw: Arc<dyn Join<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn Join<T>>) -> JoinHandle<T> {
        JoinHandle { raw }
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

impl<T> fmt::Debug for JoinHandle<T> {
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
