//! tokio parity III (channels): what tokio documents for `mpsc` (permits, fairness, cancel
//! safety, close with outstanding permits, weak senders), `oneshot`, `broadcast` and `watch`,
//! one test per promise, plus a bounded stress run of the hand-written bounded channel.
mod support;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use netpoll::sync::mpsc::{
    self, error::SendTimeoutError, error::TryRecvError, error::TrySendError,
};
use netpoll::time::timeout;
use support::{bounded, poll_once, rt, run};

const LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// mpsc: permits

#[test]
fn mpsc_reserve_holds_a_slot_and_a_dropped_permit_gives_it_back() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        assert_eq!(tx.capacity(), 2);
        let p1 = tx.reserve().await.unwrap();
        assert_eq!(tx.capacity(), 1, "reserving takes capacity");
        let p2 = tx.try_reserve().unwrap();
        assert_eq!(tx.capacity(), 0);
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        drop(p1);
        assert_eq!(tx.capacity(), 1, "a dropped permit gives its slot back");
        p2.send(7);
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.recv().await, Some(7));
        assert_eq!(tx.capacity(), 2);
        assert_eq!(rx.capacity(), 2);
        assert_eq!(rx.max_capacity(), 2);
    });
}

#[test]
fn mpsc_reserve_many_is_all_or_nothing_and_returns_unused_permits() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        assert!(
            tx.reserve_many(5).await.is_err(),
            "more than the capacity can never be granted"
        );
        assert!(matches!(
            tx.try_reserve_many(5),
            Err(TrySendError::Full(()))
        ));
        tx.send(0).await.unwrap();
        assert!(matches!(
            tx.try_reserve_many(4),
            Err(TrySendError::Full(()))
        ));
        let mut many = tx.try_reserve_many(3).unwrap();
        assert_eq!(many.len(), 3);
        assert_eq!(tx.capacity(), 0);
        many.next().unwrap().send(1);
        assert_eq!(many.len(), 2);
        drop(many);
        assert_eq!(tx.capacity(), 2, "the two permits not handed out come back");
        assert_eq!(rx.recv().await, Some(0));
        assert_eq!(rx.recv().await, Some(1));

        // reserve_many waits until all n slots are free at once.
        tx.send(2).await.unwrap();
        tx.send(3).await.unwrap();
        let mut waiting = pin!(tx.reserve_many(4));
        assert!(poll_once(&mut waiting).await.is_none());
        assert_eq!(rx.recv().await, Some(2));
        assert!(poll_once(&mut waiting).await.is_none(), "3 of 4 free");
        assert_eq!(rx.recv().await, Some(3));
        let permits = waiting.await.unwrap();
        assert_eq!(permits.count(), 4);
        assert_eq!(tx.capacity(), 4);
    });
}

#[test]
fn mpsc_owned_permits_give_the_sender_back() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<&str>(1);
        let permit = tx.clone().reserve_owned().await.unwrap();
        assert!(permit.same_channel_as_sender(&tx));
        let tx2 = match tx.clone().try_reserve_owned() {
            Err(TrySendError::Full(sender)) => sender,
            other => panic!("expected Full with the sender back, got {other:?}"),
        };
        assert!(tx2.same_channel(&tx));
        let sender = permit.send("owned");
        assert_eq!(rx.recv().await, Some("owned"));
        let permit = sender.try_reserve_owned().unwrap();
        let other = tx.clone().try_reserve_owned();
        assert!(other.is_err());
        let sender = permit.release();
        assert_eq!(sender.capacity(), 1, "release gives the slot back");
        let a = sender.clone().try_reserve_owned().unwrap();
        drop(a);
        assert_eq!(
            tx.capacity(),
            1,
            "a dropped owned permit gives its slot back"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// mpsc: fairness and cancel safety

#[test]
fn mpsc_waiting_senders_are_served_in_order() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        tx.send(usize::MAX).await.unwrap();
        let mut senders = Vec::new();
        for i in 0..8 {
            let tx = tx.clone();
            senders.push(netpoll::spawn(async move { tx.send(i).await.unwrap() }));
            // One poll each, in order: on a current-thread runtime a yield runs the new task.
            netpoll::task::yield_now().await;
        }
        assert_eq!(rx.recv().await, Some(usize::MAX));
        for i in 0..8 {
            assert_eq!(
                rx.recv().await,
                Some(i),
                "senders must be served first come first served"
            );
        }
        for s in senders {
            s.await.unwrap();
        }
    });
}

