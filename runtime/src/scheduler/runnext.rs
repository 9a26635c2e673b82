//! `runnext`: the tasks woken on a P's own thread (by the task being polled, or by the netpoller
//! the P's thread drained), waiting to be placed in the P's queue after the poll.
//!
//! It belongs to the P, not to the thread, and any thread may take from it: if the task that
//! woke them blocks, sysmon hands the P (and these tasks) to another thread, and idle workers may
//! steal them, so a task woken just before its waker blocked is never stranded (tokio #4941).
//!
//! The common case is single-threaded (the owner pushes during a poll and takes after it), so
//! this is a mutex-guarded `Vec` (two uncontended atomics per push, no allocation once warm),
//! plus a length hint that others read without the lock. The hint is written under the lock
//! with `Release` and read with `Acquire`: a reader that sees 0 may miss a push in progress, but
//! that push's owner places it after its poll, and a P whose owner is stuck is re-checked by
//! sysmon on every round.

use std::sync::atomic::{AtomicUsize, Ordering::*};

use crossbeam_deque::Worker;
use parking_lot::Mutex;

use crate::task::Task;

#[derive(Default)]
pub(crate) struct RunNext {
    tasks: Mutex<Vec<Task>>,
    len: AtomicUsize,
}

impl RunNext {
    pub(crate) fn push(&self, task: Task) {
        let mut g = self.tasks.lock();
        g.push(task);
        self.len.store(g.len(), Release);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Acquire) == 0
    }

    /// Moves every queued task into `out` (which should be empty) by swapping buffers, so
    /// neither side allocates once both have grown.
    pub(crate) fn take_into(&self, out: &mut Vec<Task>) {
        if self.is_empty() {
            return;
        }
        let mut g = self.tasks.lock();
        std::mem::swap(&mut *g, out);
        self.len.store(0, Release);
    }

    /// A thief takes everything: the first task to run now, the rest into its own queue.
    pub(crate) fn steal_into(&self, local: &Worker<Task>) -> Option<Task> {
        if self.is_empty() {
            return None;
        }
        let mut g = self.tasks.lock();
        let mut it = g.drain(..);
        let first = it.next();
        it.for_each(|t| local.push(t));
        self.len.store(0, Release);
        first
    }
}
