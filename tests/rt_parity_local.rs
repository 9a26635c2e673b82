//! tokio parity, `runtime` and `task`: each item checked against what tokio's documentation
//! promises.
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::runtime;
use netpoll::task;
use support::{bounded, rt, rt_current};

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
