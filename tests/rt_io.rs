//! The netpoller: readiness on raw fds (EAGAIN, park, wake), many waiters, fd reuse.
mod support;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use netpoll::io::{Direction, Registration};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn eagain_parks_and_the_event_wakes() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (a, b) = pair();
        let b = Arc::new(b);
        let writer = b.clone();
        let got = rt.block_on(async move {
            let reg = Registration::new(a.as_raw_fd()).unwrap();
            let reader = async {
                let mut buf = [0u8; 16];
                let n = std::future::poll_fn(|cx| {
                    reg.poll_io(cx, Direction::Read, || (&a).read(&mut buf))
                })
                .await
                .unwrap();
                buf[..n].to_vec()
            };
            // Nothing to read yet: the reader must park; the write comes from another thread later.
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                (&*writer).write_all(b"wake").unwrap();
            });
            let v = reader.await;
            drop(reg);
            v
        });
        assert_eq!(got, b"wake");
        drop(b);
    });
}

#[test]
fn backpressure_write_parks_until_the_peer_drains() {
    bounded(LIMIT, || {
        let rt = rt_current();
        let (a, b) = pair();
        let total = rt.block_on(async move {
            let reg = Registration::new(a.as_raw_fd()).unwrap();
            let chunk = vec![7u8; 64 * 1024];
            let mut written = 0usize;
            // Fill the socket buffer until EAGAIN, then have a thread drain it.
            loop {
                match (&a).write(&chunk) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let target = written + 1024 * 1024;
            let drain = std::thread::spawn(move || {
                let mut b = b;
                b.set_nonblocking(false).unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0;
                while got < target {
                    got += b.read(&mut buf).unwrap();
                }
                got
            });
            while written < target {
                let want = (target - written).min(chunk.len());
                written += std::future::poll_fn(|cx| {
                    reg.poll_io(cx, Direction::Write, || (&a).write(&chunk[..want]))
                })
                .await
                .unwrap();
            }
            drop(reg);
            drain.join().unwrap()
        });
        assert!(total >= 1024 * 1024);
    });
}

#[test]
fn many_waiters_on_one_fd_all_run() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (a, b) = pair();
        rt.block_on(async move {
            let reg = Arc::new(Registration::new(a.as_raw_fd()).unwrap());
            // Make it not-ready first: drain and observe EAGAIN.
            let _ = reg.try_io(Direction::Read, || (&a).read(&mut [0u8; 1]));
            let hs: Vec<_> = (0..100)
                .map(|_| {
                    let reg = reg.clone();
                    netpoll::spawn(async move { reg.readable().await.unwrap().is_ready() })
                })
                .collect();
            netpoll::time::sleep(Duration::from_millis(20)).await;
            (&b).write_all(b"x").unwrap();
            for h in hs {
                assert!(h.await.unwrap());
            }
            drop(reg);
            drop(a);
        });
    });
}

#[test]
fn peer_close_is_reported_as_closed_readiness() {
    bounded(LIMIT, || {
        let rt = rt(1);
        let (a, b) = pair();
        rt.block_on(async move {
            let reg = Registration::new(a.as_raw_fd()).unwrap();
            let _ = reg.try_io(Direction::Read, || (&a).read(&mut [0u8; 1]));
            drop(b);
            let ev = reg.readable().await.unwrap();
            assert!(ev.is_closed());
            let n = std::future::poll_fn(|cx| {
                reg.poll_io(cx, Direction::Read, || (&a).read(&mut [0u8; 8]))
            })
            .await
            .unwrap();
            assert_eq!(n, 0);
        });
    });
}

#[test]
fn fd_reuse_after_close_never_wakes_the_old_owner() {
    // Register fd N, close it (deregister first), let a new socket get number N, and make the
    // new one ready. The old registration's waiter must not be woken by it; the new one is.
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            for _ in 0..50 {
                let (a, b) = pair();
                let old_fd = a.as_raw_fd();
                let old = Registration::new(old_fd).unwrap();
                let _ = old.try_io(Direction::Read, || (&a).read(&mut [0u8; 1]));
                drop(b);
                // Deregister, then close: the slab slot and fd number are free for reuse.
                old.deregister().unwrap();
                drop(a);
                let (c, d) = pair();
                let (c, d) = if c.as_raw_fd() == old_fd {
                    (c, d)
                } else {
                    (d, c)
                };
                assert_eq!(c.as_raw_fd(), old_fd, "fd number was not reused");
                let new = Registration::new(c.as_raw_fd()).unwrap();
                let _ = new.try_io(Direction::Read, || (&c).read(&mut [0u8; 1]));
                (&d).write_all(b"y").unwrap();
                let ev = netpoll::time::timeout(Duration::from_secs(5), new.readable())
                    .await
                    .unwrap()
                    .unwrap();
                assert!(ev.is_ready());
                drop(new);
            }
        });
    });
}

