//! sysmon: Go's system monitor, one thread per multi-thread runtime.
//!
//! It sleeps with a backoff: 20 µs while it finds things to do, doubling after 50 idle rounds
//! (1 ms) up to 10 ms. Each round it
//! 1. drains the netpoller without blocking and fires due timers when nobody has done so for
//!    10 ms (every worker busy or stuck), injecting the tasks that became ready;
//! 2. looks for Ps whose M has been inside a syscall section (see `syscall.rs`) for longer than
//!    `syscall_handoff_threshold` (default 20 µs): if the P has queued work (local queue,
//!    `runnext`) or the injector does, it retakes the P (`IN_SYSCALL → RETAKEN`, no CPU-time
//!    check: the M is known to be in the kernel) and hands it to a spare M, within the cap;
//! 3. looks for Ps whose M has been inside the same task poll for longer than the long-poll
//!    threshold (default 10 ms). It counts and logs each such poll once (with the task id), and
//!    if the P has queued work, it retakes the P and hands it to a spare M (see `handoff.rs`),
//!    within the thread cap.
//!
//! ## Looking often enough while sections are open
//! The backoff alone would notice a section up to 10 ms late. So:
//! | when | sysmon sleeps at most |
//! |---|---|
//! | a section it saw is open and younger than the threshold | until that section reaches the threshold |
//! | a section is open past the threshold (no work to hand over yet), or sections began since the last round | `SECTION_TICK` (1 ms) |
//! | otherwise | its backoff delay; if that is longer than `SECTION_TICK` it first announces a *deep* sleep |
//!
//! A deep sleep is announced by setting `deep` and then, after a `SeqCst` fence, checking every
//! P for an open section; an M entering a section CASes `IN_SYSCALL` and then, after a `SeqCst`
//! fence, reads `deep`: one of the two sees the other, so either sysmon does not sleep deeply or the
//! M clears `deep` and wakes it (`section_began`). Only the first section after a quiet spell
//! pays for that wake: while sections keep beginning sysmon ticks every `SECTION_TICK` and
//! never announces a deep sleep. The loom model at the end of this file checks that no
//! section is missed by a deep sleep.
//!
//! Sysmon never touches a P's `Core`: it reads the status word, the stealer and `runnext`.

use crate::loom::Ordering::*;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{LongPoll, Shared};
use crate::task::Id;

const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
const POLL_STALE: Duration = Duration::from_millis(10);
/// The longest sysmon sleeps while syscall sections are open or keep beginning.
const SECTION_TICK: Duration = Duration::from_millis(1);

/// Lets shutdown, and a syscall section beginning during a deep sleep, interrupt sysmon's
/// sleep.
#[derive(Default)]
pub(crate) struct SysmonShared {
    lock: Mutex<bool>,
    cv: Condvar,
    deep: DeepSleep,
}

/// Sysmon's announcement that it sleeps longer than `SECTION_TICK` (see the module doc).
#[derive(Default)]
pub(crate) struct DeepSleep(crate::loom::AtomicBool);

impl DeepSleep {
    /// Sysmon announces a deep sleep; it must then look for open sections. The fence pairs
    /// with the one in [`take`](Self::take).
    fn announce(&self) {
        self.0.store(true, SeqCst);
        crate::loom::fence(SeqCst);
    }

    /// Sysmon withdraws the announcement (it found an open section, or woke up).
    fn withdraw(&self) {
        self.0.store(false, Relaxed);
    }

    fn announced(&self) -> bool {
        self.0.load(SeqCst)
    }

    /// An M that has just published `IN_SYSCALL`: true if it must wake sysmon. The fence
    /// pairs with the one in [`announce`](Self::announce): either sysmon's check sees the
    /// section or this load sees the announcement. The plain load keeps a section free of
    /// read-modify-writes on shared lines while sysmon is awake anyway.
    pub(crate) fn take(&self) -> bool {
        crate::loom::fence(SeqCst);
        self.0.load(SeqCst) && self.0.swap(false, SeqCst)
    }
}

impl SysmonShared {
    pub(crate) fn notify(&self) {
        *self.lock.lock() = true;
        self.cv.notify_all();
    }

    /// A syscall section just began (its `IN_SYSCALL` is published): wakes sysmon if it
    /// announced a deep sleep.
    pub(crate) fn section_began(&self) {
        if self.deep.take() {
            let _stop = self.lock.lock();
            self.cv.notify_all();
        }
    }

