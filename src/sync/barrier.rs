//! [`Barrier`]: a counter of arrivals and a generation number under one small lock, and a
//! [`Notify`] to wake the waiting tasks.
//!
//! The protocol: the `n`-th arrival of a generation resets the count, bumps the generation and
//! calls `notify_waiters`; every earlier arrival created its `Notified` future *under the lock*,
//! before that bump, so `notify_waiters` (which wakes futures created before it even if not yet
//! polled) cannot be missed. A waiter returns once the generation differs from the one it
//! arrived in.

use std::fmt;
use std::pin::pin;
use std::sync::{Mutex, PoisonError};

use super::Notify;

/// Makes `n` tasks wait for each other: each [`wait`](Barrier::wait) blocks until `n` tasks
/// are waiting, then all `n` go on together. It can be used again right away (generations).
///
/// ```
/// use std::sync::Arc;
/// use netpoll::sync::Barrier;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let barrier = Arc::new(Barrier::new(5));
///     let mut tasks = Vec::new();
///     for _ in 0..5 {
///         let barrier = barrier.clone();
///         tasks.push(netpoll::spawn(async move { barrier.wait().await }));
///     }
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap().is_leader() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<BarrierState>,
    wake: Notify,
}

struct BarrierState {
    arrived: usize,
    generation: u64,
}

/// What [`Barrier::wait`] returns: whether this task was the generation's leader.
#[derive(Clone, Debug)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// `true` for exactly one task of each generation (the one whose arrival released it).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// Creates a barrier that releases its waiters each time `n` of them wait.
    ///
    /// `n == 0` behaves like `n == 1` (as tokio and `std::sync::Barrier`): every `wait` returns
    /// at once, as leader.
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 0,
            }),
            wake: Notify::new(),
        }
    }

    /// Waits until `n` tasks (this one included) are waiting; then all of them return, one of
    /// them (the last to arrive) with [`is_leader`](BarrierWaitResult::is_leader) `true`.
    ///
    /// # Cancel safety
    /// Not cancel-safe: a task counts as arrived from the first poll, and dropping the future
    /// afterwards does not take the arrival back.
    pub async fn wait(&self) -> BarrierWaitResult {
        let (generation, woken) = {
            // No user code runs under this lock; a poisoned one is still consistent.
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            st.arrived += 1;
            if st.arrived == self.n {
                st.arrived = 0;
                st.generation += 1;
                drop(st);
                self.wake.notify_waiters();
                return BarrierWaitResult(true);
            }
            // Created before the leader can bump the generation: see the module docs.
            (st.generation, self.wake.notified())
        };
        let mut woken = pin!(woken);
        loop {
            woken.as_mut().await;
            let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if st.generation != generation {
                return BarrierWaitResult(false);
            }
            // Not ours (cannot happen: only a generation change notifies); wait again.
            woken.set(self.wake.notified());
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &st.arrived)
            .field("generation", &st.generation)
            .finish()
    }
}
