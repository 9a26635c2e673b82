//! The runtime: [`Builder`], [`Runtime`], [`Handle`], and the free functions [`spawn`] and
//! [`spawn_blocking`]. Names and signatures follow tokio's, so porting is mostly an import change.

mod builder;
pub(crate) mod context;
mod handle;
mod local_runtime;
mod metrics;
mod park_on;

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use std::time::{Duration, Instant};

pub use crate::scheduler::LongPoll;
pub use builder::Builder;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use local_runtime::{LocalOptions, LocalRuntime};

pub use metrics::RuntimeMetrics;

use crate::scheduler::{current_thread, Shared};
use crate::task::JoinHandle;

/// How long dropping a [`Runtime`] waits for its threads before detaching them.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// A netpoll runtime: worker threads, the netpoller, timers, sysmon and the blocking pool.
///
/// ```
/// use netpoll_runtime::runtime::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let task = netpoll_runtime::spawn(async { 40 + 2 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// Dropping the runtime shuts it down: tasks are cancelled (their destructors run), threads
/// are joined (waiting up to 10 s for polls in progress), and the netpoller's fds are closed
/// once the last [`Handle`] and `JoinHandle` are gone.
pub struct Runtime {
    handle: Handle,
    sysmon: Option<std::thread::JoinHandle<()>>,
    /// The current-thread flavour's single P is in use by a `block_on`.
    core_in_use: AtomicBool,
    shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with default settings (workers: `NETPOLL_WORKERS` or the number of
    /// cores).
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    pub(crate) fn start(shared: Arc<Shared>) -> io::Result<Runtime> {
        crate::sys::ignore_sigpipe();
        let mut rt = Runtime {
            handle: Handle {
                shared: shared.clone(),
            },
            sysmon: None,
            core_in_use: AtomicBool::new(false),
            shut_down: false,
        };
        if !shared.config.current_thread {
            for p in 0..shared.config.num_workers {
                shared.threads.spawn_m(&shared, Some(p))?;
            }
            if shared.config.sysmon {
                let sh = shared.clone();
                rt.sysmon = Some(
                    std::thread::Builder::new()
                        .name("netpoll-sysmon".into())
                        .spawn(move || crate::scheduler::sysmon::run(sh))?,
                );
            }
        }
        Ok(rt)
    }

    /// Runs `future` to completion on the current thread, driving the runtime meanwhile.
    ///
    /// On the multi-thread flavour the future runs on this thread while the workers run the
    /// spawned tasks; on the current-thread flavour this thread also runs the tasks.
    ///
    /// # Panics
    /// When called from inside a runtime (a task, or another `block_on`): that would block a
    /// thread the runtime needs. Use `.await`, or `spawn_blocking`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = context::enter_block_on(&self.handle);
        let shared = &self.handle.shared;
        if shared.config.current_thread && !self.core_in_use.swap(true, SeqCst) {
            struct Release<'a>(&'a AtomicBool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.store(false, SeqCst);
                }
            }
            let _release = Release(&self.core_in_use);
            return current_thread::block_on(shared, future);
        }
        park_on::park_on(future)
    }

    /// Spawns a task; see [`spawn`].
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the blocking pool; see [`spawn_blocking`].
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime the current one for the guard's lifetime (for `spawn`, sockets, timers
    /// created outside `block_on`).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// The runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for threads that are inside a task poll or a
    /// blocking closure; those still running then are detached.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(timeout);
    }

    /// Shuts down without waiting for running polls or blocking closures.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO)
    }

    fn shutdown(&mut self, timeout: Duration) {
        if self.shut_down {
            return;
        }
        self.shut_down = true;
        let shared = &self.handle.shared;
        let deadline = Instant::now() + timeout;
        shared.begin_shutdown();
        let stuck = shared.threads.join_all(deadline);
        if let Some(h) = self.sysmon.take() {
            let _ = h.join();
        }
        // Every worker is gone (or stuck in a poll): drop the futures of all other tasks.
        shared.owned.shutdown_all();
        shared.drain_queues(stuck > 0);
        shared.timers.clear();
        shared.driver.shutdown();
        shared.blocking.shutdown(deadline);
        // Tasks cancelled above may have woken others into the queues meanwhile.
        shared.drain_queues(stuck > 0);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(DROP_TIMEOUT);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.shared.config.num_workers)
            .field("current_thread", &self.handle.shared.config.current_thread)
            .finish()
    }
}

