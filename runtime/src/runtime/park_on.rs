//! The executor behind `block_on` on a multi-thread runtime (and `Handle::block_on`): the
//! calling thread is not a worker; it polls the future and sleeps (std park) until its waker is
//! woken, while the workers run the tasks.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Polls `future` on this thread, sleeping (std park) between wake-ups.
pub(super) fn park_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker {
        thread: std::thread::Thread,
        notified: AtomicBool,
    }
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }
        fn wake_by_ref(self: &Arc<Self>) {
            if !self.notified.swap(true, SeqCst) {
                self.thread.unpark();
            }
        }
    }
    let tw = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        notified: AtomicBool::new(false),
    });
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        // A budget per poll, as a task has (see `task::coop`).
        let budget = crate::task::coop::start();
        let polled = future.as_mut().poll(&mut cx);
        drop(budget);
        if let Poll::Ready(v) = polled {
            return v;
        }
        while !tw.notified.swap(false, SeqCst) {
            std::thread::park();
        }
    }
}
