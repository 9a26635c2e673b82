//! netpoll::sync on a 2-worker runtime: every primitive, plus channels shared with plain threads.
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use netpoll::sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, RwLock, Semaphore};
use netpoll::time::{sleep, timeout};
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);
/// Long enough for a wrongly-woken task to have run on an idle 2-worker runtime.
const SETTLE: Duration = Duration::from_millis(50);

/// Waits (in a task) until `cond` holds, polling every millisecond; fails after 10 s.
async fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        sleep(Duration::from_millis(1)).await;
    }
    panic!("condition not reached within 10 s");
}

#[test]
fn oneshot_send_recv_and_dropped_sender() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, rx) = oneshot::channel();
            netpoll::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                tx.send(String::from("value")).unwrap();
            });
            assert_eq!(rx.await.unwrap(), "value");

            // Sender dropped without sending: the receiver gets an error, not a hang.
            let (tx, rx) = oneshot::channel::<u32>();
            netpoll::spawn(async move {
                sleep(Duration::from_millis(5)).await;
                drop(tx);
            });
            assert!(rx.await.is_err());

            // try_recv: empty, then the value, then closed.
            let (tx, mut rx) = oneshot::channel();
            assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
            tx.send(3).unwrap();
            assert_eq!(rx.try_recv(), Ok(3));
            let (tx, mut rx) = oneshot::channel::<u8>();
            drop(tx);
            assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));

            // Receiver gone: send gives the value back; closed() completes.
            let (mut tx, rx) = oneshot::channel::<u8>();
            let waiter = netpoll::spawn(async move {
                tx.closed().await;
                tx.send(9)
            });
            sleep(Duration::from_millis(5)).await;
            drop(rx);
            assert_eq!(waiter.await.unwrap(), Err(9));

            // close(): a later send fails.
            let (tx, mut rx) = oneshot::channel::<u8>();
            rx.close();
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(1));
        });
    });
}

#[test]
fn mpsc_bounded_backpressure_and_close() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(2);
            let sent = Arc::new(AtomicUsize::new(0));
            let producer = {
                let (tx, sent) = (tx.clone(), sent.clone());
                netpoll::spawn(async move {
                    for i in 0..3 {
                        tx.send(i).await.unwrap();
                        sent.fetch_add(1, SeqCst);
                    }
                })
            };
            eventually(|| sent.load(SeqCst) == 2).await;
            // The channel is full: the third send is parked, and try_send reports Full.
            sleep(SETTLE).await;
            assert_eq!(sent.load(SeqCst), 2, "a send into a full channel completed");
            assert_eq!(tx.capacity(), 0);
            assert!(matches!(
                tx.try_send(99),
                Err(mpsc::error::TrySendError::Full(99))
            ));
            // Taking one value frees a slot and unparks the sender.
            assert_eq!(rx.recv().await, Some(0));
            producer.await.unwrap();
            assert_eq!(sent.load(SeqCst), 3);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));

            // Closing from the receiver: parked and later sends fail, queued values drain.
            tx.send(10).await.unwrap();
            tx.send(11).await.unwrap();
            let parked = {
                let tx = tx.clone();
                netpoll::spawn(async move { tx.send(12).await })
            };
            sleep(SETTLE).await;
            rx.close();
            assert_eq!(parked.await.unwrap(), Err(mpsc::error::SendError(12)));
            assert!(tx.is_closed());
            assert!(matches!(
                tx.try_send(13),
                Err(mpsc::error::TrySendError::Closed(13))
            ));
            assert_eq!(rx.recv().await, Some(10));
            assert_eq!(rx.recv().await, Some(11));
            assert_eq!(rx.recv().await, None);
            tx.closed().await;

            // Dropping every sender ends the stream after the queued values.
            let (tx, mut rx) = mpsc::channel(4);
            for i in 0..4 {
                let tx = tx.clone();
                netpoll::spawn(async move { tx.send(i).await.unwrap() });
            }
            drop(tx);
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got.sort();
            assert_eq!(got, [0, 1, 2, 3]);
            assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));

            // Dropping the receiver fails the senders.
            let (tx, rx) = mpsc::channel::<u8>(1);
            drop(rx);
            assert_eq!(tx.send(1).await, Err(mpsc::error::SendError(1)));
        });
    });
}