#[test]
fn mpsc_a_cancelled_send_gives_up_its_place_and_loses_no_capacity() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.send(1).await.unwrap();
        // A send that times out while the channel is full: cancelled while queued.
        assert!(timeout(Duration::from_millis(5), tx.send(2)).await.is_err());
        let tx2 = tx.clone();
        let later = netpoll::spawn(async move { tx2.send(3).await });
        netpoll::task::yield_now().await;
        assert_eq!(rx.recv().await, Some(1));
        later.await.unwrap().unwrap();
        assert_eq!(
            rx.recv().await,
            Some(3),
            "the cancelled value 2 was never sent"
        );
        assert_eq!(tx.capacity(), 1, "no slot leaked");

        // Same for a cancelled reserve.
        let hold = tx.reserve().await.unwrap();
        assert!(timeout(Duration::from_millis(5), tx.reserve())
            .await
            .is_err());
        drop(hold);
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn mpsc_recv_is_cancel_safe() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        for _ in 0..50 {
            // recv raced against an immediately-ready branch loses nothing.
            let r = {
                let mut recv = pin!(rx.recv());
                poll_once(&mut recv).await
            };
            assert!(r.is_none());
        }
        tx.send(5).await.unwrap();
        assert_eq!(rx.recv().await, Some(5));
    });
}

// ---------------------------------------------------------------------------------------------
// mpsc: closing

#[test]
fn mpsc_close_lets_outstanding_permits_send_and_recv_ends_after_them() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        tx.send(1).await.unwrap();
        let permit = tx.reserve().await.unwrap();
        let dropped_permit = tx.reserve().await.unwrap();
        rx.close();
        assert!(rx.is_closed());
        assert!(tx.is_closed());
        assert!(tx.send(2).await.is_err(), "no new sends after close");
        assert!(
            tx.reserve().await.is_err(),
            "no new reservations after close"
        );
        assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Empty),
            "permits are outstanding"
        );
        permit.send(3);
        assert_eq!(rx.recv().await, Some(3));
        // recv waits for the last permit, and ends when it is dropped unused.
        {
            let mut next = pin!(rx.recv());
            assert!(poll_once(&mut next).await.is_none());
            drop(dropped_permit);
            assert_eq!(next.await, None);
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// Counts drops of its values.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn mpsc_dropping_the_receiver_drops_queued_values_and_fails_senders() {
    run(|| async {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel::<Counted>(4);
        for _ in 0..3 {
            tx.send(Counted(drops.clone())).await.unwrap();
        }
        let blocked_tx = tx.clone();
        let (full_tx, full_rx) = mpsc::channel::<u8>(1);
        full_tx.send(0).await.unwrap();
        let waiting = netpoll::spawn(async move { full_tx.send(1).await });
        let closed = netpoll::spawn(async move { blocked_tx.closed().await });
        netpoll::task::yield_now().await;
        drop(rx);
        assert_eq!(
            drops.load(SeqCst),
            3,
            "queued values are dropped with the receiver"
        );
        closed.await.unwrap();
        drop(full_rx);
        assert_eq!(waiting.await.unwrap(), Err(mpsc::error::SendError(1)));
        match tx.send(Counted(drops.clone())).await {
            Err(mpsc::error::SendError(v)) => drop(v),
            Ok(()) => panic!("sent to a dropped receiver"),
        }
        assert_eq!(drops.load(SeqCst), 4);
    });
}

#[test]
fn mpsc_weak_senders_do_not_keep_the_channel_open() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
        let tx2 = weak.upgrade().unwrap();
        assert_eq!(weak.strong_count(), 2);
        tx2.send(1).await.unwrap();
        drop(tx2);
        drop(tx);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None, "only a weak sender is left: closed");
        assert!(weak.upgrade().is_none());
        let weak2 = weak.clone();
        assert_eq!(weak2.weak_count(), 2);

        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        let uweak = utx.downgrade();
        assert_eq!(utx.weak_count(), 1);
        uweak.upgrade().unwrap().send(4).unwrap();
        drop(utx);
        assert_eq!(urx.sender_strong_count(), 0);
        assert_eq!(urx.recv().await, Some(4));
        assert_eq!(urx.recv().await, None);
        assert!(uweak.upgrade().is_none());
    });
}

