//! The task state machine: who may poll a task, and who must put it back on a run queue.
//!
//! One `AtomicUsize` per task holds four flags. Every change is a compare-and-swap, so each
//! transition below is atomic and its result tells the caller what it now owes.
//!
//! | flag        | meaning                                                                   |
//! |-------------|---------------------------------------------------------------------------|
//! | `NOTIFIED`  | the task is in a run queue, or must be put in one when its poll ends       |
//! | `RUNNING`   | one thread is polling (or cancelling) the future; only it touches the stage |
//! | `COMPLETE`  | the output (or the error) is stored and the future is gone                 |
//! | `CANCELLED` | `abort()` or shutdown asked for the future to be dropped                   |
//!
//! Transitions, and who may make them:
//!
//! | transition          | by                       | from                   | to                     | caller then           |
//! |---------------------|--------------------------|------------------------|------------------------|-----------------------|
//! | `transition_to_notified` | any waker            | idle                   | `NOTIFIED`             | submits the task once |
//! |                     |                          | `RUNNING`              | `RUNNING \| NOTIFIED`  | nothing (runner will) |
//! |                     |                          | `NOTIFIED` / `COMPLETE`| unchanged              | nothing               |
//! | `transition_to_running` | the thread that popped it from a queue | `NOTIFIED`, not `RUNNING`/`COMPLETE` | `RUNNING` | polls, or cancels if `CANCELLED` |
//! | `transition_to_idle` | the runner, poll returned `Pending` | `RUNNING`     | idle, or `NOTIFIED` if a wake came during the poll | resubmits if `NOTIFIED` |
//! | `transition_to_complete` | the runner, after storing the output | `RUNNING` | `COMPLETE`         | wakes the JoinHandle  |
//! | `set_cancelled`     | `JoinHandle::abort`      | any but `COMPLETE`     | `+ CANCELLED`          | then wakes the task as above |
//! | `transition_to_shutdown` | runtime shutdown, after the workers stopped | not `RUNNING`/`COMPLETE` | `RUNNING \| CANCELLED` | drops the future, completes |
//!
//! Invariants: at most one thread holds `RUNNING`; a task is in at most one run queue, because
//! only the idle → `NOTIFIED` edge submits it and only the runner, holding `RUNNING`, resubmits
//! it; `COMPLETE` is final. A wake that races with a poll is never lost: either it lands before
//! `transition_to_idle` (which then sees `NOTIFIED` and resubmits) or after (and finds the task
//! idle, so it submits). Ordering: `transition_to_complete` is `Release` and every load that may
//! see `COMPLETE` is `Acquire`, so whoever sees `COMPLETE` sees the stored output.

use crate::loom::{AtomicUsize, Ordering::*};

const NOTIFIED: usize = 1;
const RUNNING: usize = 2;
const COMPLETE: usize = 4;
const CANCELLED: usize = 8;

/// What a waker must do after `transition_to_notified`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Put the task on a run queue (this caller won the idle → notified edge).
    Submit,
    /// Nothing: it is queued already, running (the runner resubmits), or complete.
    DoNothing,
}

/// What the thread that popped a task must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// Poll the future.
    Poll,
    /// Drop the future and complete with `JoinError::Cancelled`.
    Cancel,
    /// Nothing to do (the task was completed by someone else); drop the reference.
    Skip,
}

/// What the runner must do after a poll that returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Nobody woke it: leave it idle until a waker fires.
    Idle,
    /// It was woken (or aborted) during the poll: put it back on a run queue.
    Resubmit,
}