#[test]
fn mpsc_many_producers_in_order_per_producer() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = mpsc::channel::<(usize, usize)>(8);
            for p in 0..10 {
                let tx = tx.clone();
                netpoll::spawn(async move {
                    for i in 0..1000 {
                        tx.send((p, i)).await.unwrap();
                    }
                });
            }
            drop(tx);
            let mut next = [0usize; 10];
            let mut buf = Vec::new();
            loop {
                buf.clear();
                if rx.recv_many(&mut buf, 16).await == 0 {
                    break;
                }
                for &(p, i) in &buf {
                    assert_eq!(i, next[p], "producer {p} out of order");
                    next[p] += 1;
                }
            }
            assert_eq!(next, [1000; 10]);
        });
    });
}

#[test]
fn mpsc_unbounded() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
            // Sending never waits, even with nobody receiving yet.
            for i in 0..10_000 {
                tx.send(i).unwrap();
            }
            assert_eq!(rx.len(), 10_000);
            let producers: Vec<_> = (0..4)
                .map(|_| {
                    let tx = tx.clone();
                    netpoll::spawn(async move {
                        for i in 0..1000 {
                            tx.send(i).unwrap();
                            if i % 100 == 0 {
                                netpoll::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut n = 0u64;
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                n += 1;
                sum += v;
            }
            for p in producers {
                p.await.unwrap();
            }
            assert_eq!(n, 14_000);
            assert_eq!(sum, 9_999 * 10_000 / 2 + 4 * 999 * 1000 / 2);

            let (tx, rx) = mpsc::unbounded_channel::<u8>();
            drop(rx);
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(mpsc::error::SendError(1)));
        });
    });
}

#[test]
fn mutex_contention() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let counter = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..100)
                .map(|t| {
                    let counter = counter.clone();
                    netpoll::spawn(async move {
                        for i in 0..1000 {
                            let mut g = counter.lock().await;
                            let v = *g;
                            if (t + i) % 97 == 0 {
                                // Hold the lock across a suspension now and then.
                                netpoll::task::yield_now().await;
                            }
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*counter.lock().await, 100_000);

            // try_lock and the owned guard.
            let g = counter.clone().lock_owned().await;
            assert!(counter.try_lock().is_err());
            let moved = netpoll::spawn(async move {
                let mut g = g;
                *g += 1;
            });
            moved.await.unwrap();
            assert_eq!(*counter.try_lock().unwrap(), 100_001);
        });
    });
}

