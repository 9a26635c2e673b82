//! [`Handle`], a cheap reference to a runtime (what `spawn`, `block_on` and `enter` go through
//! from anywhere), its [`EnterGuard`], and [`TryCurrentError`] for `Handle::try_current`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{context, park_on::park_on, Id, RuntimeFlavor, RuntimeMetrics};
use crate::scheduler::Shared;
use crate::task::{Cell, Id as TaskId, JoinHandle, Task};

/// A cheap, cloneable reference to a runtime, like `tokio::runtime::Handle`.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a runtime (no task, no `block_on`, no [`Handle::enter`] guard).
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle of the runtime this thread is in, if any.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(Handle::clone)
    }

    /// Spawns a task onto this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        struct BlockingTask<F>(Option<F>);
        impl<F> Unpin for BlockingTask<F> {}
        impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
            type Output = R;
            fn poll(mut self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
                let f = self
                    .0
                    .take()
                    .expect("blocking task polled after completion");
                Poll::Ready(f())
            }
        }
        let cell = Cell::new(BlockingTask(Some(f)), TaskId::next(), self.shared.clone());
        let join = JoinHandle::new(cell.clone());
        let task: Task = cell;
        if let Err(task) = self.shared.blocking.spawn(&self.shared, task) {
            task.shutdown();
        }
        join
    }

    /// Runs `future` to completion on this thread (see [`Runtime::block_on`](super::Runtime::block_on)).
    ///
    /// # Panics
    /// When called from inside a runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = context::enter_block_on(self);
        park_on(future)
    }

    /// Makes this runtime the current one until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter_handle(self),
            _local: None,
            _lifetime: std::marker::PhantomData,
        }
    }

    /// The runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.shared.clone())
    }

    /// The name given with [`Builder::name`](super::Builder::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.config.name.as_deref()
    }

    /// Which flavour the runtime is.
    ///
    /// ```
    /// use netpoll_runtime::runtime::{Builder, RuntimeFlavor};
    /// let rt = Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    /// ```
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        if self.shared.config.current_thread {
            RuntimeFlavor::CurrentThread
        } else {
            RuntimeFlavor::MultiThread
        }
    }

    /// An id of the runtime, unique among the runtimes (and `LocalSet`s) of this process.
    pub fn id(&self) -> Id {
        self.shared.id
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Returned by [`Handle::enter`]; restores the previous context on drop.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    /// [`LocalRuntime::enter`]: its task set is current too (restored first).
    pub(super) _local: Option<crate::task::LocalEnterGuard>,
    _guard: context::SetGuard,
    _lifetime: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

/// Why [`Handle::try_current`] found no runtime.
#[derive(Debug)]
pub struct TryCurrentError {
    destroyed: bool,
}

impl TryCurrentError {
    pub(crate) fn no_context() -> TryCurrentError {
        TryCurrentError { destroyed: false }
    }
    pub(crate) fn thread_local_destroyed() -> TryCurrentError {
        TryCurrentError { destroyed: true }
    }
    /// True if the thread has no runtime context at all.
    pub fn is_missing_context(&self) -> bool {
        !self.destroyed
    }
    /// True if the thread is exiting and its context is gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.destroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.destroyed {
            f.write_str("the netpoll runtime context is gone: this thread is being destroyed")
        } else {
            f.write_str(
                "there is no netpoll runtime in this thread: call this from a task, inside \
                 `Runtime::block_on`, or while a `Handle::enter()` guard is alive",
            )
        }
    }
}

impl std::error::Error for TryCurrentError {}
