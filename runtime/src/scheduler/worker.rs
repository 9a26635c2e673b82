//! The worker loop (Go's `schedule`/`findRunnable`) and the threads that run it.
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

use parking_lot::{Condvar, Mutex};

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

/// Starts and tracks the runtime's Ms: the workers, and the spares sysmon hands Ps to.
pub(crate) struct Threads {
    state: Mutex<ThreadsState>,
    /// Spares wait here for a P.
    spare_cv: Condvar,
    /// Shutdown waits here for `live == 0`.
    done_cv: Condvar,
}

#[derive(Default)]
struct ThreadsState {
    /// Ps retaken by sysmon, waiting for an M.
    handoffs: std::collections::VecDeque<usize>,
    spares_idle: usize,
    /// Ms alive (workers and spares, stuck ones included).
    live: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Threads {
    pub(crate) fn new() -> Threads {
        Threads {
            state: Mutex::new(ThreadsState::default()),
            spare_cv: Condvar::new(),
            done_cv: Condvar::new(),
        }
    }

    /// Starts an M that runs P `p` (or, with `None`, waits as a spare).
    pub(crate) fn spawn_m(&self, shared: &Arc<Shared>, p: Option<usize>) -> std::io::Result<()> {
        let mut st = self.state.lock();
        st.handles.retain(|h| !h.is_finished());
        let mut b = std::thread::Builder::new().name((shared.config.thread_name)());
        if let Some(size) = shared.config.stack_size {
            b = b.stack_size(size);
        }
        let sh = shared.clone();
        let h = b.spawn(move || m_main(sh, p))?;
        st.live += 1;
        st.handles.push(h);
        Ok(())
    }

    /// Sysmon's hand-off: retakes P `p` from the M stuck in poll `seq` and gives it to a spare
    /// (started if needed, within the cap). False if the cap forbids it or the poll ended.
    pub(crate) fn try_handoff(&self, shared: &Arc<Shared>, p: usize, seq: u64) -> bool {
        let mut st = self.state.lock();
        let has_spare = st.spares_idle > st.handoffs.len();
        let cap = shared.config.num_workers + shared.config.max_handoff_threads;
        if !has_spare && st.live >= cap {
            shared.metrics.handoffs_denied.fetch_add(1, Relaxed);
            return false;
        }
        if !shared.slots[p].status.try_retake(seq) {
            return false;
        }
        st.handoffs.push_back(p);
        if has_spare {
            self.spare_cv.notify_one();
            return true;
        }
        drop(st);
        // The P is retaken either way: if no thread can be made, it waits in `handoffs` for the
        // stuck M to come back (or for a spare).
        let _ = self.spawn_m(shared, None);
        true
    }

    /// `block_in_place`'s hand-off: the M running P `p` (this thread, inside poll `seq`) is
    /// about to block, so its P goes to a spare now instead of after the long-poll threshold.
    /// The same retake as sysmon's, asked for by the M itself; false if the cap forbids it.
    pub(crate) fn hand_off_self(&self, shared: &Arc<Shared>, p: usize) -> bool {
        match shared.slots[p].status.in_poll() {
            Some(seq) => {
                let done = self.try_handoff(shared, p, seq);
                if done {
                    shared.metrics.handoffs.fetch_add(1, Relaxed);
                }
                done
            }
            None => false,
        }
    }

    /// A spare waits up to `keep_alive` for a retaken P.
    fn wait_for_p(&self, shared: &Shared, keep_alive: Duration) -> Option<usize> {
        let mut st = self.state.lock();
        let deadline = Instant::now() + keep_alive;
        loop {
            if let Some(p) = st.handoffs.pop_front() {
                shared.slots[p].status.acquire_retaken();
                return Some(p);
            }
            if shared.is_shutdown() {
                return None;
            }
            st.spares_idle += 1;
            let timed_out = self.spare_cv.wait_until(&mut st, deadline).timed_out();
            st.spares_idle -= 1;
            if timed_out && st.handoffs.is_empty() {
                return None;
            }
        }
    }

    fn exited(&self) {
        let mut st = self.state.lock();
        st.live -= 1;
        if st.live == 0 {
            self.done_cv.notify_all();
        }
    }

    pub(crate) fn notify_all(&self) {
        let _st = self.state.lock();
        self.spare_cv.notify_all();
    }

    pub(crate) fn live(&self) -> usize {
        self.state.lock().live
    }

    /// Waits until every M has exited or `deadline` passes; joins those that exited.
    /// Returns the number still alive (stuck in a poll).
    pub(crate) fn join_all(&self, deadline: Instant) -> usize {
        let mut st = self.state.lock();
        while st.live > 0 {
            if self.done_cv.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
        let handles = std::mem::take(&mut st.handles);
        let live = st.live;
        drop(st);
        for h in handles {
            if h.is_finished() {
                let _ = h.join();
            }
            // Unfinished ones are detached: they are stuck in a task's poll.
        }
        live
    }
}

/// An M's life: run its P; if sysmon takes the P, serve as a spare until the keep-alive ends.
fn m_main(shared: Arc<Shared>, mut p: Option<usize>) {
    let _rt = context::enter_runtime_thread(&shared);
    let _hooks = shared.config.hooks.thread_started();
    loop {
        if let Some(pi) = p {
            let mut busy = super::BusyGuard::new(&shared, pi);
            let exit = run_p(&shared, pi, &|_| false);
            busy.end = exit != Exit::Lost;
            drop(busy);
            if exit == Exit::Shutdown {
                break;
            }
        }
        p = shared.threads.wait_for_p(&shared, Duration::from_secs(10));
        if p.is_none() {
            break;
        }
    }
    drop(_rt);
    shared.threads.exited();
}

/// The current-thread flavour's `block_on`: the calling thread runs P 0 until `fut` completes.
pub(crate) fn block_on_current<F: std::future::Future>(shared: &Arc<Shared>, fut: F) -> F::Output {
    use std::sync::atomic::AtomicBool;
    use std::task::{Context, Poll, Wake};

    struct MainWaker {
        woken: AtomicBool,
        shared: std::sync::Weak<Shared>,
    }
    impl Wake for MainWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, SeqCst);
            if let Some(shared) = self.shared.upgrade() {
                shared.slots[0].parker.unpark(&*shared);
            }
        }
    }

    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        shared: Arc::downgrade(shared),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    // The `block_on` future runs as P 0 too: `worker_index()` says 0 there, and what it
    // spawns or wakes goes to the P's own queue.
    let _worker = context::enter_worker(shared, 0);
    let _busy = super::BusyGuard::new(shared, 0);
    let polls = &shared.slots[0].metrics.polls;
    let polls_at_main = std::cell::Cell::new(polls.load(Relaxed));
    // Once the main future is woken, the tasks still get up to `event_interval` polls (or
    // until they run out of work, after a netpoller/timer pass) before it is polled again,
    // as in tokio's current-thread scheduler: a `block_on` future that keeps yielding (or is
    // woken by the tasks it waits for) cannot starve them.
    let interval = u64::from(shared.config.event_interval);
    let stop = |check: StopCheck| {
        main.woken.load(SeqCst)
            && (check == StopCheck::Idle
                || polls.load(Relaxed).wrapping_sub(polls_at_main.get()) >= interval)
    };
    loop {
        if main.woken.swap(false, SeqCst) {
            // The `block_on` future gets a budget per poll, as a task does, so that
            // always-ready resources in it yield and timers around them can fire.
            let budget = crate::task::coop::start();
            let polled = fut.as_mut().poll(&mut cx);
            drop(budget);
            if let Poll::Ready(v) = polled {
                return v;
            }
            polls_at_main.set(polls.load(Relaxed));
        }
        if run_p(shared, 0, &stop) == Exit::Shutdown {
            panic!("the netpoll runtime was shut down while `block_on` was running on it");
        }
    }
}
