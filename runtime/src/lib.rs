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

    /// `write(2)`/`read(2)`: Miri's socketpairs support these, not std's `send`/`recv`.
    fn raw_write(s: &impl std::os::fd::AsRawFd, data: &[u8]) -> std::io::Result<usize> {
        // SAFETY: writing from a live buffer of the given length to an fd we own.
        let n = unsafe { libc::write(s.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn raw_read(s: &impl std::os::fd::AsRawFd, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: reading into a live buffer of the given length from an fd we own.
        let n = unsafe { libc::read(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// `fcntl(O_NONBLOCK)`: std's `set_nonblocking` uses an ioctl that Miri lacks for sockets.
    fn set_nonblocking(s: &impl std::os::fd::AsRawFd) {
        let fd = s.as_raw_fd();
        // SAFETY: fcntl on an fd we own; F_GETFL/F_SETFL take and return plain ints.
        let rc = unsafe {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            )
        };
        assert_eq!(rc, 0);
    }

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
