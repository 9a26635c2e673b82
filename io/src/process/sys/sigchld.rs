//! `SIGCHLD` through netpoll's signal API (`signal(SignalKind::child())`), for the platforms
//! without pidfds.
//!
//! One listener serves every child of the process: a `SIGCHLD` says only that *some* child
//! changed state, and signal listeners are a limited resource. The protocol:
//! - `SHARED.generation` counts the deliveries seen so far. A waiter reads it, tries to reap
//!   its child, and if the child still runs, parks until the generation moves past what it read.
//! - A parked waiter puts its waker in `WAITERS` and polls the one `Signal` with a waker that
//!   wakes all of `WAITERS`; whichever waiter then sees the delivery bumps the generation and
//!   wakes the others, so each re-tries its own child. Orphans are reaped at the same moment.
//! - The signal listener belongs to the runtime that created it. When that runtime is gone the
//!   listener reports the end of its stream; the next waiter makes a new one in its own runtime
//!   and re-tries (a delivery missed in between is caught by that re-try).

use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use netpoll_runtime::signal::unix::{signal, Signal, SignalKind};

struct Shared {
    generation: u64,
    signal: Option<Signal>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    generation: 0,
    signal: None,
});

/// Tasks parked until the next `SIGCHLD`. A lock of its own, taken without `SHARED`'s or
/// inside it (never the other way round), so a wake-up during a poll cannot deadlock.
static WAITERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a single assignment or push: a panic cannot leave the state torn.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wakes every parked waiter.
struct WakeAll;

impl Wake for WakeAll {
    fn wake(self: Arc<Self>) {
        wake_all();
    }
}

fn wake_all() {
    let wakers = std::mem::take(&mut *lock(&WAITERS));
    for w in wakers {
        w.wake();
    }
}

impl Shared {
    fn ensure_signal(&mut self) -> io::Result<&mut Signal> {
        if self.signal.is_none() {
            self.signal = Some(signal(SignalKind::child())?);
        }
        match &mut self.signal {
            Some(s) => Ok(s),
            None => unreachable!("set above"),
        }
    }

    /// Ready once the generation differs from `seen`.
    fn poll_changed(&mut self, cx: &mut Context<'_>, seen: u64) -> Poll<io::Result<()>> {
        loop {
            if self.generation != seen {
                return Poll::Ready(Ok(()));
            }
            {
                let mut waiters = lock(&WAITERS);
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
            }
            let waker = Waker::from(Arc::new(WakeAll));
            let signal = self.ensure_signal()?;
            match signal.poll_recv(&mut Context::from_waker(&waker)) {
                Poll::Ready(Some(())) => {}
                // The listener's runtime is gone: make a new one on the next round.
                Poll::Ready(None) => self.signal = None,
                Poll::Pending => return Poll::Pending,
            }
            self.generation = self.generation.wrapping_add(1);
            super::super::reap::reap_orphans();
            wake_all();
        }
    }
}

/// Makes sure the process-wide `SIGCHLD` listener exists (so that from now on no delivery is
/// missed), from the current runtime.
fn reap_on_sigchld() -> io::Result<()> {
    lock(&SHARED).ensure_signal().map(drop)
}

/// One child's view of the shared listener.
pub(in crate::process) struct Listener(());

impl Listener {
    pub(super) fn new() -> io::Result<Listener> {
        reap_on_sigchld()?;
        Ok(Listener(()))
    }

    pub(super) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        mut try_reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
    ) -> Poll<io::Result<ExitStatus>> {
        // Each round needs a new delivery (or a listener replaced after its runtime went
        // away); should that keep happening, yield now and then rather than hold the worker.
        for _ in 0..32 {
            let seen = lock(&SHARED).generation;
            if let Some(status) = try_reap()? {
                return Poll::Ready(Ok(status));
            }
            let mut shared = lock(&SHARED);
            match shared.poll_changed(cx, seen) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;

    /// The fallback path, exercised on Linux too: two children waited through the one shared
    /// listener, the longer one first.
    #[test]
    fn waits_for_children_through_one_sigchld_listener() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = netpoll_runtime::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let res = rt.block_on(async {
                let mut slow = std::process::Command::new("sleep").arg("0.2").spawn()?;
                let mut fast = std::process::Command::new("true").spawn()?;
                let slow_task = netpoll_runtime::spawn(async move {
                    let mut l = Listener::new()?;
                    poll_fn(|cx| l.poll_exit(cx, || slow.try_wait())).await
                });
                let mut l = Listener::new()?;
                let fast_status = poll_fn(|cx| l.poll_exit(cx, || fast.try_wait())).await?;
                let slow_status = slow_task.await.map_err(io::Error::from)??;
                io::Result::Ok((fast_status, slow_status))
            });
            let _ = tx.send(res.map(|(a, b)| (a.success(), b.success())));
        });
        let res = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the SIGCHLD wait did not finish (lost wake-up?)");
        assert_eq!(res.expect("wait"), (true, true));
    }
}
