use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Instant;

use super::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use crate::loom::{Mutex, MutexGuard};
use crate::runtime::Handle;
use crate::time::{sleep_until_in, Sleep};

/// An fd registered with the netpoller: once, edge-triggered, for reading and writing.
///
/// This is the building block of the sockets (tokio calls it `Registration`, Go `pollDesc`).
/// The usual pattern is optimistic, as Go's: try the syscall; on `EAGAIN`, clear the readiness
/// seen *before* the syscall and wait for the next event. [`poll_io`](Self::poll_io) does exactly
/// that. Readiness is a hint: a wake-up can be spurious, so always retry the syscall.
///
/// The registration does not own the fd. Its owner must drop the registration (which
/// deregisters) before closing the fd.
///
/// ```
/// use std::os::fd::AsRawFd;
/// use netpoll_runtime::io::{Direction, Registration};
///
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let reg = Registration::new(a.as_raw_fd()).unwrap();
/// std::io::Write::write_all(&mut &b, b"hi").unwrap();
/// let mut buf = [0u8; 2];
/// let n = std::future::poll_fn(|cx| reg.poll_io(cx, Direction::Read, || std::io::Read::read(&mut &a, &mut buf))).await.unwrap();
/// assert_eq!(&buf[..n], b"hi");
/// drop(reg); // deregister before `a` closes
/// # });
/// ```
pub struct Registration {
    handle: Handle,
    io: Arc<ScheduledIo>,
    fd: RawFd,
    deregistered: bool,
    /// Go's `pollDesc` deadlines (`rd`/`wd`); allocated on the first `set_deadline`, so fds that
    /// never use deadlines pay one word.
    deadlines: OnceLock<Arc<Deadlines>>,
}

/// The deadlines of one fd, as Go keeps them in its `pollDesc`.
///
/// ## State, per direction
/// - `at` (under the direction's mutex): the deadline, or none; and its timer, armed in the
///   runtime's wheel whenever `at` is set and not yet passed.
/// - `expired` (an `AtomicBool` in the `ScheduledIo`, Go's `rd < 0`): the deadline has passed.
///   It is the only thing an I/O operation reads, so an operation on an fd with a deadline costs
///   one load, next to the readiness it loads anyway: no lock, no clock.
///
/// ## Transitions, and who makes them
/// | transition | by | effect |
/// |---|---|---|
/// | `set_deadline(Some(at))` | the owner of the socket | under the mutex: store `at`, reset the timer; `expired = at <= now`; then wake the direction's waiters so they re-check |
/// | `set_deadline(None)` | the owner | under the mutex: drop the timer, `expired = false`; wake the waiters |
/// | the timer fires | the thread that fires timers (a worker or sysmon) | under the mutex: if `at` is still set and `<= now` (not moved later meanwhile), `expired = true`; then wake the waiters |
///
/// `expired` is written only under the mutex, so a firing that raced with a move can not
/// expire the new deadline. A task about to park stores its waker first and then reads
/// `expired` (see `deadline_passed`); the timer stores `expired` before it takes the waiters'
/// lock to wake them. So either the timer finds the waker, or the task sees `expired`.
///
/// As in Go, a deadline is reported passed once its timer has fired (timers fire at 1 ms
/// granularity, never early), not by reading the clock on every operation.
struct Deadlines {
    dir: [Mutex<DirDeadline>; 2],
    io: Arc<ScheduledIo>,
    handle: Handle,
    /// The wakers the timers fire, one per direction (they hold a `Weak` back to this).
    wakers: [Waker; 2],
}

#[derive(Default)]
struct DirDeadline {
    at: Option<Instant>,
    /// One timer per direction, reset when the deadline moves: no allocation per operation.
    timer: Option<Sleep>,
}

/// What a deadline's timer wakes: marks the direction expired and wakes its waiters.
struct DeadlineFired {
    deadlines: Weak<Deadlines>,
    direction: Direction,
}

impl Wake for DeadlineFired {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The registration may be gone already; then there is nobody to tell.
        if let Some(dl) = self.deadlines.upgrade() {
            dl.fired(self.direction);
        }
    }
}

impl Deadlines {
    fn new(io: Arc<ScheduledIo>, handle: Handle) -> Arc<Deadlines> {
        Arc::new_cyclic(|me: &Weak<Deadlines>| {
            let waker = |direction| {
                Waker::from(Arc::new(DeadlineFired {
                    deadlines: me.clone(),
                    direction,
                }))
            };
            Deadlines {
                dir: Default::default(),
                io,
                handle,
                wakers: [waker(Direction::Read), waker(Direction::Write)],
            }
        })
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, DirDeadline> {
        self.dir[i].lock()
    }

    fn set(&self, direction: Direction, at: Option<Instant>) {
        let i = direction.index();
        let mut g = self.lock(i);
        g.at = at;
        let expired = match at {
            None => {
                g.timer = None;
                false
            }
            Some(at) => {
                let timer = g
                    .timer
                    .get_or_insert_with(|| sleep_until_in(&self.handle, at));
                Pin::new(&mut *timer).reset(at.into());
                // Arms the timer with our waker, or finds the deadline passed already.
                let mut cx = Context::from_waker(&self.wakers[i]);
                Pin::new(timer).poll(&mut cx).is_ready()
            }
        };
        self.io.set_deadline_expired(direction, expired);
        drop(g);
        self.io.wake_direction(direction);
    }

    fn fired(&self, direction: Direction) {
        let i = direction.index();
        let g = self.lock(i);
        // A timer whose deadline was moved later after it fired finds `at` in the future.
        if !g.at.is_some_and(|at| at <= Instant::now()) {
            return;
        }
        self.io.set_deadline_expired(direction, true);
        drop(g);
        self.io.wake_direction(direction);
    }
}

fn timed_out(d: Direction) -> io::Error {
    let what = match d {
        Direction::Read => "read",
        Direction::Write => "write",
    };
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} deadline exceeded"))
}