/// The atomic state word (see the module doc).
#[derive(Debug)]
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task starts `NOTIFIED`: spawn submits it once.
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(NOTIFIED))
    }

    fn update(&self, mut f: impl FnMut(usize) -> Option<usize>) -> Result<usize, usize> {
        self.0.fetch_update(AcqRel, Acquire, &mut f)
    }

    pub(crate) fn transition_to_notified(&self) -> Notify {
        let prev = self.update(|s| {
            if s & (COMPLETE | NOTIFIED) != 0 {
                None
            } else {
                Some(s | NOTIFIED)
            }
        });
        match prev {
            Ok(prev) if prev & RUNNING == 0 => Notify::Submit,
            _ => Notify::DoNothing,
        }
    }

    pub(crate) fn transition_to_running(&self) -> Run {
        let prev = self.update(|s| {
            if s & (RUNNING | COMPLETE) != 0 {
                None
            } else {
                Some((s & !NOTIFIED) | RUNNING)
            }
        });
        match prev {
            Err(_) => Run::Skip,
            Ok(prev) if prev & CANCELLED != 0 => Run::Cancel,
            Ok(_) => Run::Poll,
        }
    }

    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        let prev = self.update(|s| Some(s & !RUNNING));
        match prev {
            Ok(prev) if prev & NOTIFIED != 0 => ToIdle::Resubmit,
            _ => ToIdle::Idle,
        }
    }

    pub(crate) fn transition_to_complete(&self) {
        let prev = self.update(|s| Some((s & !(RUNNING | NOTIFIED)) | COMPLETE));
        debug_assert!(matches!(prev, Ok(p) if p & RUNNING != 0));
    }

    /// Marks the task cancelled; false if it had already completed.
    pub(crate) fn set_cancelled(&self) -> bool {
        self.update(|s| {
            if s & COMPLETE != 0 {
                None
            } else {
                Some(s | CANCELLED)
            }
        })
        .is_ok()
    }

    /// Shutdown takes an idle (or queued) task to drop its future; false if it is running or done.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s & (RUNNING | COMPLETE) != 0 {
                None
            } else {
                Some(s | RUNNING | CANCELLED)
            }
        })
        .is_ok()
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.load(Acquire) & COMPLETE != 0
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the protocol in the module doc.
    use super::*;
    use crate::loom::Arc;
    use loom::sync::atomic::AtomicUsize as Counter;

    /// A wake racing a poll that ends `Pending` is never lost and never double-queues the task:
    /// over every interleaving, the task ends up submitted exactly once more.
    #[test]
    fn wake_during_poll_is_not_lost() {
        loom::model(|| {
            let state = Arc::new(State::new());
            let submits = Arc::new(Counter::new(0));
            assert_eq!(state.transition_to_running(), Run::Poll);
            let (s2, c2) = (state.clone(), submits.clone());
            let waker = loom::thread::spawn(move || {
                if s2.transition_to_notified() == Notify::Submit {
                    c2.fetch_add(1, SeqCst);
                }
            });
            if state.transition_to_idle() == ToIdle::Resubmit {
                submits.fetch_add(1, SeqCst);
            }
            waker.join().unwrap();
            assert_eq!(submits.load(SeqCst), 1);
        });
    }

    /// Two wakers and a runner that re-polls whatever is submitted: the number of polls after the
    /// first equals the number of submissions, at most one thread is ever `RUNNING`, and at
    /// least one poll happens after each wake started.
    #[test]
    fn two_wakers_one_runner() {
        loom::model(|| {
            let state = Arc::new(State::new());
            let queued = Arc::new(Counter::new(0));
            let running = Arc::new(Counter::new(0));
            assert_eq!(state.transition_to_running(), Run::Poll);
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (s, q) = (state.clone(), queued.clone());
                    loom::thread::spawn(move || {
                        if s.transition_to_notified() == Notify::Submit {
                            q.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            // The runner: finish the first poll, then run every submission it owes or finds.
            let mut owed = 0;
            if state.transition_to_idle() == ToIdle::Resubmit {
                owed += 1;
            }
            for w in wakers {
                w.join().unwrap();
            }
            owed += queued.swap(0, SeqCst);
            while owed > 0 {
                owed -= 1;
                assert_eq!(state.transition_to_running(), Run::Poll);
                assert_eq!(running.fetch_add(1, SeqCst), 0);
                running.fetch_sub(1, SeqCst);
                if state.transition_to_idle() == ToIdle::Resubmit {
                    owed += 1;
                }
            }
            // Both wakes happened before this point, so the task is idle and not queued.
            assert_eq!(state.transition_to_notified(), Notify::Submit);
        });
    }

    /// Abort racing completion: either the abort lands first (and the runner, finishing anyway,
    /// completes) or completion wins and the abort reports it was too late.
    #[test]
    fn abort_races_completion() {
        loom::model(|| {
            let state = Arc::new(State::new());
            assert_eq!(state.transition_to_running(), Run::Poll);
            let s2 = state.clone();
            let aborter = loom::thread::spawn(move || {
                if s2.set_cancelled() {
                    // Cancellation requested: the abort path then wakes the task.
                    let _ = s2.transition_to_notified();
                }
            });
            state.transition_to_complete();
            aborter.join().unwrap();
            assert!(state.is_complete());
            assert_eq!(state.transition_to_running(), Run::Skip);
            assert_eq!(state.transition_to_notified(), Notify::DoNothing);
        });
    }

    /// Shutdown racing a wake: shutdown claims an idle task exactly when no runner could, and a
    /// wake after shutdown's claim never submits it.
    #[test]
    fn shutdown_races_wake() {
        loom::model(|| {
            let state = Arc::new(State::new());
            assert_eq!(state.transition_to_running(), Run::Poll);
            assert_eq!(state.transition_to_idle(), ToIdle::Idle);
            let s2 = state.clone();
            let waker = loom::thread::spawn(move || s2.transition_to_notified());
            let claimed = state.transition_to_shutdown();
            let woke = waker.join().unwrap();
            assert!(claimed);
            if woke == Notify::Submit {
                // The wake came first: the queued copy must find the task taken.
                assert_eq!(state.transition_to_running(), Run::Skip);
            }
            state.transition_to_complete();
        });
    }
}
