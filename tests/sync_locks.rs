//! netpoll::sync's locks and cells, one test per guarantee tokio documents: FIFO fairness,
//! cancel safety, writer priority, atomic downgrade, mapped guards, init-once cells, barrier
//! generations, blocking use from plain threads; plus a bounded stress test.
mod support;

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll::sync::{
    mpsc, Barrier, MappedMutexGuard, Mutex, MutexGuard, Notify, OnceCell, OwnedMappedMutexGuard,
    OwnedMutexGuard, OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
    RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard, Semaphore, SetError,
    SetOnce, SetOnceError,
};
use netpoll::time::timeout;
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);
/// Upper bound for a single await that must complete; far above any plausible latency.
const WAIT: Duration = Duration::from_secs(10);

/// Polls `fut` once with a waker that does nothing.
fn poll_noop<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(futures_task::noop_waker_ref()))
}

/// Polls `fut` once from inside a task (with the task's waker), so it queues for real.
async fn poll_once<F: Future + ?Sized>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

// ===== Mutex =====

/// Many tasks queue for a held mutex one after another; they get it in exactly that order.
#[test]
fn mutex_fifo_order_with_many_tasks() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const N: usize = 32;
            let m = Arc::new(Mutex::new(Vec::new()));
            let held = m.clone().lock_owned().await;
            let (queued_tx, mut queued_rx) = mpsc::channel(1);
            let mut tasks = Vec::new();
            for i in 0..N {
                let (m, queued_tx) = (m.clone(), queued_tx.clone());
                tasks.push(netpoll::spawn(async move {
                    let mut lock = pin!(m.lock());
                    assert!(poll_once(lock.as_mut()).await.is_pending());
                    queued_tx.send(()).await.unwrap();
                    lock.await.push(i);
                }));
                // Task i is in the queue before task i + 1 is spawned.
                timeout(WAIT, queued_rx.recv()).await.unwrap().unwrap();
            }
            drop(held);
            for t in tasks {
                timeout(WAIT, t).await.unwrap().unwrap();
            }
            assert_eq!(*m.lock().await, (0..N).collect::<Vec<_>>());
        })
    });
}

/// A queued `lock` future dropped before or after it was handed the lock loses nobody the
/// lock: the next waiter gets it, and afterwards the mutex is free.
#[test]
fn mutex_cancelled_lock_keeps_the_lock() {
    bounded(LIMIT, || {
        let m = Mutex::new(0);
        let held = m.try_lock().unwrap();

        // Dropped while waiting.
        let mut a = Box::pin(m.lock());
        let mut b = Box::pin(m.lock());
        assert!(poll_noop(a.as_mut()).is_pending());
        assert!(poll_noop(b.as_mut()).is_pending());
        drop(a);
        drop(held);
        let Poll::Ready(mut g) = poll_noop(b.as_mut()) else {
            panic!("the waiter behind the cancelled one did not get the lock");
        };
        *g += 1;

        // Dropped after the lock was handed to it, before it saw it.
        let mut c = Box::pin(m.lock());
        let mut d = Box::pin(m.lock());
        assert!(poll_noop(c.as_mut()).is_pending());
        assert!(poll_noop(d.as_mut()).is_pending());
        drop(g); // hands the lock to `c`
        drop(b);
        assert!(m.try_lock().is_err(), "c holds it now (not yet polled)");
        drop(c); // passes it on to `d`
        let Poll::Ready(g) = poll_noop(d.as_mut()) else {
            panic!("the lock granted to a dropped future was lost");
        };
        assert_eq!(*g, 1);
        drop(g);
        drop(d);
        assert!(m.try_lock().is_ok());
    });
}

