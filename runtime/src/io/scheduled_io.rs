//! Per-fd readiness: Go's `pollDesc`, as one `ScheduledIo` per registered fd.
//!
//! ## State, per direction (read, write)
//! One `AtomicU64` word: `tick << 2 | CLOSED | READY`.
//! - `READY`: the kernel said this direction is ready and no operation has seen `EAGAIN` since
//!   (Go's `pdReady`). Latched: readiness that arrives while nobody waits is kept, never lost.
//! - `CLOSED`: the peer hung up (or an error was reported) in this direction. Sticky.
//! - `tick`: 62 bits, bumped by every event for this direction. It is the generation that makes
//!   clearing safe (tokio #6133/#8054: a short, shared or wrapping tick lets a stale `EAGAIN` erase
//!   a fresh event).
//!
//! Waiters: one `Mutex<Waiters>` per fd holds a waker slot per direction for the poll-based path
//! (`poll_read_ready`, used by `AsyncRead`), and a list of wakers for the `readable()` /
//! `writable()` futures, so any number of tasks may wait on one fd.
//!
//! ## Transitions, and who makes them
//! | transition | by | effect |
//! |---|---|---|
//! | event      | the thread that drained the poller (a worker, or sysmon) | `tick += 1`, set `READY` (and `CLOSED` on hang-up), then take and wake every waker of that direction |
//! | `poll_ready` | a task | if `READY\|CLOSED`: return a [`ReadyEvent`] carrying the tick. Else store the waker, re-load, and return `Pending` only if still not ready |
//! | `clear_readiness(ev)` | a task whose I/O call got `EAGAIN` | clear `READY` only if the tick is still `ev.tick`: an event that arrived after the task looked is kept |
//! | shutdown   | deregistration, runtime shutdown | set `shutdown` (saying which of the two), wake everyone; every later `poll_ready` fails (after a runtime shutdown with the error `runtime::is_rt_shutdown_err` recognises) |
//!
//! ## Why no wake-up is lost
//! The event stores the new state *before* it locks the waiters, and a task stores its waker
//! under the same lock *before* it re-loads the state. If the event's lock comes after the task's,
//! it finds the waker; if before, the task's re-load sees `READY`. A task that got `EAGAIN` clears
//! with the tick it read before its syscall, so an event that lands during the syscall survives.
//!
//! ## Why a closed fd's late event never wakes the new owner of its number
//! Events carry a token = slab index | generation << 32 (Go #59545). A registration removed from
//! the slab takes its generation with it; an event still in flight for it finds a different
//! generation (or an empty slot) and is dropped.

use std::io;
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::loom::{AtomicBool, AtomicU64, AtomicU8, Mutex, Ordering::*};
use crate::sys::Event;

const READY: u64 = 1;
const CLOSED: u64 = 2;
const TICK_SHIFT: u32 = 2;

/// A direction of I/O on an fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading (and accepting).
    Read,
    /// Writing (and connecting).
    Write,
}

impl Direction {
    /// 0 for `Read`, 1 for `Write`: the slot of per-direction state.
    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// A snapshot of one direction's readiness, returned by the `poll_*_ready` methods and handed
/// back to `clear_readiness` after an `EAGAIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyEvent {
    direction: Direction,
    tick: u64,
    ready: bool,
    closed: bool,
}