#[test]
fn rwlock_many_readers_one_writer() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let lock = Arc::new(RwLock::new(0u64));
            // Readers share the lock; a writer is excluded meanwhile.
            let r1 = lock.read().await;
            let r2 = lock.read().await;
            let r3 = lock.try_read().unwrap();
            assert!(lock.try_write().is_err());
            let wrote = Arc::new(AtomicBool::new(false));
            let writer = {
                let (lock, wrote) = (lock.clone(), wrote.clone());
                netpoll::spawn(async move {
                    *lock.write().await += 1;
                    wrote.store(true, SeqCst);
                })
            };
            sleep(SETTLE).await;
            assert!(
                !wrote.load(SeqCst),
                "writer ran while readers held the lock"
            );
            drop((r1, r2, r3));
            writer.await.unwrap();
            assert_eq!(*lock.read().await, 1);

            // Mixed load: readers never see a writer inside, writers are alone.
            let readers_in = Arc::new(AtomicUsize::new(0));
            let writer_in = Arc::new(AtomicBool::new(false));
            let peak_readers = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for t in 0..40 {
                let (lock, readers_in, writer_in, peak) = (
                    lock.clone(),
                    readers_in.clone(),
                    writer_in.clone(),
                    peak_readers.clone(),
                );
                tasks.push(netpoll::spawn(async move {
                    for _ in 0..200 {
                        if t % 10 == 0 {
                            let mut g = lock.write().await;
                            assert_eq!(readers_in.load(SeqCst), 0);
                            assert!(!writer_in.swap(true, SeqCst));
                            netpoll::task::yield_now().await;
                            *g += 1;
                            writer_in.store(false, SeqCst);
                        } else {
                            let _g = lock.read().await;
                            let n = readers_in.fetch_add(1, SeqCst) + 1;
                            peak.fetch_max(n, SeqCst);
                            assert!(!writer_in.load(SeqCst));
                            netpoll::task::yield_now().await;
                            readers_in.fetch_sub(1, SeqCst);
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*lock.read().await, 1 + 4 * 200);
            assert!(peak_readers.load(SeqCst) >= 2, "readers never overlapped");
        });
    });
}

#[test]
fn semaphore_limits_concurrency() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let running = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..50)
                .map(|i| {
                    let (sem, running, peak) = (sem.clone(), running.clone(), peak.clone());
                    netpoll::spawn(async move {
                        let _permit = if i % 2 == 0 {
                            Some(sem.acquire().await.unwrap())
                        } else {
                            None
                        };
                        let _owned = if i % 2 == 1 {
                            Some(sem.clone().acquire_owned().await.unwrap())
                        } else {
                            None
                        };
                        let n = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(n, SeqCst);
                        sleep(Duration::from_millis(1)).await;
                        running.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let peak = peak.load(SeqCst);
            assert!((1..=3).contains(&peak), "peak {peak} with 3 permits");
            assert_eq!(sem.available_permits(), 3);

            // try_acquire, add_permits, forget.
            let a = sem.try_acquire_many(3).unwrap();
            assert_eq!(
                sem.try_acquire().unwrap_err(),
                netpoll::sync::TryAcquireError::NoPermits
            );
            a.forget();
            assert_eq!(sem.available_permits(), 0);
            sem.add_permits(2);
            assert_eq!(sem.available_permits(), 2);

            // First come, first served: a big request at the head is not overtaken.
            let big = {
                let sem = sem.clone();
                netpoll::spawn(
                    async move { sem.acquire_many_owned(5).await.map(|p| p.num_permits()) },
                )
            };
            sleep(SETTLE).await;
            assert_eq!(
                sem.available_permits(),
                0,
                "the head waiter holds the free permits"
            );
            assert!(sem.try_acquire().is_err());
            let small = {
                let sem = sem.clone();
                netpoll::spawn(async move { sem.acquire_owned().await.map(|p| p.num_permits()) })
            };
            sleep(SETTLE).await;
            sem.add_permits(3);
            assert_eq!(big.await.unwrap(), Ok(5));
            // `big` released its 5; `small` then got one.
            assert_eq!(small.await.unwrap(), Ok(1));
            assert_eq!(sem.available_permits(), 5);

            // A cancelled waiter gives back what it was handed.
            let partial = timeout(Duration::from_millis(20), sem.acquire_many(8)).await;
            assert!(partial.is_err());
            assert_eq!(sem.available_permits(), 5);

            // close() fails waiters and later acquires.
            let _all = sem.acquire_many(5).await.unwrap();
            let waiter = {
                let sem = sem.clone();
                netpoll::spawn(async move { sem.acquire().await.map(|_| ()) })
            };
            sleep(SETTLE).await;
            sem.close();
            assert!(waiter.await.unwrap().is_err());
            assert!(sem.acquire().await.is_err());
            assert_eq!(
                sem.try_acquire().unwrap_err(),
                netpoll::sync::TryAcquireError::Closed
            );
        });
    });
}

