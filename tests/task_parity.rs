//! tokio parity (issue 15), `task`: JoinSet, AbortHandle, task ids — checked against what
//! tokio's documentation promises.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::task::{self, JoinSet};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn join_set_returns_outputs_in_completion_order() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let mut set = JoinSet::new();
            for (i, ms) in [(0u32, 60u64), (1, 5), (2, 30)] {
                set.spawn(async move {
                    netpoll::time::sleep(Duration::from_millis(ms)).await;
                    i
                });
            }
            assert_eq!(set.len(), 3);
            let mut order = Vec::new();
            while let Some(r) = set.join_next().await {
                order.push(r.unwrap());
            }
            assert_eq!(order, [1, 2, 0]);
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none(), "empty set: None at once");
        })
    });
}

#[test]
fn join_set_many_tasks_ids_and_try_join_next() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let mut set = JoinSet::new();
            let mut ids = std::collections::HashMap::new();
            for i in 0..2000u32 {
                let abort = set.spawn(async move {
                    if i % 3 == 0 {
                        task::yield_now().await;
                    }
                    (i, task::id())
                });
                ids.insert(abort.id(), i);
            }
            let mut seen = 0;
            while let Some(r) = set.join_next_with_id().await {
                let (id, (i, inner_id)) = r.unwrap();
                assert_eq!(ids[&id], i);
                assert_eq!(inner_id, id, "task::id() inside the task is its JoinSet id");
                seen += 1;
            }
            assert_eq!(seen, 2000);

            assert!(set.try_join_next().is_none(), "empty");
            set.spawn(std::future::pending::<(u32, task::Id)>());
            assert!(set.try_join_next().is_none(), "nothing finished yet");
            set.abort_all();
            assert_eq!(set.len(), 1, "aborted tasks stay until joined");
            let r = set.join_next().await.unwrap();
            assert!(r.unwrap_err().is_cancelled());
        })
    });
}

#[test]
fn join_set_drop_aborts_and_detach_all_does_not() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            struct Count(Arc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let c = Count(dropped.clone());
                set.spawn(async move {
                    let _c = c;
                    std::future::pending::<()>().await
                });
            }
            drop(set);
            assert!(
                support::wait_until(Duration::from_secs(10), || dropped.load(Ordering::SeqCst)
                    == 10),
                "dropping the set aborts its tasks"
            );

            let (tx, rx) = netpoll::sync::oneshot::channel();
            let mut set = JoinSet::new();
            set.spawn(async move {
                netpoll::time::sleep(Duration::from_millis(20)).await;
                let _ = tx.send(5);
            });
            set.detach_all();
            assert!(set.is_empty());
            drop(set);
            assert_eq!(rx.await.unwrap(), 5, "a detached task keeps running");
        })
    });
}

#[test]
fn join_set_shutdown_join_all_blocking_from_iter_and_spawn_on() {
    bounded(LIMIT, || {
        let runtime = rt(2);
        let handle = runtime.handle().clone();
        runtime.block_on(async move {
            let mut set: JoinSet<u32> = JoinSet::new();
            for _ in 0..5 {
                set.spawn(std::future::pending());
            }
            set.spawn_blocking(|| 7);
            set.spawn_on(async { 8 }, &handle);
            set.shutdown().await;
            assert!(set.is_empty());

            let set: JoinSet<u32> = (0..10u32).map(|i| async move { i * i }).collect();
            let mut all = set.join_all().await;
            all.sort_unstable();
            assert_eq!(all, (0..10u32).map(|i| i * i).collect::<Vec<_>>());

            let mut set = JoinSet::new();
            set.spawn_blocking_on(|| std::thread::current().name().map(str::to_owned), &handle);
            let name = set.join_next().await.unwrap().unwrap();
            assert!(name.is_some());
        })
    });
}

#[test]
fn join_set_join_next_is_cancel_safe() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async {
                netpoll::time::sleep(Duration::from_millis(30)).await;
                1
            });
            // Losing a select! race drops the join_next future: no output may be lost.
            for _ in 0..3 {
                netpoll::select! {
                    biased;
                    _ = netpoll::time::sleep(Duration::from_millis(1)) => {}
                    r = set.join_next() => panic!("too early: {r:?}"),
                }
            }
            assert_eq!(set.join_next().await.unwrap().unwrap(), 1);
        })
    });
}