/// The same on a runtime: tasks time out while queued, the survivors still all get the lock.
#[test]
fn mutex_lock_timeouts_lose_nothing() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let m = Arc::new(Mutex::new(0u32));
            let held = m.clone().lock_owned().await;
            let mut tasks = Vec::new();
            for i in 0..20u32 {
                let m = m.clone();
                tasks.push(netpoll::spawn(async move {
                    if i % 2 == 0 {
                        // Gives up while the lock is still held.
                        assert!(timeout(Duration::from_millis(1), m.lock()).await.is_err());
                    } else {
                        *timeout(WAIT, m.lock()).await.unwrap() += 1;
                    }
                }));
            }
            // Let the even tasks time out first (they are bounded by 1 ms each).
            for t in tasks.iter_mut().step_by(2) {
                timeout(WAIT, t).await.unwrap().unwrap();
            }
            drop(held);
            for t in tasks.into_iter().skip(1).step_by(2) {
                timeout(WAIT, t).await.unwrap().unwrap();
            }
            assert_eq!(*m.lock().await, 10);
            assert!(m.try_lock().is_ok());
        })
    });
}

/// `try_lock` does not overtake a queued waiter.
#[test]
fn mutex_try_lock_does_not_overtake() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut w = Box::pin(m.lock());
    assert!(poll_noop(w.as_mut()).is_pending());
    drop(g);
    assert!(m.try_lock().is_err(), "the lock went to the waiter");
    assert!(poll_noop(w.as_mut()).is_ready());
}

/// Mapped mutex guards: map, try_map (both outcomes), owned versions, `mutex()`, Debug/Display.
#[test]
fn mutex_mapped_guards() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let m = Mutex::new((1u32, String::from("x")));
            let g = m.lock().await;
            assert!(std::ptr::eq(MutexGuard::mutex(&g), &m));
            assert_eq!(format!("{g:?}"), r#"(1, "x")"#);
            let g = MutexGuard::try_map(g, |_| None::<&mut u32>).unwrap_err();
            let mut s: MappedMutexGuard<'_, String> = MutexGuard::map(g, |v| &mut v.1);
            s.push('y');
            assert_eq!(s.to_string(), "xy");
            assert!(m.try_lock().is_err(), "a mapped guard keeps the lock");
            let s = MappedMutexGuard::try_map(s, |_| None::<&mut u8>).unwrap_err();
            let mut same = MappedMutexGuard::map(s, |s: &mut String| s);
            same.make_ascii_uppercase();
            drop(same);
            assert_eq!(m.lock().await.1, "XY");

            let m = Arc::new(Mutex::new([1u8, 2, 3]));
            let g = m.clone().lock_owned().await;
            assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
            let g = OwnedMutexGuard::try_map(g, |a| a.get_mut(7)).unwrap_err();
            let mut last: OwnedMappedMutexGuard<[u8; 3], u8> =
                OwnedMutexGuard::try_map(g, |a| a.last_mut()).unwrap();
            *last = 30;
            assert_eq!(format!("{last} {last:?}"), "30 30");
            let last = OwnedMappedMutexGuard::try_map(last, |_| None::<&mut u8>).unwrap_err();
            // The owned mapped guard moves into a task.
            netpoll::spawn(async move {
                let mut last = OwnedMappedMutexGuard::map(last, |b| b);
                *last += 1;
            })
            .await
            .unwrap();
            assert_eq!(*m.lock().await, [1, 2, 31]);
            assert_eq!(format!("{:?}", *m), "Mutex { data: [1, 2, 31] }");
            let _g = m.lock().await;
            assert_eq!(format!("{:?}", *m), "Mutex { data: <locked> }");
        })
    });
}

/// `blocking_lock` from a plain thread waits for a task to release the lock.
#[test]
fn mutex_blocking_lock_from_plain_thread() {
    bounded(LIMIT, || {
        let m = Arc::new(Mutex::new(0u32));
        let runtime = rt(2);
        let held = runtime.block_on(m.clone().lock_owned());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let m = m.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                *m.blocking_lock() += 1;
                let mut owned = m.blocking_lock_owned();
                *owned += 1;
            })
        };
        rx.recv_timeout(WAIT).unwrap();
        // The thread waits on the lock that a task now holds and then releases.
        runtime.block_on(async move {
            let mut held = held;
            netpoll::spawn(async move {
                netpoll::task::yield_now().await;
                *held += 10;
            })
            .await
            .unwrap();
        });
        thread.join().unwrap();
        assert_eq!(*m.blocking_lock(), 12);
        assert_eq!(Arc::try_unwrap(m).unwrap().into_inner(), 12);
    });
}

