//! Shutdown: tasks cancelled (destructors run), threads joined, fds closed, no leaks.
mod support;

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use netpoll::io::Registration;
use support::{bounded, open_fds, rt, runtime_threads, wait_until};

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// One test touches process-wide counts (fds, threads), so it is alone in this binary's
// measured section: the other tests here take the same lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn shutdown_with_pending_io_and_timers_leaks_nothing() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(Duration::from_secs(30), || {
        // Warm up process-wide lazies (std's thread machinery) before measuring.
        drop(rt(1));
        // A previous test's detached worker may still be finishing its last poll.
        assert!(
            wait_until(Duration::from_secs(5), || runtime_threads() == 0),
            "runtime threads left over before the test: {}",
            runtime_threads()
        );
        let fds_before = open_fds();
        let dropped = Arc::new(AtomicUsize::new(0));
        {
            let rt = rt(2);
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            let d = dropped.clone();
            rt.spawn(async move {
                let _g = CountDrop(d);
                let reg = Registration::new(a.as_raw_fd()).unwrap();
                let _ = reg.readable().await; // never readable: b never writes
                drop(b);
            });
            for _ in 0..10 {
                let d = dropped.clone();
                rt.spawn(async move {
                    let _g = CountDrop(d);
                    netpoll::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            let d = dropped.clone();
            rt.spawn(async move {
                let _g = CountDrop(d);
                std::future::pending::<()>().await;
            });
            let h = rt.spawn_blocking(|| 5);
            assert_eq!(rt.block_on(h).unwrap(), 5);
            rt.block_on(netpoll::time::sleep(Duration::from_millis(20)));
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        assert_eq!(dropped.load(SeqCst), 12, "every task's destructor ran");
        assert!(
            wait_until(Duration::from_secs(5), || runtime_threads() == 0),
            "runtime threads still alive after shutdown: {}",
            runtime_threads()
        );
        assert_eq!(open_fds(), fds_before, "fds leaked");
    });
}

#[test]
fn drop_runtime_cancels_tasks_and_join_handles_see_it() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(Duration::from_secs(30), || {
        let rt = rt(2);
        let h = rt.spawn(std::future::pending::<()>());
        drop(rt);
        let rt2 = support::rt(1);
        let err = rt2.block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    });
}

#[test]
fn spawn_after_shutdown_began_is_cancelled() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(Duration::from_secs(30), || {
        let rt = rt(1);
        let handle = rt.handle().clone();
        drop(rt);
        let h = handle.spawn(async { 1 });
        let rt2 = support::rt(1);
        assert!(rt2.block_on(h).unwrap_err().is_cancelled());
    });
}

#[test]
fn shutdown_timeout_detaches_a_stuck_task() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(Duration::from_secs(30), || {
        let rt = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .log_long_polls(false)
            .build()
            .unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        rt.spawn(async move {
            s.store(1, SeqCst);
            std::thread::sleep(Duration::from_millis(1500));
        });
        assert!(wait_until(Duration::from_secs(5), || started.load(SeqCst) == 1));
        let t = std::time::Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        assert!(
            t.elapsed() < Duration::from_millis(1000),
            "shutdown_timeout waited {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(1600));
    });
}