#[test]
#[should_panic(expected = "boom")]
fn join_set_join_all_resumes_a_panic() {
    rt_current().block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom") });
        set.spawn(async {});
        let _: Vec<()> = set.join_all().await;
    });
}

#[test]
fn abort_handle_and_ids() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            assert!(
                task::try_id().is_none(),
                "the block_on future is not a task"
            );
            let h = netpoll::spawn(async { task::try_id() });
            let id = h.id();
            let abort = h.abort_handle();
            assert_eq!(abort.id(), id);
            assert_eq!(h.await.unwrap(), Some(id));
            assert!(abort.is_finished());

            let h = netpoll::spawn(std::future::pending::<()>());
            let abort = h.abort_handle();
            assert!(!abort.is_finished());
            let clone = abort.clone();
            clone.abort();
            assert!(h.await.unwrap_err().is_cancelled());
            assert!(abort.is_finished());
            assert!(format!("{abort:?}").contains("AbortHandle"));

            // The id is visible while the task's future is dropped (after abort) too.
            struct SeeId(Arc<AtomicUsize>);
            impl Drop for SeeId {
                fn drop(&mut self) {
                    if task::try_id().is_some() {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            let saw = Arc::new(AtomicUsize::new(0));
            let s = SeeId(saw.clone());
            let h = netpoll::spawn(async move {
                let _s = s;
                std::future::pending::<()>().await
            });
            task::yield_now().await;
            h.abort();
            let _ = h.await;
            assert_eq!(saw.load(Ordering::SeqCst), 1);
        })
    });
}

#[test]
#[should_panic(expected = "outside a task")]
fn task_id_outside_a_task_panics() {
    let _ = task::id();
}

#[test]
fn block_in_place_hands_the_queue_off_at_once() {
    bounded(LIMIT, || {
        // One worker and no sysmon: the only way the second task can run while the first is
        // blocked is block_in_place's immediate hand-off.
        let runtime = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .sysmon(false)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let blocked = netpoll::spawn(async move {
                // Queued behind us on the same worker (LIFO slot).
                let other = netpoll::spawn(async move {
                    tx.send(()).unwrap();
                });
                let ran = task::block_in_place(|| rx.recv_timeout(Duration::from_secs(10)));
                other.await.unwrap();
                ran.is_ok()
            });
            assert!(
                blocked.await.unwrap(),
                "the queued task ran while block_in_place blocked"
            );
            let m = netpoll::runtime::Handle::current().metrics();
            assert!(m.sysmon_handoff_count() >= 1);
            // The runtime still works afterwards, on the thread that took over.
            assert_eq!(netpoll::spawn(async { 5 }).await.unwrap(), 5);
        });
    });
}

#[test]
fn block_in_place_outside_a_worker_just_runs() {
    assert_eq!(task::block_in_place(|| 3), 3);
    bounded(LIMIT, || {
        rt(2).block_on(async { assert_eq!(task::block_in_place(|| 4), 4) });
    });
}

#[test]
#[should_panic(expected = "current_thread")]
fn block_in_place_on_a_current_thread_runtime_panics() {
    rt_current().block_on(async {
        netpoll::spawn(async { task::block_in_place(|| ()) })
            .await
            .map_err(|e| std::panic::resume_unwind(e.into_panic()))
            .ok();
    });
}

mod local_set {
    use super::*;
    use netpoll::task::LocalSet;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn spawn_local_runs_not_send_tasks_beside_the_main_future() {
        bounded(LIMIT, || {
            let runtime = rt(2);
            let local = LocalSet::new();
            let log = Rc::new(RefCell::new(Vec::new()));
            let l = log.clone();
            let out = local.block_on(&runtime, async move {
                let (tx, rx) = netpoll::sync::oneshot::channel();
                let l2 = l.clone();
                let h = task::spawn_local(async move {
                    l2.borrow_mut().push("local start");
                    netpoll::time::sleep(Duration::from_millis(5)).await;
                    l2.borrow_mut().push("local end");
                    tx.send(7).unwrap();
                    Rc::new(1) // a !Send output
                });
                let got = rx.await.unwrap();
                l.borrow_mut().push("main got");
                let rc = h.await.unwrap();
                got + *rc
            });
            assert_eq!(out, 8);
            assert_eq!(*log.borrow(), ["local start", "local end", "main got"]);
        });
    }

