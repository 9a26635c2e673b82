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
//! | `drain_overflow_into(push)` | the owner, between polls | under the lock: move `overflow` to its queue, oldest first |
//! | `steal_into(push)` | a thief, when the P's M has been in one poll for a while | `take()` and the whole `overflow` (the oldest displaced task to run now if the slot was empty) |
//! | `clear()` | shutdown | `take()`, and empty `overflow` |
//!
//! Every transition of the slot is a single `swap`, so it moves each task to exactly one
//! thread: two pushes never lose a task (the second one displaces the first into `overflow`),
//! and a take races a push either before it (null, or the older task) or after it. The common
//! case, one wake per poll, costs two atomic swaps and no lock: one to put the task in, one for
//! the owner to take it out.
//!
//! The slot is generic over what it holds ([`Thin`]: a task, or a boxed number in the loom
//! model below, which checks that every pushed item comes out exactly once whatever the
//! interleaving of two pushers, the owner and a thief).

use std::ptr;

use crate::loom::{AtomicPtr, AtomicUsize, Mutex, Ordering::*};
use crate::task::Task;

/// Something that travels through one pointer-sized word: it gives up its ownership to the word
/// and takes it back, once.
pub(crate) trait Thin: Sized {
    fn into_thin(self) -> *mut ();

    /// # Safety
    /// `p` must come from `into_thin` of this type, and each such word may be turned back
    /// only once.
    unsafe fn from_thin(p: *mut ()) -> Self;
}

impl Thin for Task {
    fn into_thin(self) -> *mut () {
        crate::task::into_thin(self)
    }

    unsafe fn from_thin(p: *mut ()) -> Task {
        // SAFETY: forwarded with the caller's guarantee.
        unsafe { crate::task::from_thin(p) }
    }
}

pub(crate) struct RunNext<T: Thin = Task> {
    slot: AtomicPtr<()>,
    overflow: Mutex<Vec<T>>,
    overflow_len: AtomicUsize,
}

impl<T: Thin> Default for RunNext<T> {
    fn default() -> RunNext<T> {
        RunNext {
            slot: AtomicPtr::new(ptr::null_mut()),
            overflow: Mutex::new(Vec::new()),
            overflow_len: AtomicUsize::new(0),
        }
    }
}

impl<T: Thin> RunNext<T> {
    /// Makes `task` the P's next task; a task it displaces waits in `overflow`.
    pub(crate) fn push(&self, task: T) {
        let old = self.slot.swap(task.into_thin(), AcqRel);
        if !old.is_null() {
            // SAFETY: a non-null slot word came from `into_thin`, and the swap made this thread
            // its only holder.
            let old = unsafe { T::from_thin(old) };
            let mut g = self.overflow.lock();
            g.push(old);
            self.overflow_len.store(g.len(), Release);
        }
    }

    /// Takes the slot's task.
    pub(crate) fn take(&self) -> Option<T> {
        if self.slot.load(Acquire).is_null() {
            return None;
        }
        let p = self.slot.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `push`: the swap made this thread the only holder of the word.
        (!p.is_null()).then(|| unsafe { T::from_thin(p) })
    }

    /// Whether the slot holds a task (a hint: it may change at once).
    pub(crate) fn has_slot(&self) -> bool {
        !self.slot.load(Acquire).is_null()
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.has_slot() && self.overflow_len.load(Acquire) == 0
    }

    /// Moves the displaced tasks into the owner's queue (`push`), oldest first; returns how
    /// many. No lock is taken when there are none (the length is written under the lock with
    /// `Release`; a push in progress is seen by the owner's next call).
    pub(crate) fn drain_overflow_into(&self, mut push: impl FnMut(T)) -> usize {
        if self.overflow_len.load(Acquire) == 0 {
            return 0;
        }
        let mut g = self.overflow.lock();
        let n = g.len();
        g.drain(..).for_each(&mut push);
        self.overflow_len.store(0, Release);
        n
    }

    /// A thief takes everything: the slot's task to run now (or, if the slot was empty, the
    /// oldest displaced one), the rest into its own queue (`push`), oldest first.
    pub(crate) fn steal_into(&self, mut push: impl FnMut(T)) -> Option<T> {
        let mut first = self.take();
        self.drain_overflow_into(|t| match first {
            None => first = Some(t),
            Some(_) => push(t),
        });
        first
    }

    /// Drops every task held (shutdown: a queued task holds the scheduler, a cycle otherwise).
    pub(crate) fn clear(&self) {
        drop(self.take());
        let rest = std::mem::take(&mut *self.overflow.lock());
        self.overflow_len.store(0, Release);
        drop(rest);
    }
}

impl<T: Thin> Drop for RunNext<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The slot with real task cells (also run under Miri: the thin-pointer round trip).
    use super::*;
    use crate::task::{Cell, Id};
    use crossbeam_deque::Worker;

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
        assert_eq!(rn.drain_overflow_into(|t| local.push(t)), 2);
        assert_eq!(local.pop().map(|t| t.id()), Some(ids[0]));
        assert_eq!(local.pop().map(|t| t.id()), Some(ids[1]));
        assert!(rn.is_empty());
        // A thief takes the slot and the overflow; a slot-less steal runs the oldest.
        rn.push(task(shared));
        rn.push(task(shared));
        assert!(rn.steal_into(|t| local.push(t)).is_some());
        assert_eq!(local.len(), 1);
        drop(local.pop());
        rn.push(task(shared));
        rn.push(task(shared));
        drop(rn.take());
        assert!(rn.steal_into(|t| local.push(t)).is_some() && local.is_empty());
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

#[cfg(all(test, loom))]
mod loom_tests {
    //! Every item pushed comes out exactly once: two pushers (a P's owner and a stuck M that
    //! still believes it runs the P), the owner taking and draining, and a thief stealing, in
    //! any interleaving. A lost item leaks its box (loom reports the leak); a duplicated one is
    //! counted twice.
    use super::*;
    use crate::loom::Arc;

    impl Thin for Box<usize> {
        fn into_thin(self) -> *mut () {
            Box::into_raw(self).cast()
        }

        unsafe fn from_thin(p: *mut ()) -> Box<usize> {
            // SAFETY: `p` came from `Box::into_raw` in `into_thin`, turned back once.
            unsafe { Box::from_raw(p.cast()) }
        }
    }

    #[test]
    fn every_pushed_item_comes_out_once() {
        loom::model(|| {
            let rn: Arc<RunNext<Box<usize>>> = Arc::new(RunNext::default());
            let r2 = rn.clone();
            let pusher = loom::thread::spawn(move || r2.push(Box::new(1)));
            let r3 = rn.clone();
            let thief = loom::thread::spawn(move || {
                let mut got = Vec::new();
                let first = r3.steal_into(|t| got.push(*t));
                got.extend(first.map(|b| *b));
                got
            });
            rn.push(Box::new(2));
            let mut seen: Vec<usize> = rn.take().map(|b| *b).into_iter().collect();
            rn.drain_overflow_into(|t| seen.push(*t));
            pusher.join().unwrap();
            seen.extend(thief.join().unwrap());
            // What is still held after everyone is done.
            seen.extend(rn.take().map(|b| *b));
            rn.drain_overflow_into(|t| seen.push(*t));
            seen.sort_unstable();
            assert_eq!(seen, [1, 2], "each item exactly once");
            assert!(rn.is_empty());
        });
    }
}