    /// Sleeps for `d`; false once shutdown was signalled. `deep`: a deep sleep was announced,
    /// which a section may have withdrawn already (checked under the lock, so the wake cannot
    /// fall between the check and the wait).
    fn sleep(&self, d: Duration, deep: bool) -> bool {
        let mut stop = self.lock.lock();
        if !*stop && (!deep || self.deep.announced()) {
            self.cv.wait_for(&mut stop, d);
        }
        !*stop
    }
}

/// Whether any P's M is inside a syscall section (`SeqCst`, after announcing a deep sleep).
fn any_section_open(shared: &Shared) -> bool {
    shared
        .slots
        .iter()
        .any(|s| matches!(s.status.polling_seqcst(), Some((_, true))))
}

struct Seen {
    seq: u64,
    since: Instant,
    /// The thread's CPU time when this poll was first seen (where the OS tells it).
    cpu0: Option<Duration>,
    reported: bool,
}

/// Is the poll sysmon has watched for `stuck` really stuck? A thread that is blocked in the
/// kernel, or that has been burning CPU, is; a runnable thread that got little CPU is only
/// waiting for a core (an overloaded machine), and handing its queue to yet another thread
/// would not help. Without per-thread data, wall time decides.
fn really_stuck(slot: &super::Slot, cpu0: Option<Duration>, stuck: Duration) -> bool {
    use crate::sys::thread;
    let Some(t) = *slot.thread.lock() else {
        return true;
    };
    match thread::state(t) {
        Some(thread::State::Blocked) => true,
        Some(thread::State::Runnable) => match (cpu0, thread::cpu_time(t)) {
            (Some(a), Some(b)) => b.saturating_sub(a) >= stuck / 2,
            _ => true,
        },
        None => true,
    }
}

pub(crate) fn run(shared: Arc<Shared>) {
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0u32;
    let mut seen: Vec<Seen> = (0..shared.slots.len())
        .map(|_| Seen {
            seq: 0,
            since: Instant::now(),
            cpu0: None,
            reported: false,
        })
        .collect();
    let mut wake: Vec<Waker> = Vec::new();
    // Syscall sections are watched only below the long-poll threshold (the rule above it).
    let threshold = shared.config.syscall_threshold;
    let watch_sections = threshold < shared.config.long_poll_threshold;
    let mut sections_seen = 0u64;
    let mut next = delay;
    let mut deep = false;
    while shared.sysmon.sleep(next, deep) {
        if deep {
            shared.sysmon.deep.withdraw();
        }
        if shared.is_shutdown() {
            break;
        }
        let now = Instant::now();
        let now_ns = now.duration_since(shared.start).as_nanos() as u64;
        let mut did = false;
        // How soon an open section reaches the threshold, and whether one is past it.
        let mut soonest: Option<Duration> = None;
        let mut sections_open = false;
        let mut sections = 0u64;

        // 1. The 10 ms netpoll rule.
        let since_poll = (now.duration_since(shared.start).as_nanos() as u64)
            .saturating_sub(shared.last_poll.load(Relaxed));
        if Duration::from_nanos(since_poll) >= POLL_STALE {
            shared.netpoll_now(false, &mut wake);
            if !wake.is_empty() {
                did = true;
                shared.metrics.sysmon_polls.fetch_add(1, Relaxed);
                crate::trace::sysmon_polled(wake.len());
                // Not a worker thread: these go to the injector and notify idle workers.
                wake.drain(..).for_each(Waker::wake);
            }
        }

        for (p, slot) in shared.slots.iter().enumerate() {
            sections = sections.wrapping_add(slot.metrics.syscalls.load(Relaxed));
            let Some((seq, in_syscall)) = slot.status.polling() else {
                seen[p].seq = 0;
                continue;
            };
            // 2. Syscall sections past the threshold.
            if watch_sections && in_syscall {
                let since = slot.syscall_since.load(Relaxed);
                let age = Duration::from_nanos(now_ns.saturating_sub(since));
                if age < threshold {
                    let left = threshold - age;
                    soonest = Some(soonest.map_or(left, |s| s.min(left)));
                } else if has_work(&shared, slot)
                    && shared.threads.try_handoff(&shared, p, seq, true)
                {
                    shared.metrics.handoffs.fetch_add(1, Relaxed);
                    shared.metrics.syscall_handoffs.fetch_add(1, Relaxed);
                    did = true;
                    continue;
                } else {
                    sections_open = true;
                }
            }

            // 3. Long polls and the hand-off.
            let s = &mut seen[p];
            if s.seq != seq {
                let cpu0 = slot.thread.lock().and_then(crate::sys::thread::cpu_time);
                *s = Seen {
                    seq,
                    since: now,
                    cpu0,
                    reported: false,
                };
                continue;
            }
            let stuck = now.duration_since(s.since);
            if stuck < shared.config.long_poll_threshold
                || (!s.reported && !really_stuck(slot, s.cpu0, stuck))
            {
                continue;
            }
            let task_id = slot.current_task.load(Relaxed);
            record_long_poll(&shared, p, task_id, stuck, !s.reported);
            let handed =
                has_work(&shared, slot) && shared.threads.try_handoff(&shared, p, seq, false);
            if handed {
                shared.metrics.handoffs.fetch_add(1, Relaxed);
                did = true;
            }
            if !s.reported {
                crate::trace::long_poll(task_id, p, stuck.as_millis(), handed);
            }
            if !s.reported && shared.config.log_long_polls {
                eprintln!(
                    "netpoll: task {task_id} has been running on worker {p} for {} ms in one poll{}",
                    stuck.as_millis(),
                    if handed { "; its queue was handed to another thread" } else { "" }
                );
            }
            s.reported = true;
        }

        if did {
            idle_rounds = 0;
            delay = MIN_DELAY;
        } else {
            idle_rounds += 1;
            if idle_rounds > 50 {
                delay = (delay * 2).min(MAX_DELAY);
            }
        }

        // The next sleep (see "Looking often enough" in the module doc).
        next = delay;
        let sections_began = sections != sections_seen;
        sections_seen = sections;
        if watch_sections {
            if sections_open || sections_began {
                next = next.min(SECTION_TICK);
            }
            if let Some(left) = soonest {
                next = next.min(left.max(MIN_DELAY));
            }
        }
        deep = watch_sections && next > SECTION_TICK;
        if deep {
            shared.sysmon.deep.announce();
            if any_section_open(&shared) {
                shared.sysmon.deep.withdraw();
                deep = false;
                next = MIN_DELAY;
            }
        }
    }
}