// ===== RwLock =====

/// A writer queued behind a reader blocks the readers that come after it; it gets the lock
/// as soon as the earlier reader leaves, before them.
#[test]
fn rwlock_writer_blocks_later_readers() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let mut w = Box::pin(lock.write());
    assert!(poll_noop(w.as_mut()).is_pending());
    assert!(
        lock.try_read().is_err(),
        "a reader after a waiting writer must wait"
    );
    let mut r2 = Box::pin(lock.read());
    assert!(poll_noop(r2.as_mut()).is_pending());
    drop(r1);
    assert!(poll_noop(r2.as_mut()).is_pending(), "the writer goes first");
    let Poll::Ready(mut g) = poll_noop(w.as_mut()) else {
        panic!("the writer did not get the lock");
    };
    *g = 5;
    drop(g);
    let Poll::Ready(r) = poll_noop(r2.as_mut()) else {
        panic!("the reader after the writer did not get the lock");
    };
    assert_eq!(*r, 5);
}

/// Same on a runtime with tasks: readers arriving while a writer waits see its write.
#[test]
fn rwlock_writer_priority_with_tasks() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let lock = Arc::new(RwLock::new(0u32));
            let reader = lock.clone().read_owned().await;
            let (queued_tx, mut queued_rx) = mpsc::channel(1);
            let writer = {
                let (lock, queued_tx) = (lock.clone(), queued_tx.clone());
                netpoll::spawn(async move {
                    let mut w = pin!(lock.write());
                    assert!(poll_once(w.as_mut()).await.is_pending());
                    queued_tx.send(()).await.unwrap();
                    *w.await = 1;
                })
            };
            timeout(WAIT, queued_rx.recv()).await.unwrap();
            let mut late = Vec::new();
            for _ in 0..8 {
                let lock = lock.clone();
                late.push(netpoll::spawn(async move { *lock.read().await }));
            }
            drop(reader);
            timeout(WAIT, writer).await.unwrap().unwrap();
            for r in late {
                assert_eq!(timeout(WAIT, r).await.unwrap().unwrap(), 1);
            }
        })
    });
}

/// `downgrade` lets the readers queued at the head in, atomically, but not a queued writer, nor
/// the readers behind that writer.
#[test]
fn rwlock_downgrade_admits_readers_not_writers() {
    let lock = RwLock::new(0);
    let mut w = lock.try_write().unwrap();
    let mut r1 = Box::pin(lock.read());
    let mut r2 = Box::pin(lock.read());
    let mut w2 = Box::pin(lock.write());
    let mut r3 = Box::pin(lock.read());
    for p in [
        poll_noop(r1.as_mut()).is_pending(),
        poll_noop(r2.as_mut()).is_pending(),
        poll_noop(w2.as_mut()).is_pending(),
        poll_noop(r3.as_mut()).is_pending(),
    ] {
        assert!(p);
    }
    *w = 7;
    let r = w.downgrade();
    assert_eq!(*r, 7);
    let Poll::Ready(g1) = poll_noop(r1.as_mut()) else {
        panic!("a waiting reader was not let in by downgrade");
    };
    let Poll::Ready(g2) = poll_noop(r2.as_mut()) else {
        panic!("a waiting reader was not let in by downgrade");
    };
    assert!(
        poll_noop(w2.as_mut()).is_pending(),
        "a writer got in after downgrade"
    );
    assert!(
        poll_noop(r3.as_mut()).is_pending(),
        "a reader overtook the waiting writer"
    );
    assert!(lock.try_write().is_err() && lock.try_read().is_err());
    drop((r, g1));
    assert!(poll_noop(w2.as_mut()).is_pending());
    drop(g2);
    let Poll::Ready(g) = poll_noop(w2.as_mut()) else {
        panic!("the writer did not get the lock once the readers left");
    };
    drop(g);
    assert!(poll_noop(r3.as_mut()).is_ready());
}