#[test]
fn mpsc_send_timeout_times_out_or_reports_closed() {
    run(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.send_timeout(1, Duration::from_secs(5)).await.unwrap();
        match tx.send_timeout(2, Duration::from_millis(5)).await {
            Err(SendTimeoutError::Timeout(2)) => {}
            other => panic!("expected Timeout(2), got {other:?}"),
        }
        assert_eq!(rx.recv().await, Some(1));
        rx.close();
        let e = tx
            .send_timeout(3, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e, SendTimeoutError::Closed(3));
        assert_eq!(e.to_string(), "channel closed");
        assert_eq!(
            SendTimeoutError::Timeout(0).to_string(),
            "timed out waiting on send operation"
        );
        assert_eq!(e.into_inner(), 3);
    });
}

#[test]
fn mpsc_recv_many_and_its_poll_and_blocking_forms() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(16);
            for i in 0..10 {
                tx.send(i).await.unwrap();
            }
            let mut buf = Vec::new();
            assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
            let n = std::future::poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 4)).await;
            assert_eq!(n, 4);
            assert_eq!(rx.recv_many(&mut buf, 100).await, 6);
            assert_eq!(buf, (0..10).collect::<Vec<_>>());

            // A plain thread drains with blocking_recv_many while a task sends.
            let producer = netpoll::spawn(async move {
                for i in 0..100 {
                    tx.send(i).await.unwrap();
                }
            });
            let drained = std::thread::spawn(move || {
                let mut all = Vec::new();
                while rx.blocking_recv_many(&mut all, 7) > 0 {}
                all
            });
            producer.await.unwrap();
            let all = netpoll::task::spawn_blocking(move || drained.join().unwrap())
                .await
                .unwrap();
            assert_eq!(all, (0..100).collect::<Vec<_>>());
        })
    });
}

/// Four producers mixing `send`, `reserve` + `send`, `try_send` and cancelled sends into a
/// channel of 8 on two workers: every value arrives once, each producer's in order, and the
/// capacity is whole at the end.
#[test]
fn mpsc_stress_mixed_senders_keep_order_and_capacity() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const PER: u64 = if cfg!(miri) { 50 } else { 5_000 };
            let (tx, mut rx) = mpsc::channel::<(usize, u64)>(8);
            let mut producers = Vec::new();
            for p in 0..4usize {
                let tx = tx.clone();
                producers.push(netpoll::spawn(async move {
                    let mut i = 0;
                    while i < PER {
                        match (p + i as usize) % 4 {
                            0 => tx.send((p, i)).await.unwrap(),
                            1 => tx.reserve().await.unwrap().send((p, i)),
                            2 => match tx.try_send((p, i)) {
                                Ok(()) => {}
                                Err(TrySendError::Full(_)) => {
                                    netpoll::task::yield_now().await;
                                    continue;
                                }
                                Err(e) => panic!("{e}"),
                            },
                            _ => {
                                // A send cancelled at once never delivers: retry it for real.
                                let mut once = pin!(tx.send((p, u64::MAX)));
                                if poll_once(&mut once).await.is_some() {
                                    // It went through: that is fine, the receiver skips it.
                                }
                                tx.send((p, i)).await.unwrap();
                            }
                        }
                        i += 1;
                    }
                }));
            }
            drop(tx);
            let mut next = [0u64; 4];
            let mut total = 0u64;
            while let Some((p, i)) = rx.recv().await {
                if i == u64::MAX {
                    continue;
                }
                assert_eq!(i, next[p], "producer {p} out of order");
                next[p] += 1;
                total += 1;
            }
            for p in producers {
                p.await.unwrap();
            }
            assert_eq!(total, 4 * PER);
            assert_eq!(rx.capacity(), 8, "every slot came back");
        })
    });
}

