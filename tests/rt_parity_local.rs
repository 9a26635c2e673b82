//! tokio parity, `runtime` and `task`: each item checked against what tokio's documentation
//! promises.
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::runtime::{self, Builder};
use netpoll::task::{self, LocalSet};
use support::{bounded, rt, rt_current, wait_until};

const LIMIT: Duration = Duration::from_secs(20);

// Regression: a current-thread `block_on` future that loops on `yield_now` starved the tasks it
// spawned (the scheduler went back to the woken main future before running any task), so a
// loop waiting for a task's flag never ended.
#[test]
fn current_thread_block_on_yield_loop_lets_spawned_tasks_run() {
    bounded(Duration::from_secs(10), || {
        let rt = rt_current();
        rt.block_on(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            netpoll::spawn(async move { f.store(true, Ordering::SeqCst) });
            while !flag.load(Ordering::SeqCst) {
                task::yield_now().await;
            }
        });
    });
}

#[test]
fn worker_index_on_multi_thread_and_current_thread() {
    bounded(LIMIT, || {
        assert_eq!(runtime::worker_index(), None, "off any runtime");
        let rt = rt(2);
        let seen = rt.block_on(async {
            assert_eq!(
                runtime::worker_index(),
                None,
                "multi-thread block_on future"
            );
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    netpoll::spawn(async {
                        task::yield_now().await;
                        runtime::worker_index()
                    })
                })
                .collect();
            let mut seen = Vec::new();
            for h in hs {
                seen.push(h.await.expect("task"));
            }
            let blocking = netpoll::spawn_blocking(runtime::worker_index)
                .await
                .expect("blocking task");
            assert_eq!(blocking, None, "blocking pool thread");
            seen
        });
        let workers = rt.metrics().num_workers();
        assert!(
            seen.iter().all(|i| i.is_some_and(|i| i < workers)),
            "{seen:?}"
        );

        let cur = rt_current();
        let (main, in_task) = cur.block_on(async {
            let main = runtime::worker_index();
            let in_task = netpoll::spawn(async { runtime::worker_index() })
                .await
                .expect("task");
            (main, in_task)
        });
        assert_eq!((main, in_task), (Some(0), Some(0)));
        assert_eq!(runtime::worker_index(), None, "after block_on");
    });
}

#[test]
fn is_rt_shutdown_err_recognises_the_error_of_a_dead_runtime() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let handle = rt.handle().clone();
        let (a, _b) = {
            let _g = rt.enter();
            netpoll::net::UnixStream::pair().expect("socket pair")
        };
        drop(rt);
        // I/O on a socket whose runtime is gone.
        let other = rt_current();
        let err = other
            .block_on(async {
                let mut buf = [0u8; 4];
                a.read(&mut buf).await
            })
            .expect_err("read on a socket of a shut-down runtime");
        assert!(runtime::is_rt_shutdown_err(&err), "{err:?}");
        // Registering with a runtime that is gone.
        let err = {
            let _g = handle.enter();
            netpoll::net::UnixStream::pair().expect_err("registration after shutdown")
        };
        assert!(runtime::is_rt_shutdown_err(&err), "{err:?}");
        // Other errors are not.
        assert!(!runtime::is_rt_shutdown_err(&std::io::Error::other(
            "runtime shut down"
        )));
        assert!(!runtime::is_rt_shutdown_err(&std::io::Error::from(
            std::io::ErrorKind::BrokenPipe
        )));
        assert!(!runtime::is_rt_shutdown_err(
            &std::io::Error::from_raw_os_error(libc_ebadf())
        ));
    });
}

/// EBADF's number (9 on every platform netpoll supports).
fn libc_ebadf() -> i32 {
    9
}

#[test]
fn builder_name_is_the_handle_name() {
    bounded(LIMIT, || {
        let named = Builder::new_multi_thread()
            .worker_threads(1)
            .name("ingest")
            .build()
            .expect("runtime");
        assert_eq!(named.handle().name(), Some("ingest"));
        let inside = named.block_on(async {
            netpoll::spawn(async { runtime::Handle::current().name().map(str::to_owned) })
                .await
                .expect("task")
        });
        assert_eq!(inside.as_deref(), Some("ingest"));
        assert_eq!(rt_current().handle().name(), None);
    });
}