/// Owned write guards downgrade the same way, and `downgrade_map` maps while downgrading.
#[test]
fn rwlock_owned_downgrade_and_maps() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let lock = Arc::new(RwLock::with_max_readers((1u32, vec![1u8, 2]), 4));
            let w = lock.clone().write_owned().await;
            assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
            let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
            let mut queued = Box::pin(lock.clone().write_owned());
            assert!(poll_noop(queued.as_mut()).is_pending());
            let r: OwnedRwLockReadGuard<(u32, Vec<u8>), Vec<u8>> =
                OwnedRwLockWriteGuard::downgrade_map(w, |v| &v.1);
            assert_eq!(*r, [1, 2]);
            assert!(poll_noop(queued.as_mut()).is_pending());
            let r = OwnedRwLockReadGuard::try_map(r, |v| v.get(9)).unwrap_err();
            let r = OwnedRwLockReadGuard::map(r, |v| &v[1]);
            assert_eq!(format!("{r} {r:?}"), "2 2");
            assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &lock));
            drop(r);
            let Poll::Ready(w) = poll_noop(queued.as_mut()) else {
                panic!("queued writer did not get the lock");
            };
            let mapped: OwnedRwLockMappedWriteGuard<(u32, Vec<u8>), u32> =
                OwnedRwLockWriteGuard::map(w, |v| &mut v.0);
            let mut mapped =
                OwnedRwLockMappedWriteGuard::try_map(mapped, |_| None::<&mut u8>).unwrap_err();
            *mapped = 10;
            assert!(Arc::ptr_eq(
                OwnedRwLockMappedWriteGuard::rwlock(&mapped),
                &lock
            ));
            let mapped = OwnedRwLockMappedWriteGuard::map(mapped, |v| v);
            netpoll::spawn(async move { drop(mapped) }).await.unwrap();
            let w = lock.clone().try_write_owned().unwrap();
            let whole = OwnedRwLockWriteGuard::into_mapped(w);
            assert_eq!(whole.0, 10);
            drop(whole);
            let w = lock.clone().try_write_owned().unwrap();
            let r = w.downgrade();
            let r2 = lock.clone().try_read_owned().unwrap();
            assert_eq!(r.0, r2.0);
            assert!(lock.try_write().is_err());
        })
    });
}

/// Borrowed RwLock mapped guards: read map/try_map, write map/try_map/into_mapped,
/// downgrade_map/try_downgrade_map, Display/Debug.
#[test]
fn rwlock_mapped_guards() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let lock = RwLock::new((String::from("a"), 2u8));
            let r = lock.read().await;
            let r = RwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
            let name: RwLockReadGuard<'_, String> = RwLockReadGuard::map(r, |v| &v.0);
            assert_eq!(format!("{name} {name:?}"), r#"a "a""#);
            assert!(
                lock.try_write().is_err(),
                "a mapped read guard keeps its read lock"
            );
            drop(name);

            let w = lock.write().await;
            let w = RwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
            let mut n: RwLockMappedWriteGuard<'_, u8> = RwLockWriteGuard::map(w, |v| &mut v.1);
            *n += 1;
            let mut n = RwLockMappedWriteGuard::try_map(n, |_| None::<&mut u8>).unwrap_err();
            *n += 1;
            assert!(
                lock.try_read().is_err(),
                "a mapped write guard keeps the write lock"
            );
            drop(RwLockMappedWriteGuard::map(n, |n| n));

            let mut whole = RwLockWriteGuard::into_mapped(lock.write().await);
            whole.0.push('b');
            assert_eq!(format!("{:?}", whole), r#"("ab", 4)"#);
            drop(whole);

            let w = lock.write().await;
            let w = RwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
            assert!(
                lock.try_read().is_err(),
                "a failed try_downgrade_map keeps the write lock"
            );
            let n = RwLockWriteGuard::try_downgrade_map(w, |v| Some(&v.1)).unwrap();
            assert_eq!(*n, 4);
            let other = lock.try_read().unwrap();
            assert_eq!(other.0, "ab");
            drop((n, other));
            let s = RwLockWriteGuard::downgrade_map(lock.write().await, |v| v.0.as_str());
            assert_eq!(&*s, "ab");
            assert!(lock.try_write().is_err());
            drop(s);
            assert_eq!(format!("{lock:?}"), r#"RwLock { data: ("ab", 4) }"#);
        })
    });
}

