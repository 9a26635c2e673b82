//! tokio parity (issue 15), `time` and `runtime`: Interval's reset family and missed-tick
//! behaviours, time::error::Error, RuntimeFlavor, Handle::id, the thread hooks.
mod support;

use netpoll::time::Instant;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::runtime::{Builder, Handle, RuntimeFlavor};
use netpoll::time::{self, MissedTickBehavior};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);
const P: Duration = Duration::from_millis(10);

#[test]
fn interval_reset_family() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let mut iv = time::interval(Duration::from_secs(3600));
            let first = iv.tick().await;
            assert!(first <= Instant::now(), "the first tick is immediate");

            iv.reset_immediately();
            let t = iv.tick().await;
            assert!(t >= first);

            let before = Instant::now();
            iv.reset_after(Duration::from_millis(5));
            let t = iv.tick().await;
            assert!(t >= before + Duration::from_millis(5));
            assert!(Instant::now() >= t);

            let at = Instant::now() + Duration::from_millis(3);
            iv.reset_at(at);
            assert_eq!(iv.tick().await, at);

            // After a reset the period goes on from the new tick.
            let mut iv = time::interval(P);
            iv.tick().await;
            let at = Instant::now() + Duration::from_millis(2);
            iv.reset_at(at);
            assert_eq!(iv.tick().await, at);
            assert_eq!(iv.tick().await, at + P);

            let mut iv = time::interval(P);
            iv.tick().await;
            let before = Instant::now();
            iv.reset();
            assert!(iv.tick().await >= before + P);
        })
    });
}

/// Ticks once, stalls the thread for `stall`, and returns the next three tick instants.
async fn after_stall(
    behavior: MissedTickBehavior,
    stall: Duration,
) -> (Instant, Instant, [Instant; 3]) {
    let mut iv = time::interval(P);
    iv.set_missed_tick_behavior(behavior);
    assert_eq!(iv.missed_tick_behavior(), behavior);
    let start = iv.tick().await;
    std::thread::sleep(stall);
    let resumed = Instant::now();
    let a = iv.tick().await;
    let b = iv.tick().await;
    let c = iv.tick().await;
    (start, resumed, [a, b, c])
}

#[test]
fn missed_tick_behaviours() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let stall = P * 5 + P / 2;

            // Burst: the missed ticks come at once, on the original schedule.
            let (start, _, t) = after_stall(MissedTickBehavior::Burst, stall).await;
            assert_eq!(t, [start + P, start + P * 2, start + P * 3]);

            // Delay: the schedule restarts from when the late tick was taken.
            let (_, resumed, t) = after_stall(MissedTickBehavior::Delay, stall).await;
            assert!(t[0] <= resumed, "the late tick fires at once");
            assert!(t[1] >= resumed + P, "{:?} vs {:?}", t[1], resumed);
            assert_eq!(t[2], t[1] + P);

            // Skip: the missed ticks are dropped; the next is on the original grid after now.
            let (start, resumed, t) = after_stall(MissedTickBehavior::Skip, stall).await;
            assert_eq!(t[0], start + P, "the late tick fires at once, as scheduled");
            assert!(t[1] > resumed);
            let on_grid = t[1].duration_since(start).as_nanos() % P.as_nanos();
            assert_eq!(on_grid, 0, "{:?} is on the period grid", t[1] - start);
            assert_eq!(t[2], t[1] + P);
        })
    });
}

#[test]
fn time_error_type() {
    let e = time::error::Error::shutdown();
    assert!(e.is_shutdown() && !e.is_at_capacity() && !e.is_invalid());
    assert!(time::error::Error::at_capacity().is_at_capacity());
    assert!(time::error::Error::invalid().is_invalid());
    let _: &dyn std::error::Error = &e;
    assert!(!e.to_string().is_empty());
}

#[test]
fn runtime_flavor_id_and_try_current() {
    let a = rt_current();
    let b = rt(1);
    assert_eq!(a.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    assert_eq!(b.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_ne!(a.handle().id(), b.handle().id());
    assert_eq!(a.handle().id(), a.handle().clone().id());
    b.block_on(async {
        assert_eq!(
            Handle::current().runtime_flavor(),
            RuntimeFlavor::MultiThread
        );
        let id = netpoll::spawn(async { Handle::current().id() })
            .await
            .unwrap();
        assert_eq!(id, Handle::current().id());
    });
    let err = Handle::try_current().unwrap_err();
    assert!(err.is_missing_context() && !err.is_thread_local_destroyed());
}

#[test]
fn thread_hooks_run_on_runtime_threads() {
    bounded(LIMIT, || {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let parked = Arc::new(AtomicUsize::new(0));
        let unparked = Arc::new(AtomicUsize::new(0));
        let (s, t, p, u) = (
            started.clone(),
            stopped.clone(),
            parked.clone(),
            unparked.clone(),
        );
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_start(move || {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                t.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_park(move || {
                p.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_unpark(move || {
                u.fetch_add(1, Ordering::SeqCst);
            })
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Idle workers park; a task that sleeps makes one unpark.
            netpoll::spawn(async { time::sleep(Duration::from_millis(20)).await })
                .await
                .unwrap();
            netpoll::spawn_blocking(|| ()).await.unwrap();
        });
        drop(runtime);
        let started = started.load(Ordering::SeqCst);
        assert!(started >= 3, "2 workers + 1 blocking thread, got {started}");
        assert!(
            support::wait_until(Duration::from_secs(10), || stopped.load(Ordering::SeqCst)
                == started),
            "every started thread ran on_thread_stop"
        );
        assert!(parked.load(Ordering::SeqCst) >= 1);
        assert!(unparked.load(Ordering::SeqCst) >= 1);
    });
}
