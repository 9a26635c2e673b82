//! Optional `tracing` instrumentation (cargo feature `tracing`); without the feature every hook
//! here compiles to nothing.
//!
//! | where | what | target, level |
//! |---|---|---|
//! | spawn | event `spawn` with `task_id` | `netpoll::task`, TRACE |
//! | every task poll | span `poll` with `task_id` and `worker`, entered for the poll | `netpoll::task`, TRACE |
//! | sysmon drained the netpoller/timers itself | event with the number of tasks woken | `netpoll::sysmon`, DEBUG |
//! | sysmon saw a long poll | event with `task_id`, `worker`, `ms`, `handed_off` | `netpoll::sysmon`, WARN |

/// A task was spawned.
#[inline(always)]
pub(crate) fn spawn(id: u64) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "netpoll::task", task_id = id, "spawn");
    #[cfg(not(feature = "tracing"))]
    let _ = id;
}

/// The guard of a task poll's span: entered on creation, exited on drop.
#[cfg(feature = "tracing")]
pub(crate) type PollGuard = tracing::span::EnteredSpan;
/// Without the feature: nothing to enter or exit.
#[cfg(not(feature = "tracing"))]
pub(crate) struct PollGuard;

/// Enters the span of one poll of task `id` on `worker`.
#[inline(always)]
pub(crate) fn poll(id: u64, worker: usize) -> PollGuard {
    #[cfg(feature = "tracing")]
    {
        tracing::trace_span!(target: "netpoll::task", "poll", task_id = id, worker).entered()
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (id, worker);
        PollGuard
    }
}

/// sysmon drained the netpoller and timers because no worker had for a while.
#[inline(always)]
pub(crate) fn sysmon_polled(woken: usize) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "netpoll::sysmon", woken, "sysmon polled the netpoller");
    #[cfg(not(feature = "tracing"))]
    let _ = woken;
}

/// sysmon found task `id` inside one poll on `worker` for `ms` milliseconds.
#[inline(always)]
pub(crate) fn long_poll(id: u64, worker: usize, ms: u128, handed_off: bool) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "netpoll::sysmon",
        task_id = id,
        worker,
        ms = ms as u64,
        handed_off,
        "long poll"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (id, worker, ms, handed_off);
}
