//! Tasks: the cell and its state machine, JoinHandle, JoinError, and `yield_now`.

pub mod coop;
pub(crate) mod core;
mod error;
mod join;
pub mod join_set;
mod local;
pub(crate) mod state;
mod task_local;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use error::JoinError;
pub use join::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalEnterGuard, LocalSet};
pub use task_local::{AccessError, LocalKey};

/// Futures returned by this module's functions.
pub mod futures {
    pub use super::task_local::TaskLocalFuture;
}

pub(crate) use self::core::{from_thin, into_thin, Cell, Task};

/// A task's id, unique among the tasks of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u64);

impl Id {
    pub(crate) fn next() -> Id {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Id(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    pub(crate) fn from_u64(id: u64) -> Id {
        Id(id)
    }

    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0
    }
}

thread_local! {
    /// The id of the task this thread is running (polling, cancelling or dropping), or 0.
    static CURRENT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Restores the previous current task id when dropped.
pub(crate) struct IdGuard(u64);

/// Makes `id` the current task's id until the guard drops.
pub(crate) fn enter_id(id: Id) -> IdGuard {
    IdGuard(CURRENT.try_with(|c| c.replace(id.0)).unwrap_or(0))
}

impl Drop for IdGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

/// The id of the task that is running, like `tokio::task::id`.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = netpoll_runtime::spawn(async { netpoll_runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// # });
/// ```
///
/// # Panics
/// Outside a task (for example in the `block_on` future); see [`try_id`].
pub fn id() -> Id {
    try_id().expect("task::id() called outside a task: use task::try_id()")
}

/// The id of the running task, or `None` outside a task (a `block_on` future, a plain thread).
pub fn try_id() -> Option<Id> {
    match CURRENT.try_with(|c| c.get()) {
        Ok(0) | Err(_) => None,
        Ok(id) => Some(Id(id)),
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Yields to the scheduler: the task goes to the back of its worker's queue, so others run.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// for _ in 0..3 {
///     netpoll_runtime::task::yield_now().await;
/// }
/// # });
/// ```
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}

pub use crate::runtime::{spawn, spawn_blocking};

/// Runs the blocking closure `f` on this thread, first handing this worker's queue to another
/// thread so the tasks queued behind the current one keep running, like
/// `tokio::task::block_in_place`.
///
/// On netpoll this is a syscall section (see [`enter_syscall`]) handed off at once: the P
/// (queue, LIFO slot) goes to a spare thread now instead of after a threshold (see the
/// [netpoller and sysmon guide]). The current task finishes this poll on the calling thread,
/// which then becomes a spare itself. If the hand-off thread cap
/// (`Builder::max_handoff_threads`) is reached, `f` runs in place inside the section, which
/// sysmon hands off later if a thread becomes available.
///
/// Outside a runtime, or in the `block_on` future of a multi-thread runtime, `f` just runs.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let n = netpoll_runtime::spawn(async {
///     netpoll_runtime::task::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(5));
///         7
///     })
/// })
/// .await
/// .unwrap();
/// assert_eq!(n, 7);
/// # });
/// ```
///
/// [netpoller and sysmon guide]: https://docs.rs/netpoll
///
/// # Panics
/// On a current-thread runtime's thread, where there is no other thread to hand the queue
/// to (as in tokio): use [`spawn_blocking`] there.
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let shared = crate::runtime::context::with_current(|h| h.shared.clone()).ok();
    if let Some(shared) = shared {
        if let Some(p) = crate::runtime::context::current_p_of(&shared) {
            if shared.config.current_thread {
                panic!(
                    "block_in_place: cannot hand off the queue of a current_thread runtime; \
                     use spawn_blocking, or a multi_thread runtime"
                );
            }
            let _section = crate::scheduler::syscall::enter(&shared, p);
            shared.threads.hand_off_self(&shared, p);
            return f();
        }
    }
    f()
}

/// Runs the blocking call `f` inline, on this thread, the way Go runs a system call
/// (`entersyscall`/`exitsyscall`): a netpoll addition, with no tokio counterpart.
///
/// On a worker thread of a multi-thread runtime, inside a task, `f` runs in a *syscall
/// section*: if it has not returned within `Builder::syscall_handoff_threshold` (20 µs by
/// default) while other tasks wait on this worker (or on the global queue), sysmon hands the
/// worker's queue to another thread, so they start at once instead of waiting for `f`. When
/// `f` returns, the current task's poll goes on on this thread; if the queue was handed off,
/// this thread becomes a spare once that poll ends. A short call costs no thread switch at all
/// (compare [`spawn_blocking`], which costs two per call).
///
/// Anywhere else — outside a runtime, on the blocking pool, in the `block_on` future, on a
/// current-thread runtime (no other thread to hand its queue to), inside another section —
/// `f` simply runs. Code that must not block a current-thread runtime uses [`spawn_blocking`]
/// there instead, as `netpoll::fs` does.
///
/// Meant for calls that block in the kernel for a short or unknown time (file-system calls);
/// for long computations use [`spawn_blocking`], for calls known to block long
/// [`block_in_place`].
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let len = netpoll_runtime::spawn(async {
///     netpoll_runtime::task::enter_syscall(|| std::fs::metadata(".").map(|m| m.is_dir()))
/// })
/// .await
/// .unwrap();
/// assert!(len.unwrap());
/// # });
/// ```
pub fn enter_syscall<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let shared = crate::runtime::context::with_current(|h| h.shared.clone()).ok();
    if let Some(shared) = shared {
        if let Some(p) = crate::runtime::context::current_p_of(&shared) {
            let _section = crate::scheduler::syscall::enter(&shared, p);
            return f();
        }
    }
    f()
}

/// Whether [`enter_syscall`] would open a syscall section here: on a worker thread of a
/// multi-thread runtime, inside a task's poll, outside another section. Where it is false a
/// blocking call belongs on the blocking pool ([`spawn_blocking`]). For `netpoll::fs`.
#[doc(hidden)]
pub fn can_enter_syscall() -> bool {
    crate::runtime::context::with_current(|h| {
        let shared = &h.shared;
        !shared.config.current_thread
            && crate::runtime::context::current_p_of(shared)
                .is_some_and(|p| matches!(shared.slots[p].status.polling(), Some((_, false))))
    })
    .unwrap_or(false)
}
