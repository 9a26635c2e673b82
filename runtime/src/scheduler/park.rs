//! How an idle worker sleeps: on the netpoller if nobody else is waiting there (Go's one M in
//! `netpoll(delay)`), else on a condition variable.
//!
//! ## States (one atomic word per worker)
//! | state | meaning | left by |
//! |---|---|---|
//! | `EMPTY` | awake, no pending notification | `park` (→ a parked state), `unpark` (→ `NOTIFIED`) |
//! | `PARKED_CONDVAR` | asleep on the condvar | `unpark`: → `NOTIFIED`, then lock + notify |
//! | `PARKED_DRIVER` | blocked in the selector until the next timer | `unpark`: → `NOTIFIED`, then `Driver::unpark` (eventfd / EVFILT_USER) |
//! | `NOTIFIED` | a wake-up is pending | `park` consumes it and returns at once |
//!
//! `unpark` swaps in `NOTIFIED` and acts on what it replaced, so a notification that arrives
//! before the sleeper has blocked is never lost: the sleeper's CAS out of `EMPTY` fails, or the
//! selector/condvar wake-up is already pending when it blocks.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Waker;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::Shared;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

#[derive(Default)]
pub(crate) struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    /// Sleeps until `unpark`, or (when it got the netpoller) until events or the next timer.
    /// Wakers of tasks made ready by I/O or timers are woken before it returns.
    pub(crate) fn park(&self, shared: &Shared) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(mut events) = shared.driver.try_poller() {
            if self
                .state
                .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                .is_err()
            {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            let mut wake: Vec<Waker> = Vec::new();
            let timeout = shared.timers.begin_park(Instant::now(), None);
            shared.driver.poll(&mut events, timeout, false, &mut wake);
            shared.timers.end_park();
            shared.timers.process(Instant::now(), &mut wake);
            shared.note_polled();
            drop(events);
            self.state.swap(EMPTY, SeqCst);
            shared
                .metrics
                .driver_wakeups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            wake.into_iter().for_each(Waker::wake);
            return;
        }
        let mut guard = self.mutex.lock();
        if self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
            .is_err()
        {
            self.state.store(EMPTY, SeqCst);
            return;
        }
        loop {
            self.condvar.wait(&mut guard);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    pub(crate) fn unpark(&self, shared: &Shared) {
        match self.state.swap(NOTIFIED, SeqCst) {
            PARKED_CONDVAR => {
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => shared.driver.unpark(),
            _ => {}
        }
    }
}