#[test]
fn registration_after_deregister_fails_cleanly() {
    bounded(LIMIT, || {
        let rt = rt(1);
        let (a, _b) = pair();
        let reg = rt.block_on(async { Registration::new(a.as_raw_fd()).unwrap() });
        let reg2 = Registration::new_with_handle(a.as_raw_fd(), rt.handle());
        // Registering the same fd twice is an error from epoll (EEXIST), not a panic.
        assert!(reg2.is_err());
        drop(reg);
        assert!(
            Registration::new(a.as_raw_fd()).is_err(),
            "outside a runtime: an error, not a panic"
        );
    });
}

/// A short stream read clears read readiness: the next read parks without a syscall (no
/// `EAGAIN` round trip), and the next event wakes it. A full read keeps the readiness.
#[test]
fn short_stream_read_parks_without_a_syscall() {
    use std::cell::Cell;
    use std::task::Poll;
    bounded(LIMIT, || {
        // Current-thread: the poller runs only when the task parks, so the registration's first
        // event cannot land between the steps below and make the direction ready again.
        let rt = rt_current();
        let (a, b) = pair();
        let calls = rt.block_on(async move {
            let reg = Registration::new(a.as_raw_fd()).unwrap();
            let calls = Cell::new(0u32);
            let mut buf = [0u8; 8];
            let mut read = |cx: &mut std::task::Context<'_>| {
                reg.poll_io_stream(cx, Direction::Read, 8, || {
                    calls.set(calls.get() + 1);
                    (&a).read(&mut buf)
                })
            };
            // A full read (8 of 8): readiness stays, the next call tries the syscall.
            (&b).write_all(b"0123456789").unwrap();
            let n = std::future::poll_fn(&mut read).await.unwrap();
            assert_eq!((n, calls.get()), (8, 1));
            // A short read (2 of 8): drained.
            let n = std::future::poll_fn(&mut read).await.unwrap();
            assert_eq!((n, calls.get()), (2, 2));
            // Known not ready: Pending without calling the closure.
            let pending = std::future::poll_fn(|cx| Poll::Ready(read(cx).is_pending())).await;
            assert!(pending);
            assert_eq!(calls.get(), 2, "a read after a short read made a syscall");
            // The next write's event makes it ready again.
            (&b).write_all(b"x").unwrap();
            let n = std::future::poll_fn(&mut read).await.unwrap();
            assert_eq!(n, 1);
            calls.get()
        });
        assert_eq!(calls, 3);
    });
}

/// Regression: a worker that took one event from the netpoller woke an idle worker for the task
/// it was about to run itself, so every message of a request/response exchange cost a futex
/// wake and a park of the other worker (tcp_echo_64b was 3x slower than tokio). Now a worker
/// wakes another only when it holds more work than it can start.
#[test]
fn one_woken_task_does_not_wake_a_second_worker() {
    bounded(LIMIT, || {
        let rt = rt(2);
        const ROUND_TRIPS: u64 = 2000;
        let parks_before: u64 = (0..2).map(|w| rt.metrics().worker_park_count(w)).sum();
        rt.block_on(async {
            use netpoll::io::{AsyncReadExt, AsyncWriteExt};
            let (mut a, mut b) = support::tcp_pair().await;
            a.set_nodelay(true).unwrap();
            b.set_nodelay(true).unwrap();
            let echo = netpoll::spawn(async move {
                let mut buf = [0u8; 64];
                while b.read_exact(&mut buf).await.is_ok() {
                    b.write_all(&buf).await.unwrap();
                }
            });
            let client = netpoll::spawn(async move {
                let mut buf = [7u8; 64];
                for _ in 0..ROUND_TRIPS {
                    a.write_all(&buf).await.unwrap();
                    a.read_exact(&mut buf).await.unwrap();
                }
            });
            client.await.unwrap();
            echo.await.unwrap();
        });
        let parks: u64 = (0..2)
            .map(|w| rt.metrics().worker_park_count(w))
            .sum::<u64>()
            - parks_before;
        // Waking the other worker for each message made it park again each time: ~700-830
        // parks for these 2000 round trips. Without that, a handful (8-9 here): a worker waiting
        // for bytes finds them with its non-blocking netpoll before it would sleep.
        assert!(
            parks < ROUND_TRIPS / 8,
            "{parks} parks for {ROUND_TRIPS} round trips: workers are woken for nothing"
        );
    });
}