    #[test]
    fn unfinished_tasks_stay_and_the_set_as_a_future_waits_for_all() {
        bounded(LIMIT, || {
            let runtime = rt_current();
            let local = LocalSet::new();
            let count = Rc::new(RefCell::new(0));
            for i in 0..10u64 {
                let c = count.clone();
                local.spawn_local(async move {
                    netpoll::time::sleep(Duration::from_millis(i * 3)).await;
                    *c.borrow_mut() += 1;
                });
            }
            // Drive only until the first few are done.
            local.block_on(&runtime, netpoll::time::sleep(Duration::from_millis(1)));
            assert!(*count.borrow() < 10);
            // The set itself completes once every task has.
            runtime.block_on(local);
            assert_eq!(*count.borrow(), 10);
        });
    }

    #[test]
    fn abort_panic_drop_and_join_set() {
        bounded(LIMIT, || {
            let runtime = rt_current();
            let local = LocalSet::new();
            local.block_on(&runtime, async {
                let h = task::spawn_local(std::future::pending::<()>());
                let abort = h.abort_handle();
                task::yield_now().await;
                abort.abort();
                assert!(h.await.unwrap_err().is_cancelled());
                assert!(abort.is_finished());

                let h = task::spawn_local(async { panic!("local boom") });
                let e = h.await.unwrap_err();
                assert!(e.is_panic());

                let mut set = JoinSet::new();
                for i in 0..5u32 {
                    set.spawn_local(async move {
                        task::yield_now().await;
                        Rc::new(i)
                    });
                }
                let mut sum = 0;
                while let Some(r) = set.join_next().await {
                    sum += *r.unwrap();
                }
                assert_eq!(sum, 10);

                // task::id works in local tasks too.
                let h = task::spawn_local(async { task::id() });
                let id = h.id();
                assert_eq!(h.await.unwrap(), id);
            });

            // Dropping the set drops the unfinished futures; their handles see cancellation.
            let dropped = Rc::new(RefCell::new(false));
            struct OnDrop(Rc<RefCell<bool>>);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    *self.0.borrow_mut() = true;
                }
            }
            let d = OnDrop(dropped.clone());
            let h = local.spawn_local(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
            local.block_on(&runtime, task::yield_now());
            drop(local);
            assert!(*dropped.borrow());
            let r = runtime.block_on(h);
            assert!(r.unwrap_err().is_cancelled());
        });
    }

    #[test]
    fn a_busy_local_task_does_not_starve_the_main_future() {
        bounded(LIMIT, || {
            let runtime = rt_current();
            let local = LocalSet::new();
            local.block_on(&runtime, async {
                task::spawn_local(async {
                    loop {
                        task::yield_now().await;
                    }
                });
                netpoll::time::sleep(Duration::from_millis(10)).await;
            });
        });
    }

    #[test]
    #[should_panic(expected = "outside of a `task::LocalSet`")]
    fn spawn_local_outside_a_set_panics() {
        rt_current().block_on(async {
            drop(task::spawn_local(async {}));
        });
    }

    #[test]
    fn enter_lets_spawn_local_add_to_the_set() {
        let runtime = rt_current();
        let local = LocalSet::new();
        let h = {
            let _g = local.enter();
            task::spawn_local(async { 3 })
        };
        assert_eq!(local.block_on(&runtime, h).unwrap(), 3);
    }

    #[test]
    fn join_handle_is_send_when_the_output_is() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        let runtime = rt_current();
        runtime.block_on(async {
            let h = netpoll::spawn(async { 1u8 });
            send_sync(&h);
            h.await.unwrap();
        });
    }
}
