//! Spawning, joining, aborting, panics, block_on rules, both flavours.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn spawn_from_outside_and_inside() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let outside = rt.spawn(async { netpoll::spawn(async { 21 }).await.unwrap() * 2 });
        assert_eq!(rt.block_on(outside).unwrap(), 42);
        let h = rt.handle().clone();
        let from_thread = std::thread::spawn(move || h.spawn(async { 5 }))
            .join()
            .unwrap();
        assert_eq!(rt.block_on(from_thread).unwrap(), 5);
    });
}

#[test]
fn ping_pong_100k_tasks_through_channels() {
    bounded(Duration::from_secs(60), || {
        let rt = rt(2);
        let pairs = 50_000;
        let done = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut joins = Vec::with_capacity(pairs * 2);
            for i in 0..pairs {
                let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<usize>(1);
                let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<usize>(1);
                let d = done.clone();
                joins.push(netpoll::spawn(async move {
                    for round in 0..3 {
                        ping_tx.send(i + round).await.unwrap();
                        assert_eq!(pong_rx.recv().await.unwrap(), i + round + 1);
                    }
                    d.fetch_add(1, SeqCst);
                }));
                let d = done.clone();
                joins.push(netpoll::spawn(async move {
                    while let Some(v) = ping_rx.recv().await {
                        if pong_tx.send(v + 1).await.is_err() {
                            break;
                        }
                    }
                    d.fetch_add(1, SeqCst);
                }));
            }
            for j in joins {
                j.await.unwrap();
            }
        });
        assert_eq!(done.load(SeqCst), pairs * 2);
    });
}

#[test]
fn many_tasks_all_finish_on_one_worker() {
    bounded(LIMIT, || {
        let rt = rt(1);
        let n = rt.block_on(async {
            let hs: Vec<_> = (0..10_000)
                .map(|i| netpoll::spawn(async move { i }))
                .collect();
            let mut s = 0u64;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(n, (0..10_000u64).sum());
    });
}

#[test]
fn abort_cancels_and_runs_destructor() {
    bounded(LIMIT, || {
        let rt = rt(2);
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let f = Flag(dropped.clone());
        let h = rt.spawn(async move {
            let _f = f;
            std::future::pending::<()>().await
        });
        let err = rt.block_on(async {
            netpoll::time::sleep(Duration::from_millis(5)).await;
            h.abort();
            h.await.unwrap_err()
        });
        assert!(err.is_cancelled());
        assert_eq!(dropped.load(SeqCst), 1);
    });
}

#[test]
fn abort_after_completion_keeps_output() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let h = rt.spawn(async { 3 });
        while !h.is_finished() {
            std::thread::yield_now();
        }
        h.abort();
        assert_eq!(rt.block_on(h).unwrap(), 3);
    });
}

#[test]
fn panic_is_caught_and_workers_survive() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            for _ in 0..10 {
                let err = netpoll::spawn(async { panic!("boom") }).await.unwrap_err();
                assert!(err.is_panic());
                let payload = err.into_panic();
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
            }
            // The workers are still there.
            assert_eq!(netpoll::spawn(async { 1 }).await.unwrap(), 1);
        });
        assert_eq!(rt.metrics().num_worker_threads_alive(), 2);
    });
}

#[test]
fn nested_block_on_is_refused_with_a_clear_message() {
    bounded(LIMIT, || {
        let rt = Arc::new(rt(1));
        let rt2 = rt.clone();
        let err = rt
            .block_on(async move {
                let h = netpoll::runtime::Handle::current();
                let inner = netpoll::spawn(async move { h.block_on(async {}) });
                let _keep = rt2;
                inner.await
            })
            .unwrap_err();
        let msg = panic_text(err.into_panic());
        assert!(
            msg.contains("Cannot start a runtime from within a runtime"),
            "{msg}"
        );
        // block_on inside block_on on the same thread, too.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { rt.block_on(async {}) })
        }));
        assert!(r.is_err());
    });
}

#[test]
fn spawn_outside_runtime_panics_with_message() {
    let r = std::panic::catch_unwind(|| netpoll::spawn(async {}));
    let msg = panic_text(r.unwrap_err());
    assert!(msg.contains("no netpoll runtime"), "{msg}");
    assert!(netpoll::runtime::Handle::try_current()
        .unwrap_err()
        .is_missing_context());
}

