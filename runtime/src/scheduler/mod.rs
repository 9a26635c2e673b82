//! The work-stealing scheduler: per-worker queues (crossbeam-deque) with a LIFO slot, a global
//! injector, the idle/search protocol, the netpoller and timers it drains, sysmon, and the P
//! hand-off.
//!
//! A task woken on a worker thread goes straight into that P's `runnext` (its LIFO slot; a task
//! it displaces waits in the slot's overflow, which the worker moves into its queue between
//! polls, see `runnext.rs`); a task woken anywhere else goes to the injector and notifies one
//! idle worker. See `worker.rs` for the loop, and `idle.rs`, `park.rs`, `runnext.rs` and
//! `handoff.rs` for the protocols, each with a loom model beside it.

pub(crate) mod current_thread;
pub(crate) mod handoff;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod runnext;
pub(crate) mod syscall;
pub(crate) mod sysmon;
pub(crate) mod threads;
pub(crate) mod worker;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;
use slab::Slab;

use crate::blocking::BlockingPool;
use crate::io::driver::{Driver, PollerGuard};
use crate::loom::Mutex;
use crate::runtime::context;
use crate::task::{Cell, Id, JoinHandle, Task};
use crate::time::TimerQueue;
use handoff::{CoreCell, Status};
use idle::Idle;
use park::Parker;

/// Runs a crossbeam steal until it gives a definite answer: `Retry` (it lost a race with
/// another thief) is tried again, as every caller wants.
pub(crate) fn steal_retrying<T>(mut steal: impl FnMut() -> crossbeam_deque::Steal<T>) -> Option<T> {
    loop {
        match steal() {
            crossbeam_deque::Steal::Success(t) => return Some(t),
            crossbeam_deque::Steal::Empty => return None,
            crossbeam_deque::Steal::Retry => {}
        }
    }
}

/// Settings fixed at build time.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) num_workers: usize,
    pub(crate) current_thread: bool,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) global_queue_interval: u32,
    pub(crate) event_interval: u32,
    pub(crate) sysmon: bool,
    pub(crate) long_poll_threshold: Duration,
    /// `Builder::syscall_handoff_threshold`.
    pub(crate) syscall_threshold: Duration,
    pub(crate) max_handoff_threads: usize,
    pub(crate) log_long_polls: bool,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) hooks: Hooks,
    /// `Builder::name`.
    pub(crate) name: Option<String>,
    /// `Builder::max_io_events_per_tick`.
    pub(crate) io_events_per_tick: usize,
    /// `Builder::max_io_events_per_busy_tick`.
    pub(crate) io_events_per_busy_tick: Option<usize>,
}

/// A callback the user gave the builder (`on_thread_start`, ...).
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

/// `Builder::on_thread_{start,stop,park,unpark}`.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) start: Option<Hook>,
    pub(crate) stop: Option<Hook>,
    pub(crate) park: Option<Hook>,
    pub(crate) unpark: Option<Hook>,
}

impl Hooks {
    /// Runs `on_thread_start` now and `on_thread_stop` when the guard drops (a thread the
    /// runtime started is starting).
    pub(crate) fn thread_started(&self) -> ThreadStopGuard {
        if let Some(f) = &self.start {
            f();
        }
        ThreadStopGuard(self.stop.clone())
    }
}

/// Runs `on_thread_stop` when a runtime thread ends, also by unwinding.
pub(crate) struct ThreadStopGuard(Option<Hook>);

impl Drop for ThreadStopGuard {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            f();
        }
    }
}

/// Per-worker counters: written by the P's owner only, read by anyone.
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) lifo_hits: AtomicU64,
    pub(crate) local_schedules: AtomicU64,
    /// Syscall sections entered (see `syscall.rs`); sysmon watches it to stay awake.
    pub(crate) syscalls: AtomicU64,
    /// Bumped when the worker goes to sleep and again when it wakes: odd while asleep.
    pub(crate) park_unparks: AtomicU64,
    /// Busy time of the spans that have ended, in ns.
    pub(crate) busy_ns: AtomicU64,
    /// Start of the current busy span (ns since `Shared::start`, plus 1), or 0 when the P is
    /// asleep or held by no thread.
    pub(crate) busy_since: AtomicU64,
}