// ---------------------------------------------------------------------------------------------
// oneshot

use netpoll::sync::{broadcast, oneshot, watch};

#[test]
fn oneshot_is_empty_and_is_terminated_track_the_value_and_the_receiver() {
    run(|| async {
        let (tx, mut rx) = oneshot::channel::<u32>();
        assert!(rx.is_empty() && !rx.is_terminated());
        tx.send(3).unwrap();
        assert!(!rx.is_empty(), "a value waits");
        assert!(!rx.is_terminated());
        assert_eq!((&mut rx).await, Ok(3));
        assert!(rx.is_terminated() && rx.is_empty());
        assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));

        // A dropped sender: the error terminates the receiver too.
        let (tx, mut rx) = oneshot::channel::<u32>();
        drop(tx);
        assert!(rx.is_empty() && !rx.is_terminated());
        assert!((&mut rx).await.is_err());
        assert!(rx.is_terminated());

        // try_recv terminates on a value.
        let (tx, mut rx) = oneshot::channel::<u32>();
        tx.send(1).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert!(rx.is_terminated());
    });
}

#[test]
fn oneshot_close_keeps_a_sent_value_and_fails_later_sends() {
    run(|| async {
        let (tx, mut rx) = oneshot::channel::<u32>();
        tx.send(8).unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Ok(8), "a value sent before close is kept");

        let (mut tx, mut rx) = oneshot::channel::<u32>();
        let waiter = netpoll::spawn(async move {
            tx.closed().await;
            tx.send(1)
        });
        netpoll::task::yield_now().await;
        rx.close();
        assert_eq!(waiter.await.unwrap(), Err(1));
        assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    });
}

// Found by the stress test below: a receiver awaiting after `close` was never woken when the
// sender's `send` then failed (the consumed sender had no Drop left to wake it).
#[test]
fn oneshot_a_failed_send_after_close_wakes_the_awaiting_receiver() {
    run(|| async {
        let (tx, mut rx) = oneshot::channel::<u32>();
        rx.close();
        let waiting = netpoll::spawn(rx);
        netpoll::task::yield_now().await;
        assert_eq!(tx.send(1), Err(1));
        assert!(waiting.await.unwrap().is_err());
    });
}

#[test]
fn oneshot_dropping_the_receiver_drops_the_value_and_wakes_closed() {
    run(|| async {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel::<Counted>();
        assert!(tx.send(Counted(drops.clone())).is_ok());
        drop(rx);
        assert_eq!(drops.load(SeqCst), 1);

        let (mut tx, rx) = oneshot::channel::<u8>();
        {
            let mut closed = pin!(tx.closed());
            assert!(poll_once(&mut closed).await.is_none());
            drop(rx);
            closed.await;
        }
        assert!(tx.is_closed());
    });
}

// ---------------------------------------------------------------------------------------------
// broadcast

#[test]
fn broadcast_capacity_rounds_up_to_a_power_of_two_for_lagging() {
    run(|| async {
        let (tx, mut rx) = broadcast::channel::<u32>(3); // holds 4
        for i in 0..4 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 4);
        assert_eq!(rx.recv().await, Ok(0), "4 values fit in channel(3)");
        for i in 4..10 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), 9);
        assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Lagged(5)));
        assert_eq!(rx.len(), 4);
        for i in 6..10 {
            assert_eq!(rx.recv().await, Ok(i));
        }
        assert!(rx.is_empty());
        assert_eq!(rx.try_recv(), Err(broadcast::error::TryRecvError::Empty));
    });
}

#[test]
fn broadcast_len_counts_values_not_yet_seen_by_everyone() {
    run(|| async {
        let (tx, mut a) = broadcast::channel::<String>(8);
        let mut b = tx.subscribe();
        tx.send("x".into()).unwrap();
        tx.send("y".into()).unwrap();
        assert_eq!(tx.len(), 2);
        assert_eq!(a.recv().await.unwrap(), "x");
        assert_eq!(tx.len(), 2, "b has not seen x");
        assert_eq!(b.recv().await.unwrap(), "x");
        assert_eq!(tx.len(), 1);
        drop(b);
        assert_eq!(tx.len(), 1, "a still needs y");
        assert_eq!(a.recv().await.unwrap(), "y");
        assert!(tx.is_empty());
        // A receiver created later does not see earlier values.
        tx.send("z".into()).unwrap();
        let mut late = a.resubscribe();
        assert!(late.is_empty());
        assert_eq!(a.recv().await.unwrap(), "z");
        assert!(late.same_channel(&a));
        assert_eq!(late.try_recv(), Err(broadcast::error::TryRecvError::Empty));
    });
}

