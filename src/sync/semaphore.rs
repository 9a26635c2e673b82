//! [`Semaphore`], written here: a mutex-guarded FIFO of waiters.
//!
//! `async-lock` has a semaphore, but without `close` (hence no `AcquireError`), without
//! `acquire_many`, and without first-come first-served order; tokio's has all three, and
//! porting code relies on them (`close` to stop a pool, `acquire_many` for byte budgets).
//!
//! Permits released while waiters queue go to the head waiter first, even partially (as in
//! tokio): a large request at the head is not overtaken by small ones behind it, and free
//! permits exist only while nobody waits.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// A counting semaphore: tasks [`acquire`](Semaphore::acquire) permits, wait while none are
/// free, and give them back by dropping the permit.
///
/// Waiters are served first come, first served. [`close`](Semaphore::close) fails every waiter
/// and every later acquire with [`AcquireError`].
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use netpoll::sync::Semaphore;
///
/// netpoll::runtime::Runtime::new().unwrap().block_on(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
///     let mut tasks = Vec::new();
///     for _ in 0..8 {
///         let (sem, running, peak) = (sem.clone(), running.clone(), peak.clone());
///         tasks.push(netpoll::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
///             netpoll::task::yield_now().await;
///             running.fetch_sub(1, SeqCst);
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert!(peak.load(SeqCst) <= 2);
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    state: Mutex<State>,
}

struct State {
    /// Free permits. Zero whenever `waiters` is non-empty.
    permits: usize,
    closed: bool,
    next_id: u64,
    /// Waiters in arrival order (ids increase).
    waiters: BTreeMap<u64, Waiter>,
    /// Waiters that were given all their permits but have not been polled since.
    granted: BTreeSet<u64>,
}

struct Waiter {
    /// Permits still missing.
    needed: usize,
    /// Permits already handed to this waiter (returned if it gives up).
    assigned: usize,
    waker: Option<Waker>,
}

/// The semaphore was closed: returned by the `acquire` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire` method failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free now (or others wait for them first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back.
#[must_use = "dropping the permit releases it at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

/// Permits from an `Arc<Semaphore>` ([`Semaphore::acquire_owned`]); dropping it gives them back.
/// It can move into a spawned task.
#[must_use = "dropping the permit releases it at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold (as in tokio).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Creates a semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    pub const fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits"
        );
        Semaphore::with_state(permits, false)
    }

    const fn with_state(permits: usize, closed: bool) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed,
                next_id: 0,
                waiters: BTreeMap::new(),
                granted: BTreeSet::new(),
            }),
        }
    }

    /// Same as [`new`](Self::new) (tokio's name for the `const` constructor).
    ///
    /// ```
    /// static LIMIT: netpoll::sync::Semaphore = netpoll::sync::Semaphore::const_new(4);
    /// assert_eq!(LIMIT.available_permits(), 4);
    /// ```
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore::new(permits)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so a poisoned lock only means an assertion of
        // ours failed; the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many permits are free now.
    pub fn available_permits(&self) -> usize {
        self.lock().permits
    }

    /// Adds `n` permits, handing them to waiters first (in order).
    ///
    /// # Panics
    /// If the total would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    ///
    /// ```
    /// let sem = netpoll::sync::Semaphore::new(0);
    /// assert!(sem.try_acquire().is_err());
    /// sem.add_permits(1);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        let wake = {
            let mut st = self.lock();
            st.release(n)
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut st = self.lock();
        let n = n.min(st.permits);
        st.permits -= n;
        n
    }

    /// Closes the semaphore: every waiting and later `acquire` fails with [`AcquireError`], every
    /// `try_acquire` with [`TryAcquireError::Closed`]. Permits held stay valid.
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let sem = netpoll::sync::Semaphore::new(0);
    ///     sem.close();
    ///     assert!(sem.acquire().await.is_err());
    ///     assert!(sem.is_closed());
    /// });
    /// ```
    pub fn close(&self) {
        let wake: Vec<Waker> = {
            let mut st = self.lock();
            st.closed = true;
            let waiters = std::mem::take(&mut st.waiters);
            let mut wake = Vec::with_capacity(waiters.len());
            for (_, w) in waiters {
                st.permits += w.assigned;
                wake.extend(w.waker);
            }
            wake
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits for one permit. Cancel-safe: dropping the future gives back any permits it had
    /// been handed and keeps its place for nobody.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once (0 succeeds at once unless closed).
    ///
    /// ```
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let sem = netpoll::sync::Semaphore::new(10);
    ///     let p = sem.acquire_many(7).await.unwrap();
    ///     assert_eq!(p.num_permits(), 7);
    ///     assert_eq!(sem.available_permits(), 3);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, n).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit if one is free and nobody waits before us.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits before us.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Waits for one permit of an `Arc<Semaphore>`; the permit holds the `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// netpoll::runtime::Runtime::new().unwrap().block_on(async {
    ///     let sem = Arc::new(netpoll::sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     let task = netpoll::spawn(async move {
    ///         let _held = permit; // released when the task ends
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits of an `Arc<Semaphore>`; the permit holds the `Arc`.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self, n).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit of an `Arc<Semaphore>` if one is free and nobody waits before us.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits of an `Arc<Semaphore>` if they are free and nobody waits before us.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes one permit from a plain thread, blocking it until one is free; fails only if the
    /// semaphore is (or gets) closed.
    ///
    /// Do not call it from a task: it would block a worker thread (tokio panics there; netpoll
    /// cannot tell, see the module docs).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let sem = Arc::new(netpoll::sync::Semaphore::new(0));
    /// let adder = {
    ///     let sem = sem.clone();
    ///     std::thread::spawn(move || sem.add_permits(1))
    /// };
    /// let permit = sem.blocking_acquire().unwrap();
    /// assert_eq!(permit.num_permits(), 1);
    /// adder.join().unwrap();
    /// ```
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block::block_on(self.acquire())
    }

    /// Takes `n` permits at once from a plain thread, blocking it until they are free.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        super::block::block_on(self.acquire_many(n))
    }

    /// Takes one permit of an `Arc<Semaphore>` from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block::block_on(self.acquire_owned())
    }

    /// Takes `n` permits of an `Arc<Semaphore>` from a plain thread, blocking it meanwhile.
    ///
    /// Do not call it from a task: it would block a worker thread.
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        super::block::block_on(self.acquire_many_owned(n))
    }

    /// A closed semaphore with no permits (for `OnceCell`s created full).
    pub(super) const fn new_closed() -> Semaphore {
        Semaphore::with_state(0, true)
    }

    /// Waits for `n` permits without wrapping them in a permit object: the caller (a lock
    /// guard) gives them back with [`release`](Self::release). Cancel-safe like `acquire`.
    pub(super) async fn acquire_raw(&self, n: u32) -> Result<(), AcquireError> {
        Acquire::new(self, n).await
    }

    /// [`try_acquire_many`](Self::try_acquire_many) without the permit object.
    pub(super) fn try_acquire_raw(&self, n: u32) -> Result<(), TryAcquireError> {
        self.try_take(n)
    }

    /// Gives back `n` permits taken by [`acquire_raw`](Self::acquire_raw), all under one lock:
    /// they go to the waiters in order before anyone else can take them.
    pub(super) fn release(&self, n: u32) {
        self.release_permits(n);
    }

    fn try_take(&self, n: u32) -> Result<(), TryAcquireError> {
        let mut st = self.lock();
        if st.closed {
            return Err(TryAcquireError::Closed);
        }
        // Free permits exist only while nobody waits, so this cannot overtake a waiter.
        let n = n as usize;
        if st.permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        st.permits -= n;
        Ok(())
    }

    fn release_permits(&self, n: u32) {
        self.add_permits(n as usize);
    }
}