impl ReadyEvent {
    /// The direction this readiness is for.
    pub fn direction(&self) -> Direction {
        self.direction
    }
    /// True if the kernel reported the direction ready (it may still give `EAGAIN`).
    pub fn is_ready(&self) -> bool {
        self.ready
    }
    /// True if the peer hung up (or an error was reported) in this direction.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

#[derive(Default)]
struct Waiters {
    /// The poll-based path's waker per direction.
    slot: [Option<Waker>; 2],
    /// `readable()`/`writable()` futures: direction and waker (`None` once woken).
    list: Slab<(Direction, Option<Waker>)>,
}

pub(crate) struct ScheduledIo {
    token: u64,
    readiness: [AtomicU64; 2],
    /// Per direction: its deadline has passed (Go's `rd < 0`). Written by the registration's
    /// `Deadlines` (see its protocol in `registration.rs`); here, beside the readiness the I/O
    /// path loads anyway, so checking it costs no extra cache miss.
    deadline_expired: [AtomicBool; 2],
    /// `LIVE`, `DEREGISTERED` or `RUNTIME_SHUT_DOWN`.
    shutdown: AtomicU8,
    waiters: Mutex<Waiters>,
}

const LIVE: u8 = 0;
const DEREGISTERED: u8 = 1;
const RUNTIME_SHUT_DOWN: u8 = 2;

fn gone() -> io::Error {
    io::Error::other("the fd's netpoll registration is gone (it was deregistered)")
}

impl ScheduledIo {
    /// A new record; both directions start `READY` so the first operation simply tries the
    /// syscall (as Go does) instead of waiting for the registration's first event.
    pub(crate) fn new(token: u64) -> ScheduledIo {
        ScheduledIo {
            token,
            readiness: [AtomicU64::new(READY), AtomicU64::new(READY)],
            deadline_expired: [AtomicBool::new(false), AtomicBool::new(false)],
            shutdown: AtomicU8::new(LIVE),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    fn event_of(&self, direction: Direction, word: u64) -> ReadyEvent {
        ReadyEvent {
            direction,
            tick: word >> TICK_SHIFT,
            ready: word & READY != 0,
            closed: word & CLOSED != 0,
        }
    }

    /// The current readiness without registering interest.
    pub(crate) fn snapshot(&self, direction: Direction) -> ReadyEvent {
        self.event_of(direction, self.readiness[direction.index()].load(Acquire))
    }

    /// Applies one kernel event; pushes the wakers to wake onto `wake` (woken by the caller after
    /// it releases its locks).
    pub(crate) fn set_readiness(&self, ev: &Event, wake: &mut Vec<Waker>) {
        let err = ev.is_error();
        let read = ev.is_readable() || ev.is_read_closed() || err;
        let write = ev.is_writable() || ev.is_write_closed() || err;
        let mut dirs = [false; 2];
        for (d, on, closed) in [
            (Direction::Read, read, ev.is_read_closed() || err),
            (Direction::Write, write, ev.is_write_closed() || err),
        ] {
            if on {
                let bits = READY | if closed { CLOSED } else { 0 };
                let _ = self.readiness[d.index()].fetch_update(AcqRel, Acquire, |s| {
                    Some(((s >> TICK_SHIFT).wrapping_add(1) << TICK_SHIFT) | (s & CLOSED) | bits)
                });
                dirs[d.index()] = true;
            }
        }
        self.take_wakers(dirs, wake);
    }

    fn take_wakers(&self, dirs: [bool; 2], wake: &mut Vec<Waker>) {
        let mut w = self.waiters.lock();
        for (i, on) in dirs.iter().enumerate() {
            if *on {
                wake.extend(w.slot[i].take());
            }
        }
        for (_, (d, waker)) in w.list.iter_mut() {
            if dirs[d.index()] {
                wake.extend(waker.take());
            }
        }
    }

    /// Whether the deadline of `direction` has passed.
    pub(crate) fn deadline_expired(&self, direction: Direction) -> bool {
        self.deadline_expired[direction.index()].load(SeqCst)
    }

    /// Marks the deadline of `direction` passed or not (by the registration's `Deadlines`).
    pub(crate) fn set_deadline_expired(&self, direction: Direction, expired: bool) {
        self.deadline_expired[direction.index()].store(expired, SeqCst);
    }

    /// Wakes the waiters of `direction` without changing readiness (they re-check, e.g. a
    /// deadline that moved).
    pub(crate) fn wake_direction(&self, direction: Direction) {
        let mut wake = Vec::new();
        let mut dirs = [false; 2];
        dirs[direction.index()] = true;
        self.take_wakers(dirs, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Marks the record dead and wakes every waiter, so their next poll fails.
    /// `by_runtime`: the runtime is shutting down (else the fd was deregistered).
    pub(crate) fn shutdown(&self, by_runtime: bool, wake: &mut Vec<Waker>) {
        let why = if by_runtime {
            RUNTIME_SHUT_DOWN
        } else {
            DEREGISTERED
        };
        self.shutdown.store(why, SeqCst);
        self.take_wakers([true, true], wake);
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire) != LIVE
    }

    /// The error I/O on a dead record fails with: after a runtime shutdown, the one
    /// `runtime::is_rt_shutdown_err` recognises.
    pub(crate) fn gone_error(&self) -> io::Error {
        if self.shutdown.load(Acquire) == RUNTIME_SHUT_DOWN {
            crate::runtime::shutdown_error()
        } else {
            gone()
        }
    }

    fn ready_now(&self, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        if self.is_shutdown() {
            return Some(Err(self.gone_error()));
        }
        let ev = self.snapshot(direction);
        (ev.ready || ev.closed).then_some(Ok(ev))
    }

    /// The poll-based path: ready now, or the waker is stored and `Pending`.
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(r) = self.ready_now(direction) {
            return Poll::Ready(r);
        }
        {
            let mut w = self.waiters.lock();
            let slot = &mut w.slot[direction.index()];
            match slot {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        match self.ready_now(direction) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// The future path: like `poll_ready`, but with an entry of its own in the waiter list.
    pub(crate) fn poll_ready_waiter(
        &self,
        direction: Direction,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(r) = self.ready_now(direction) {
            self.remove_waiter(key);
            return Poll::Ready(r);
        }
        {
            let mut w = self.waiters.lock();
            match key {
                Some(k) => match w.list.get_mut(*k) {
                    Some((_, Some(old))) if old.will_wake(cx.waker()) => {}
                    Some((_, waker)) => *waker = Some(cx.waker().clone()),
                    None => *key = Some(w.list.insert((direction, Some(cx.waker().clone())))),
                },
                None => *key = Some(w.list.insert((direction, Some(cx.waker().clone())))),
            }
        }
        match self.ready_now(direction) {
            Some(r) => {
                self.remove_waiter(key);
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }

    pub(crate) fn remove_waiter(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let mut w = self.waiters.lock();
            if w.list.contains(k) {
                w.list.remove(k);
            }
        }
    }

    /// Clears `READY` if no event arrived since `ev` was taken (see the module doc).
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        let word = &self.readiness[ev.direction.index()];
        let _ = word.fetch_update(AcqRel, Acquire, |s| {
            (s >> TICK_SHIFT == ev.tick && s & READY != 0).then_some(s & !READY)
        });
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom models of the readiness/waker hand-off.
    use super::*;
    use crate::loom::Arc;
    use std::task::Wake;

    struct Flag(loom::sync::atomic::AtomicUsize);
    impl Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn readable_event() -> Event {
        Event::test_readable(7)
    }

    /// A task that got EAGAIN races an event: after both, the task is either woken or sees
    /// readiness on its re-check. Never both missed.
    #[test]
    fn eagain_races_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new(7));
            let flag = std::sync::Arc::new(Flag(loom::sync::atomic::AtomicUsize::new(0)));
            let waker = Waker::from(flag.clone());
            // The task read the state, tried the syscall, got EAGAIN...
            let seen = io.snapshot(Direction::Read);
            let io2 = io.clone();
            let driver = loom::thread::spawn(move || {
                let mut wake = Vec::new();
                io2.set_readiness(&readable_event(), &mut wake);
                wake.into_iter().for_each(Waker::wake);
            });
            io.clear_readiness(seen);
            let mut cx = Context::from_waker(&waker);
            let polled = io.poll_ready(Direction::Read, &mut cx);
            driver.join().unwrap();
            let woken = flag.0.load(SeqCst) > 0;
            assert!(polled.is_ready() || woken, "lost wake-up");
        });
    }

    /// A stale clear (tick from before an event) never erases that event.
    #[test]
    fn stale_clear_keeps_new_event() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new(7));
            let before = io.snapshot(Direction::Read);
            let io2 = io.clone();
            let driver = loom::thread::spawn(move || {
                let mut wake = Vec::new();
                io2.set_readiness(&readable_event(), &mut wake);
            });
            io.clear_readiness(before);
            driver.join().unwrap();
            assert!(
                io.snapshot(Direction::Read).is_ready(),
                "event erased by a stale clear"
            );
        });
    }
}
