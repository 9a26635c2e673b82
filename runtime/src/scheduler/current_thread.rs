//! The current-thread flavour's `block_on`: the calling thread is the runtime's only M and
//! runs P 0 between polls of the `block_on` future.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::task::Waker;

use super::worker::{run_p, Exit, StopCheck};
use super::Shared;
use crate::runtime::context;

/// The current-thread flavour's `block_on`: the calling thread runs P 0 until `fut` completes.
pub(crate) fn block_on<F: std::future::Future>(shared: &Arc<Shared>, fut: F) -> F::Output {
    use std::sync::atomic::AtomicBool;
    use std::task::{Context, Poll, Wake};

    struct MainWaker {
        woken: AtomicBool,
        shared: std::sync::Weak<Shared>,
    }
    impl Wake for MainWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, SeqCst);
            if let Some(shared) = self.shared.upgrade() {
                shared.slots[0].parker.unpark(&*shared);
            }
        }
    }

    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        shared: Arc::downgrade(shared),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    // The `block_on` future runs as P 0 too: `worker_index()` says 0 there, and what it
    // spawns or wakes goes to the P's own queue.
    let _worker = context::enter_worker(shared, 0);
    let _busy = super::BusyGuard::new(shared, 0);
    let polls = &shared.slots[0].metrics.polls;
    let polls_at_main = std::cell::Cell::new(polls.load(Relaxed));
    // Once the main future is woken, the tasks still get up to `event_interval` polls (or
    // until they run out of work, after a netpoller/timer pass) before it is polled again,
    // as in tokio's current-thread scheduler: a `block_on` future that keeps yielding (or is
    // woken by the tasks it waits for) cannot starve them.
    let interval = u64::from(shared.config.event_interval);
    let stop = |check: StopCheck| {
        main.woken.load(SeqCst)
            && (check == StopCheck::Idle
                || polls.load(Relaxed).wrapping_sub(polls_at_main.get()) >= interval)
    };
    loop {
        if main.woken.swap(false, SeqCst) {
            // The `block_on` future gets a budget per poll, as a task does, so that
            // always-ready resources in it yield and timers around them can fire.
            let budget = crate::task::coop::start();
            let polled = fut.as_mut().poll(&mut cx);
            drop(budget);
            if let Poll::Ready(v) = polled {
                return v;
            }
            polls_at_main.set(polls.load(Relaxed));
        }
        if run_p(shared, 0, &stop) == Exit::Shutdown {
            panic!("the netpoll runtime was shut down while `block_on` was running on it");
        }
    }
}
