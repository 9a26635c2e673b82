//! tokio parity (issue 15): `select!`, `join!`, `try_join!`, `pin!` and `task_local!`, each
//! checked against what tokio's documentation promises.
mod support;

use netpoll::time::Instant;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

/// Ready on the `n`th poll.
struct ReadyAfter(u32, u32);
impl Future for ReadyAfter {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.0 == 0 {
            return Poll::Ready(self.1);
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn select_unbiased_picks_every_ready_branch() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let mut seen = [0u32; 3];
            for _ in 0..300 {
                let i = netpoll::select! {
                    v = async { 0 } => v,
                    v = async { 1 } => v,
                    v = async { 2 } => v,
                };
                seen[i] += 1;
            }
            // Random start: each of three always-ready branches wins about a third of the time.
            for (i, n) in seen.iter().enumerate() {
                assert!(*n > 30, "branch {i} won {n} of 300: {seen:?}");
            }
        })
    });
}

#[test]
fn select_biased_polls_in_order() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let order = Rc::new(std::cell::RefCell::new(Vec::new()));
            let probe = |i: u32| {
                let order = order.clone();
                std::future::poll_fn(move |_| {
                    order.borrow_mut().push(i);
                    if i == 2 {
                        Poll::Ready(i)
                    } else {
                        Poll::Pending
                    }
                })
            };
            for _ in 0..20 {
                order.borrow_mut().clear();
                let got = netpoll::select! {
                    biased;
                    v = probe(0) => v,
                    v = probe(1) => v,
                    v = probe(2) => v,
                };
                assert_eq!(got, 2);
                assert_eq!(*order.borrow(), vec![0, 1, 2]);
            }
        })
    });
}

#[test]
fn select_pattern_mismatch_disables_branch_and_else_runs() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            // `None` does not match `Some(v)`: that branch is disabled, the other one wins later.
            let got = netpoll::select! {
                Some(v) = async { None::<u32> } => v,
                v = ReadyAfter(3, 9) => v + 100,
            };
            assert_eq!(got, 109);

            // Every branch disabled: `else`.
            let got = netpoll::select! {
                Some(v) = async { None::<u32> } => v,
                Ok(v) = async { Err::<u32, ()>(()) } => v,
                else => 42,
            };
            assert_eq!(got, 42);

            // Preconditions are evaluated before the futures, and a false one disables.
            let got = netpoll::select! {
                v = async { 1 }, if false => v,
                v = ReadyAfter(2, 2), if 1 + 1 == 2 => v,
            };
            assert_eq!(got, 2);
        })
    });
}

#[test]
fn select_patterns_with_mut_ref_and_alternatives() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let got = netpoll::select! {
                Some(mut s) = async { Some(String::from("a")) } => { s.push('b'); s }
                _ = pending::<()>() => unreachable!(),
            };
            assert_eq!(got, "ab");

            let got = netpoll::select! {
                (ref a, 1 | 2) = async { (String::from("x"), 2) } => a.clone(),
                else => String::new(),
            };
            assert_eq!(got, "x");
        })
    });
}

#[test]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
fn select_without_else_panics_when_all_disabled() {
    rt_current().block_on(async {
        netpoll::select! {
            Some(v) = async { None::<u32> } => v,
        };
    });
}

#[test]
fn select_handler_controls_the_enclosing_code() {
    async fn first_even(mut xs: Vec<u32>) -> Result<u32, String> {
        let mut skipped = 0;
        loop {
            let next = async { xs.pop() };
            netpoll::select! {
                v = next => {
                    let v = v.ok_or_else(|| "empty".to_string())?;
                    if v % 2 == 1 {
                        skipped += 1;
                        continue;
                    }
                    if v == 0 {
                        break;
                    }
                    return Ok(v + skipped * 1000);
                }
            }
        }
        Ok(0)
    }
    bounded(LIMIT, || {
        rt_current().block_on(async {
            assert_eq!(first_even(vec![4, 3, 1]).await, Ok(2004));
            assert_eq!(first_even(vec![0, 5]).await, Ok(0));
            assert_eq!(first_even(vec![]).await, Err("empty".to_string()));
        })
    });
}

