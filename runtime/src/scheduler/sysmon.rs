//! sysmon: Go's system monitor, one thread per multi-thread runtime.
//!
//! It sleeps with a backoff: 20 µs while it finds things to do, doubling after 50 idle rounds
//! (1 ms) up to 10 ms. Each round it
//! 1. drains the netpoller without blocking and fires due timers when nobody has done so for
//!    10 ms (every worker busy or stuck), injecting the tasks that became ready;
//! 2. looks for Ps whose M has been inside the same task poll for longer than the long-poll
//!    threshold (default 10 ms). It counts and logs each such poll once (with the task id), and
//!    if the P has queued work (local queue, `runnext`) or the injector does, it retakes the P
//!    and hands it to a spare M (see `handoff.rs`), within the thread cap.
//!
//! Sysmon never touches a P's `Core`: it reads the status word, the stealer and `runnext`.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{LongPoll, Shared};
use crate::task::Id;

const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
const POLL_STALE: Duration = Duration::from_millis(10);

/// Lets shutdown interrupt sysmon's sleep.
#[derive(Default)]
pub(crate) struct SysmonShared {
    lock: Mutex<bool>,
    cv: Condvar,
}

impl SysmonShared {
    pub(crate) fn notify(&self) {
        *self.lock.lock() = true;
        self.cv.notify_all();
    }

    /// Sleeps for `d`; false once shutdown was signalled.
    fn sleep(&self, d: Duration) -> bool {
        let mut stop = self.lock.lock();
        if !*stop {
            self.cv.wait_for(&mut stop, d);
        }
        !*stop
    }
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
    while shared.sysmon.sleep(delay) {
        if shared.is_shutdown() {
            break;
        }
        let now = Instant::now();
        let mut did = false;

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

        // 2. Long polls and the hand-off.
        for (p, slot) in shared.slots.iter().enumerate() {
            let Some(seq) = slot.status.in_poll() else {
                seen[p].seq = 0;
                continue;
            };
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
            let has_work =
                !slot.stealer.is_empty() || !slot.runnext.is_empty() || !shared.injector.is_empty();
            let handed = has_work && shared.threads.try_handoff(&shared, p, seq);
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
    }
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
