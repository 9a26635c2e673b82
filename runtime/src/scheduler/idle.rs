//! Which workers sleep and which search: the idle/search protocol (tokio's `idle.rs`, Go's
//! `nmspinning`), so that new work wakes one worker instead of a stampede.
//!
//! ## State
//! One atomic word: `num_unparked << 16 | num_searching`, plus `sleepers`, the list of parked
//! workers, under a mutex.
//! - *searching*: an unparked worker with an empty queue looking for work to steal. At most half
//!   the workers search at once (at least one may).
//! - *unparked*: not in `sleepers`.
//!
//! ## Transitions, and who makes them
//! | transition | by | effect |
//! |---|---|---|
//! | `worker_to_notify` | whoever added work (inject, local push of surplus) | if nobody searches and someone sleeps: pop a sleeper, count it unparked *and searching*, return it to unpark |
//! | `transition_worker_to_searching` | a worker that ran dry | `searching += 1` unless half are searching already |
//! | `transition_worker_from_searching` | a searcher that found work | `searching -= 1`; if it was the last, it must notify another (there may be more work) |
//! | `transition_worker_to_parked` | a worker going to sleep | under the lock: `unparked -= 1` (and `searching -= 1` if searching), push to `sleepers` |
//! | `unpark_worker_by_id` | a worker that woke without being popped (I/O, timer, spurious) | under the lock: remove from `sleepers`, `unparked += 1`, not searching |
//!
//! ## Why no work is stranded
//! Work is pushed *before* the notifier reads the state (SeqCst fence), and a parking worker
//! updates the state *before* it re-checks the queues (SeqCst fence). So either the notifier sees
//! a sleeper to wake, or the parking worker sees the work and does not sleep.

use crate::loom::{fence, AtomicUsize, Mutex, Ordering::SeqCst};

const SEARCH_MASK: usize = 0xFFFF;
const UNPARK_SHIFT: u32 = 16;
const ONE_UNPARKED: usize = 1 << UNPARK_SHIFT;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn should_notify(&self) -> bool {
        let s = self.state.load(SeqCst);
        s & SEARCH_MASK == 0 && (s >> UNPARK_SHIFT) < self.num_workers
    }

    /// The worker to unpark for newly added work, if any. The caller pushed the work already.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(SeqCst);
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_notify() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add(ONE_UNPARKED | 1, SeqCst);
        Some(w)
    }

    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * (s & SEARCH_MASK) >= self.num_workers.max(2) {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// Returns true if this was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        prev & SEARCH_MASK == 1
    }

    /// Lists the worker as a sleeper (and no longer a searcher, if it was one). The fence makes
    /// the worker's re-check for work after this (`worker.rs::park`) see any work pushed before a
    /// notifier read the state: a notifier that saw it awake skipped the wake-up.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock();
        let dec = ONE_UNPARKED | usize::from(searching);
        self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        drop(sleepers);
        fence(SeqCst);
    }

    /// A worker woke by itself; true if it was still listed as a sleeper (so it is not
    /// searching), false if a notifier had popped it (so it is counted as searching).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(ONE_UNPARKED, SeqCst);
                true
            }
            None => false,
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the park/notify race: work arrives while the last awake worker parks.
    use super::*;
    use crate::loom::Arc;

    /// One worker runs dry and parks while another thread pushes work and notifies. Either the
    /// notifier wakes the worker, or the worker's re-check after publishing that it sleeps (the
    /// `has_work` in `worker.rs::park`) sees the work: the work is never stranded.
    #[test]
    fn work_arriving_as_the_last_worker_parks_is_not_stranded() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let queue = Arc::new(AtomicUsize::new(0));
            let (i2, q2) = (idle.clone(), queue.clone());
            let notifier = loom::thread::spawn(move || {
                q2.fetch_add(1, SeqCst);
                i2.worker_to_notify()
            });
            idle.transition_worker_to_parked(0, false);
            let saw_work = queue.load(SeqCst) > 0;
            let woken = notifier.join().unwrap();
            assert!(
                saw_work || woken == Some(0),
                "work pushed but the only worker sleeps"
            );
        });
    }

    /// The same race when the worker was searching (the searching count is what makes a
    /// notifier skip the wake-up).
    #[test]
    fn last_searcher_parking_races_a_push() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let queue = Arc::new(AtomicUsize::new(0));
            assert!(idle.transition_worker_to_searching());
            let (i2, q2) = (idle.clone(), queue.clone());
            let notifier = loom::thread::spawn(move || {
                q2.fetch_add(1, SeqCst);
                i2.worker_to_notify()
            });
            idle.transition_worker_to_parked(0, true);
            let saw_work = queue.load(SeqCst) > 0;
            let woken = notifier.join().unwrap();
            assert!(
                saw_work || woken == Some(0),
                "work pushed but the only worker sleeps"
            );
        });
    }
}