impl WorkerMetrics {
    /// Increments a counter that only this worker writes (no RMW needed).
    pub(crate) fn bump(c: &AtomicU64, n: u64) {
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// The P starts working (a thread took it, or it woke up). A span still open (the P was
    /// handed to this thread while its old thread was stuck in a poll) ends here.
    pub(crate) fn busy_begin(&self, start: Instant) {
        let now = start.elapsed().as_nanos() as u64 + 1;
        let since = self.busy_since.swap(now, Relaxed);
        if since != 0 {
            self.busy_ns.fetch_add(now.saturating_sub(since), Relaxed);
        }
    }

    /// The P stops working (it goes to sleep, or its thread lets it go).
    pub(crate) fn busy_end(&self, start: Instant) {
        let now = start.elapsed().as_nanos() as u64 + 1;
        let since = self.busy_since.swap(0, Relaxed);
        if since != 0 {
            self.busy_ns.fetch_add(now.saturating_sub(since), Relaxed);
        }
    }

    /// Busy time so far, the open span included.
    pub(crate) fn busy(&self, start: Instant) -> Duration {
        let done = self.busy_ns.load(Relaxed);
        let since = self.busy_since.load(Relaxed);
        let open = if since == 0 {
            0
        } else {
            (start.elapsed().as_nanos() as u64 + 1).saturating_sub(since)
        };
        Duration::from_nanos(done.saturating_add(open))
    }
}

/// Counts P `p` busy while it lives (a thread runs the P).
pub(crate) struct BusyGuard<'a> {
    shared: &'a Shared,
    p: usize,
    /// False once the P was lost to a hand-off: its new thread owns the span.
    pub(crate) end: bool,
}

impl<'a> BusyGuard<'a> {
    pub(crate) fn new(shared: &'a Shared, p: usize) -> BusyGuard<'a> {
        shared.slots[p].metrics.busy_begin(shared.start);
        BusyGuard {
            shared,
            p,
            end: true,
        }
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if self.end {
            self.shared.slots[self.p]
                .metrics
                .busy_end(self.shared.start);
        }
    }
}

/// Runtime-wide counters.
#[derive(Default)]
pub(crate) struct SharedMetrics {
    pub(crate) remote_schedules: AtomicU64,
    pub(crate) driver_wakeups: AtomicU64,
    pub(crate) sysmon_polls: AtomicU64,
    pub(crate) handoffs: AtomicU64,
    pub(crate) handoffs_denied: AtomicU64,
    /// Hand-offs of a P whose M was in a syscall section (also counted in `handoffs`).
    pub(crate) syscall_handoffs: AtomicU64,
    pub(crate) long_polls: AtomicU64,
    pub(crate) spawned: AtomicU64,
    pub(crate) worst_long_polls: Mutex<Vec<LongPoll>>,
}

/// One poll that ran past the long-poll threshold, as sysmon saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPoll {
    /// The task that was being polled.
    pub task_id: Id,
    /// The worker it was polled on.
    pub worker: usize,
    /// How long the poll had been running when sysmon last looked.
    pub duration: Duration,
}

/// One P: a worker's queue and everything other threads need to see of it.
///
/// The parts written by different threads sit on cache lines of their own (`CachePadded`):
/// `runnext` (the owner, on every wake), the parker (whoever unparks it), the owner's counters;
/// and the slots themselves do not share lines. Without that, a thief reading one P's `runnext`
/// or an unpark of its neighbour stalls the owner's next write (seen in `perf annotate`).
pub(crate) struct Slot {
    pub(crate) status: Status,
    pub(crate) core: CoreCell,
    pub(crate) stealer: Stealer<Task>,
    /// The task woken last on the P's thread (during a poll, or by the netpoller it drained),
    /// which the P runs next: its LIFO slot (Go's `runnext`, see `runnext.rs`). Being part of
    /// the P and thread-safe, it travels with a hand-off and can be stolen: a task woken by a
    /// task that then blocks is never stranded (tokio #4941).
    pub(crate) runnext: CachePadded<runnext::RunNext>,
    pub(crate) parker: CachePadded<Parker>,
    /// The task being polled now (for sysmon's long-poll report).
    pub(crate) current_task: AtomicU64,
    /// When the open syscall section began (ns since `Shared::start`), written by the P's M
    /// before it publishes `IN_SYSCALL` (see `syscall.rs`).
    pub(crate) syscall_since: AtomicU64,
    /// The thread running this P, for sysmon to tell a blocked poll from a descheduled one.
    pub(crate) thread: parking_lot::Mutex<Option<crate::sys::thread::ThreadId>>,
    pub(crate) metrics: CachePadded<WorkerMetrics>,
}