#[test]
fn notify_permit_and_waiters() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let notify = Arc::new(Notify::new());

            // notify_one before anyone waits stores one permit (not several).
            notify.notify_one();
            notify.notify_one();
            timeout(Duration::from_secs(5), notify.notified())
                .await
                .expect("the stored permit completes notified() at once");
            assert!(
                timeout(SETTLE, notify.notified()).await.is_err(),
                "a second permit was stored"
            );

            // notify_one wakes a waiting task.
            let woke = Arc::new(AtomicUsize::new(0));
            let waiter = {
                let (notify, woke) = (notify.clone(), woke.clone());
                netpoll::spawn(async move {
                    notify.notified().await;
                    woke.fetch_add(1, SeqCst);
                })
            };
            sleep(SETTLE).await;
            assert_eq!(woke.load(SeqCst), 0);
            notify.notify_one();
            waiter.await.unwrap();

            // notify_waiters wakes every waiter and stores no permit.
            let waiting = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..10)
                .map(|_| {
                    let (notify, woke, waiting) = (notify.clone(), woke.clone(), waiting.clone());
                    netpoll::spawn(async move {
                        let mut n = std::pin::pin!(notify.notified());
                        n.as_mut().enable();
                        waiting.fetch_add(1, SeqCst);
                        n.await;
                        woke.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            eventually(|| waiting.load(SeqCst) == 10).await;
            notify.notify_waiters();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(woke.load(SeqCst), 11);
            assert!(
                timeout(SETTLE, notify.notified()).await.is_err(),
                "notify_waiters stored a permit"
            );

            // A future created before notify_waiters completes even if polled after it.
            let early = notify.notified();
            notify.notify_waiters();
            timeout(Duration::from_secs(5), early).await.unwrap();

            // notify_one picks one waiter at a time.
            let count = Arc::new(AtomicUsize::new(0));
            let waiting = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let (notify, count, waiting) = (notify.clone(), count.clone(), waiting.clone());
                    netpoll::spawn(async move {
                        let mut n = std::pin::pin!(notify.notified());
                        n.as_mut().enable();
                        waiting.fetch_add(1, SeqCst);
                        n.await;
                        count.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            eventually(|| waiting.load(SeqCst) == 3).await;
            for expected in 1..=3 {
                notify.notify_one();
                eventually(|| count.load(SeqCst) == expected).await;
                sleep(Duration::from_millis(10)).await;
                assert_eq!(
                    count.load(SeqCst),
                    expected,
                    "notify_one woke more than one"
                );
            }
            for t in tasks {
                t.await.unwrap();
            }

            // A waiter picked by notify_one but dropped passes the notification on.
            {
                let mut first = std::pin::pin!(notify.notified());
                first.as_mut().enable();
                notify.notify_one();
            } // `first` is dropped here, picked but not completed
            timeout(Duration::from_secs(5), notify.notified())
                .await
                .expect("the dropped waiter's notification was lost");
        });
    });
}

#[test]
fn broadcast_slow_receiver_lags() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut fast) = broadcast::channel::<u32>(4);
            let mut slow = tx.subscribe();
            let (ack_tx, mut ack_rx) = mpsc::channel(1);
            let fast_task = netpoll::spawn(async move {
                let mut got = Vec::new();
                loop {
                    match fast.recv().await {
                        Ok(v) => {
                            got.push(v);
                            ack_tx.send(()).await.unwrap();
                        }
                        Err(broadcast::error::RecvError::Closed) => return got,
                        Err(e) => panic!("fast receiver: {e}"),
                    }
                }
            });
            for i in 0..10 {
                assert_eq!(tx.send(i).unwrap(), 2);
                ack_rx.recv().await.unwrap();
            }
            // `slow` read nothing: only the last 4 values are held.
            assert_eq!(
                slow.recv().await,
                Err(broadcast::error::RecvError::Lagged(6))
            );
            for i in 6..10 {
                assert_eq!(slow.recv().await, Ok(i));
            }
            assert_eq!(slow.try_recv(), Err(broadcast::error::TryRecvError::Empty));
            drop(tx);
            assert_eq!(slow.recv().await, Err(broadcast::error::RecvError::Closed));
            assert_eq!(fast_task.await.unwrap(), (0..10).collect::<Vec<_>>());

            // No receiver: send fails, but a new subscriber still gets later values.
            let (tx, rx) = broadcast::channel::<u32>(2);
            drop(rx);
            assert_eq!(tx.send(1), Err(broadcast::error::SendError(1)));
            let mut rx = tx.subscribe();
            tx.send(2).unwrap();
            let mut again = rx.resubscribe();
            tx.send(3).unwrap();
            assert_eq!(rx.recv().await, Ok(2));
            assert_eq!(rx.recv().await, Ok(3));
            assert_eq!(again.recv().await, Ok(3));
        });
    });
}

