//! The netpoller: one selector, the registration slab, and the lock that says who may wait on
//! the selector. Whoever holds [`Driver::try_poller`]'s guard may call [`Driver::poll`]: a worker
//! that ran dry (timeout 0), the one idle worker that blocks until the next timer, or sysmon.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use super::scheduled_io::ScheduledIo;
use crate::loom::{Mutex, MutexGuard};
use crate::sys::{Events, Selector};

/// How many events one wait returns at most, by default (`Builder::max_io_events_per_tick`).
pub(crate) const DEFAULT_EVENTS_PER_TICK: usize = 1024;

struct Regs {
    slab: Slab<Arc<ScheduledIo>>,
    /// Generation of the next registration; makes tokens of reused slab slots differ.
    next_gen: u32,
    shutdown: bool,
}

/// Counters for metrics; relaxed, for humans.
#[derive(Debug, Default)]
pub(crate) struct DriverMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) events: AtomicU64,
    pub(crate) registrations: AtomicU64,
}

pub(crate) struct Driver {
    selector: Selector,
    regs: Mutex<Regs>,
    poller: Mutex<Events>,
    /// Events per wait (`Builder::max_io_events_per_tick`).
    events_per_tick: usize,
    /// Events per non-blocking wait of a worker that still has tasks
    /// (`Builder::max_io_events_per_busy_tick`; defaults to `events_per_tick`).
    events_per_busy_tick: usize,
    pub(crate) metrics: DriverMetrics,
}

pub(crate) type PollerGuard<'a> = MutexGuard<'a, Events>;

impl Driver {
    /// A netpoller whose waits return at most `events_per_tick` events, or
    /// `events_per_busy_tick` for a busy worker's non-blocking wait.
    pub(crate) fn new(
        events_per_tick: usize,
        events_per_busy_tick: Option<usize>,
    ) -> io::Result<Driver> {
        let events_per_tick = events_per_tick.max(1);
        let events_per_busy_tick = events_per_busy_tick.unwrap_or(events_per_tick).max(1);
        Ok(Driver {
            selector: Selector::new()?,
            regs: Mutex::new(Regs {
                slab: Slab::new(),
                next_gen: 1,
                shutdown: false,
            }),
            poller: Mutex::new(Events::with_capacity(
                events_per_tick.max(events_per_busy_tick),
            )),
            events_per_tick,
            events_per_busy_tick,
            metrics: DriverMetrics::default(),
        })
    }

    /// Registers `fd` once, edge-triggered, for both directions.
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<Arc<ScheduledIo>> {
        let io = {
            let mut regs = self.regs.lock();
            if regs.shutdown {
                return Err(crate::runtime::shutdown_error());
            }
            let gen = regs.next_gen;
            regs.next_gen = regs.next_gen.wrapping_add(1).max(1);
            let entry = regs.slab.vacant_entry();
            let index = u32::try_from(entry.key())
                .map_err(|_| io::Error::other("too many registrations"))?;
            let io = Arc::new(ScheduledIo::new(u64::from(gen) << 32 | u64::from(index)));
            entry.insert(io.clone());
            io
        };
        // No event can name this token before the ADD, so the slab entry may go in first.
        if let Err(e) = self.selector.register(fd, io.token()) {
            self.remove(&io, &mut Vec::new());
            return Err(e);
        }
        self.metrics.registrations.fetch_add(1, Relaxed);
        Ok(io)
    }

    /// Removes `fd` from the selector (before its owner closes it) and retires the record.
    pub(crate) fn deregister(&self, fd: RawFd, io: &ScheduledIo) -> io::Result<()> {
        let res = self.selector.deregister(fd);
        let mut wake = Vec::new();
        self.remove(io, &mut wake);
        wake.into_iter().for_each(Waker::wake);
        res
    }

    fn remove(&self, io: &ScheduledIo, wake: &mut Vec<Waker>) {
        let index = (io.token() & u64::from(u32::MAX)) as usize;
        {
            let mut regs = self.regs.lock();
            if regs
                .slab
                .get(index)
                .is_some_and(|r| r.token() == io.token())
            {
                regs.slab.remove(index);
            }
        }
        io.shutdown(false, wake);
    }

    /// Number of live registrations.
    pub(crate) fn num_registrations(&self) -> usize {
        self.regs.lock().slab.len()
    }

