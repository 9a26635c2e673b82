//! The worker loop (Go's `schedule`/`findRunnable`): what an M does with its P. The Ms
//! themselves are in `threads.rs`, the current-thread flavour's `block_on` in
//! `current_thread.rs`.
//!
//! Each iteration: every `event_interval` ticks drain the netpoller without blocking and fire
//! due timers; every `global_queue_interval` ticks look at the injector first (fairness); then
//! the P's `runnext`, its LIFO slot (at most `MAX_LIFO_STREAK` times in a row, so two tasks
//! waking each other cannot starve the queue), the local queue, the injector. Out of work: poll
//! the netpoller with timeout 0, then steal (from a random victim onward, half a queue at a
//! time; a victim's `runnext` only if its M stays in one poll for `RUNNEXT_GRACE`), then park —
//! one parked worker blocks in the netpoller until the next timer, the rest on a condvar.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::handoff::Core;
use super::{steal_retrying, Shared, WorkerMetrics};
use crate::runtime::context;
use crate::task::Task;

/// How many times in a row the LIFO slot may run before the queue gets a turn.
const MAX_LIFO_STREAK: u32 = 3;

/// How long a thief waits before taking the `runnext` of a P whose M is inside a poll: a poll
/// that ends meanwhile runs the task itself, with its data in cache (Go waits 3 µs too).
const RUNNEXT_GRACE: Duration = Duration::from_micros(3);

/// Why `run_p` returned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Sysmon handed the P to another thread while this one was stuck in a poll.
    Lost,
    /// The runtime is shutting down.
    Shutdown,
    /// The caller's stop condition (current-thread `block_on`: the main future was woken).
    Stopped,
}

/// # Safety helper
/// Returns the Core of P `p`. The caller must own the P (see `handoff.rs`) and not hold another
/// reference from `core_of` while using this one.
#[allow(clippy::mut_from_ref)]
fn core_of(shared: &Shared, p: usize) -> &mut Core {
    // SAFETY: every call site is in `run_p` (or `block_on_current`), which runs only while this
    // thread owns P `p` in `OWNED` state, and re-derives the reference after each poll instead of
    // holding one across it; no two references from here are live at once.
    unsafe { shared.slots[p].core.get() }
}

/// When [`run_p`] asks its caller whether to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopCheck {
    /// Before looking for the next task.
    Busy,
    /// Out of work (after draining the netpoller and timers without blocking), before sleeping.
    Idle,
}

/// Runs P `p` on the current thread until the P is lost, the runtime shuts down, or
/// `stop(..)` says so (asked before each task, and before each sleep).
pub(crate) fn run_p(shared: &Arc<Shared>, p: usize, stop: &dyn Fn(StopCheck) -> bool) -> Exit {
    let slot = &shared.slots[p];
    let _worker = context::enter_worker(shared, p);
    *slot.thread.lock() = crate::sys::thread::current();
    loop {
        if shared.is_shutdown() {
            return Exit::Shutdown;
        }
        if stop(StopCheck::Busy) {
            return Exit::Stopped;
        }
        let task = {
            let core = core_of(shared, p);
            core.tick = core.tick.wrapping_add(1);
            place_overflow(shared, p, core);
            if core.tick % shared.config.event_interval == 0 {
                maintenance(shared, p, core, true);
            }
            next_task(shared, p, core)
        };
        let task = match task {
            Some(t) => t,
            None => match find_work(shared, p, core_of(shared, p)) {
                Some(t) => t,
                None => {
                    if park(shared, p, stop) {
                        return Exit::Stopped;
                    }
                    continue;
                }
            },
        };
        // Found work: a searcher stops searching, and if it was the last, wakes another.
        {
            let core = core_of(shared, p);
            if core.searching {
                core.searching = false;
                if shared.idle.transition_worker_from_searching() {
                    shared.notify_parked();
                }
            }
        }
        slot.current_task.store(task.id().as_u64(), Relaxed);
        let seq = slot.status.begin_poll();
        let again = {
            let _span = crate::trace::poll(task.id().as_u64(), p);
            task.run()
        };
        if !slot.status.end_poll(seq) {
            // Sysmon gave this P to another thread while we were stuck. What this poll woke is
            // in the P's runnext, which the new owner (or a thief) takes; only the yielded task
            // is ours to hand over.
            if let Some(t) = again {
                shared.inject(t);
            }
            shared.notify_parked();
            return Exit::Lost;
        }
        WorkerMetrics::bump(&slot.metrics.polls, 1);
        let core = core_of(shared, p);
        if let Some(t) = again {
            // Woken during its own poll (yield_now): to the back of the queue, behind whatever
            // waits in the injector if the local queue is empty (else it would just run again).
            if core.local.is_empty() {
                let _ = shared.injector.steal_batch(&core.local);
            }
            core.local.push(t);
        }
        place_overflow(shared, p, core);
    }
}

/// Moves the tasks `runnext` displaced (several woken on this thread since the P last looked)
/// into the queue, oldest first. The task woken last stays in `runnext`, the LIFO slot, as the
/// P's next task: its data is hot in cache.
fn place_overflow(shared: &Shared, p: usize, core: &mut Core) {
    let slot = &shared.slots[p];
    let moved = slot.runnext.drain_overflow_into(|t| core.local.push(t));
    if moved == 0 {
        return;
    }
    WorkerMetrics::bump(&slot.metrics.local_schedules, moved as u64);
    // Wake another worker only for work this one cannot start now: a single woken task is
    // run here next (waking a thief for it costs a futex and a context switch per message).
    let held = core.local.len() + usize::from(slot.runnext.has_slot());
    if held > 1 {
        shared.notify_parked();
    }
}

