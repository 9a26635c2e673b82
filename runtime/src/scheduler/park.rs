//! How an idle worker sleeps: on the netpoller if nobody else is waiting there (Go's one M in
//! `netpoll(delay)`), else on a condition variable.
//!
//! ## States (one atomic word per worker)
//! | state | meaning | left by |
//! |---|---|---|
//! | `EMPTY` | awake, no pending notification | `park` (→ a parked state), `unpark` (→ `NOTIFIED`) |
//! | `PARKED_CONDVAR` | asleep on the condvar | `unpark`: → `NOTIFIED`, then lock + notify |
//! | `PARKED_DRIVER` | blocked in the netpoller until the next timer | `unpark`: → `NOTIFIED`, then [`Netpoller::wake_poller`] (eventfd / EVFILT_USER); the sleeper itself when the netpoller returns: → `EMPTY` |
//! | `NOTIFIED` | a wake-up is pending | `park` consumes it (→ `EMPTY`) and returns at once |
//!
//! Who makes each transition: the worker that owns the `Parker` moves it out of `EMPTY` and
//! `NOTIFIED`, and out of `PARKED_DRIVER` when the netpoller returns; any thread (a notifier)
//! moves it to `NOTIFIED`, and only with a `swap`.
//!
//! `unpark` swaps in `NOTIFIED` and acts on what it replaced, so a notification that arrives
//! before the sleeper has blocked is never lost: the sleeper's CAS out of `EMPTY` fails, or the
//! netpoller/condvar wake-up is already pending when it blocks (a pending eventfd write makes
//! the next netpoller wait return at once; the condvar is notified under its mutex, which the
//! sleeper holds from before its CAS until it waits). The loom models below check both paths.
//!
//! The netpoller is reached through the [`Netpoller`] trait, which the scheduler's `Shared`
//! implements with the real driver and timers, and the models with a stand-in.

use std::task::Waker;

use crate::loom::{AtomicUsize, Condvar, Mutex, Ordering::SeqCst};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// What a parking worker may block in instead of its condvar.
pub(crate) trait Netpoller {
    /// The right to wait in the netpoller; held by one thread at a time.
    type Guard<'a>
    where
        Self: 'a;

    /// The netpoller, unless another thread is waiting in it.
    fn try_poller(&self) -> Option<Self::Guard<'_>>;

    /// Waits in the netpoller until an event, the next timer, or [`wake_poller`]
    /// (Self::wake_poller); the wakers of the tasks that became ready go to `wake`.
    fn block(&self, guard: Self::Guard<'_>, wake: &mut Vec<Waker>);

    /// Makes a thread inside [`block`](Self::block) return soon (or the next one that enters).
    fn wake_poller(&self);
}

#[derive(Default)]
pub(crate) struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    /// Sleeps until `unpark`, or (when it got the netpoller) until events or the next timer.
    /// Wakers of tasks made ready by I/O or timers are woken before it returns.
    pub(crate) fn park<N: Netpoller>(&self, np: &N) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(guard) = np.try_poller() {
            if self
                .state
                .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                .is_err()
            {
                // Only `NOTIFIED` can be there: consume it.
                self.state.store(EMPTY, SeqCst);
                return;
            }
            let mut wake: Vec<Waker> = Vec::new();
            np.block(guard, &mut wake);
            // Back from the netpoller: a notification that came meanwhile is used up by
            // returning now.
            self.state.swap(EMPTY, SeqCst);
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
            guard = self.condvar.wait(guard);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Wakes the worker if it sleeps, or makes its next `park` return at once.
    pub(crate) fn unpark<N: Netpoller>(&self, np: &N) {
        match self.state.swap(NOTIFIED, SeqCst) {
            PARKED_CONDVAR => {
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => np.wake_poller(),
            _ => {}
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the Parker: an `unpark` racing a `park` is never lost, whether the
    //! sleeper takes the netpoller or the condvar. A lost wake-up leaves a thread blocked for
    //! good, which loom reports as a deadlock.
    use super::*;
    use crate::loom::{Arc, AtomicBool};

    /// A netpoller stand-in: one waiter at a time (`try_lock`), and a wake-up that stays
    /// pending until a waiter consumes it, as an eventfd write does.
    #[derive(Default)]
    struct FakePoller {
        busy: Mutex<()>,
        kicked: Mutex<bool>,
        cv: Condvar,
        blocked_once: AtomicBool,
    }

    impl Netpoller for FakePoller {
        type Guard<'a> = crate::loom::MutexGuard<'a, ()>;

        fn try_poller(&self) -> Option<Self::Guard<'_>> {
            self.busy.try_lock()
        }

        fn block(&self, guard: Self::Guard<'_>, _wake: &mut Vec<Waker>) {
            self.blocked_once.store(true, SeqCst);
            let mut kicked = self.kicked.lock();
            while !*kicked {
                kicked = self.cv.wait(kicked);
            }
            *kicked = false;
            drop(guard);
        }

        fn wake_poller(&self) {
            *self.kicked.lock() = true;
            self.cv.notify_one();
        }
    }

    /// One worker parks (it gets the netpoller) while another thread unparks it.
    #[test]
    fn unpark_racing_a_park_in_the_netpoller_is_not_lost() {
        loom::model(|| {
            let np = Arc::new(FakePoller::default());
            let parker = Arc::new(Parker::default());
            let (n2, p2) = (np.clone(), parker.clone());
            let notifier = loom::thread::spawn(move || p2.unpark(&*n2));
            parker.park(&*np);
            notifier.join().unwrap();
        });
    }

    /// The netpoller is taken (another worker waits there): the parker sleeps on its condvar.
    #[test]
    fn unpark_racing_a_park_on_the_condvar_is_not_lost() {
        loom::model(|| {
            let np = Arc::new(FakePoller::default());
            let _held = np.try_poller().expect("free at the start");
            let parker = Arc::new(Parker::default());
            let (n2, p2) = (np.clone(), parker.clone());
            let notifier = loom::thread::spawn(move || p2.unpark(&*n2));
            parker.park(&*np);
            assert!(
                !np.blocked_once.load(SeqCst),
                "the netpoller is held elsewhere"
            );
            notifier.join().unwrap();
        });
    }

    /// Two workers park (one in the netpoller, one on its condvar, in either order) and a third
    /// thread unparks both: both return.
    #[test]
    fn two_parkers_two_unparks() {
        loom::model(|| {
            let np = Arc::new(FakePoller::default());
            let a = Arc::new(Parker::default());
            let b = Arc::new(Parker::default());
            let (n2, a2, b2) = (np.clone(), a.clone(), b.clone());
            let notifier = loom::thread::spawn(move || {
                a2.unpark(&*n2);
                b2.unpark(&*n2);
            });
            let (n3, b3) = (np.clone(), b.clone());
            let other = loom::thread::spawn(move || {
                b3.park(&*n3);
            });
            a.park(&*np);
            other.join().unwrap();
            notifier.join().unwrap();
        });
    }

    /// A notification given before the worker parks makes that park return at once, and is
    /// used up: the netpoller is not entered.
    #[test]
    fn a_pending_notification_is_consumed_once() {
        loom::model(|| {
            let np = FakePoller::default();
            let parker = Parker::default();
            parker.unpark(&np);
            parker.park(&np);
            assert!(
                !np.blocked_once.load(SeqCst),
                "the pending notification returns at once"
            );
        });
    }
}
