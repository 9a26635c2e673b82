//! Wake-up storms: many tasks parked on one socket's readiness, the readiness raised and
//! cleared over and over; every waiter runs on every edge. And registrations dropped while a
//! waker is still stored, their fds reused at once: no old waker ever fires for the new fd.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_task::ArcWake;
use netpoll::net::UnixStream;

use crate::support::{bounded, rt};

const WAITERS: usize = 1_000;
const EDGES: usize = 100;

#[test]
fn every_waiter_runs_on_every_readiness_edge() {
    let _serial = crate::serial();
    crate::soak("wake_storm", |_| {
        bounded(Duration::from_secs(120), storm_round);
    });
}

fn storm_round() {
    let rt = rt(2);
    rt.block_on(async {
        let (a, b) = UnixStream::pair().expect("pair");
        // A new registration starts optimistically ready; EAGAIN lowers it.
        lower(&a);
        let a = Arc::new(a);
        // `round` is the edge the waiters may wait for; `entered`/`woke` count per edge.
        let (tx, rx) = netpoll::sync::watch::channel(0usize);
        let entered = Arc::new(AtomicUsize::new(0));
        let woke = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..WAITERS)
            .map(|_| {
                let (a, mut rx) = (Arc::clone(&a), rx.clone());
                let (entered, woke) = (Arc::clone(&entered), Arc::clone(&woke));
                netpoll::spawn(async move {
                    for edge in 1..=EDGES {
                        rx.wait_for(|&r| r >= edge).await.expect("round sender");
                        entered.fetch_add(1, SeqCst);
                        a.readable().await.expect("readable");
                        woke.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        drop(rx);
        for edge in 1..=EDGES {
            tx.send_replace(edge);
            // Let the waiters reach `readable()` (most of them park there), then raise the edge.
            while entered.load(SeqCst) < WAITERS * edge {
                netpoll::time::sleep(Duration::from_millis(1)).await;
            }
            netpoll::task::yield_now().await;
            b.write(b"x").await.expect("write");
            let t = std::time::Instant::now();
            while woke.load(SeqCst) < WAITERS * edge {
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "edge {edge}: only {} of {WAITERS} waiters ran",
                    woke.load(SeqCst) - WAITERS * (edge - 1)
                );
                netpoll::time::sleep(Duration::from_millis(1)).await;
            }
            // Lower the edge: read to EAGAIN, which clears the latched readiness.
            lower(&a);
        }
        for t in tasks {
            t.await.expect("waiter task");
        }
        assert_eq!(woke.load(SeqCst), WAITERS * EDGES);
    });
}

/// Reads until `EAGAIN`, which clears the socket's latched read readiness.
fn lower(s: &UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        match s.try_read(&mut buf) {
            Ok(0) => panic!("peer closed"),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("try_read: {e}"),
        }
    }
}

struct CountingWaker(AtomicUsize);

impl ArcWake for CountingWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, SeqCst);
    }
}

const BATCH: usize = 64;
const BATCHES: usize = 100;

#[test]
fn no_waker_fires_after_its_registration_is_gone() {
    let _serial = crate::serial();
    crate::soak("stale_wakers", |_| {
        bounded(Duration::from_secs(120), stale_round);
    });
}

fn stale_round() {
    let rt = rt(2);
    rt.block_on(async {
        let old = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = futures_task::waker(Arc::clone(&old));
        let mut cx = Context::from_waker(&waker);
        for _ in 0..BATCHES {
            // A batch of sockets, each with a waiter parked on its read readiness; the waiting
            // futures are leaked so the registrations go away with the wakers still stored.
            let mut peers = Vec::with_capacity(BATCH);
            for _ in 0..BATCH {
                let (a, b) = UnixStream::pair().expect("pair");
                lower(&a);
                {
                    let mut fut = Box::pin(a.readable());
                    assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Pending));
                    std::mem::forget(fut);
                }
                drop(a); // deregisters and closes while the waker is stored
                peers.push(b);
            }
            // Deregistration may wake the waiters it removes; from now on nothing may.
            netpoll::time::sleep(Duration::from_millis(1)).await;
            let woken_at_drop = old.0.load(SeqCst);
            // New sockets take the freed fds and slab slots; make them all readable.
            let fresh: Vec<_> = (0..BATCH)
                .map(|_| UnixStream::pair().expect("pair"))
                .collect();
            for (_, b) in &fresh {
                b.write(b"y").await.expect("write");
            }
            for (a, _) in &fresh {
                a.readable().await.expect("fresh readable");
            }
            // The old peers close: the old sockets are gone, so this must reach nobody.
            drop(peers);
            netpoll::time::sleep(Duration::from_millis(2)).await;
            assert_eq!(
                old.0.load(SeqCst),
                woken_at_drop,
                "a waker fired after its registration was dropped"
            );
        }
    });
}