    /// The right to wait on the selector, if nobody else is waiting.
    pub(crate) fn try_poller(&self) -> Option<PollerGuard<'_>> {
        self.poller.try_lock()
    }

    /// Waits up to `timeout` for events and applies them; the wakers to wake go to `wake`.
    /// `busy`: the caller is a worker that still has tasks to run (a non-blocking wait, taking
    /// at most `events_per_busy_tick` events). Returns how many events named a live
    /// registration.
    pub(crate) fn poll(
        &self,
        events: &mut PollerGuard<'_>,
        timeout: Option<Duration>,
        busy: bool,
        wake: &mut Vec<Waker>,
    ) -> usize {
        self.metrics.polls.fetch_add(1, Relaxed);
        events.set_limit(if busy {
            self.events_per_busy_tick
        } else {
            self.events_per_tick
        });
        if let Err(e) = self.selector.select(events, timeout) {
            // EBADF/EINVAL here mean a broken runtime; don't spin on it.
            debug_assert!(false, "netpoll: selector wait failed: {e}");
            std::thread::sleep(
                timeout
                    .unwrap_or(Duration::from_millis(1))
                    .min(Duration::from_millis(1)),
            );
            return 0;
        }
        let mut n = 0;
        let regs = self.regs.lock();
        for ev in events.iter() {
            let token = ev.token();
            let index = (token & u64::from(u32::MAX)) as usize;
            // A stale token (closed fd, slot reused) finds another generation and is dropped.
            if let Some(io) = regs.slab.get(index).filter(|io| io.token() == token) {
                io.set_readiness(&ev, wake);
                n += 1;
            }
        }
        drop(regs);
        self.metrics.events.fetch_add(n as u64, Relaxed);
        n
    }

    /// Interrupts a blocked `poll`.
    pub(crate) fn unpark(&self) {
        if let Err(e) = self.selector.wake() {
            debug_assert!(false, "netpoll: waking the selector failed: {e}");
        }
    }

    /// Retires every registration: their waiters wake and fail from now on.
    pub(crate) fn shutdown(&self) {
        let mut wake = Vec::new();
        let all: Vec<_> = {
            let mut regs = self.regs.lock();
            regs.shutdown = true;
            regs.slab.drain().collect()
        };
        for io in &all {
            io.shutdown(true, &mut wake);
        }
        wake.into_iter().for_each(Waker::wake);
    }
}

#[cfg(all(test, not(loom), not(miri)))]
mod tests {
    //! The event limits: a wait takes at most `events_per_tick` events (`events_per_busy_tick`
    //! for a busy worker's), and what it leaves stays queued in the kernel for the next one.
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// Polls without blocking until a wait returns nothing; the events each wait applied.
    fn drain(driver: &Driver, busy: bool) -> Vec<usize> {
        let mut counts = Vec::new();
        let mut events = driver.try_poller().expect("nobody else polls");
        loop {
            let n = driver.poll(&mut events, Some(Duration::ZERO), busy, &mut Vec::new());
            if n == 0 {
                return counts;
            }
            counts.push(n);
            assert!(counts.len() < 100, "the events never ran out: {counts:?}");
        }
    }

    /// Three registered sockets, each with its initial writable edge pending.
    fn three_ready(driver: &Driver) -> Vec<(UnixStream, UnixStream, Arc<ScheduledIo>)> {
        (0..3)
            .map(|_| {
                let (a, b) = UnixStream::pair().expect("socketpair");
                a.set_nonblocking(true).expect("nonblocking");
                let io = driver.register(a.as_raw_fd()).expect("register");
                (a, b, io)
            })
            .collect()
    }

    #[test]
    fn a_wait_takes_at_most_events_per_tick() {
        let driver = Driver::new(1, None).expect("driver");
        let socks = three_ready(&driver);
        assert_eq!(drain(&driver, false), [1, 1, 1]);
        for (a, _, io) in &socks {
            driver.deregister(a.as_raw_fd(), io).expect("deregister");
        }
    }

    #[test]
    fn a_busy_wait_takes_at_most_events_per_busy_tick() {
        let driver = Driver::new(8, Some(2)).expect("driver");
        let socks = three_ready(&driver);
        assert_eq!(drain(&driver, true), [2, 1]);
        let socks2 = three_ready(&driver);
        assert_eq!(
            drain(&driver, false),
            [3],
            "an idle wait is not limited by it"
        );
        for (a, _, io) in socks.iter().chain(&socks2) {
            driver.deregister(a.as_raw_fd(), io).expect("deregister");
        }
    }
}
