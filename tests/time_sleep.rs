//! Timers: order, accuracy within a tolerance, timeouts, intervals, a million timers.
mod support;

use std::time::Duration;

use netpoll::time::{interval, sleep, sleep_until, timeout, Instant};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn timers_fire_in_order_and_never_early() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (order, lates) = rt.block_on(async {
            let start = Instant::now();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for ms in [40u64, 10, 30, 20, 50, 1] {
                let tx = tx.clone();
                netpoll::spawn(async move {
                    let deadline = start + Duration::from_millis(ms);
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(now >= deadline, "fired {:?} early", deadline - now);
                    tx.send((ms, now - deadline)).unwrap();
                });
            }
            drop(tx);
            let mut order = Vec::new();
            let mut lates = Vec::new();
            while let Some((ms, late)) = rx.recv().await {
                order.push(ms);
                lates.push(late);
            }
            (order, lates)
        });
        assert_eq!(order, [1, 10, 20, 30, 40, 50]);
        // Tolerance, not speed: a loaded 2-core CI box can be slow, but not 100 ms slow.
        assert!(
            lates.iter().all(|l| *l < Duration::from_millis(100)),
            "{lates:?}"
        );
    });
}

#[test]
fn sleep_on_current_thread_runtime() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let took = rt.block_on(async {
            let t = Instant::now();
            sleep(Duration::from_millis(15)).await;
            t.elapsed()
        });
        assert!(took >= Duration::from_millis(15));
    });
}

#[test]
fn timeout_expires_and_passes() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let r = timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
            assert!(r.is_err());
            let r = timeout(Duration::from_secs(5), async { 4 }).await;
            assert_eq!(r, Ok(4));
            let e: std::io::Error = timeout(Duration::ZERO, std::future::pending::<()>())
                .await
                .unwrap_err()
                .into();
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        });
    });
}

#[test]
fn interval_ticks_on_schedule() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let start = Instant::now();
            let mut iv = interval(Duration::from_millis(10));
            let first = iv.tick().await;
            assert!(first - start < Duration::from_millis(5));
            for i in 1..=5u32 {
                let t = iv.tick().await;
                assert_eq!(t, first + Duration::from_millis(10) * i);
                assert!(Instant::now() >= t);
            }
        });
    });
}

#[test]
fn a_million_timers_created_and_dropped() {
    bounded(Duration::from_secs(60), || {
        let rt = rt(2);
        let n = 1_000_000;
        rt.block_on(async move {
            let waker = futures_task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut sleeps: Vec<_> = (0..n)
                .map(|i| Box::pin(sleep(Duration::from_secs(10 + (i % 1000) as u64))))
                .collect();
            for s in sleeps.iter_mut() {
                assert!(s.as_mut().poll(&mut cx).is_pending());
            }
            assert_eq!(
                netpoll::runtime::Handle::current()
                    .metrics()
                    .num_pending_timers(),
                n
            );
            drop(sleeps);
            assert_eq!(
                netpoll::runtime::Handle::current()
                    .metrics()
                    .num_pending_timers(),
                0
            );
        });
    });
}

use std::future::Future;

#[test]
fn many_concurrent_sleeps_across_workers_all_fire() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let hs: Vec<_> = (0..10_000u64)
                .map(|i| {
                    netpoll::spawn(async move {
                        let d = Duration::from_millis(i % 50);
                        let t = Instant::now();
                        sleep(d).await;
                        assert!(t.elapsed() >= d);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(rt.metrics().num_pending_timers(), 0);
    });
}

#[test]
fn a_timer_from_a_non_runtime_thread_interrupts_the_poller() {
    // block_on's thread is not a worker: its sleep must wake the worker blocked in epoll_wait
    // (which had no timer and so no timeout).
    bounded(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            for _ in 0..20 {
                let t = Instant::now();
                sleep(Duration::from_millis(2)).await;
                assert!(t.elapsed() < Duration::from_millis(500));
            }
        });
    });
}