/// A dropped `write` future returns the read permits it had collected; readers behind it get
/// in again.
#[test]
fn rwlock_cancelled_writer_gives_back_permits() {
    let lock = RwLock::with_max_readers((), 3);
    let r1 = lock.try_read().unwrap();
    let mut w = Box::pin(lock.write());
    assert!(poll_noop(w.as_mut()).is_pending()); // collected 2 of 3 permits
    let mut r2 = Box::pin(lock.read());
    assert!(poll_noop(r2.as_mut()).is_pending());
    drop(w);
    assert!(poll_noop(r2.as_mut()).is_ready());
    drop(r1);
    drop(r2);
    assert!(lock.try_write().is_ok());
}

#[test]
fn rwlock_max_readers() {
    let lock = RwLock::with_max_readers(0u8, 2);
    let _a = lock.try_read().unwrap();
    let _b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err());
    let too_many = std::panic::catch_unwind(|| RwLock::with_max_readers(0u8, (u32::MAX >> 3) + 1));
    assert!(too_many.is_err());
    let _max = RwLock::with_max_readers(0u8, u32::MAX >> 3);
    static CONST: RwLock<u8> = RwLock::const_with_max_readers(3, 5);
    assert_eq!(*CONST.try_read().unwrap(), 3);
}

/// `blocking_read` / `blocking_write` from plain threads, against a task holding the lock.
#[test]
fn rwlock_blocking_from_plain_threads() {
    bounded(LIMIT, || {
        let lock = Arc::new(RwLock::new(0u32));
        let runtime = rt(2);
        let w = runtime.block_on(lock.clone().write_owned());
        let threads: Vec<_> = (0..3)
            .map(|i| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    if i == 0 {
                        *lock.blocking_write() += 1;
                    } else {
                        let _ = *lock.blocking_read();
                    }
                })
            })
            .collect();
        runtime.block_on(async move {
            let mut w = w;
            netpoll::spawn(async move { *w += 1 }).await.unwrap();
        });
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.blocking_read(), 2);
    });
}

// ===== Semaphore and Notify additions =====

#[test]
fn semaphore_blocking_acquire_and_permit_semaphore() {
    bounded(LIMIT, || {
        let sem = Arc::new(Semaphore::new(0));
        assert_eq!(Semaphore::MAX_PERMITS, usize::MAX >> 3);
        let t = {
            let sem = sem.clone();
            std::thread::spawn(move || {
                let p = sem.blocking_acquire_many(2).unwrap();
                assert!(std::ptr::eq(p.semaphore(), &*sem));
                drop(p);
                let owned = sem.clone().blocking_acquire_owned().unwrap();
                let two = sem.clone().blocking_acquire_many_owned(1).unwrap();
                drop((owned, two));
                sem.blocking_acquire().unwrap().forget();
            })
        };
        sem.add_permits(2);
        t.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        sem.close();
        assert!(sem.blocking_acquire_many(5).is_err());
    });
}