#[test]
fn watch_changed_and_borrow() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            assert!(!rx.has_changed().unwrap());
            assert_eq!(*rx.borrow(), 0);

            let mut rx2 = rx.clone();
            let follower = netpoll::spawn(async move {
                let mut seen = Vec::new();
                while rx2.changed().await.is_ok() {
                    seen.push(*rx2.borrow_and_update());
                }
                seen
            });
            for i in 1..=5 {
                tx.send(i).unwrap();
                sleep(Duration::from_millis(2)).await;
            }
            assert!(rx.has_changed().unwrap());
            {
                let r = rx.borrow_and_update();
                assert!(r.has_changed());
                assert_eq!(*r, 5);
            }
            assert!(!rx.has_changed().unwrap());
            assert!(!rx.borrow().has_changed());

            // changed() waits for the next send.
            let waiter = netpoll::spawn(async move {
                rx.changed().await.unwrap();
                let v = *rx.borrow();
                (rx, v)
            });
            sleep(SETTLE).await;
            tx.send_modify(|v| *v += 10);
            let (mut rx, v) = waiter.await.unwrap();
            assert_eq!(v, 15);

            // After the sender is gone: an unseen value is still reported, then an error.
            tx.send(16).unwrap();
            drop(tx);
            assert!(rx.changed().await.is_ok());
            assert_eq!(*rx.borrow(), 16);
            assert!(rx.changed().await.is_err());
            assert!(rx.has_changed().is_err());

            let seen = follower.await.unwrap();
            assert_eq!(seen.last(), Some(&16), "follower saw {seen:?}");
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "follower saw {seen:?}"
            );

            // Sender::closed, and send without receivers.
            let (tx, rx) = watch::channel("a");
            let closed = {
                let tx = tx.clone();
                netpoll::spawn(async move { tx.closed().await })
            };
            sleep(Duration::from_millis(5)).await;
            drop(rx);
            closed.await.unwrap();
            assert!(tx.send("b").is_err());
            assert_eq!(*tx.borrow(), "a");
            let mut late = tx.subscribe();
            tx.send("c").unwrap();
            let v = late.wait_for(|v| *v == "c").await.unwrap();
            assert_eq!(*v, "c");
        });
    });
}

