//! Timers: `sleep`, `sleep_until`, `timeout`, `interval`.
//!
//! All timers of a runtime live in one hierarchical timing wheel (`time/wheel.rs`) behind a mutex:
//! insert and cancel are O(1) whatever the number pending (a million pending timers cost what
//! ten do), and a dropped [`Sleep`] unlinks its entry at once, so nothing lingers. Go keeps a
//! heap per P instead; a heap makes cancellation O(log n) and needs the timer stealing Go does
//! between Ps, which a wheel shared by all workers does not. The price is 1 ms granularity
//! (deadlines are rounded *up* to the next millisecond, so a timer never fires early) and one
//! lock per insert/cancel.
//!
//! Nobody runs a thread per timer: the worker that blocks in the netpoller uses the wheel's
//! next expiry as its wait timeout, busy workers fire due timers on their maintenance tick, and
//! sysmon fires them when every worker is busy. Inserting a timer earlier than the current wait
//! deadline interrupts the wait.

mod wheel;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::task::{Context, Poll, Waker};
pub use std::time::Duration;

mod instant;
pub use instant::Instant;

use std::time::Instant as StdInstant;

/// Errors of the time module, at tokio's paths (`time::error::{Elapsed, Error}`).
pub mod error {
    /// The error of a [`timeout`](super::timeout) that ran out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl std::fmt::Display for Elapsed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(_: Elapsed) -> std::io::Error {
            std::io::ErrorKind::TimedOut.into()
        }
    }

    use std::fmt;

    /// A timer failure, like `tokio::time::error::Error`. netpoll's timers do not fail (the
    /// wheel grows as needed, and a timer outside a runtime panics as tokio's does), so this
    /// only exists for code that names or matches it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Error(Kind);

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Shutdown,
        AtCapacity,
        Invalid,
    }

    impl Error {
        /// The timer's runtime has shut down.
        pub fn shutdown() -> Error {
            Error(Kind::Shutdown)
        }
        /// True for [`Error::shutdown`].
        pub fn is_shutdown(&self) -> bool {
            self.0 == Kind::Shutdown
        }
        /// Too many timers.
        pub fn at_capacity() -> Error {
            Error(Kind::AtCapacity)
        }
        /// True for [`Error::at_capacity`].
        pub fn is_at_capacity(&self) -> bool {
            self.0 == Kind::AtCapacity
        }
        /// A deadline too far in the future.
        pub fn invalid() -> Error {
            Error(Kind::Invalid)
        }
        /// True for [`Error::invalid`].
        pub fn is_invalid(&self) -> bool {
            self.0 == Kind::Invalid
        }
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self.0 {
                Kind::Shutdown => {
                    "the timer is shutdown, must be called from the context of a runtime"
                }
                Kind::AtCapacity => "timer is at capacity and cannot create a new entry",
                Kind::Invalid => "timer duration exceeds maximum duration",
            })
        }
    }

    impl std::error::Error for Error {}
}

use crate::loom::Mutex;
use crate::runtime::Handle;
use error::Elapsed;
use wheel::{TimerKey, Wheel};

const NONE: u64 = u64::MAX;

/// A runtime's timers.
pub(crate) struct TimerQueue {
    start: StdInstant,
    wheel: Mutex<Wheel>,
    /// The wheel's next expiry tick (or `NONE`), readable without the lock.
    next_expiry: AtomicU64,
    /// The tick at which the worker blocked in the netpoller will wake by itself (`NONE`: never;
    /// 0: nobody is blocked). An earlier timer must interrupt that wait.
    parked_until: AtomicU64,
}

impl TimerQueue {
    pub(crate) fn new() -> TimerQueue {
        TimerQueue {
            start: StdInstant::now(),
            wheel: Mutex::new(Wheel::new()),
            next_expiry: AtomicU64::new(NONE),
            parked_until: AtomicU64::new(0),
        }
    }

    /// The first tick at or after `deadline` (rounded up: never early).
    fn deadline_tick(&self, deadline: StdInstant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        d.as_nanos().div_ceil(1_000_000).min(u128::from(NONE - 1)) as u64
    }

    fn now_tick(&self, now: StdInstant) -> u64 {
        (now.saturating_duration_since(self.start).as_nanos() / 1_000_000) as u64
    }

    fn tick_instant(&self, tick: u64) -> StdInstant {
        self.start + Duration::from_millis(tick)
    }

