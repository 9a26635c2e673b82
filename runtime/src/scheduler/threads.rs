//! The runtime's Ms (Go's name for the threads that run Ps): a worker thread per P at start,
//! and the spares that sysmon's hand-off (of a long poll or a syscall section, see
//! `syscall.rs`) or `block_in_place` gives a retaken P to. A spare whose P comes back waits
//! `keep_alive` for another one, then exits; shutdown waits for every M to leave.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::worker::{run_p, Exit};
use super::Shared;
use crate::runtime::context;

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
    /// `syscall`: only while that M is in a syscall section (`handoff.rs`); false if the
    /// section ended.
    pub(crate) fn try_handoff(
        &self,
        shared: &Arc<Shared>,
        p: usize,
        seq: u64,
        syscall: bool,
    ) -> bool {
        let mut st = self.state.lock();
        let has_spare = st.spares_idle > st.handoffs.len();
        let cap = shared.config.num_workers + shared.config.max_handoff_threads;
        if !has_spare && st.live >= cap {
            shared.metrics.handoffs_denied.fetch_add(1, Relaxed);
            return false;
        }
        let status = &shared.slots[p].status;
        let retaken = if syscall {
            status.try_retake_syscall(seq)
        } else {
            status.try_retake(seq)
        };
        if !retaken {
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
                let done = self.try_handoff(shared, p, seq, false);
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