#[test]
fn notify_last_and_owned() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let notify = Arc::new(Notify::new());
            let mut a = pin!(notify.clone().notified_owned());
            let mut b = pin!(notify.clone().notified_owned());
            assert!(!a.as_mut().enable());
            assert!(!b.as_mut().enable());
            notify.notify_last();
            assert!(b.as_mut().enable(), "notify_last picks the newest waiter");
            assert!(!a.as_mut().enable());
            notify.notify_one();
            timeout(WAIT, a).await.unwrap();
            assert!(format!("{b:?}").contains("OwnedNotified"));

            // A waiter picked by notify_last and then dropped passes it on.
            let mut c = Box::pin(notify.notified());
            let mut d = Box::pin(notify.notified());
            assert!(!c.as_mut().enable());
            assert!(!d.as_mut().enable());
            notify.notify_last();
            drop(d);
            assert!(c.as_mut().enable());

            // An owned waiter in a task.
            let task = netpoll::spawn(notify.clone().notified_owned());
            notify.notify_waiters(); // the future was created (by notified_owned) before this
            timeout(WAIT, task).await.unwrap().unwrap();
        })
    });
}

// ===== OnceCell and SetOnce =====

/// Many tasks race to initialise one cell; the initialiser runs once, everyone sees its value.
#[test]
fn once_cell_initialises_once_under_concurrency() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for i in 0..32 {
                let (cell, runs) = (cell.clone(), runs.clone());
                tasks.push(netpoll::spawn(async move {
                    *cell
                        .get_or_init(|| async move {
                            runs.fetch_add(1, SeqCst);
                            netpoll::task::yield_now().await;
                            i
                        })
                        .await
                }));
            }
            let mut seen = Vec::new();
            for t in tasks {
                seen.push(timeout(WAIT, t).await.unwrap().unwrap());
            }
            assert_eq!(runs.load(SeqCst), 1);
            assert!(seen.iter().all(|v| *v == seen[0]));
            assert_eq!(cell.get(), Some(&seen[0]));
        })
    });
}

/// The initialising future is dropped half-way: the cell stays empty, `set` reports it was
/// being initialised, and the next waiting caller runs its own initialiser.
#[test]
fn once_cell_cancelled_init_lets_next_caller_init() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let cell = Arc::new(OnceCell::new());
            let (started_tx, mut started_rx) = mpsc::channel::<()>(1);
            let first = {
                let cell = cell.clone();
                netpoll::spawn(async move {
                    cell.get_or_init(|| async move {
                        started_tx.send(()).await.unwrap();
                        std::future::pending::<u32>().await
                    })
                    .await;
                })
            };
            timeout(WAIT, started_rx.recv()).await.unwrap();
            let err = cell.set(0).unwrap_err();
            assert!(err.is_initializing_err() && !err.is_already_init_err());
            assert_eq!(err, SetError::InitializingError(0));

            let mut second = Box::pin(cell.get_or_init(|| async { 2 }));
            assert!(
                poll_once(second.as_mut()).await.is_pending(),
                "waits for the first"
            );
            first.abort();
            assert_eq!(*timeout(WAIT, second).await.unwrap(), 2);
            assert!(cell.initialized());
            let err = cell.set(3).unwrap_err();
            assert_eq!(err, SetError::AlreadyInitializedError(3));
            assert_eq!(err.to_string(), "AlreadyInitializedError");
        })
    });
}

/// A failed `get_or_try_init` leaves the cell empty for the next caller; the cell's traits.
#[test]
fn once_cell_try_init_and_traits() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let cell: OnceCell<String> = OnceCell::default();
            assert_eq!(format!("{cell:?}"), "OnceCell { value: None }");
            let r = cell.get_or_try_init(|| async { Err::<String, _>(1) }).await;
            assert_eq!(r, Err(1));
            assert!(!cell.initialized());
            let r = cell
                .get_or_try_init(|| async { Ok::<_, ()>("v".to_string()) })
                .await;
            assert_eq!(r.unwrap(), "v");
            let mut copy = cell.clone();
            assert_eq!(copy, cell);
            copy.get_mut().unwrap().push('!');
            assert_ne!(copy, cell);
            assert_eq!(copy.take().as_deref(), Some("v!"));
            assert_eq!(copy.get(), None);
            copy.set("again".into()).unwrap();
            assert_eq!(OnceCell::from(5).into_inner(), Some(5));
            assert_eq!(OnceCell::new_with(None::<u8>).into_inner(), None);
            static C: OnceCell<u8> = OnceCell::const_new_with(9);
            assert_eq!(C.get(), Some(&9));
            assert!(C.set(1).unwrap_err().is_already_init_err());
        })
    });
}

