//! Every worker blocked in one long poll while I/O tasks wait: sysmon hands the stuck workers'
//! queues to other threads, and every I/O task keeps making progress during the block.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::bounded;

const WORKERS: usize = 2;
const PAIRS: usize = 32;
const BLOCK: Duration = Duration::from_millis(1_500);

#[test]
fn io_keeps_running_while_every_worker_is_blocked() {
    let _serial = crate::serial();
    crate::soak("all_blocked", |_| {
        bounded(Duration::from_secs(60), round);
    });
}

fn round() {
    let rt = netpoll::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .log_long_polls(false)
        .enable_all()
        .build()
        .expect("runtime");
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..PAIRS).map(|_| AtomicU64::new(0)).collect());
    let ticks = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Snapshots of the per-pair counts taken inside the blocked window: at its start (when
    // every worker is blocked) and at its end (before any blocker returns).
    let snapshots: Arc<Mutex<Vec<Vec<u64>>>> = Arc::new(Mutex::new(Vec::new()));
    let report = rt.block_on(async {
        let pairs: Vec<_> = (0..PAIRS)
            .map(|p| {
                let counts = Arc::clone(&counts);
                crate::spawn_ping_pong(p, 64, Arc::clone(&stop), move || {
                    counts[p].fetch_add(1, SeqCst);
                })
            })
            .collect();
        let ticker = {
            let (ticks, stop) = (Arc::clone(&ticks), Arc::clone(&stop));
            netpoll::spawn(async move {
                while !stop.load(SeqCst) {
                    netpoll::time::sleep(Duration::from_millis(5)).await;
                    ticks.fetch_add(1, SeqCst);
                }
            })
        };
        // Let every pair get going.
        netpoll::time::sleep(Duration::from_millis(50)).await;

        // One blocker per worker; each spins (sleeping) until all have arrived, so the block
        // covers every worker at once, then blocks for BLOCK inside the same poll.
        let arrived = Arc::new(AtomicUsize::new(0));
        let ticks_at = Arc::new(Mutex::new((0u64, 0u64)));
        let blockers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let (arrived, counts, snapshots, ticks, ticks_at) = (
                    Arc::clone(&arrived),
                    Arc::clone(&counts),
                    Arc::clone(&snapshots),
                    Arc::clone(&ticks),
                    Arc::clone(&ticks_at),
                );
                netpoll::spawn(async move {
                    arrived.fetch_add(1, SeqCst);
                    let t = Instant::now();
                    while arrived.load(SeqCst) < WORKERS {
                        assert!(t.elapsed() < Duration::from_secs(10), "blockers never met");
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let snap = || counts.iter().map(|c| c.load(SeqCst)).collect::<Vec<_>>();
                    if i == 0 {
                        snapshots.lock().unwrap().push(snap());
                        ticks_at.lock().unwrap().0 = ticks.load(SeqCst);
                    }
                    std::thread::sleep(BLOCK);
                    if i == 0 {
                        snapshots.lock().unwrap().push(snap());
                        ticks_at.lock().unwrap().1 = ticks.load(SeqCst);
                    }
                })
            })
            .collect();
        for b in blockers {
            b.await.expect("blocker");
        }
        stop.store(true, SeqCst);
        for p in pairs {
            p.await.expect("pair task").expect("pair io");
        }
        ticker.await.expect("ticker");
        let t = *ticks_at.lock().unwrap();
        t
    });
    let snaps = snapshots.lock().unwrap();
    assert_eq!(snaps.len(), 2);
    let progress: Vec<u64> = snaps[1].iter().zip(&snaps[0]).map(|(b, a)| b - a).collect();
    let m = rt.metrics();
    let summary = format!(
        "round trips per pair during the {BLOCK:?} block: {progress:?}; timer ticks {} -> {}; \
         hand-offs {}, long polls {}",
        report.0,
        report.1,
        m.sysmon_handoff_count(),
        m.long_poll_count()
    );
    eprintln!("all_blocked: {summary}");
    assert!(
        progress.iter().all(|&n| n > 0),
        "an I/O task made no progress while every worker was blocked: {summary}"
    );
    assert!(report.1 > report.0, "the timer stalled: {summary}");
    assert!(m.sysmon_handoff_count() >= 1, "{summary}");
}