    /// Inserts a timer; returns its key and whether the blocked poller must be interrupted.
    fn insert(&self, deadline: StdInstant, waker: Waker) -> (TimerKey, bool) {
        let tick = self.deadline_tick(deadline);
        let key = {
            let mut wheel = self.wheel.lock();
            let key = wheel.insert(tick, waker);
            self.next_expiry.fetch_min(tick, SeqCst);
            key
        };
        (key, tick < self.parked_until.load(SeqCst))
    }

    fn set_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = self.wheel.lock().set_waker(key, waker);
        // Any replaced waker drops here, after the lock (it may hold the last ref to a task).
        replaced.is_ok()
    }

    fn remove(&self, key: TimerKey) {
        let waker = self.wheel.lock().remove(key);
        drop(waker);
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.wheel.lock().len()
    }

    /// Fires every timer due at `now`; their wakers go to `wake`. Cheap when nothing is due.
    pub(crate) fn process(&self, now: StdInstant, wake: &mut Vec<Waker>) -> usize {
        let now_tick = self.now_tick(now);
        if now_tick < self.next_expiry.load(SeqCst) {
            return 0;
        }
        let before = wake.len();
        let mut wheel = self.wheel.lock();
        wheel.advance(now_tick, wake);
        self.next_expiry
            .store(wheel.next_expiry().unwrap_or(NONE), SeqCst);
        drop(wheel);
        wake.len() - before
    }

    /// How long the poller may block: until the next timer, or forever (`None`).
    fn next_timeout(&self, now: StdInstant) -> Option<Duration> {
        match self.next_expiry.load(SeqCst) {
            NONE => None,
            tick => Some(self.tick_instant(tick).saturating_duration_since(now)),
        }
    }

    /// Called by the worker about to block in the netpoller: publishes when it will wake by itself
    /// and returns its wait timeout. See the protocol on `parked_until`: the first store makes any
    /// concurrent insert interrupt us; then we read the expiry it may have lowered.
    pub(crate) fn begin_park(&self, now: StdInstant, cap: Option<Duration>) -> Option<Duration> {
        self.parked_until.store(NONE, SeqCst);
        let timeout = match (self.next_timeout(now), cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(t) = timeout {
            self.parked_until.store(self.deadline_tick(now + t), SeqCst);
        }
        timeout
    }

    pub(crate) fn end_park(&self) {
        self.parked_until.store(0, SeqCst);
    }

    /// Drops every pending timer (shutdown): their wakers hold tasks.
    pub(crate) fn clear(&self) {
        let mut fired = Vec::new();
        self.wheel.lock().advance(NONE - 1, &mut fired);
        self.next_expiry.store(NONE, SeqCst);
        drop(fired);
    }
}

/// Waits until `duration` has elapsed, like `tokio::time::sleep`.
///
/// ```
/// use std::time::Duration;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let start = netpoll_runtime::time::Instant::now();
/// netpoll_runtime::time::sleep(Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
///
/// The sleep binds to the runtime it is first polled in, so `rt.block_on(sleep(d))` works.
///
/// # Panics
/// When polled outside a netpoll runtime.
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`.
///
/// # Panics
/// When polled outside a netpoll runtime.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        handle: Handle::try_current().ok(),
        deadline: deadline.into_std(),
        key: None,
        waker: None,
    }
}

/// A sleep bound to `handle`'s runtime whatever thread creates or polls it (the registration's
/// deadline timers, which may be set from outside the runtime).
pub(crate) fn sleep_until_in(handle: &Handle, deadline: StdInstant) -> Sleep {
    Sleep {
        handle: Some(handle.clone()),
        deadline,
        key: None,
        waker: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the timer.
pub struct Sleep {
    /// The runtime whose wheel holds the timer; found on first poll if not at creation.
    handle: Option<Handle>,
    deadline: StdInstant,
    key: Option<TimerKey>,
    /// The waker the wheel holds, so re-polls with the same waker take no lock.
    waker: Option<Waker>,
}

impl Sleep {
    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        Instant::from_std(self.deadline)
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        StdInstant::now() >= self.deadline
    }

    /// Moves the deadline (also after completion), as `tokio::time::Sleep::reset`.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.cancel();
        this.deadline = deadline.into_std();
    }

    fn cancel(&mut self) {
        if let (Some(key), Some(handle)) = (self.key.take(), &self.handle) {
            handle.shared.timers.remove(key);
        }
        self.waker = None;
    }

    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if StdInstant::now() >= self.deadline {
            self.cancel();
            return Poll::Ready(());
        }
        let handle = self.handle.get_or_insert_with(Handle::current);
        let timers = &handle.shared.timers;
        match self.key {
            Some(key) => {
                if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    if timers.set_waker(key, cx.waker()) {
                        self.waker = Some(cx.waker().clone());
                    } else {
                        // Fired a hair before our clock reached the deadline: insert again.
                        self.key = None;
                        return self.poll_sleep(cx);
                    }
                }
            }
            None => {
                let (key, interrupt) = timers.insert(self.deadline, cx.waker().clone());
                self.key = Some(key);
                self.waker = Some(cx.waker().clone());
                if interrupt {
                    handle.shared.driver.unpark();
                }
            }
        }
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_sleep(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Runs `future` for at most `duration`, like `tokio::time::timeout`.
///
/// ```
/// use std::time::Duration;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let slow = netpoll_runtime::time::sleep(Duration::from_secs(10));
/// assert!(netpoll_runtime::time::timeout(Duration::from_millis(5), slow).await.is_err());
/// # });
/// ```
///
/// # Panics
/// When polled outside a netpoll runtime.
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep(duration),
    }
}