#[test]
fn channels_between_tasks_and_plain_threads() {
    bounded(LIMIT, || {
        let rt = rt(2);

        // Thread -> task, bounded (the thread blocks on a full channel).
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                tx.blocking_send(i).unwrap();
            }
        });
        let sum = rt.block_on(async {
            netpoll::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.recv().await {
                    sum += v as u64;
                }
                sum
            })
            .await
            .unwrap()
        });
        producer.join().unwrap();
        assert_eq!(sum, 999 * 1000 / 2);

        // Task -> thread.
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let consumer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(v) = rx.blocking_recv() {
                got.push(v);
            }
            got
        });
        let (otx, orx) = oneshot::channel();
        let task = rt.spawn(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
            otx.send("finished").unwrap();
        });
        assert_eq!(orx.blocking_recv(), Ok("finished"));
        rt.block_on(task).unwrap();
        assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());

        // Unbounded and broadcast: thread sends, thread receives, task in the middle.
        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        let (btx, mut brx) = broadcast::channel::<u32>(16);
        let relay = rt.spawn(async move {
            while let Some(v) = urx.recv().await {
                btx.send(v * 2).unwrap();
            }
        });
        let listener = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = brx.blocking_recv() {
                got.push(v);
            }
            got
        });
        for i in 0..10 {
            utx.send(i).unwrap();
        }
        drop(utx);
        rt.block_on(relay).unwrap();
        assert_eq!(
            listener.join().unwrap(),
            (0..10).map(|v| v * 2).collect::<Vec<_>>()
        );

        // A mutex shared by tasks and a thread; Notify from a thread wakes a task.
        let m = Arc::new(Mutex::new(0u32));
        let notify = Arc::new(Notify::new());
        let waiter = {
            let notify = notify.clone();
            rt.spawn(async move { notify.notified().await })
        };
        let t = {
            let (m, notify) = (m.clone(), notify.clone());
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *m.blocking_lock() += 1;
                }
                notify.notify_one();
            })
        };
        rt.block_on(async {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let m = m.clone();
                    netpoll::spawn(async move {
                        for _ in 0..1000 {
                            *m.lock().await += 1;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            waiter.await.unwrap();
        });
        t.join().unwrap();
        assert_eq!(*m.blocking_lock(), 5000);
    });
}

/// The futures of every primitive can be spawned (are `Send`); checked at compile time.
#[test]
fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let m = Mutex::new(0);
    send(&m.lock());
    let l = RwLock::new(0);
    send(&l.read());
    send(&l.write());
    let s = Semaphore::new(1);
    send(&s.acquire());
    send(&Arc::new(Semaphore::new(1)).acquire_owned());
    let n = Notify::new();
    send(&n.notified());
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    send(&tx.send(1));
    send(&tx.closed());
    send(&rx.recv());
    let mut buf = Vec::new();
    send(&rx.recv_many(&mut buf, 1));
    let (_btx, mut brx) = broadcast::channel::<u8>(1);
    send(&brx.recv());
    let (_wtx, mut wrx) = watch::channel(0u8);
    send(&wrx.changed());
    send(&wrx.wait_for(|_| true));
    let (mut otx, orx) = oneshot::channel::<u8>();
    send(&otx.closed());
    send(&orx);
}

/// Many tasks acquiring 1..=3 permits, some giving up half-way (timeouts): the permits in use
/// never exceed the total, and none is lost or created.
#[test]
fn semaphore_cancellation_stress() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const PERMITS: usize = 5;
            let sem = Arc::new(Semaphore::new(PERMITS));
            let in_use = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..64)
                .map(|t| {
                    let (sem, in_use) = (sem.clone(), in_use.clone());
                    netpoll::spawn(async move {
                        for i in 0..100u32 {
                            let n = 1 + (t + i) % 3;
                            let wait = Duration::from_micros(u64::from((t * 7 + i * 13) % 200));
                            let Ok(permit) = timeout(wait, sem.acquire_many(n)).await else {
                                continue;
                            };
                            let permit = permit.unwrap();
                            let now = in_use.fetch_add(n as usize, SeqCst) + n as usize;
                            assert!(now <= PERMITS, "{now} permits in use");
                            if i % 4 == 0 {
                                netpoll::task::yield_now().await;
                            }
                            in_use.fetch_sub(n as usize, SeqCst);
                            drop(permit);
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(sem.available_permits(), PERMITS);
            assert!(sem.try_acquire_many(PERMITS as u32).is_ok());
        });
    });
}