#[test]
fn select_drops_losers_before_the_handler_runs() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCount(drops.clone());
            let loser = async move {
                let _d = d;
                pending::<()>().await
            };
            let mut borrowed = vec![1];
            let seen = netpoll::select! {
                _ = loser => unreachable!(),
                // The handler may take `&mut` to what a losing future borrowed.
                _ = async { borrowed.len() } => {
                    borrowed.push(2);
                    drops.load(Ordering::SeqCst)
                }
            };
            assert_eq!(
                seen, 1,
                "the losing future is dropped before the handler runs"
            );
            assert_eq!(borrowed, vec![1, 2]);
        })
    });
}

#[test]
fn select_in_a_loop_with_pinned_sleep_and_reset() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let sleep = netpoll::time::sleep(Duration::from_secs(60));
            netpoll::pin!(sleep);
            let (tx, mut rx) = netpoll::sync::mpsc::channel::<u32>(4);
            netpoll::spawn(async move {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut got = Vec::new();
            let start = Instant::now();
            loop {
                netpoll::select! {
                    Some(v) = rx.recv() => {
                        got.push(v);
                        // Each message pushes the deadline 20 ms out.
                        sleep.as_mut().reset(Instant::now() + Duration::from_millis(20));
                    }
                    _ = &mut sleep => break,
                }
            }
            assert_eq!(got, vec![0, 1, 2]);
            assert!(start.elapsed() < Duration::from_secs(30));
        })
    });
}

#[test]
fn select_yields_when_the_budget_is_used_up() {
    bounded(LIMIT, || {
        rt(1).block_on(async {
            // A spawned task that selects over always-ready branches forever must still let
            // another task on the same worker run.
            let flag = Arc::new(AtomicUsize::new(0));
            let f2 = flag.clone();
            let spinner = netpoll::spawn(async move {
                let mut n = 0u64;
                while f2.load(Ordering::SeqCst) == 0 {
                    netpoll::select! {
                        _ = async {} => n += 1,
                        _ = async {} => n += 1,
                    }
                    // Spend budget as an always-ready resource would.
                    netpoll::task::consume_budget().await;
                }
                n
            });
            let f3 = flag.clone();
            netpoll::spawn(async move {
                f3.store(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
            assert!(spinner.await.unwrap() > 0);
        })
    });
}

#[test]
fn join_waits_for_all_and_keeps_order() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let (a, b, c) = netpoll::join!(ReadyAfter(5, 1), async { "b" }, ReadyAfter(1, 3));
            assert_eq!((a, b, c), (1, "b", 3));
            #[allow(clippy::let_unit_value)]
            let unit = netpoll::join!();
            assert_eq!(unit, ());
            let (x,) = netpoll::join!(biased; async { 7 },);
            assert_eq!(x, 7);
        })
    });
}

#[test]
fn join_is_concurrent_not_sequential() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let start = Instant::now();
            let d = Duration::from_millis(100);
            netpoll::join!(
                netpoll::time::sleep(d),
                netpoll::time::sleep(d),
                netpoll::time::sleep(d),
                netpoll::time::sleep(d),
            );
            // Sequential would take 400 ms; this bounds it far below without timing the speed.
            assert!(
                start.elapsed() < Duration::from_millis(390),
                "{:?}",
                start.elapsed()
            );
        })
    });
}

#[test]
fn join_rotates_which_future_is_polled_first() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            // Three futures that each need 8 polls: every wake-up polls all three, so the log
            // is 8 rounds of 3; the first of each round must not always be the same one.
            let log = Rc::new(std::cell::RefCell::new(Vec::new()));
            let probe = |i: u32| {
                let log = log.clone();
                let mut polls = 0;
                std::future::poll_fn(move |cx| {
                    log.borrow_mut().push(i);
                    polls += 1;
                    if polls == 8 {
                        Poll::Ready(())
                    } else {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                })
            };
            netpoll::join!(probe(0), probe(1), probe(2));
            let firsts: Vec<u32> = {
                let log = log.borrow();
                assert_eq!(log.len(), 24);
                log.chunks(3).map(|round| round[0]).collect()
            };
            for i in 0..3 {
                assert!(firsts.contains(&i), "{firsts:?}");
            }
            // `biased;` always starts at the first.
            log_clear_and_check_biased().await;
        })
    });
}