/// Everything the runtime's threads share.
pub(crate) struct Shared {
    pub(crate) slots: Box<[CachePadded<Slot>]>,
    pub(crate) injector: Injector<Task>,
    pub(crate) idle: Idle,
    pub(crate) driver: Driver,
    pub(crate) timers: TimerQueue,
    pub(crate) owned: OwnedTasks,
    pub(crate) blocking: BlockingPool,
    pub(crate) config: Config,
    pub(crate) shutdown: AtomicBool,
    pub(crate) start: Instant,
    /// When the netpoller was last drained (ns since `start`), for sysmon's 10 ms rule.
    pub(crate) last_poll: AtomicU64,
    pub(crate) threads: threads::Threads,
    pub(crate) sysmon: sysmon::SysmonShared,
    pub(crate) metrics: SharedMetrics,
    /// `Handle::id`.
    pub(crate) id: crate::runtime::Id,
}

/// A parking worker blocks in the real netpoller, until the next timer.
impl park::Netpoller for Shared {
    type Guard<'a> = PollerGuard<'a>;

    fn try_poller(&self) -> Option<PollerGuard<'_>> {
        self.driver.try_poller()
    }

    fn block(&self, mut events: PollerGuard<'_>, wake: &mut Vec<Waker>) {
        self.netpoll(Some(&mut events), true, false, wake);
        self.metrics.driver_wakeups.fetch_add(1, Relaxed);
    }

    fn wake_poller(&self) {
        self.driver.unpark();
    }
}

impl Shared {
    pub(crate) fn new(config: Config) -> std::io::Result<Arc<Shared>> {
        let n = config.num_workers;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        let slots = (0..n)
            .map(|i| {
                let local = crossbeam_deque::Worker::new_fifo();
                let stealer = local.stealer();
                CachePadded::new(Slot {
                    status: Status::new(),
                    core: CoreCell::new(handoff::Core::new(local, seed.wrapping_mul(i as u64 + 1))),
                    stealer,
                    runnext: CachePadded::default(),
                    parker: CachePadded::default(),
                    current_task: AtomicU64::new(0),
                    syscall_since: AtomicU64::new(0),
                    thread: parking_lot::Mutex::new(None),
                    metrics: CachePadded::default(),
                })
            })
            .collect();
        Ok(Arc::new(Shared {
            slots,
            injector: Injector::new(),
            idle: Idle::new(n),
            driver: Driver::new(config.io_events_per_tick, config.io_events_per_busy_tick)?,
            timers: TimerQueue::new(),
            owned: OwnedTasks::new(n),
            blocking: BlockingPool::new(&config),
            threads: threads::Threads::new(),
            sysmon: sysmon::SysmonShared::default(),
            config,
            shutdown: AtomicBool::new(false),
            start: Instant::now(),
            last_poll: AtomicU64::new(0),
            metrics: SharedMetrics::default(),
            id: crate::runtime::Id::next(),
        }))
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// Records that the netpoller was just drained.
    fn note_polled(&self) {
        self.last_poll
            .store(self.start.elapsed().as_nanos() as u64, Relaxed);
    }

    /// One netpoller pass, the only place the runtime drains the poller and fires timers (Go's
    /// `netpoll(delay)` then `checkTimers`): with the poller held in `events` (if this thread
    /// got it), wait for events — until the next timer if `block` (a parking worker; a timer
    /// added meanwhile that is due earlier interrupts the wait), else not at all — and apply
    /// them, note the pass for sysmon's 10 ms rule, then fire due timers. The wakers of the
    /// tasks made ready go to `wake`; the caller wakes them (on a worker thread they land in
    /// its P). `busy`: a worker that still has tasks (its periodic check) takes at most
    /// `max_io_events_per_busy_tick` events.
    fn netpoll(
        &self,
        events: Option<&mut PollerGuard<'_>>,
        block: bool,
        busy: bool,
        wake: &mut Vec<Waker>,
    ) {
        if let Some(events) = events {
            let timeout = if block {
                self.timers.begin_park(Instant::now(), None)
            } else {
                Some(Duration::ZERO)
            };
            self.driver.poll(events, timeout, busy, wake);
            self.note_polled();
            if block {
                self.timers.end_park();
            }
        }
        self.timers.process(Instant::now(), wake);
    }

    /// A netpoller pass that does not wait: drains the poller if no thread is waiting in it,
    /// and fires due timers (a worker out of work, a busy worker's periodic check, sysmon).
    pub(crate) fn netpoll_now(&self, busy: bool, wake: &mut Vec<Waker>) {
        let mut events = self.driver.try_poller();
        self.netpoll(events.as_mut(), false, busy, wake);
    }

    /// Spawns a future onto this runtime.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        crate::trace::spawn(id.as_u64());
        let cell = Cell::new(future, id, self.clone());
        let task: Task = cell.clone();
        let join = JoinHandle::new(cell.clone());
        if self
            .owned
            .insert(id, task.clone(), |key| cell.set_owned_key(key))
        {
            self.metrics.spawned.fetch_add(1, Relaxed);
            self.schedule(task);
        } else {
            // The runtime is shutting down: the task is cancelled before it ever runs.
            task.shutdown();
        }
        join
    }