/// The payload of the `io::Error` netpoll's I/O fails with once its runtime has shut down
/// (see [`is_rt_shutdown_err`]).
#[derive(Debug)]
struct RuntimeShutDown;

impl fmt::Display for RuntimeShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the netpoll runtime this I/O resource belongs to has shut down")
    }
}

impl std::error::Error for RuntimeShutDown {}

/// The error of I/O on (or registration with) a runtime that has shut down.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other(RuntimeShutDown)
}

/// True if `err` is the error netpoll's I/O returns because its runtime has shut down (or is
/// shutting down), like `tokio::runtime::is_rt_shutdown_err`: a socket or `AsyncFd` used
/// after its runtime was dropped, or one created with the handle of a runtime that is gone.
/// False for every other error, including OS errors and errors of the same kind.
///
/// ```
/// use netpoll_runtime::runtime::is_rt_shutdown_err;
///
/// let other = std::io::Error::other("something else");
/// assert!(!is_rt_shutdown_err(&other));
/// ```
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<RuntimeShutDown>())
}

/// The flavour of a runtime, like `tokio::runtime::RuntimeFlavor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// One thread runs every task: [`Builder::new_current_thread`].
    CurrentThread,
    /// Work-stealing workers: [`Builder::new_multi_thread`].
    MultiThread,
}

/// A runtime's id ([`Handle::id`], [`LocalSet::id`](crate::task::LocalSet::id)): runtimes
/// and `LocalSet`s draw from one process-wide counter, so no two of them ever share an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u64);

impl Id {
    /// A fresh id.
    pub(crate) fn next() -> Id {
        // Plain std: a counter that carries no protocol (see `loom.rs`).
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Id(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Spawns a task onto the current runtime, like `tokio::spawn`.
///
/// On a worker thread the task goes into that worker's LIFO slot (it runs next, while the
/// spawner's data is in cache); from elsewhere it goes to the global queue.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let handles: Vec<_> = (0..10).map(|i| netpoll_runtime::spawn(async move { i * 2 })).collect();
/// let mut sum = 0;
/// for h in handles {
///     sum += h.await.unwrap();
/// }
/// assert_eq!(sum, 90);
/// # });
/// ```
///
/// # Panics
/// Outside a runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::with_current(|h| h.shared.clone()) {
        Ok(shared) => shared.spawn(future),
        Err(e) => panic!("netpoll::spawn: {e}"),
    }
}

/// The index of the worker thread this code runs on, like `tokio::runtime::worker_index`:
/// `Some(i)` with `i < RuntimeMetrics::num_workers()` inside a task (or, on the current-thread
/// flavour, also in the `block_on` future, which runs as worker 0); `None` elsewhere (a plain
/// thread, the blocking pool, the `block_on` future of a multi-thread runtime).
///
/// It is the index the per-worker [`RuntimeMetrics`] methods take. When sysmon hands a stuck
/// worker's queue to another thread, the index moves with the queue.
///
/// ```
/// let rt = netpoll_runtime::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .build()
///     .unwrap();
/// assert_eq!(netpoll_runtime::runtime::worker_index(), None);
/// let i = rt.block_on(async {
///     netpoll_runtime::spawn(async { netpoll_runtime::runtime::worker_index() })
///         .await
///         .unwrap()
/// });
/// assert!(i.is_some_and(|i| i < 2));
/// ```
pub fn worker_index() -> Option<usize> {
    context::current_worker_index()
}

/// Runs a blocking closure on the current runtime's blocking pool, like
/// `tokio::task::spawn_blocking`. The pool grows on demand up to its cap (default 512 threads)
/// and each thread retires after 10 s idle.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let n = netpoll_runtime::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0)).await.unwrap();
/// assert!(n > 0);
/// # });
/// ```
///
/// # Panics
/// Outside a runtime.
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}