#[test]
fn tiny_io_event_limits_still_deliver_every_event() {
    bounded(LIMIT, || {
        // One event per wait, busy or not: every reader must still be woken.
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .max_io_events_per_tick(1)
            .max_io_events_per_busy_tick(1)
            .enable_all()
            .build()
            .expect("runtime");
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        rt.block_on(async move {
            // Busy tasks, so workers also take the busy-tick path.
            let stop = Arc::new(AtomicBool::new(false));
            let spinners: Vec<_> = (0..4)
                .map(|_| {
                    let stop = stop.clone();
                    netpoll::spawn(async move {
                        while !stop.load(Ordering::SeqCst) {
                            task::yield_now().await;
                        }
                    })
                })
                .collect();
            let mut writers = Vec::new();
            let mut readers = Vec::new();
            for _ in 0..16 {
                let (a, b) = netpoll::net::UnixStream::pair().expect("pair");
                let d = d.clone();
                readers.push(netpoll::spawn(async move {
                    let mut buf = [0u8; 1];
                    let n = a.read(&mut buf).await.expect("read");
                    assert_eq!((n, buf[0]), (1, 7));
                    d.fetch_add(1, Ordering::SeqCst);
                }));
                writers.push(b);
            }
            // Let the readers reach EAGAIN and wait for their events.
            netpoll::time::sleep(Duration::from_millis(20)).await;
            for w in &writers {
                w.write(&[7]).await.expect("write");
            }
            for r in readers {
                r.await.expect("reader");
            }
            stop.store(true, Ordering::SeqCst);
            for s in spinners {
                s.await.expect("spinner");
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 16);
    });
}

#[test]
#[should_panic(expected = "max_io_events_per_busy_tick must be non-zero")]
fn zero_busy_tick_panics() {
    Builder::new_multi_thread().max_io_events_per_busy_tick(0);
}

#[test]
fn global_queue_depth_counts_tasks_spawned_from_outside() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let m = rt.metrics();
        assert_eq!(m.global_queue_depth(), 0);
        let hs: Vec<_> = (0..3).map(|i| rt.spawn(async move { i })).collect();
        // Nobody runs the current-thread runtime outside block_on: they wait in the injector.
        assert_eq!(m.global_queue_depth(), 3);
        let sum = rt.block_on(async move {
            let mut s = 0;
            for h in hs {
                s += h.await.expect("task");
            }
            s
        });
        assert_eq!(sum, 3);
        assert_eq!(m.global_queue_depth(), 0);
    });
}

#[test]
fn park_unpark_count_and_busy_duration_move() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let m = rt.metrics();
        assert_eq!(m.worker_park_unpark_count(0), 0);
        assert_eq!(m.worker_total_busy_duration(0), Duration::ZERO);
        rt.block_on(async {
            // Sleeping parks the worker; a task blocking its poll keeps it busy.
            netpoll::time::sleep(Duration::from_millis(5)).await;
            netpoll::spawn(async { std::thread::sleep(Duration::from_millis(30)) })
                .await
                .expect("task");
        });
        let n = m.worker_park_unpark_count(0);
        assert!(n >= 2, "parked and unparked at least once: {n}");
        assert_eq!(n % 2, 0, "not parked after block_on returned: {n}");
        let busy = m.worker_total_busy_duration(0);
        assert!(busy >= Duration::from_millis(30), "{busy:?}");

        // Multi-thread: an idle worker is parked, so its count becomes odd. (A long threshold:
        // the 30 ms poll below is meant to block its worker, not to be handed off.)
        let mt = Builder::new_multi_thread()
            .worker_threads(2)
            .long_poll_threshold(Duration::from_secs(5))
            .build()
            .expect("runtime");
        mt.block_on(async { netpoll::spawn(async {}).await.expect("task") });
        let mm = mt.metrics();
        assert!(
            wait_until(Duration::from_secs(10), || (0..2)
                .any(|w| mm.worker_park_unpark_count(w) % 2 == 1)),
            "an idle worker is parked"
        );
        let before = mm.worker_total_busy_duration(0) + mm.worker_total_busy_duration(1);
        mt.block_on(async {
            netpoll::spawn(async { std::thread::sleep(Duration::from_millis(30)) })
                .await
                .expect("task")
        });
        let after = mm.worker_total_busy_duration(0) + mm.worker_total_busy_duration(1);
        assert!(
            after >= before + Duration::from_millis(30),
            "{before:?} -> {after:?}"
        );
    });
}

#[test]
fn local_set_ids_are_unique_and_stable() {
    let a = LocalSet::new();
    let b = LocalSet::new();
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id(), a.id());
    let rt = rt_current();
    assert_ne!(
        a.id(),
        rt.handle().id(),
        "sets and runtimes share one id space"
    );
    assert_ne!(rt.handle().id(), rt_current().handle().id());
}

#[test]
fn unconstrained_takes_any_value() {
    // tokio's `unconstrained` has no `Future` bound; the wrapper is a future only if the
    // inner value is one.
    let _u: task::coop::Unconstrained<u8> = task::coop::unconstrained(5u8);
    let _v: task::Unconstrained<&str> = task::unconstrained("not a future");
    bounded(LIMIT, || {
        assert_eq!(rt_current().block_on(task::unconstrained(async { 9 })), 9);
    });
}