#[test]
fn yield_now_lets_others_run() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let order = Arc::new(parking_lot_free::Log::default());
        rt.block_on(async {
            let o1 = order.clone();
            let a = netpoll::spawn(async move {
                for i in 0..3 {
                    o1.push(format!("a{i}"));
                    netpoll::task::yield_now().await;
                }
            });
            let o2 = order.clone();
            let b = netpoll::spawn(async move {
                for i in 0..3 {
                    o2.push(format!("b{i}"));
                    netpoll::task::yield_now().await;
                }
            });
            a.await.unwrap();
            b.await.unwrap();
        });
        let log = order.take();
        // Interleaved, not a0 a1 a2 b0 b1 b2.
        assert_ne!(log, ["a0", "a1", "a2", "b0", "b1", "b2"], "{log:?}");
        assert_eq!(log.len(), 6);
    });
}

mod parking_lot_free {
    #[derive(Default)]
    pub struct Log(std::sync::Mutex<Vec<String>>);
    impl Log {
        pub fn push(&self, s: String) {
            self.0.lock().unwrap().push(s);
        }
        pub fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }
}

#[test]
fn current_thread_runs_tasks_on_the_caller() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let me = std::thread::current().id();
        let ids = rt.block_on(async move {
            let hs: Vec<_> = (0..100)
                .map(|_| netpoll::spawn(async { std::thread::current().id() }))
                .collect();
            let mut ids = Vec::new();
            for h in hs {
                ids.push(h.await.unwrap());
            }
            ids
        });
        assert!(ids.iter().all(|&id| id == me));
        // Spawned from outside before block_on: runs on the next block_on.
        let h = rt.spawn(async { 9 });
        assert_eq!(rt.block_on(h).unwrap(), 9);
    });
}

#[test]
fn spawn_blocking_returns_through_join_handle() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (v, panicked) = rt.block_on(async {
            let hs: Vec<_> = (0..32)
                .map(|i| {
                    netpoll::spawn_blocking(move || {
                        std::thread::sleep(Duration::from_millis(20));
                        i
                    })
                })
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            let p = netpoll::spawn_blocking(|| panic!("blocking boom"))
                .await
                .unwrap_err()
                .is_panic();
            (s, p)
        });
        assert_eq!(v, (0..32).sum());
        assert!(panicked);
        // They ran in parallel: more than one thread was started.
        assert!(rt.metrics().num_blocking_threads() > 1);
    });
}

#[test]
fn blocking_pool_respects_its_cap() {
    bounded(LIMIT, || {
        let rt = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(3)
            .build()
            .unwrap();
        let peak = Arc::new(AtomicUsize::new(0));
        let cur = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let hs: Vec<_> = (0..12)
                .map(|_| {
                    let (peak, cur) = (peak.clone(), cur.clone());
                    netpoll::spawn_blocking(move || {
                        let now = cur.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                        cur.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        assert!(peak.load(SeqCst) <= 3, "peak {}", peak.load(SeqCst));
        assert!(rt.metrics().num_blocking_threads() <= 3);
    });
}

#[test]
fn netpoll_workers_env_sets_the_default() {
    // Run this test binary again with the variable set: env changes are process-wide.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "env_child_reports_workers",
            "--ignored",
            "--nocapture",
        ])
        .env("NETPOLL_WORKERS", "3")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("workers=3"), "{stdout}");
    let bad = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_child_reports_workers",
            "--ignored",
            "--nocapture",
        ])
        .env("NETPOLL_WORKERS", "zero")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("NETPOLL_WORKERS must be a positive integer")
    );
}

#[test]
#[ignore = "child of netpoll_workers_env_sets_the_default"]
fn env_child_reports_workers() {
    match netpoll::runtime::Runtime::new() {
        Ok(rt) => println!("workers={}", rt.metrics().num_workers()),
        Err(e) => println!("error: {e}"),
    }
}

#[test]
fn builder_thread_name_is_used() {
    bounded(LIMIT, || {
        let rt = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("np-test-w")
            .build()
            .unwrap();
        let name = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(String::from) }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("np-test-w"));
    });
}
