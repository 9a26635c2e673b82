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
/// On netpoll this is the mechanism sysmon uses for a worker stuck in a long poll (see the
/// [netpoller and sysmon guide]), asked for up front: the P (queue, LIFO slot) goes to a spare
/// thread at once instead of after the long-poll threshold. The current task finishes this
/// poll on the calling thread, which then becomes a spare itself. If the hand-off thread cap
/// (`Builder::max_handoff_threads`) is reached, `f` simply runs in place.
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
            shared.threads.hand_off_self(&shared, p);
        }
    }
    f()
}
