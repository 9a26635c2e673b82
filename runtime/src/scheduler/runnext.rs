//! `runnext`: Go's `p.runnext`, the task to run next on a P. It is also the P's LIFO slot.
//!
//! A task woken on a P's own thread (by the task being polled, or by the netpoller or timers
//! that thread drained) goes here: the task just woken is the one whose data is hot in cache,
//! so the P runs it next (at most `MAX_LIFO_STREAK` times in a row, see `worker.rs`). It belongs
//! to the P, not to the thread, and any thread may take from it: if the task that woke it
//! blocks, sysmon hands the P (and this slot) to another thread, and idle workers may steal it,
//! so a task woken just before its waker blocked is never stranded (tokio #4941).
//!
//! ## State
//! - `slot`: one word, null or a task moved in by [`into_thin`]. Go's `runnext`.
//! - `overflow`: under a mutex, the tasks the slot pushed out, oldest first, with its length in
//!   `overflow_len` for readers that do not take the lock.
//!
//! ## Transitions, and who makes them
//! | transition | by | how |
//! |---|---|---|
//! | `push(t)` | any thread whose current P this is: the owner during or between polls, or a stuck M that sysmon took the P from (it still believes it runs the P) | `swap` `t` into the slot; a task it displaced goes to the back of `overflow` (Go kicks it to the run queue; only the owner may touch the queue, and the pusher may not be the owner) |
//! | `take()` | the owner (its next task), a thief, shutdown | `swap` null into the slot |
//! | `drain_overflow_into(q)` | the owner, between polls | under the lock: move `overflow` to its queue, oldest first |
//! | `steal_into(q)` | a thief, when the P's M has been in one poll for a while | `take()` and the whole `overflow` |
//!
//! Every transition of the slot is a single `swap`, so it moves each task to exactly one
//! thread: two pushes never lose a task (the second one displaces the first into `overflow`),
//! and a take races a push either before it (null, or the older task) or after it. The common
//! case, one wake per poll, costs two atomic swaps and no lock: one to put the task in, one for
//! the owner to take it out.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};

use crossbeam_deque::Worker;
use parking_lot::Mutex;

use crate::task::{from_thin, into_thin, Task};

pub(crate) struct RunNext {
    slot: AtomicPtr<()>,
    overflow: Mutex<Vec<Task>>,
    overflow_len: AtomicUsize,
}

impl Default for RunNext {
    fn default() -> RunNext {
        RunNext {
            slot: AtomicPtr::new(ptr::null_mut()),
            overflow: Mutex::new(Vec::new()),
            overflow_len: AtomicUsize::new(0),
        }
    }
}

impl RunNext {
    /// Makes `task` the P's next task; a task it displaces waits in `overflow`.
    pub(crate) fn push(&self, task: Task) {
        let old = self.slot.swap(into_thin(task), AcqRel);
        if !old.is_null() {
            // SAFETY: a non-null slot word came from `into_thin`, and the swap made this thread
            // its only holder.
            let old = unsafe { from_thin(old) };
            let mut g = self.overflow.lock();
            g.push(old);
            self.overflow_len.store(g.len(), Release);
        }
    }

    /// Takes the slot's task.
    pub(crate) fn take(&self) -> Option<Task> {
        if self.slot.load(Acquire).is_null() {
            return None;
        }
        let p = self.slot.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `push`: the swap made this thread the only holder of the word.
        (!p.is_null()).then(|| unsafe { from_thin(p) })
    }

    /// Whether the slot holds a task (a hint: it may change at once).
    pub(crate) fn has_slot(&self) -> bool {
        !self.slot.load(Acquire).is_null()
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.has_slot() && self.overflow_len.load(Acquire) == 0
    }

    /// Moves the displaced tasks into `local`, oldest first; returns how many. No lock is taken
    /// when there are none (the length is written under the lock with `Release`; a push in
    /// progress is seen by the owner's next call).
    pub(crate) fn drain_overflow_into(&self, local: &Worker<Task>) -> usize {
        if self.overflow_len.load(Acquire) == 0 {
            return 0;
        }
        let mut g = self.overflow.lock();
        let n = g.len();
        g.drain(..).for_each(|t| local.push(t));
        self.overflow_len.store(0, Release);
        n
    }

    /// A thief takes everything: one task to run now, the rest into its own queue.
    pub(crate) fn steal_into(&self, local: &Worker<Task>) -> Option<Task> {
        let first = self.take();
        self.drain_overflow_into(local);
        first.or_else(|| local.pop())
    }

    /// Drops every task held (shutdown: a queued task holds the scheduler, a cycle otherwise).
    pub(crate) fn clear(&self) {
        drop(self.take());
        let rest = std::mem::take(&mut *self.overflow.lock());
        self.overflow_len.store(0, Release);
        drop(rest);
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The slot with real task cells (also run under Miri: the thin-pointer round trip).
    use super::*;
    use crate::task::{Cell, Id};

    fn task(shared: &std::sync::Arc<crate::scheduler::Shared>) -> Task {
        Cell::new(async {}, Id::next(), shared.clone())
    }

    #[test]
    fn the_last_push_is_next_and_displaced_tasks_keep_their_order() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let shared = &rt.handle().shared;
        let rn = RunNext::default();
        let local = Worker::new_fifo();
        assert!(rn.is_empty() && rn.take().is_none());
        let (a, b, c) = (task(shared), task(shared), task(shared));
        let ids = [a.id(), b.id(), c.id()];
        rn.push(a);
        assert!(rn.has_slot() && !rn.is_empty());
        rn.push(b);
        rn.push(c);
        // c is next; a and b were displaced, oldest first.
        assert_eq!(rn.take().map(|t| t.id()), Some(ids[2]));
        assert_eq!(rn.drain_overflow_into(&local), 2);
        assert_eq!(local.pop().map(|t| t.id()), Some(ids[0]));
        assert_eq!(local.pop().map(|t| t.id()), Some(ids[1]));
        assert!(rn.is_empty());
        // A thief takes the slot and the overflow; a slot-less steal runs the oldest.
        rn.push(task(shared));
        rn.push(task(shared));
        assert!(rn.steal_into(&local).is_some());
        assert_eq!(local.len(), 1);
        drop(local.pop());
        rn.push(task(shared));
        rn.push(task(shared));
        drop(rn.take());
        assert!(rn.steal_into(&local).is_some() && local.is_empty());
        // What is left when the slot drops (or is cleared) is released, not leaked.
        let last = task(shared);
        let weak = std::sync::Arc::downgrade(&last);
        rn.push(last);
        rn.push(task(shared));
        rn.clear();
        assert!(rn.is_empty() && weak.upgrade().is_none());
        let last = task(shared);
        let weak = std::sync::Arc::downgrade(&last);
        rn.push(last);
        drop(rn);
        assert!(weak.upgrade().is_none());
    }
}
