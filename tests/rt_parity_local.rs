//! tokio parity, `runtime` and `task`: `LocalRuntime`, `worker_index`, `is_rt_shutdown_err`,
//! `Builder::name`, the netpoller's event limits, the newer worker metrics and `LocalSet::id`,
//! each checked against what tokio's documentation promises.
mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::runtime::{self, Builder, LocalOptions, LocalRuntime};
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
fn local_runtime_block_on_yield_loop_lets_local_tasks_run() {
    bounded(Duration::from_secs(10), || {
        let rt = LocalRuntime::new().expect("local runtime");
        rt.block_on(async {
            let flag = Rc::new(Cell::new(false));
            let f = flag.clone();
            task::spawn_local(async move { f.set(true) });
            while !flag.get() {
                task::yield_now().await;
            }
        });
    });
}

#[test]
fn local_runtime_runs_not_send_futures_without_a_local_set() {
    bounded(LIMIT, || {
        let rt = LocalRuntime::new().expect("local runtime");
        let counter = Rc::new(Cell::new(0u32));
        // Spawned before `block_on`: runs once it is driven.
        let c = counter.clone();
        let early = rt.spawn_local(async move {
            c.set(c.get() + 1);
            c.get()
        });
        let c = counter.clone();
        let total = rt.block_on(async move {
            assert_eq!(early.await.expect("early task"), 1);
            // From the block_on future, and from inside a local task.
            let c2 = c.clone();
            let outer = task::spawn_local(async move {
                let c3 = c2.clone();
                let inner = task::spawn_local(async move {
                    task::yield_now().await;
                    c3.set(c3.get() + 10);
                    Rc::new(c3.get()) // a !Send output
                });
                let got = inner.await.expect("inner task");
                c2.set(c2.get() + 100);
                *got
            });
            assert_eq!(outer.await.expect("outer task"), 11);
            c.get()
        });
        assert_eq!(total, 111);
        assert_eq!(counter.get(), 111);
    });
}

#[test]
fn local_runtime_handle_spawns_from_another_thread() {
    bounded(LIMIT, || {
        let rt = LocalRuntime::new().expect("local runtime");
        let handle = rt.handle().clone();
        let out = rt.block_on(async move {
            let (tx, rx) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                // A Send task, from a thread that is not the runtime's; inside it,
                // spawn_local still works (it runs on the runtime's thread).
                let jh = handle.spawn(async {
                    let local = task::spawn_local(async {
                        let not_send = Rc::new(5);
                        task::yield_now().await;
                        *not_send
                    });
                    local.await.expect("local task from a Send task") + 1
                });
                let _ = tx.send(jh);
            });
            let jh = loop {
                match rx.try_recv() {
                    Ok(jh) => break jh,
                    Err(std::sync::mpsc::TryRecvError::Empty) => {
                        netpoll::time::sleep(Duration::from_millis(1)).await
                    }
                    Err(e) => panic!("spawner thread failed: {e}"),
                }
            };
            let _ = t.join();
            jh.await.expect("task spawned from another thread")
        });
        assert_eq!(out, 6);
    });
}

#[test]
fn local_runtime_enter_lets_spawn_local_queue_tasks() {
    bounded(LIMIT, || {
        let rt = LocalRuntime::new().expect("local runtime");
        let jh = {
            let _guard = rt.enter();
            assert!(runtime::Handle::try_current().is_ok());
            let v = Rc::new(3);
            task::spawn_local(async move { *v * 2 })
        };
        assert!(runtime::Handle::try_current().is_err(), "guard restored");
        assert_eq!(rt.block_on(jh).expect("queued local task"), 6);
    });
}

#[test]
fn local_runtime_spawn_blocking_metrics_and_shutdown_timeout() {
    bounded(LIMIT, || {
        let rt = LocalRuntime::new().expect("local runtime");
        assert_eq!(rt.metrics().num_workers(), 1);
        let v = rt.block_on(rt.spawn_blocking(|| 40 + 2));
        assert_eq!(v.expect("blocking task"), 42);

        // A local task that never finishes is dropped at shutdown.
        struct SetOnDrop(Rc<Cell<bool>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let guard = SetOnDrop(dropped.clone());
        let _pending = rt.spawn_local(async move {
            let _g = guard;
            std::future::pending::<()>().await
        });
        rt.block_on(task::yield_now());
        // A blocking closure still running is left behind: shutdown_timeout returns.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let _blocking = rt.spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)));
        rt.shutdown_timeout(Duration::from_millis(10));
        assert!(dropped.get(), "the pending local task was dropped");
        drop(tx);
    });
}

#[test]
fn local_runtime_shutdown_background_and_drop() {
    bounded(LIMIT, || {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build_local(LocalOptions::default())
            .expect("local runtime");
        assert_eq!(rt.block_on(async { 1 }), 1);
        rt.shutdown_background();
        let rt = LocalRuntime::new().expect("local runtime");
        let _never = rt.spawn_local(std::future::pending::<()>());
        drop(rt);
    });
}

#[test]
#[should_panic(expected = "current_thread")]
fn build_local_on_a_multi_thread_builder_panics() {
    let _ = Builder::new_multi_thread().build_local(LocalOptions::default());
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
        let local = Builder::new_current_thread()
            .name(String::from("local"))
            .build_local(LocalOptions::default())
            .expect("local runtime");
        assert_eq!(local.handle().name(), Some("local"));
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