/// Dropping a cell drops its value exactly once; `into_inner` moves it out instead.
#[test]
fn once_cell_drops_value_once() {
    let value = Arc::new(());
    let cell = OnceCell::new();
    cell.set(value.clone()).unwrap();
    assert_eq!(Arc::strong_count(&value), 2);
    drop(cell);
    assert_eq!(Arc::strong_count(&value), 1);
    let cell = SetOnce::new();
    cell.set(value.clone()).unwrap();
    let inner = cell.into_inner().unwrap();
    assert_eq!(Arc::strong_count(&value), 2);
    drop(inner);
    assert_eq!(Arc::strong_count(&value), 1);
}

/// `SetOnce::wait` wakes every waiter once the value is set; only one `set` wins.
#[test]
fn set_once_wakes_every_waiter() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let once = Arc::new(SetOnce::new());
            let mut waiters = Vec::new();
            for _ in 0..16 {
                let once = once.clone();
                waiters.push(netpoll::spawn(async move { *once.wait().await }));
            }
            let mut setters = Vec::new();
            for i in 0..4u32 {
                let once = once.clone();
                setters.push(netpoll::spawn(async move { once.set(i).is_ok() }));
            }
            let mut wins = 0;
            for s in setters {
                wins += timeout(WAIT, s).await.unwrap().unwrap() as usize;
            }
            assert_eq!(wins, 1);
            let value = *once.get().unwrap();
            for w in waiters {
                assert_eq!(timeout(WAIT, w).await.unwrap().unwrap(), value);
            }
            assert_eq!(once.set(99), Err(SetOnceError(99)));
            assert_eq!(SetOnceError(1).to_string(), "SetOnceError");
            assert_eq!(*once.wait().await, value, "wait after set returns at once");
            let copy = (*once).clone();
            assert_eq!(copy, *once);
            assert_eq!(
                format!("{copy:?}"),
                format!("SetOnce {{ value: Some({value}) }}")
            );
            assert_eq!(SetOnce::from(3).into_inner(), Some(3));
            assert!(!SetOnce::<u8>::default().initialized());
            static S: SetOnce<u8> = SetOnce::const_new_with(1);
            assert_eq!(S.get(), Some(&1));
            assert!(SetOnce::new_with(Some(2)).initialized());
            assert!(SetOnce::<u8>::const_new().get().is_none());
        })
    });
}

// ===== Barrier =====

/// Tasks looping over a barrier: every generation releases exactly n of them with exactly one
/// leader, and nobody runs ahead into the next generation before everyone left the last.
#[test]
fn barrier_one_leader_per_generation() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const N: usize = 4;
            const GENERATIONS: usize = 25;
            let barrier = Arc::new(Barrier::new(N));
            let leaders = Arc::new(AtomicUsize::new(0));
            let arrived = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..N {
                let (barrier, leaders, arrived) =
                    (barrier.clone(), leaders.clone(), arrived.clone());
                tasks.push(netpoll::spawn(async move {
                    for g in 0..GENERATIONS {
                        arrived.fetch_add(1, SeqCst);
                        let r = barrier.wait().await;
                        // All N arrivals of generation g happened before anyone is released.
                        assert!(arrived.load(SeqCst) >= (g + 1) * N);
                        if r.is_leader() {
                            leaders.fetch_add(1, SeqCst);
                        }
                    }
                }));
            }
            for t in tasks {
                timeout(WAIT, t).await.unwrap().unwrap();
            }
            assert_eq!(leaders.load(SeqCst), GENERATIONS);
            assert!(format!("{barrier:?}").contains("generation: 25"));
        })
    });
}

