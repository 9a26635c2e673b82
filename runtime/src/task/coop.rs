//! Cooperative scheduling budget (tokio's `coop`): Go preempts a goroutine that runs too long;
//! we cannot preempt a future, so each task poll gets a budget of I/O operations. Operations
//! that would otherwise keep succeeding (a socket that is always readable, a copy that always
//! has data) spend one unit each, and when the budget is gone they yield: wake the task and
//! return `Pending`, so the worker can run others, poll the netpoller and fire timers.
//!
//! A `block_on` future gets a budget per poll too; on a plain thread, outside any poll, the
//! budget is unlimited. [`unconstrained`] lifts it for one future; [`consume_budget`] and
//! [`cooperative`] let code that uses no netpoll resource take part.

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations one task poll may do before it must yield.
pub(crate) const BUDGET: u32 = 128;
const UNLIMITED: u32 = u32::MAX;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(UNLIMITED) };
}

/// Restores the previous budget when a task poll ends.
pub(crate) struct ResetGuard(u32);

/// Gives the task about to be polled a fresh budget.
pub(crate) fn start() -> ResetGuard {
    ResetGuard(LEFT.try_with(|l| l.replace(BUDGET)).unwrap_or(UNLIMITED))
}

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let _ = LEFT.try_with(|l| l.set(self.0));
    }
}

/// Spends one unit of the current task's budget, or, if it is used up, wakes the task and
/// returns `Pending` so it yields to the scheduler. Call it once per operation in loops that
/// may never return `Pending` on their own.
///
/// The unit is given back when the returned guard drops, unless
/// [`made_progress`](RestoreOnPending::made_progress) was called on it: an operation that ends
/// up `Pending` (a socket that turned out not to be ready) costs nothing, as in tokio.
///
/// ```
/// use std::task::Poll;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// std::future::poll_fn(|cx| {
///     let coop = std::task::ready!(netpoll_runtime::task::coop::poll_proceed(cx));
///     // ... the operation succeeded:
///     coop.made_progress();
///     Poll::Ready(())
/// })
/// .await;
/// # });
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let left = LEFT.try_with(|l| l.get()).unwrap_or(UNLIMITED);
    if left == UNLIMITED {
        return Poll::Ready(RestoreOnPending(Cell::new(UNLIMITED), PhantomData));
    }
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    let _ = LEFT.try_with(|l| l.set(left - 1));
    Poll::Ready(RestoreOnPending(Cell::new(left), PhantomData))
}

/// The guard of [`poll_proceed`]: gives the unit of budget back when dropped, unless the
/// operation [made progress](RestoreOnPending::made_progress).
#[must_use = "dropping it at once gives the budget back: call `made_progress` when the operation succeeds"]
pub struct RestoreOnPending(Cell<u32>, PhantomData<*mut ()>);

impl RestoreOnPending {
    /// The operation completed: keep the unit spent.
    pub fn made_progress(&self) {
        self.0.set(UNLIMITED);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        let before = self.0.get();
        if before != UNLIMITED {
            let _ = LEFT.try_with(|l| l.set(before));
        }
    }
}

impl std::fmt::Debug for RestoreOnPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOnPending").finish()
    }
}

/// True if the current task still has budget (without spending any).
pub fn has_budget_remaining() -> bool {
    LEFT.try_with(|l| l.get() > 0).unwrap_or(true)
}

/// Spends one unit of budget, yielding first if it is used up: for loops of CPU-bound work
/// that use no netpoll resource, so they still give other tasks a turn.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut sum = 0u64;
/// for i in 0..10_000u64 {
///     sum += i;
///     netpoll_runtime::task::consume_budget().await;
/// }
/// assert_eq!(sum, 49_995_000);
/// # });
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(|cx| poll_proceed(cx).map(|coop| coop.made_progress())).await
}

/// Runs `inner` without a budget: its resources never make it yield. Use with care: an
/// unconstrained loop over always-ready I/O keeps the worker to itself.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let n = netpoll_runtime::task::unconstrained(async {
///     assert!(netpoll_runtime::task::coop::has_budget_remaining());
///     5
/// })
/// .await;
/// assert_eq!(n, 5);
/// # });
/// ```
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

/// The future of [`unconstrained`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Unconstrained<F> {
    inner: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: polled in place, never moved out.
        let inner = unsafe { self.map_unchecked_mut(|u| &mut u.inner) };
        let before = LEFT.try_with(|l| l.replace(UNLIMITED)).unwrap_or(UNLIMITED);
        struct Back(u32);
        impl Drop for Back {
            fn drop(&mut self) {
                let _ = LEFT.try_with(|l| l.set(self.0));
            }
        }
        let _back = Back(before);
        inner.poll(cx)
    }
}

/// Makes `fut` take part in coop scheduling: each poll first spends a unit of budget (and
/// yields if there is none), as a netpoll resource would.
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { fut }
}

/// The future of [`cooperative`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Coop<F: Future> {
    fut: F,
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let coop = std::task::ready!(poll_proceed(cx));
        // SAFETY: `fut` is structurally pinned: polled in place, never moved out.
        let fut = unsafe { self.map_unchecked_mut(|c| &mut c.fut) };
        let out = fut.poll(cx);
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}