/// Whether P `slot`'s queue, its `runnext` or the injector holds a task another M could run.
fn has_work(shared: &Shared, slot: &super::Slot) -> bool {
    !slot.stealer.is_empty() || !slot.runnext.is_empty() || !shared.injector.is_empty()
}

/// Counts a long poll once, and keeps the worst few (by duration) for metrics.
fn record_long_poll(shared: &Shared, worker: usize, task: u64, duration: Duration, first: bool) {
    if first {
        shared.metrics.long_polls.fetch_add(1, Relaxed);
    }
    let task_id = Id::from_u64(task);
    let mut worst = shared.metrics.worst_long_polls.lock();
    if let Some(e) = worst
        .iter_mut()
        .find(|e| e.task_id == task_id && e.worker == worker)
    {
        e.duration = e.duration.max(duration);
    } else {
        worst.push(LongPoll {
            task_id,
            worker,
            duration,
        });
    }
    worst.sort_by_key(|e| std::cmp::Reverse(e.duration));
    worst.truncate(8);
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom model of the deep-sleep announcement: a section that begins while sysmon announces
    //! a deep sleep is either seen by sysmon's check (it does not sleep deeply) or the M takes
    //! the announcement (and wakes sysmon); never neither.
    use super::DeepSleep;
    use crate::loom::Arc;
    use crate::scheduler::handoff::Status;

    #[test]
    fn a_deep_sleep_never_misses_a_section() {
        loom::model(|| {
            let status = Arc::new(Status::new());
            let deep = Arc::new(DeepSleep::default());
            let seq = status.begin_poll();
            let (st, d) = (status.clone(), deep.clone());
            let sysmon = loom::thread::spawn(move || {
                d.announce();
                let saw = matches!(st.polling_seqcst(), Some((_, true)));
                if saw {
                    d.withdraw();
                }
                saw
            });
            assert_eq!(status.enter_syscall(), Some(seq));
            let woke = deep.take();
            let saw = sysmon.join().unwrap();
            assert!(saw || woke, "sysmon slept deeply through a section");
        });
    }
}