#[test]
fn broadcast_send_without_receivers_fails_but_subscribe_reopens() {
    run(|| async {
        let tx = broadcast::Sender::<u8>::new(2);
        assert_eq!(tx.receiver_count(), 0);
        assert_eq!(tx.send(1), Err(broadcast::error::SendError(1)));
        tx.closed().await;
        let mut rx = tx.subscribe();
        assert_eq!(tx.send(2), Ok(1));
        assert_eq!(rx.recv().await, Ok(2));

        let tx2 = tx.clone();
        let closed = netpoll::spawn(async move { tx2.closed().await });
        netpoll::task::yield_now().await;
        drop(rx);
        closed.await.unwrap();
    });
}

#[test]
fn broadcast_weak_senders_and_closing() {
    run(|| async {
        let (tx, mut rx) = broadcast::channel::<u8>(4);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
        let tx2 = weak.upgrade().unwrap();
        assert!(tx2.same_channel(&tx));
        tx2.send(1).unwrap();
        drop((tx, tx2));
        assert!(rx.is_closed());
        assert!(weak.upgrade().is_none());
        assert_eq!(
            rx.recv().await,
            Ok(1),
            "values sent before the close are still received"
        );
        assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Closed));
    });
}

#[test]
fn broadcast_values_are_dropped_once_every_receiver_saw_them() {
    run(|| async {
        let drops = Arc::new(AtomicUsize::new(0));
        #[derive(Clone)]
        struct C(Arc<AtomicUsize>);
        impl Drop for C {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let (tx, mut a) = broadcast::channel::<C>(4);
        let mut b = tx.subscribe();
        tx.send(C(drops.clone())).unwrap();
        drop(a.recv().await.unwrap()); // a clone
        assert_eq!(drops.load(SeqCst), 1);
        drop(b.recv().await.unwrap()); // the last reader takes the original
        assert_eq!(drops.load(SeqCst), 2, "no copy left in the channel");
        tx.send(C(drops.clone())).unwrap();
        drop(a);
        drop(b);
        assert_eq!(
            drops.load(SeqCst),
            3,
            "dropping every receiver drops the held value"
        );
    });
}

#[test]
fn broadcast_recv_is_cancel_safe_and_wakes_every_receiver() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, rx) = broadcast::channel::<u32>(16);
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let mut rx = rx.resubscribe();
                tasks.push(netpoll::spawn(async move {
                    let mut sum = 0;
                    loop {
                        // A recv raced against a short timeout, over and over: nothing lost.
                        match timeout(Duration::from_micros(50), rx.recv()).await {
                            Ok(Ok(v)) => sum += v,
                            Ok(Err(broadcast::error::RecvError::Closed)) => return sum,
                            Ok(Err(e)) => panic!("{e}"),
                            Err(_) => {}
                        }
                    }
                }));
            }
            drop(rx);
            for i in 1..=100 {
                tx.send(i).unwrap();
                if i % 8 == 0 {
                    netpoll::time::sleep(Duration::from_millis(1)).await;
                }
            }
            drop(tx);
            for t in tasks {
                assert_eq!(t.await.unwrap(), 5050);
            }
        })
    });
}

// ---------------------------------------------------------------------------------------------
// watch

#[test]
fn watch_receiver_is_closed_and_sender_default() {
    let (tx, rx) = watch::channel(1);
    assert!(!rx.is_closed());
    drop(tx);
    assert!(rx.is_closed());
    let tx: watch::Sender<Vec<u8>> = Default::default();
    assert!(tx.borrow().is_empty());
    assert_eq!(tx.receiver_count(), 0);
    tx.send_modify(|v| v.push(1));
    let modified = tx.send_if_modified(|v| {
        v.push(2);
        false
    });
    assert!(!modified);
    assert_eq!(*tx.borrow(), [1, 2]);
}

