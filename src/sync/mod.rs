//! Synchronization for tasks: channels ([`oneshot`], [`mpsc`], [`broadcast`], [`watch`]),
//! [`Mutex`], [`RwLock`], [`Semaphore`], [`Notify`], [`Barrier`], [`OnceCell`] and [`SetOnce`],
//! with tokio's names and shapes, so that `tokio::sync::X` ports as `netpoll::sync::X`.
//!
//! Nothing here depends on the netpoll scheduler: every primitive works with wakers only, so it
//! can be shared with other executors and, through the `blocking_*` methods, with plain threads.
//!
//! ```
//! use std::sync::Arc;
//! use netpoll::sync::{mpsc, Mutex};
//!
//! netpoll::runtime::Runtime::new().unwrap().block_on(async {
//!     let total = Arc::new(Mutex::new(0));
//!     let (tx, mut rx) = mpsc::channel(8);
//!     for i in 0..4 {
//!         let (tx, total) = (tx.clone(), total.clone());
//!         netpoll::spawn(async move {
//!             *total.lock().await += i;
//!             tx.send(i).await.unwrap();
//!         });
//!     }
//!     drop(tx);
//!     let mut got = 0;
//!     while rx.recv().await.is_some() {
//!         got += 1;
//!     }
//!     assert_eq!(got, 4);
//!     assert_eq!(*total.lock().await, 6);
//! });
//! ```
//!
//! # Where each primitive comes from
//!
//! Every primitive is written here: the runtime-agnostic crates tried before (`async-channel`,
//! `async-lock`, `async-broadcast`, `futures-channel`) each missed part of tokio's semantics
//! (reservable capacity, strict FIFO fairness, mapped guards, weak senders, `is_empty` on a
//! oneshot), as each row says. Nothing here depends on the netpoll scheduler.
//!
//! | primitive | built on | why |
//! | --- | --- | --- |
//! | [`oneshot`] | by hand | tokio's `is_empty` looks at the value without taking it and `is_terminated` tracks what the receiver returned; `futures-channel` can do neither, and the whole channel is one small mutex-guarded state |
//! | [`mpsc`] | by hand, on [`Semaphore`] | tokio's `reserve`/[`Permit`](mpsc::Permit) needs capacity taken before the value exists, and `close` must let permits taken before it still send; no queue crate has slots that can be reserved, so a bounded channel is a mutex-guarded queue whose free slots are the permits of netpoll's FIFO semaphore (first come, first served, cancel safe) |
//! | [`Mutex`], [`RwLock`] | by hand, on [`Semaphore`] | `async-lock`'s are only eventually fair and have no mapped guards; tokio's are strictly FIFO (a writer queued behind readers blocks later readers), cancel-safe, and have `map`/`try_map`/`downgrade`: a mutex is a 1-permit semaphore, a `RwLock` one of `max_readers` permits (a writer takes them all), beside an `UnsafeCell` |
//! | [`broadcast`] | by hand | tokio's `WeakSender`, strong/weak counts, receiver `len` and power-of-two ring (which decides when a receiver lags) are not in `async-broadcast`; a mutex-guarded ring with a per-value reader count is small and gives all of them |
//! | [`Semaphore`] | by hand | `async-lock`'s semaphore has no `close` (so no `AcquireError`), no `acquire_many`, and is not first-come first-served; tokio's is all three |
//! | [`Notify`] | by hand | tokio's `notify_one` stores a permit when nobody waits and `notify_waiters` wakes futures created before it even if not yet polled; `event-listener` cannot store the permit without a lost-wake-up race, so this is a mutex-guarded waiter queue |
//! | [`Barrier`] | by hand, on [`Notify`] | a counter and a generation under a small lock; `notify_waiters` releases a generation |
//! | [`OnceCell`] | by hand, on [`Semaphore`] | the initialiser runs under the single permit, so it runs once at a time and a cancelled one hands over to the next caller; closing the semaphore releases the waiters |
//! | [`SetOnce`] | by hand, on [`Notify`] | a compare-exchanged state flag; `wait` registers before it checks, so `set`'s `notify_waiters` cannot be missed |
//! | [`watch`] | by hand, on [`Notify`] | no maintained runtime-agnostic crate has tokio's version-tracking `changed`/`borrow_and_update`; it is small |
//!
//! # Differences from tokio
//!
//! - [`mpsc`], [`oneshot`] and [`broadcast`] take a small mutex per operation where tokio's
//!   queues are lock-free.
//! - `blocking_*` methods called from inside a runtime block the worker instead of panicking as
//!   tokio's do (the runtime does not expose whether the current thread drives tasks).
//! - [`Semaphore`], [`Notify`], [`watch`] and so [`Mutex`], [`RwLock`], [`OnceCell`]'s
//!   initialisation and [`Barrier`] take a small mutex on every operation instead of tokio's
//!   lock-free fast paths.
//! - [`RwLock::with_max_readers`] panics on 0 (tokio accepts it, and then every writer would get
//!   in at once).

/// The `SendError<T>(pub T)` of a channel's `error` module (mpsc, broadcast, watch): the value
/// comes back; it prints as tokio's does ("channel closed", the value not shown).
macro_rules! send_error {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct SendError<T>(pub T);

        impl<T> ::std::fmt::Debug for SendError<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("SendError").finish_non_exhaustive()
            }
        }

        impl<T> ::std::fmt::Display for SendError<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str("channel closed")
            }
        }

        impl<T> ::std::error::Error for SendError<T> {}
    };
}

mod block;

/// Spends one unit of the current task's coop budget, yielding first if it is used up: every
/// channel operation calls it, so a loop over an always-ready channel still lets the worker
/// run other tasks, poll the netpoller and fire timers (tokio's channels do the same).
async fn coop_budget() {
    netpoll_runtime::task::consume_budget().await
}
mod barrier;
pub mod broadcast;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod set_once;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard};
pub use notify::Notify;
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};

/// Named future types, as in `tokio::sync::futures`.
pub mod futures {
    pub use super::notify::{Notified, OwnedNotified};
}

use std::fmt;

/// The lock is held elsewhere: returned by [`Mutex::try_lock`], [`RwLock::try_read`] and
/// [`RwLock::try_write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}