impl State {
    /// Gives `n` permits to the waiters in order, the rest to the pool; returns whom to wake.
    fn release(&mut self, mut n: usize) -> Vec<Waker> {
        let mut wake = Vec::new();
        while n > 0 {
            let Some(mut first) = self.waiters.first_entry() else {
                break;
            };
            let w = first.get_mut();
            let give = n.min(w.needed);
            w.needed -= give;
            w.assigned += give;
            n -= give;
            if w.needed == 0 {
                let (id, w) = first.remove_entry();
                self.granted.insert(id);
                wake.extend(w.waker);
            }
        }
        assert!(
            n <= Semaphore::MAX_PERMITS - self.permits,
            "a semaphore may not have more than MAX_PERMITS permits"
        );
        self.permits += n;
        wake
    }
}

/// The future of the `acquire` methods: resolves once `n` permits were handed to it.
struct Acquire<'a> {
    sem: &'a Semaphore,
    n: u32,
    /// Queued under this id; `None` before the first poll and after completion.
    id: Option<u64>,
    done: bool,
}

impl<'a> Acquire<'a> {
    fn new(sem: &'a Semaphore, n: u32) -> Self {
        Acquire {
            sem,
            n,
            id: None,
            done: false,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "Acquire polled after completion");
        let sem = self.sem;
        let mut st = sem.lock();
        let result = match self.id {
            None => {
                if st.closed {
                    Err(AcquireError(()))
                } else {
                    let n = self.n as usize;
                    // Take what is free (all of it if not enough); free permits mean nobody
                    // waits, so this keeps FIFO order.
                    let take = n.min(st.permits);
                    st.permits -= take;
                    if take == n {
                        Ok(())
                    } else {
                        let id = st.next_id;
                        st.next_id += 1;
                        st.waiters.insert(
                            id,
                            Waiter {
                                needed: n - take,
                                assigned: take,
                                waker: Some(cx.waker().clone()),
                            },
                        );
                        drop(st);
                        self.id = Some(id);
                        return Poll::Pending;
                    }
                }
            }
            Some(id) => {
                if st.granted.remove(&id) {
                    Ok(())
                } else if let Some(w) = st.waiters.get_mut(&id) {
                    match &mut w.waker {
                        Some(old) if old.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                } else {
                    // Neither waiting nor granted: `close` removed it (and took back what it had
                    // been handed).
                    Err(AcquireError(()))
                }
            }
        };
        drop(st);
        self.id = None;
        self.done = true;
        Poll::Ready(result)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else {
            return;
        };
        let wake = {
            let mut st = self.sem.lock();
            let give_back = if st.granted.remove(&id) {
                self.n as usize
            } else {
                st.waiters.remove(&id).map_or(0, |w| w.assigned)
            };
            if give_back == 0 {
                return;
            }
            st.release(give_back)
        };
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<'a> SemaphorePermit<'a> {
    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Semaphore {
        self.sem
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// Drops the permit without giving its permits back: they are gone from the semaphore.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Moves the permits of `other` (of the same semaphore) into this one.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits of different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits off into a new permit; `None` if this holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// Drops the permit without giving its permits back: they are gone from the semaphore.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Moves the permits of `other` (of the same semaphore) into this one.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits of different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }

    /// Splits `n` permits off into a new permit; `None` if this holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok()?;
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release_permits(self.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release_permits(self.permits);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Semaphore")
            .field("permits", &st.permits)
            .field("waiters", &st.waiters.len())
            .field("closed", &st.closed)
            .finish()
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