/// `Barrier::new(0)` and `new(1)` never block, and every waiter leads.
#[test]
fn barrier_of_zero_or_one() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            for n in [0, 1] {
                let b = Barrier::new(n);
                for _ in 0..3 {
                    let r = timeout(WAIT, b.wait()).await.unwrap();
                    assert!(r.clone().is_leader());
                    assert!(format!("{r:?}").contains("true"));
                }
            }
        })
    });
}

// ===== Stress =====

/// Many tasks on a multi-thread runtime hammer a Mutex and a RwLock; no update is lost and no
/// reader ever sees a half-done write.
#[test]
fn stress_mutex_and_rwlock_counters() {
    bounded(Duration::from_secs(60), || {
        rt(2).block_on(async {
            const TASKS: usize = 16;
            const ROUNDS: usize = 200;
            let m = Arc::new(Mutex::new(0usize));
            let rw = Arc::new(RwLock::with_max_readers((0usize, 0usize), 8));
            let mut tasks = Vec::new();
            for t in 0..TASKS {
                let (m, rw) = (m.clone(), rw.clone());
                tasks.push(netpoll::spawn(async move {
                    for i in 0..ROUNDS {
                        {
                            let mut g = m.lock().await;
                            let v = *g;
                            if i % 8 == 0 {
                                netpoll::task::yield_now().await;
                            }
                            *g = v + 1;
                        }
                        if (t + i) % 4 == 0 {
                            let mut w = rw.write().await;
                            w.0 += 1;
                            if i % 16 == 0 {
                                netpoll::task::yield_now().await;
                            }
                            w.1 += 1;
                        } else {
                            let r = rw.read().await;
                            assert_eq!(r.0, r.1, "a reader saw a half-done write");
                        }
                    }
                }));
            }
            for t in tasks {
                timeout(Duration::from_secs(50), t).await.unwrap().unwrap();
            }
            assert_eq!(*m.lock().await, TASKS * ROUNDS);
            let r = rw.read().await;
            assert_eq!(r.0, r.1);
            assert_eq!(r.0, TASKS * ROUNDS / 4);
            drop(r);
            assert!(m.try_lock().is_ok() && rw.try_write().is_ok());
        })
    });
}

// ===== Auto traits =====

/// Send/Sync of the locks, guards and futures follow tokio's documented bounds.
#[test]
fn auto_traits() {
    use std::cell::Cell;
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn send_val<T: Send>(_: &T) {}

    send::<Mutex<Cell<u8>>>();
    sync::<Mutex<Cell<u8>>>();
    send::<MutexGuard<'static, Cell<u8>>>();
    send::<OwnedMutexGuard<Cell<u8>>>();
    send::<MappedMutexGuard<'static, Cell<u8>>>();
    sync::<MappedMutexGuard<'static, u8>>();
    send::<OwnedMappedMutexGuard<Cell<u8>, Cell<u8>>>();
    send::<RwLock<u8>>();
    sync::<RwLock<u8>>();
    send::<RwLockReadGuard<'static, u8>>();
    sync::<RwLockWriteGuard<'static, u8>>();
    send::<OwnedRwLockReadGuard<u8, [u8]>>();
    send::<OwnedRwLockWriteGuard<u8>>();
    send::<RwLockMappedWriteGuard<'static, u8>>();
    send::<OwnedRwLockMappedWriteGuard<u8, str>>();
    send::<OnceCell<u8>>();
    sync::<OnceCell<u8>>();
    send::<SetOnce<u8>>();
    sync::<SetOnce<u8>>();
    sync::<Barrier>();

    let m = Mutex::new(0);
    send_val(&m.lock());
    let l = RwLock::new(0);
    send_val(&l.read());
    send_val(&l.write());
    send_val(&Arc::new(RwLock::new(0)).write_owned());
    send_val(&Arc::new(Semaphore::new(1)).acquire_many_owned(2));
    send_val(&Arc::new(Notify::new()).notified_owned());
    let b = Barrier::new(2);
    send_val(&b.wait());
    let c = OnceCell::<u8>::new();
    send_val(&c.get_or_init(|| async { 1 }));
    let s = SetOnce::<u8>::new();
    send_val(&s.wait());
}
