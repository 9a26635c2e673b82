//! [`LocalRuntime`]: a current-thread runtime whose thread also runs `!Send` tasks, without a
//! `LocalSet` in user code.
//!
//! It is the current-thread [`Runtime`] plus one [`LocalSet`] that belongs to it. While
//! [`LocalRuntime::block_on`] runs, the set is the thread's current one (so
//! `task::spawn_local` works in the `block_on` future, in local tasks and in ordinary tasks,
//! which all run on this thread) and the `block_on` future is the set's `run_until`, so the
//! local tasks are polled on this thread between the runtime's other tasks. A local task woken
//! from another thread wakes the `block_on` future, which polls it.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use super::{EnterGuard, Handle, Runtime, RuntimeMetrics, DROP_TIMEOUT};
use crate::task::{JoinHandle, LocalSet};

/// Options for [`Builder::build_local`](super::Builder::build_local) that only a
/// [`LocalRuntime`] has, like `tokio::runtime::LocalOptions`. There are none yet: use
/// `LocalOptions::default()`.
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    /// Keeps the options on the thread that builds the runtime (`!Send`, `!Sync`), for
    /// options such as `!Send` hooks later.
    _not_send: PhantomData<*mut u8>,
}

/// A current-thread runtime that also runs `!Send` futures, like `tokio::runtime::LocalRuntime`.
///
/// [`spawn_local`](LocalRuntime::spawn_local), and [`task::spawn_local`](crate::task::spawn_local)
/// anywhere on its thread while [`block_on`](LocalRuntime::block_on) runs (in the `block_on`
/// future, in local tasks, in ordinary tasks), take futures that are not `Send`: no `LocalSet` is
/// needed. The runtime itself is neither `Send` nor `Sync`: it stays on the thread that built
/// it. Its [`Handle`] is `Send` as always, and [`Handle::spawn`] from any thread puts `Send`
/// tasks on it; all its tasks run on the thread in `block_on`.
///
/// ```
/// use std::rc::Rc;
/// use netpoll_runtime::runtime::LocalRuntime;
///
/// let rt = LocalRuntime::new().unwrap();
/// let shared = Rc::new(20); // not Send
/// let s = shared.clone();
/// let task = rt.spawn_local(async move { *s + 1 });
/// let out = rt.block_on(async move {
///     let inner = netpoll_runtime::task::spawn_local(async move { *shared + 1 });
///     task.await.unwrap() + inner.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
///
/// It cannot move to another thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<netpoll_runtime::runtime::LocalRuntime>();
/// ```
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<netpoll_runtime::runtime::LocalRuntime>();
/// ```
///
/// Driving a `LocalSet` inside it works but gains nothing (tokio advises against it).
/// Dropping the runtime first drops its unfinished local tasks, then shuts the runtime down as
/// [`Runtime`]'s drop does.
pub struct LocalRuntime {
    /// The runtime's own task set; `None` only while shutting down.
    local: Option<LocalSet>,
    rt: Runtime,
    _not_send: PhantomData<*mut u8>,
}

impl LocalRuntime {
    /// A local runtime with default settings (I/O and timers on, as always in netpoll).
    pub fn new() -> io::Result<LocalRuntime> {
        super::Builder::new_current_thread()
            .enable_all()
            .build_local(LocalOptions::default())
    }

    pub(crate) fn from_runtime(rt: Runtime) -> LocalRuntime {
        LocalRuntime {
            local: Some(LocalSet::new()),
            rt,
            _not_send: PhantomData,
        }
    }

    fn local(&self) -> &LocalSet {
        self.local
            .as_ref()
            .expect("the LocalRuntime's task set exists until it shuts down")
    }

    /// A handle to the runtime; it can be sent to other threads to spawn `Send` tasks on it.
    pub fn handle(&self) -> &Handle {
        self.rt.handle()
    }

    /// Spawns a future that need not be `Send` onto the runtime. It runs on this runtime's
    /// thread while [`block_on`](LocalRuntime::block_on) runs (now, if called from inside it).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// let rt = netpoll_runtime::runtime::LocalRuntime::new().unwrap();
    /// let hits = Rc::new(Cell::new(0));
    /// let h = hits.clone();
    /// let task = rt.spawn_local(async move { h.set(h.get() + 1) });
    /// rt.block_on(task).unwrap();
    /// assert_eq!(hits.get(), 1);
    /// ```
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local().spawn_local(future)
    }

    /// Runs a blocking closure on the runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking).
    pub fn spawn_blocking<F, R>(&self, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.rt.spawn_blocking(func)
    }

    /// Runs `future` to completion on this thread, which meanwhile runs the runtime's tasks,
    /// local and `Send` ones alike (see [`Runtime::block_on`]). The future need not be `Send`.
    ///
    /// # Panics
    /// When called from inside a runtime (a task, or another `block_on`).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let local = self.local();
        let _current = local.enter();
        self.rt.block_on(local.run_until(future))
    }

    /// Makes this runtime the current one until the guard drops: `spawn`, timers and sockets
    /// use it, and `task::spawn_local` adds to its local tasks (which run in the next
    /// `block_on`).
    pub fn enter(&self) -> EnterGuard<'_> {
        let mut guard = self.rt.enter();
        guard._local = Some(self.local().enter());
        guard
    }

    /// The runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.rt.metrics()
    }

    /// Shuts down: drops the unfinished local tasks, then shuts the runtime down as
    /// [`Runtime::shutdown_timeout`] does, waiting at most `timeout` for blocking closures.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(timeout);
    }

    /// Shuts down without waiting for blocking closures; see
    /// [`shutdown_timeout`](LocalRuntime::shutdown_timeout).
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO)
    }

    fn shutdown(&mut self, timeout: Duration) {
        if let Some(local) = self.local.take() {
            // The tasks' destructors may use the runtime (deregister sockets, cancel timers).
            let _enter = self.rt.enter();
            drop(local);
        }
        self.rt.shutdown(timeout);
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        self.shutdown(DROP_TIMEOUT);
    }
}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}