async fn log_clear_and_check_biased() {
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    let probe = |i: u32| {
        let log = log.clone();
        let mut polls = 0;
        std::future::poll_fn(move |cx| {
            log.borrow_mut().push(i);
            polls += 1;
            if polls == 4 {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
    };
    netpoll::join!(biased; probe(0), probe(1));
    assert_eq!(*log.borrow(), vec![0, 1, 0, 1, 0, 1, 0, 1]);
}

#[test]
fn try_join_returns_values_or_first_error() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let ok: Result<(u32, &str), String> =
                netpoll::try_join!(async { Ok(1) }, async { Ok("x") });
            assert_eq!(ok, Ok((1, "x")));

            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCount(drops.clone());
            let slow = async move {
                let _d = d;
                pending::<Result<u32, String>>().await
            };
            let failing = async {
                ReadyAfter(2, 0).await;
                Err::<u32, String>("boom".into())
            };
            let r = netpoll::try_join!(slow, failing);
            assert_eq!(r, Err("boom".to_string()));
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "the unfinished future is dropped"
            );
            let empty: Result<(), ()> = netpoll::try_join!();
            assert_eq!(empty, Ok(()));
        })
    });
}

#[test]
fn pin_both_forms() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let fut = async { 3 };
            netpoll::pin!(fut);
            let pinned: Pin<&mut _> = fut.as_mut();
            assert_eq!(pinned.await, 3);
            netpoll::pin! {
                let a = ReadyAfter(1, 1);
                let b = async { 2 };
            }
            assert_eq!(a.as_mut().await + b.as_mut().await, 3);
        })
    });
}

netpoll::task_local! {
    static ID: u32;
    /// A documented key, with a non-Copy type.
    pub static NAME: String;
}

#[test]
fn task_local_follows_the_task_across_threads() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let mut handles = Vec::new();
            for i in 0..16 {
                handles.push(netpoll::spawn(ID.scope(i, async move {
                    for _ in 0..20 {
                        assert_eq!(ID.get(), i);
                        netpoll::task::yield_now().await;
                    }
                    ID.get()
                })));
            }
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), i as u32);
            }
            assert!(ID.try_get().is_err(), "no value outside a scope");
        })
    });
}

#[test]
fn task_local_nesting_sync_scope_and_take_value() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            NAME.scope("outer".into(), async {
                assert_eq!(NAME.get(), "outer");
                NAME.scope("inner".into(), async {
                    assert_eq!(NAME.with(|n| n.len()), 5);
                })
                .await;
                assert_eq!(NAME.get(), "outer");
                let n = NAME.sync_scope("sync".into(), || NAME.get());
                assert_eq!(n, "sync");
                assert_eq!(NAME.get(), "outer");
            })
            .await;
            assert!(NAME.try_with(|_| ()).is_err());

            let fut = NAME.scope("taken".into(), async { NAME.try_get().ok() });
            netpoll::pin!(fut);
            assert_eq!(fut.as_mut().take_value().as_deref(), Some("taken"));
            assert_eq!(fut.await, None, "after take_value the future sees no value");
        })
    });
}

#[test]
fn task_local_value_is_set_while_an_unfinished_future_drops() {
    struct SeesValue(Arc<AtomicUsize>);
    impl Drop for SeesValue {
        fn drop(&mut self) {
            if ID.try_get() == Ok(5) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let s = SeesValue(seen.clone());
    let fut = ID.scope(5, async move {
        let _s = s;
        pending::<()>().await
    });
    let mut fut = Box::pin(fut);
    let waker = futures_task::noop_waker();
    assert!(fut
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(fut);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert!(ID.try_get().is_err());
}

#[test]
#[should_panic(expected = "outside a scope")]
fn task_local_with_outside_scope_panics() {
    ID.with(|_| ());
}

#[test]
#[should_panic(expected = "cannot enter a task-local scope")]
fn task_local_scope_inside_with_panics() {
    ID.sync_scope(1, || {
        ID.with(|_| {
            ID.sync_scope(2, || ());
        })
    });
}
