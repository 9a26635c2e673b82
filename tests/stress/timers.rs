//! Timers under load: a million sleeps spread over every worker while I/O runs; no sleep ends
//! before its deadline, and lateness stays within a tolerance far above the wheel's 1 ms tick
//! (the machine is shared, so the bound is generous: it catches lost or stuck timers, not
//! slowness).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{bounded, rt};

const TASKS: usize = 10_000;
const SLEEPS_PER_TASK: usize = 100;
const IO_PAIRS: usize = 8;
/// Lateness histogram: bucket k counts sleeps late by [k, k+1) ms; the last bucket is open.
const BUCKETS: usize = 1_001;

struct Lateness {
    early: AtomicUsize,
    buckets: Vec<AtomicUsize>,
    worst_us: AtomicU64,
}

impl Lateness {
    fn record(&self, asked: Duration, got: Duration) {
        if got < asked {
            self.early.fetch_add(1, SeqCst);
            return;
        }
        let late = got - asked;
        let k = (late.as_millis() as usize).min(BUCKETS - 1);
        self.buckets[k].fetch_add(1, SeqCst);
        self.worst_us.fetch_max(late.as_micros() as u64, SeqCst);
    }

    /// The lateness (in whole ms, rounded up to the bucket's end) under which `q` of all sleeps
    /// ended.
    fn quantile_ms(&self, q: f64) -> usize {
        let counts: Vec<usize> = self.buckets.iter().map(|b| b.load(SeqCst)).collect();
        let total: usize = counts.iter().sum();
        let want = (total as f64 * q).ceil() as usize;
        let mut seen = 0;
        for (k, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return k + 1;
            }
        }
        BUCKETS
    }
}

#[test]
fn a_million_sleeps_under_io_load_are_never_early_and_never_lost() {
    let _serial = crate::serial();
    crate::soak("timers", |_| {
        bounded(Duration::from_secs(180), round);
    });
}

fn round() {
    let started = Instant::now();
    let rt = rt(2);
    let lat = Arc::new(Lateness {
        early: AtomicUsize::new(0),
        buckets: (0..BUCKETS).map(|_| AtomicUsize::new(0)).collect(),
        worst_us: AtomicU64::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let round_trips = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        // I/O load: pairs ping-ponging 1 KiB with byte checks until the timers are done.
        let io: Vec<_> = (0..IO_PAIRS)
            .map(|p| {
                let rts = Arc::clone(&round_trips);
                crate::spawn_ping_pong(p, 1024, Arc::clone(&stop), move || {
                    rts.fetch_add(1, SeqCst);
                })
            })
            .collect();

        // The sleeps: each task runs its share one after another, 1..=20 ms each, the lengths
        // spread so that every wheel slot and both levels of the wheel below 64 ms are used.
        let sleepers: Vec<_> = (0..TASKS)
            .map(|t| {
                let lat = Arc::clone(&lat);
                netpoll::spawn(async move {
                    for k in 0..SLEEPS_PER_TASK {
                        let ms = 1 + ((t * 31 + k * 17) % 20) as u64;
                        let asked =
                            Duration::from_millis(ms) + Duration::from_micros((t % 7) as u64 * 100);
                        let t0 = Instant::now();
                        netpoll::time::sleep(asked).await;
                        lat.record(asked, t0.elapsed());
                    }
                })
            })
            .collect();
        for s in sleepers {
            s.await.expect("sleeper");
        }
        stop.store(true, SeqCst);
        for h in io {
            h.await.expect("io task").expect("io pair");
        }
    });
    let total: usize = lat.buckets.iter().map(|b| b.load(SeqCst)).sum();
    let summary = format!(
        "{total} sleeps in {:?}: early={} p50<={}ms p99<={}ms p99.9<={}ms worst={}us; \
         I/O round trips meanwhile: {}; pending timers after: {}",
        started.elapsed(),
        lat.early.load(SeqCst),
        lat.quantile_ms(0.5),
        lat.quantile_ms(0.99),
        lat.quantile_ms(0.999),
        lat.worst_us.load(SeqCst),
        round_trips.load(SeqCst),
        rt.metrics().num_pending_timers(),
    );
    eprintln!("timers: {summary}");
    assert_eq!(lat.early.load(SeqCst), 0, "sleeps ended early: {summary}");
    assert_eq!(total, TASKS * SLEEPS_PER_TASK, "{summary}");
    // Tolerances: a lost wake-up shows up as seconds, a stuck wheel as everything late.
    assert!(lat.quantile_ms(0.99) <= 250, "p99 lateness: {summary}");
    assert!(
        lat.worst_us.load(SeqCst) < 5_000_000,
        "worst lateness: {summary}"
    );
    assert!(
        round_trips.load(SeqCst) > 0,
        "I/O made no progress: {summary}"
    );
    assert_eq!(rt.metrics().num_pending_timers(), 0, "{summary}");
}
