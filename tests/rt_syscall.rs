//! Syscall sections (`task::enter_syscall`, Go's `entersyscall`): a blocking call made inline
//! on a worker, whose queue sysmon hands to another thread once the call has run past
//! `syscall_handoff_threshold`.
mod support;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{bounded, rt_current};

/// A 2-worker runtime with sysmon on and the given syscall hand-off threshold.
fn rt2(threshold: Duration) -> netpoll::runtime::Runtime {
    netpoll::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .syscall_handoff_threshold(threshold)
        .log_long_polls(false)
        .enable_all()
        .build()
        .expect("build runtime")
}

/// One task blocks 200 ms inside a section while `n` tasks wait in that worker's queue (the
/// other worker is kept busy so it cannot steal them); returns how long the first of them
/// waited to start.
fn queued_task_delay(rt: &netpoll::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        // Keep the other worker busy in one poll, so only a hand-off can start the queued tasks.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let hog = netpoll::spawn(async move {
            let _ = tx.send(());
            let t = Instant::now();
            while !s.load(SeqCst) && t.elapsed() < Duration::from_secs(2) {
                std::hint::spin_loop();
            }
        });
        let blocker = netpoll::spawn(async move {
            // Both run on workers; wait until the hog is surely on the other one.
            let _ = rx.recv_timeout(Duration::from_secs(5));
            // Queue tasks on this worker (a spawn from a worker goes to its own queue).
            let start = Instant::now();
            let queued: Vec<_> = (0..4)
                .map(|_| netpoll::spawn(async move { start.elapsed() }))
                .collect();
            netpoll::task::enter_syscall(|| std::thread::sleep(Duration::from_millis(200)));
            queued
        });
        let queued = blocker.await.unwrap();
        let mut first = Duration::MAX;
        for q in queued {
            first = first.min(q.await.unwrap());
        }
        stop.store(true, SeqCst);
        hog.await.unwrap();
        first
    })
}

#[test]
fn queued_tasks_start_soon_after_a_section_blocks() {
    bounded(Duration::from_secs(60), || {
        let rt = rt2(Duration::from_micros(20));
        let mut delays: Vec<Duration> = (0..3).map(|_| queued_task_delay(&rt)).collect();
        delays.sort();
        println!("syscall hand-off on (20 us): queued tasks started after {delays:?}");
        // Threshold (20 us) + one sysmon tick + a thread start; generous for a loaded CI box,
        // far below the 200 ms block.
        assert!(
            delays[1] < Duration::from_millis(100),
            "queued tasks waited {delays:?} behind a blocked section"
        );
        assert!(rt.metrics().sysmon_handoff_count() >= 1);
        assert!(
            rt.metrics().syscall_handoff_count() >= 1,
            "the hand-off came from the section rule"
        );
    });
}

#[test]
fn without_the_syscall_handoff_queued_tasks_wait_for_the_long_poll_rule_or_the_call() {
    bounded(Duration::from_secs(60), || {
        // A threshold at or above the long-poll threshold leaves sections to the long-poll
        // rule (10 ms plus its CPU-time check); with sysmon off nothing hands the queue off.
        let rt = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .sysmon(false)
            .log_long_polls(false)
            .enable_all()
            .build()
            .expect("build runtime");
        let delay = queued_task_delay(&rt);
        println!("no hand-off (sysmon off): queued tasks started after {delay:?}");
        assert!(
            delay >= Duration::from_millis(150),
            "started after {delay:?}"
        );

        let rt = rt2(Duration::from_secs(3600));
        let delay = queued_task_delay(&rt);
        println!(
            "syscall hand-off off (long-poll rule only): queued tasks started after {delay:?}"
        );
    });
}

#[test]
fn enter_syscall_just_runs_outside_a_multi_thread_worker() {
    bounded(Duration::from_secs(30), || {
        // A plain thread.
        assert_eq!(netpoll::task::enter_syscall(|| 1), 1);
        // The block_on future and a current-thread runtime's task.
        let rt = rt_current();
        assert_eq!(rt.block_on(async { netpoll::task::enter_syscall(|| 2) }), 2);
        let v = rt
            .block_on(rt.spawn(async { netpoll::task::enter_syscall(|| 3) }))
            .unwrap();
        assert_eq!(v, 3);
        // The blocking pool, and nested sections.
        let rt = rt2(Duration::from_micros(20));
        let v = rt
            .block_on(rt.spawn_blocking(|| netpoll::task::enter_syscall(|| 4)))
            .unwrap();
        assert_eq!(v, 4);
        let v = rt
            .block_on(rt.spawn(async {
                netpoll::task::enter_syscall(|| netpoll::task::enter_syscall(|| 5))
            }))
            .unwrap();
        assert_eq!(v, 5);
    });
}

#[test]
fn short_sections_cause_no_handoff() {
    bounded(Duration::from_secs(30), || {
        let rt = rt2(Duration::from_millis(5));
        rt.block_on(rt.spawn(async {
            for _ in 0..1000 {
                netpoll::task::enter_syscall(|| std::hint::black_box(1));
                netpoll::task::yield_now().await;
            }
        }))
        .unwrap();
        assert_eq!(rt.metrics().sysmon_handoff_count(), 0);
    });
}

#[test]
fn a_panic_in_a_section_leaves_the_worker_usable() {
    bounded(Duration::from_secs(30), || {
        let rt = rt2(Duration::from_micros(20));
        let res = rt.block_on(rt.spawn(async {
            netpoll::task::enter_syscall(|| panic!("boom"));
        }));
        assert!(res.unwrap_err().is_panic());
        // Both workers still run tasks.
        let v = rt.block_on(async {
            let hs: Vec<_> = (0..16).map(|i| netpoll::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(v, 120);
    });
}

#[test]
fn fs_calls_on_a_worker_run_inline() {
    bounded(Duration::from_secs(30), || {
        let rt = rt2(Duration::from_micros(20));
        let dir = std::env::temp_dir().join(format!("netpoll-rt-syscall-{}", std::process::id()));
        let path = dir.join("f");
        rt.block_on(rt.spawn(async move {
            netpoll::fs::create_dir_all(&dir).await.unwrap();
            netpoll::fs::write(&path, vec![7u8; 300_000]).await.unwrap();
            let before = netpoll::runtime::Handle::current()
                .metrics()
                .num_blocking_threads();
            for _ in 0..100 {
                assert_eq!(netpoll::fs::metadata(&path).await.unwrap().len(), 300_000);
            }
            // A File read larger than one inline chunk still reads everything.
            use netpoll::io::AsyncReadExt;
            let mut f = netpoll::fs::File::open(&path).await.unwrap();
            let mut all = Vec::new();
            f.read_to_end(&mut all).await.unwrap();
            assert_eq!(all.len(), 300_000);
            let after = netpoll::runtime::Handle::current()
                .metrics()
                .num_blocking_threads();
            assert_eq!(before, after, "no blocking-pool thread was started");
            netpoll::fs::remove_dir_all(&dir).await.unwrap();
        }))
        .unwrap();
        assert_eq!(rt.metrics().num_blocking_threads(), 0);
    });
}
