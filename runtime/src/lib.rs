//! netpoll's runtime core: a work-stealing scheduler, a netpoller (epoll on Linux, kqueue on
//! macOS/FreeBSD) built the way Go's runtime does it, timers, sysmon, and the blocking pool.
//!
//! Most users depend on the `netpoll` facade crate, which re-exports this one.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod blocking;
pub mod io;
pub(crate) mod loom;
#[doc(hidden)]
pub mod macros;
pub mod runtime;
pub(crate) mod scheduler;
#[cfg(unix)]
pub mod signal;
mod sys;
pub mod task;
pub mod time;
mod trace;

pub use runtime::{spawn, spawn_blocking};

#[cfg(all(test, not(loom)))]
mod tests {
    //! End to end on a current-thread runtime, small enough for Miri: spawn and join, a timer,
    //! and a task that gets EAGAIN, parks, and is woken by the netpoller.

    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use crate::io::{Direction, Registration};

    use crate::sys::test_fds::{raw_read, raw_write, set_nonblocking};

    #[test]
    fn spawn_sleep_and_park_on_eagain() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(async {
            let a = crate::spawn(async { 20 });
            let b = crate::spawn(async {
                crate::task::yield_now().await;
                22
            });
            crate::time::sleep(Duration::from_millis(1)).await;
            let (x, y) = std::os::unix::net::UnixStream::pair().unwrap();
            set_nonblocking(&x);
            let reader = crate::spawn(async move {
                let reg = Registration::new(x.as_raw_fd()).unwrap();
                let mut buf = [0u8; 4];
                let n = std::future::poll_fn(|cx| {
                    reg.poll_io(cx, Direction::Read, || raw_read(&x, &mut buf))
                })
                .await
                .unwrap();
                drop(reg);
                buf[..n].to_vec()
            });
            crate::task::yield_now().await;
            raw_write(&y, b"ping").unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got, b"ping");
            a.await.unwrap() + b.await.unwrap()
        });
        assert_eq!(out, 42);
    }

    #[test]
    fn multi_thread_spawn_many_and_shutdown() {
        let rt = crate::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let n = if cfg!(miri) { 20 } else { 2000 };
        let sum = rt.block_on(async move {
            let hs: Vec<_> = (0..n).map(|i| crate::spawn(async move { i })).collect();
            let mut s = 0u64;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, (0..n).sum());
        rt.shutdown_timeout(Duration::from_secs(5));
    }
}