fn next_task(shared: &Shared, p: usize, core: &mut Core) -> Option<Task> {
    let slot = &shared.slots[p];
    if core.tick % shared.config.global_queue_interval == 0 {
        if let Some(t) = steal_one(&shared.injector) {
            core.lifo_streak = 0;
            return Some(t);
        }
    }
    if let Some(t) = slot.runnext.take() {
        WorkerMetrics::bump(&slot.metrics.local_schedules, 1);
        if core.lifo_streak < MAX_LIFO_STREAK {
            core.lifo_streak += 1;
            WorkerMetrics::bump(&slot.metrics.lifo_hits, 1);
            return Some(t);
        }
        // The streak is over: the LIFO task waits its turn at the back of the queue.
        core.local.push(t);
    }
    core.lifo_streak = 0;
    core.local
        .pop()
        .or_else(|| steal_retrying(|| shared.injector.steal_batch_and_pop(&core.local)))
}

fn steal_one(injector: &crossbeam_deque::Injector<Task>) -> Option<Task> {
    steal_retrying(|| injector.steal())
}

/// Drains the netpoller without blocking (if nobody is blocked in it) and fires due timers;
/// the tasks they wake land in this P (`runnext`, the rest in the queue). `busy`: the P still
/// has tasks to run (its periodic check), so the drain takes at most
/// `max_io_events_per_busy_tick` events.
fn maintenance(shared: &Shared, p: usize, core: &mut Core, busy: bool) -> bool {
    let mut wake: Vec<Waker> = Vec::new();
    shared.netpoll_now(busy, &mut wake);
    let found = !wake.is_empty();
    wake.into_iter().for_each(Waker::wake);
    place_overflow(shared, p, core);
    found
}

/// Out of local work: netpoll(0), then steal (as a searcher, if allowed).
fn find_work(shared: &Shared, p: usize, core: &mut Core) -> Option<Task> {
    if maintenance(shared, p, core, false) {
        if let Some(t) = shared.slots[p].runnext.take().or_else(|| core.local.pop()) {
            return Some(t);
        }
    }
    if !core.searching {
        if !shared.idle.transition_worker_to_searching() {
            return None;
        }
        core.searching = true;
    }
    let n = shared.slots.len();
    let start = core.next_rand(n);
    for i in 0..n {
        let victim = (start + i) % n;
        if victim == p {
            continue;
        }
        let v = &shared.slots[victim];
        if let Some(t) = steal_retrying(|| v.stealer.steal_batch_and_pop(&core.local)) {
            WorkerMetrics::bump(&shared.slots[p].metrics.steals, 1);
            return Some(t);
        }
        // A victim stuck in a long poll may hold in `runnext` a task its poll woke.
        if let Some(t) = steal_runnext(v, &core.local) {
            WorkerMetrics::bump(&shared.slots[p].metrics.steals, 1);
            return Some(t);
        }
    }
    steal_retrying(|| shared.injector.steal_batch_and_pop(&core.local))
}

/// Takes the `runnext` of victim `v` if its M is inside a poll and still inside the same one
/// after [`RUNNEXT_GRACE`] (Go's `runqgrab` does the same with a 3 µs sleep). A P that is not
/// in a poll runs its `runnext` itself at once.
fn steal_runnext(v: &super::Slot, local: &crossbeam_deque::Worker<Task>) -> Option<Task> {
    if v.runnext.is_empty() {
        return None;
    }
    let seq = v.status.in_poll()?;
    let start = Instant::now();
    while start.elapsed() < RUNNEXT_GRACE {
        std::hint::spin_loop();
    }
    if v.status.in_poll() != Some(seq) {
        return None;
    }
    v.runnext.steal_into(|t| local.push(t))
}

/// Sleeps until notified, or until I/O or a timer makes a task ready (see `idle.rs`/`park.rs`).
/// Returns true, without sleeping, if `stop(Idle)` says the caller wants the thread back.
fn park(shared: &Shared, p: usize, stop: &dyn Fn(StopCheck) -> bool) -> bool {
    let slot = &shared.slots[p];
    let searching = std::mem::take(&mut core_of(shared, p).searching);
    shared.idle.transition_worker_to_parked(p, searching);
    // Re-check after publishing that we sleep (SeqCst fence in the transition): work pushed
    // before a notifier read the idle state is seen here.
    let stopped = stop(StopCheck::Idle);
    if stopped || shared.has_work(p) || shared.is_shutdown() {
        if !shared.idle.unpark_worker_by_id(p) {
            // A notifier popped us concurrently: we count as searching.
            core_of(shared, p).searching = true;
        }
        return stopped;
    }
    WorkerMetrics::bump(&slot.metrics.parks, 1);
    WorkerMetrics::bump(&slot.metrics.park_unparks, 1);
    slot.metrics.busy_end(shared.start);
    if let Some(f) = &shared.config.hooks.park {
        f();
    }
    slot.parker.park(shared);
    if let Some(f) = &shared.config.hooks.unpark {
        f();
    }
    slot.metrics.busy_begin(shared.start);
    WorkerMetrics::bump(&slot.metrics.park_unparks, 1);
    if !shared.idle.unpark_worker_by_id(p) {
        core_of(shared, p).searching = true;
    }
    place_overflow(shared, p, core_of(shared, p));
    false
}