/// Runs `future` until `deadline` at most.
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
    }
}

/// The future of [`timeout`].
#[derive(Debug)]
pub struct Timeout<F> {
    value: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }
    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }
    /// The wrapped future, dropping the timer.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `value` is structurally pinned (never moved out while pinned); `delay` is Unpin.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this` stays pinned.
        let value = unsafe { Pin::new_unchecked(&mut this.value) };
        if let Poll::Ready(v) = value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.delay.poll_sleep(cx) {
            Poll::Ready(()) => Poll::Ready(Err(error::Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What an [`Interval`] does when ticks were missed (the task ran late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, then keep the original schedule (tokio's default).
    #[default]
    Burst,
    /// Restart the schedule from now.
    Delay,
    /// Skip the missed ticks and fire at the next multiple of the period.
    Skip,
}

/// How late a tick may fire before [`MissedTickBehavior`] counts it as missed.
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick at once, like `tokio::time::interval`.
///
/// ```
/// use std::time::Duration;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut every = netpoll_runtime::time::interval(Duration::from_millis(2));
/// for _ in 0..3 {
///     every.tick().await;
/// }
/// # });
/// ```
///
/// # Panics
/// If `period` is zero; when polled outside a netpoll runtime.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero; when polled outside a netpoll runtime.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "`interval` period must be non-zero"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// The stream of [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.poll_sleep(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.delay.deadline;
        let now = StdInstant::now();
        // A tick counts as missed when it fires more than `MISSED_AFTER` late (tokio's rule).
        let late = now.saturating_duration_since(scheduled);
        let next = match self.missed {
            MissedTickBehavior::Delay if late > MISSED_AFTER => now + self.period,
            MissedTickBehavior::Skip if late > MISSED_AFTER => {
                // The next instant on the original grid after now.
                let period = self.period.as_nanos();
                let into = (late.as_nanos() % period) as u64;
                now + self.period - Duration::from_nanos(into)
            }
            _ => scheduled + self.period,
        };
        self.delay.cancel();
        self.delay.deadline = next;
        Poll::Ready(Instant::from_std(scheduled))
    }

    /// Restarts the schedule: the next tick comes one period from now.
    pub fn reset(&mut self) {
        self.reset_at(Instant::now() + self.period);
    }

    /// Restarts the schedule with a tick now: the next `tick` completes at once.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule with the next tick `after` from now, then every period.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(Instant::now() + after);
    }

    /// Restarts the schedule with the next tick at `deadline`, then every period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use netpoll_runtime::time::Instant;
    /// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut every = netpoll_runtime::time::interval(Duration::from_secs(3600));
    /// every.tick().await; // the first tick is immediate
    /// let soon = Instant::now() + Duration::from_millis(5);
    /// every.reset_at(soon);
    /// assert_eq!(every.tick().await, soon);
    /// # });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.cancel();
        self.delay.deadline = deadline.into_std();
    }

    /// Sets what happens after missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}
