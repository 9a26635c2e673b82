//! Cooperative scheduling budget (tokio's `coop`): Go preempts a goroutine that runs too long;
//! we cannot preempt a future, so each task poll gets a budget of I/O operations. Operations
//! that would otherwise keep succeeding (a socket that is always readable, a copy that always
//! has data) spend one unit each, and when the budget is gone they yield: wake the task and
//! return `Pending`, so the worker can run others, poll the netpoller and fire timers.
//!
//! Outside a task poll (a `block_on` future, a plain thread) the budget is unlimited.

use std::cell::Cell;
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
/// ```
/// use std::task::Poll;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// // Outside a spawned task the budget is unlimited.
/// std::future::poll_fn(|cx| netpoll_runtime::task::coop::poll_proceed(cx)).await;
/// # });
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = LEFT.try_with(|l| l.get()).unwrap_or(UNLIMITED);
    if left == UNLIMITED {
        return Poll::Ready(());
    }
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    let _ = LEFT.try_with(|l| l.set(left - 1));
    Poll::Ready(())
}

/// True if the current task still has budget (without spending any).
pub fn has_budget_remaining() -> bool {
    LEFT.try_with(|l| l.get() > 0).unwrap_or(true)
}