impl Registration {
    /// Registers `fd` (which must be non-blocking) with the current runtime's netpoller.
    ///
    /// Fails with an error (no panic) when called outside a runtime.
    pub fn new(fd: RawFd) -> io::Result<Registration> {
        let handle = Handle::try_current().map_err(io::Error::other)?;
        Registration::new_with_handle(fd, &handle)
    }

    /// Registers `fd` with the netpoller of `handle`'s runtime.
    pub fn new_with_handle(fd: RawFd, handle: &Handle) -> io::Result<Registration> {
        let io = handle.shared.driver.register(fd)?;
        Ok(Registration {
            handle: handle.clone(),
            io,
            fd,
            deregistered: false,
            deadlines: OnceLock::new(),
        })
    }

    /// The runtime this registration belongs to.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Ready to read (or the peer closed), or `Pending` with the task's waker stored. Fails
    /// with `TimedOut` once the read deadline has passed.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Read, cx)
    }

    /// Ready to write (or the peer closed), or `Pending` with the task's waker stored. Fails
    /// with `TimedOut` once the write deadline has passed.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(Direction::Write, cx)
    }

    /// Either direction, by value.
    pub fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.check_deadline(direction)?;
        match self.io.poll_ready(direction, cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => match self.deadline_passed(direction) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }

    /// Sets (or clears) the deadline of one direction, Go's `SetReadDeadline` /
    /// `SetWriteDeadline`: every operation and readiness wait in that direction fails with
    /// `TimedOut` once it has passed (the zero-copy paths of `copy` too); moving or clearing it
    /// makes the fd usable again, and wakes parked waiters so they re-check. No allocation per
    /// operation: one reusable timer per direction.
    pub fn set_deadline(&self, direction: Direction, at: Option<Instant>) {
        self.deadlines
            .get_or_init(|| Deadlines::new(self.io.clone(), self.handle.clone()))
            .set(direction, at);
    }

    /// The deadline of one direction.
    pub fn deadline(&self, direction: Direction) -> Option<Instant> {
        self.deadlines.get()?.lock(direction.index()).at
    }

    /// `Err(TimedOut)` if the deadline of `direction` has passed (Go's `prepareRead`): call it
    /// before an operation that does not otherwise wait through this registration. One atomic
    /// load: the deadline's timer marks it passed (the protocol is on `Deadlines`, in the source).
    pub fn check_deadline(&self, direction: Direction) -> io::Result<()> {
        match self.io.deadline_expired(direction) {
            true => Err(timed_out(direction)),
            false => Ok(()),
        }
    }

    /// About to park (the waker is stored): `Some` if the deadline passed meanwhile. Otherwise
    /// its timer, armed since `set_deadline`, wakes the direction's waiters when it fires.
    fn deadline_passed(&self, direction: Direction) -> Option<io::Error> {
        self.io
            .deadline_expired(direction)
            .then(|| timed_out(direction))
    }

    /// The current readiness of `direction`, without waiting.
    pub fn readiness(&self, direction: Direction) -> ReadyEvent {
        self.io.snapshot(direction)
    }

    /// Wakes every task waiting on `direction` without changing its readiness, so they re-check
    /// their own conditions (a deadline that moved, say).
    pub fn wake_waiters(&self, direction: Direction) {
        self.io.wake_direction(direction)
    }

    /// Forgets the readiness in `event` after an `EAGAIN`, unless a newer event has arrived.
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event)
    }

    /// Waits until the fd is readable. Any number of tasks may wait at once.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future only removes its waiter.
    pub async fn readable(&self) -> io::Result<ReadyEvent> {
        Readiness {
            io: &self.io,
            direction: Direction::Read,
            key: None,
        }
        .await
    }

    /// Waits until the fd is writable. Any number of tasks may wait at once.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future only removes its waiter.
    pub async fn writable(&self) -> io::Result<ReadyEvent> {
        Readiness {
            io: &self.io,
            direction: Direction::Write,
            key: None,
        }
        .await
    }

    /// Runs the non-blocking operation `f` until it does not return `WouldBlock`, parking the
    /// task on `direction`'s readiness in between (Go's `fd.pd.waitRead` loop).
    ///
    /// While the direction is known not to be ready (an earlier call got `EAGAIN`, or a short
    /// stream transfer cleared it, see [`poll_io_stream`](Self::poll_io_stream)) the task parks
    /// without making the syscall; a fresh registration starts ready, so the first call always
    /// tries.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_then(cx, direction, f, |_, _| {})
    }

    /// [`poll_io`](Self::poll_io) for a byte-stream transfer (`recv`/`send` on TCP or a Unix
    /// stream) that asked for `want` bytes. A transfer that moved fewer (but some) bytes found
    /// the kernel buffer drained (read) or full (write); with edge-triggered readiness the next
    /// call would only get `EAGAIN`, so the direction's readiness is cleared now, guarded by the
    /// tick read before the syscall, and the next call parks straight away (tokio does the
    /// same). One syscall less per message for request/response traffic.
    ///
    /// Not for datagrams: a short datagram says nothing about the next one.
    pub fn poll_io_stream(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        want: usize,
        f: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io_then(cx, direction, f, |&n, seen| {
            if n > 0 && n < want {
                self.io.clear_readiness(seen);
            }
        })
    }

    fn poll_io_then<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut f: impl FnMut() -> io::Result<R>,
        done: impl FnOnce(&R, ReadyEvent),
    ) -> Poll<io::Result<R>> {
        self.check_deadline(direction)?;
        let seen = self.io.snapshot(direction);
        if !seen.is_ready() && !seen.is_closed() {
            // Known not ready: wait for the next event rather than pay for an `EAGAIN`.
            ready!(self.poll_ready(direction, cx))?;
        }
        // Given back if the operation ends up waiting (the guard drops on `Pending`).
        let coop = std::task::ready!(crate::task::coop::poll_proceed(cx));
        // A hang-up flag that the syscall contradicts (EAGAIN although "closed") must not spin
        // the worker: after a few rounds, yield and let the task be polled again later.
        for _ in 0..32 {
            let seen = self.io.snapshot(direction);
            if self.io.is_shutdown() {
                return Poll::Ready(Err(self.io.gone_error()));
            }
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(seen);
                    ready!(self.poll_ready(direction, cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(r) => {
                    coop.made_progress();
                    done(&r, seen);
                    return Poll::Ready(Ok(r));
                }
                Err(e) => {
                    coop.made_progress();
                    return Poll::Ready(Err(e));
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Runs `f` once: `WouldBlock` clears the readiness it raced with and is returned as is.
    pub fn try_io<R>(
        &self,
        direction: Direction,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.check_deadline(direction)?;
        let seen = self.io.snapshot(direction);
        let res = f();
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.io.clear_readiness(seen);
        }
        res
    }

    /// Waits for readiness of `direction` and then runs `f` (retrying on `WouldBlock`).
    pub async fn async_io<R>(
        &self,
        direction: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, direction, &mut f)).await
    }

    /// Deregisters now instead of on drop, reporting the error if any.
    pub fn deregister(mut self) -> io::Result<()> {
        self.deregistered = true;
        self.handle.shared.driver.deregister(self.fd, &self.io)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.deregistered {
            // The fd may already be gone (EBADF) if its owner broke the drop order; nothing to
            // report from a destructor.
            let _ = self.handle.shared.driver.deregister(self.fd, &self.io);
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .finish()
    }
}

struct Readiness<'a> {
    io: &'a ScheduledIo,
    direction: Direction,
    key: Option<usize>,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.io.poll_ready_waiter(this.direction, &mut this.key, cx)
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        self.io.remove_waiter(&mut self.key);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom model of the deadline hand-off in [`Deadlines`]: a timer firing while a task parks.
    use super::*;
    use crate::loom::Ordering::SeqCst;
    use std::task::Wake;

    struct Count(loom::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// The timer publishes `expired` and then wakes the direction's waiters (`Deadlines::fired`);
    /// the task stores its waker (`poll_ready`) and then reads `expired` (`deadline_passed`).
    /// Whatever the interleaving, the task either sees the expiry or is woken: it never sleeps
    /// through its deadline.
    #[test]
    fn a_deadline_firing_as_the_task_parks_is_not_lost() {
        loom::model(|| {
            let io = crate::loom::Arc::new(ScheduledIo::new(7));
            // The fd is known not ready, so the task will park.
            io.clear_readiness(io.snapshot(Direction::Read));
            let io2 = io.clone();
            let timer = loom::thread::spawn(move || {
                io2.set_deadline_expired(Direction::Read, true);
                io2.wake_direction(Direction::Read);
            });
            let count = std::sync::Arc::new(Count(loom::sync::atomic::AtomicUsize::new(0)));
            let waker = Waker::from(count.clone());
            let mut cx = Context::from_waker(&waker);
            let parked = io.poll_ready(Direction::Read, &mut cx).is_pending();
            let saw = io.deadline_expired(Direction::Read);
            timer.join().unwrap();
            assert!(
                !parked || saw || count.0.load(SeqCst) > 0,
                "the task parked, missed the expiry and was never woken"
            );
        });
    }
}
