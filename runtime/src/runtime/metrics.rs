use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crate::scheduler::{LongPoll, Shared};

/// A view of a runtime's counters, like `tokio::runtime::RuntimeMetrics`. Every value is read
/// when the method is called; counters only grow.
///
/// ```
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async { netpoll_runtime::spawn(async {}).await.unwrap() });
/// let m = rt.metrics();
/// assert_eq!(m.spawned_tasks_count(), 1);
/// // Per-worker counters are bumped after each poll, so they may trail the task's result.
/// let polls: u64 = (0..m.num_workers()).map(|w| m.worker_poll_count(w)).sum();
/// assert!(polls <= 1);
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    shared: Arc<Shared>,
}

impl RuntimeMetrics {
    pub(crate) fn new(shared: Arc<Shared>) -> RuntimeMetrics {
        RuntimeMetrics { shared }
    }

    /// Number of worker threads (Ps).
    pub fn num_workers(&self) -> usize {
        self.shared.slots.len()
    }
    /// Tasks polled by worker `w`.
    pub fn worker_poll_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.polls.load(Relaxed)
    }
    /// Successful steals by worker `w`.
    pub fn worker_steal_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.steals.load(Relaxed)
    }
    /// Times worker `w` went to sleep.
    pub fn worker_park_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.parks.load(Relaxed)
    }
    /// How many times worker `w` went to sleep plus how many times it woke, like tokio's:
    /// it starts at 0 and is bumped once when the worker parks and once when it unparks, so
    /// an odd value means the worker is asleep now.
    ///
    /// # Panics
    /// If `w >= num_workers()`.
    pub fn worker_park_unpark_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.park_unparks.load(Relaxed)
    }
    /// How long worker `w` has been busy: the time a thread held it and it was not asleep
    /// (polling tasks, the current-thread `block_on` future, draining the netpoller, looking
    /// for work), summed since the runtime started. A span still going counts up to now.
    ///
    /// # Panics
    /// If `w >= num_workers()`.
    pub fn worker_total_busy_duration(&self, w: usize) -> Duration {
        self.shared.slots[w].metrics.busy(self.shared.start)
    }
    /// Tasks worker `w` ran straight from its LIFO slot.
    pub fn worker_lifo_hit_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.lifo_hits.load(Relaxed)
    }
    /// Tasks scheduled onto worker `w`'s own queue or LIFO slot from its thread.
    pub fn worker_local_schedule_count(&self, w: usize) -> u64 {
        self.shared.slots[w].metrics.local_schedules.load(Relaxed)
    }
    /// Tasks scheduled through the global injector (from outside the workers).
    pub fn remote_schedule_count(&self) -> u64 {
        self.shared.metrics.remote_schedules.load(Relaxed)
    }
    /// Tasks waiting in the global injector now.
    pub fn injection_queue_depth(&self) -> usize {
        self.shared.injector.len()
    }
    /// Tasks waiting in the global queue (the injector) now, like tokio's: tasks spawned or
    /// woken from outside the runtime's workers wait there until a worker takes them.
    pub fn global_queue_depth(&self) -> usize {
        self.shared.injector.len()
    }
    /// Tasks waiting in worker `w`'s local queue now.
    pub fn worker_local_queue_depth(&self, w: usize) -> usize {
        self.shared.slots[w].stealer.len()
    }
    /// Tasks spawned so far.
    pub fn spawned_tasks_count(&self) -> u64 {
        self.shared.metrics.spawned.load(Relaxed)
    }
    /// Tasks alive now (spawned, not yet finished).
    pub fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }
    /// Waits on the netpoller (blocking or not).
    pub fn io_driver_poll_count(&self) -> u64 {
        self.shared.driver.metrics.polls.load(Relaxed)
    }
    /// Readiness events delivered to live registrations.
    pub fn io_driver_ready_count(&self) -> u64 {
        self.shared.driver.metrics.events.load(Relaxed)
    }
    /// Times a worker blocked in the netpoller came back (events, timer, or notification).
    pub fn io_driver_wakeup_count(&self) -> u64 {
        self.shared.metrics.driver_wakeups.load(Relaxed)
    }
    /// fds registered with the netpoller now.
    pub fn num_registrations(&self) -> usize {
        self.shared.driver.num_registrations()
    }
    /// Timers pending now.
    pub fn num_pending_timers(&self) -> usize {
        self.shared.timers.len()
    }
    /// Threads of the blocking pool now.
    pub fn num_blocking_threads(&self) -> usize {
        self.shared.blocking.num_threads()
    }
    /// Idle threads of the blocking pool now.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.shared.blocking.num_idle_threads()
    }
    /// Blocking tasks waiting for a thread now.
    pub fn blocking_queue_depth(&self) -> usize {
        self.shared.blocking.queue_depth()
    }
    /// Times sysmon drained the netpoller or fired timers because no worker had for 10 ms.
    pub fn sysmon_poll_count(&self) -> u64 {
        self.shared.metrics.sysmon_polls.load(Relaxed)
    }
    /// Times sysmon handed a stuck worker's queue to another thread.
    pub fn sysmon_handoff_count(&self) -> u64 {
        self.shared.metrics.handoffs.load(Relaxed)
    }
    /// Of those hand-offs, how many took a worker's queue from a thread inside a syscall
    /// section (`task::enter_syscall`, the `fs` calls) past `Builder::syscall_handoff_threshold`
    /// (the others were polls past the long-poll threshold, or `block_in_place`).
    pub fn syscall_handoff_count(&self) -> u64 {
        self.shared.metrics.syscall_handoffs.load(Relaxed)
    }
    /// Hand-offs refused because the thread cap was reached.
    pub fn sysmon_handoff_denied_count(&self) -> u64 {
        self.shared.metrics.handoffs_denied.load(Relaxed)
    }
    /// Polls that ran longer than the long-poll threshold (each counted once).
    pub fn long_poll_count(&self) -> u64 {
        self.shared.metrics.long_polls.load(Relaxed)
    }
    /// The longest polls seen (at most 8), worst first, with their task ids.
    pub fn worst_long_polls(&self) -> Vec<LongPoll> {
        self.shared.metrics.worst_long_polls.lock().clone()
    }
    /// Worker threads alive now, spares made by hand-offs included.
    pub fn num_worker_threads_alive(&self) -> usize {
        self.shared.threads.live()
    }
}

impl std::fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .finish_non_exhaustive()
    }
}