/// Two workers race senders and receivers of many oneshots: each side randomly sends/drops and
/// awaits/closes/drops. Nothing hangs, a successful send is received or dropped with the
/// receiver, and every value is dropped exactly once.
#[test]
fn oneshot_stress_racing_send_close_and_drop() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const N: usize = if cfg!(miri) { 50 } else { 4_000 };
            let drops = Arc::new(AtomicUsize::new(0));
            let made = Arc::new(AtomicUsize::new(0));
            let received = Arc::new(AtomicUsize::new(0));
            let sent_ok = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for i in 0..N {
                let (mut tx, mut rx) = oneshot::channel::<Counted>();
                let (drops, made, sent_ok) = (drops.clone(), made.clone(), sent_ok.clone());
                tasks.push(netpoll::spawn(async move {
                    match i % 3 {
                        0 => drop(tx),
                        1 => {
                            made.fetch_add(1, SeqCst);
                            if tx.send(Counted(drops)).is_ok() {
                                sent_ok.fetch_add(1, SeqCst);
                            }
                        }
                        _ => {
                            tx.closed().await;
                            made.fetch_add(1, SeqCst);
                            assert!(tx.send(Counted(drops)).is_err(), "send after closed");
                        }
                    }
                }));
                let received = received.clone();
                tasks.push(netpoll::spawn(async move {
                    match i % 4 {
                        0 => drop(rx),
                        1 => {
                            rx.close();
                            if let Ok(v) = rx.try_recv() {
                                received.fetch_add(1, SeqCst);
                                drop(v);
                            }
                        }
                        _ => {
                            if i % 3 == 2 {
                                // This sender waits for a close: give it one.
                                rx.close();
                            }
                            if let Ok(v) = (&mut rx).await {
                                received.fetch_add(1, SeqCst);
                                drop(v);
                            }
                            assert!(rx.is_terminated());
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(
                drops.load(SeqCst),
                made.load(SeqCst),
                "every value dropped once"
            );
            assert!(received.load(SeqCst) <= sent_ok.load(SeqCst));
            assert!(sent_ok.load(SeqCst) > 0);
        })
    });
}

/// watch under load: a sender publishes 1..=N while receivers on two workers follow with
/// `changed` + `borrow_and_update`; each sees a non-decreasing sequence that ends at N, and
/// `changed` errs only after the sender is gone.
#[test]
fn watch_stress_receivers_follow_to_the_last_value() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const N: u64 = if cfg!(miri) { 50 } else { 20_000 };
            let (tx, rx) = watch::channel(0u64);
            let mut followers = Vec::new();
            for _ in 0..4 {
                let mut rx = rx.clone();
                followers.push(netpoll::spawn(async move {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        let v = *rx.borrow_and_update();
                        assert!(v >= last, "went back from {last} to {v}");
                        last = v;
                    }
                    *rx.borrow()
                }));
            }
            drop(rx);
            for i in 1..=N {
                tx.send_modify(|v| *v = i);
                if i % 64 == 0 {
                    netpoll::task::yield_now().await;
                }
            }
            drop(tx);
            for f in followers {
                assert_eq!(f.await.unwrap(), N);
            }
        })
    });
}

/// Notify ping-pong on two workers: every `notify_one` must wake (or leave a permit for) the
/// other side, or the exchange stops and the bound fails the test.
#[test]
fn notify_stress_ping_pong() {
    use netpoll::sync::Notify;
    bounded(LIMIT, || {
        rt(2).block_on(async {
            const ROUNDS: usize = if cfg!(miri) { 50 } else { 20_000 };
            let ping = Arc::new(Notify::new());
            let pong = Arc::new(Notify::new());
            let (ping2, pong2) = (ping.clone(), pong.clone());
            let other = netpoll::spawn(async move {
                for _ in 0..ROUNDS {
                    ping2.notified().await;
                    pong2.notify_one();
                }
            });
            for _ in 0..ROUNDS {
                ping.notify_one();
                pong.notified().await;
            }
            other.await.unwrap();
        })
    });
}