    /// Puts a notified task on a run queue: this P's `runnext` on a worker of this scheduler,
    /// else the injector.
    pub(crate) fn schedule(&self, task: Task) {
        match context::current_p_of(self) {
            Some(p) => self.schedule_local(p, task),
            None => self.schedule_remote(task),
        }
    }

    /// `schedule` when the caller knows it runs P `p` of this scheduler (`current_p_of`).
    pub(crate) fn schedule_local(&self, p: usize, task: Task) {
        // Shutdown cancels every owned task; a queued reference would only pin memory.
        if !self.is_shutdown() {
            self.slots[p].runnext.push(task);
        }
    }

    /// `schedule` when the caller knows it runs no P of this scheduler.
    pub(crate) fn schedule_remote(&self, task: Task) {
        if !self.is_shutdown() {
            self.inject(task);
        }
    }

    /// Pushes onto the global queue and wakes a worker if nobody is looking for work.
    pub(crate) fn inject(&self, task: Task) {
        self.metrics.remote_schedules.fetch_add(1, Relaxed);
        self.injector.push(task);
        self.notify_parked();
    }

    /// Wakes one sleeping worker if nobody is searching (see `idle.rs`).
    pub(crate) fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.slots[w].parker.unpark(self);
        }
    }

    /// True if P `p` may find work: in its own `runnext`, the injector, or a queue it can
    /// steal from (used before sleeping). Another P's `runnext` does not count: its owner runs
    /// it next, and if that owner is stuck in a poll, sysmon hands the P off. Counting it made
    /// an idle worker spin (poll, search, fail to park) whenever a busy P had a next task.
    pub(crate) fn has_work(&self, p: usize) -> bool {
        !self.injector.is_empty()
            || !self.slots[p].runnext.is_empty()
            || self.slots.iter().any(|s| !s.stealer.is_empty())
    }

    /// Drops queued task references (they hold the scheduler: a reference cycle otherwise).
    pub(crate) fn drain_queues(&self, some_stuck: bool) {
        while let Some(t) = steal_retrying(|| self.injector.steal()) {
            drop(t);
        }
        for slot in self.slots.iter() {
            if some_stuck && slot.status.in_poll().is_some() {
                // Its M is stuck inside a poll and still owns the Core.
                continue;
            }
            while let Some(t) = steal_retrying(|| slot.stealer.steal()) {
                drop(t);
            }
            // `runnext` is thread-safe: empty it even where a stuck M may still push to it.
            slot.runnext.clear();
        }
    }

    /// Starts shutting down: new spawns are cancelled, every thread is told to stop.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        self.owned.close();
        for slot in self.slots.iter() {
            slot.parker.unpark(self);
        }
        self.driver.unpark();
        self.sysmon.notify();
        self.threads.notify_all();
    }
}

/// Every live task of the runtime, so shutdown can drop their futures. Sharded by task id.
pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Slab<Task>>]>,
    closed: AtomicBool,
}

impl OwnedTasks {
    fn new(workers: usize) -> OwnedTasks {
        let n = (workers * 4).next_power_of_two().max(4);
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Slab::new())).collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Slab<Task>> {
        &self.shards[id.as_u64() as usize & (self.shards.len() - 1)]
    }

    /// Adds a task; false if the runtime is shutting down.
    fn insert(&self, id: Id, task: Task, set_key: impl FnOnce(usize)) -> bool {
        let mut shard = self.shard(id).lock();
        if self.closed.load(Acquire) {
            return false;
        }
        let entry = shard.vacant_entry();
        set_key(entry.key());
        entry.insert(task);
        true
    }

    pub(crate) fn remove(&self, id: Id, key: usize) {
        let removed = {
            let mut shard = self.shard(id).lock();
            match shard.get(key) {
                Some(t) if t.id() == id => Some(shard.remove(key)),
                _ => None,
            }
        };
        // Dropped outside the lock: it may be the last reference.
        drop(removed);
    }

    fn close(&self) {
        self.closed.store(true, SeqCst);
    }

    /// Cancels every task that is not running (dropping their futures). Tasks still running on
    /// a stuck thread stay. Returns how many remain.
    pub(crate) fn shutdown_all(&self) -> usize {
        for shard in self.shards.iter() {
            let tasks: Vec<Task> = shard.lock().iter().map(|(_, t)| t.clone()).collect();
            for t in tasks {
                t.shutdown();
            }
        }
        self.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}
