//! tokio parity (issue 15): `io::unix::AsyncFd` — readiness of a caller-owned fd through the
//! netpoller, with tokio's guard protocol.
mod support;

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use netpoll::io::unix::{AsyncFd, TryIoError};
use netpoll::io::{Interest, Ready};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

/// `AsyncFd::register`, for a stream that owns its fd and that nothing else closes.
fn register(s: UnixStream) -> AsyncFd<UnixStream> {
    // SAFETY: `s` owns its fd, and the tests close it only by dropping the `AsyncFd` (or after
    // `into_inner`).
    unsafe { AsyncFd::register(s) }.unwrap()
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

async fn read_some(fd: &AsyncFd<UnixStream>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        match guard.try_io(|inner| inner.get_ref().read(buf)) {
            Ok(result) => return result,
            Err(TryIoError { .. }) => continue,
        }
    }
}

#[test]
fn readable_wakes_on_data_and_try_io_clears_on_would_block() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = pair();
            let a = register(a);
            let mut b = b;
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                b.write_all(b"hello").unwrap();
                b
            });
            let mut buf = [0u8; 16];
            let n = read_some(&a, &mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");

            // Drained: a guard's try_io gets WouldBlock, clears, and the next wait parks.
            let b = writer.join().unwrap();
            let mut guard = a.readable().await.unwrap();
            assert!(guard.ready().is_readable());
            assert!(guard.try_io(|fd| fd.get_ref().read(&mut buf)).is_err());
            let parked = netpoll::time::timeout(Duration::from_millis(30), a.readable()).await;
            assert!(parked.is_err(), "no data: readable() must wait");

            // EOF: readable, read-closed, and it stays visible.
            drop(b);
            assert!(a.readable().await.unwrap().ready().is_read_closed());
            assert_eq!(read_some(&a, &mut buf).await.unwrap(), 0);
            assert!(a.readable().await.unwrap().ready().is_read_closed());
        })
    });
}

#[test]
fn writable_async_io_and_ready_with_both_interests() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let (a, b) = pair();
            // SAFETY: `a` owns its fd.
            let a = unsafe {
                AsyncFd::register_with_interest(a, Interest::READABLE | Interest::WRITABLE)
            }
            .unwrap();
            assert!(a.writable().await.unwrap().ready().is_writable());

            // Fill the socket buffer with async_io, then drain from the other side in a thread.
            let chunk = vec![7u8; 64 * 1024];
            let mut b = b;
            let reader = std::thread::spawn(move || {
                let mut got = 0usize;
                let mut buf = vec![0u8; 64 * 1024];
                while got < 1024 * 1024 {
                    match b.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(1))
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                got
            });
            let mut sent = 0usize;
            while sent < 1024 * 1024 {
                let want = chunk.len().min(1024 * 1024 - sent);
                let n = a
                    .async_io(Interest::WRITABLE, |s| (&*s).write(&chunk[..want]))
                    .await
                    .unwrap();
                sent += n;
            }
            assert_eq!(reader.join().unwrap(), 1024 * 1024);

            // `ready` with both interests reports what is ready.
            let guard = a
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await
                .unwrap();
            assert!(guard.ready().is_writable());
            assert!(!guard.ready().is_empty());
        })
    });
}

#[test]
fn mut_guards_into_inner_and_errors() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let (a, mut b) = pair();
            let raw = a.as_raw_fd();
            let mut a = register(a);
            assert_eq!(a.as_raw_fd(), raw);
            b.write_all(b"xy").unwrap();
            let mut guard = a.readable_mut().await.unwrap();
            let mut buf = [0u8; 2];
            let n = guard
                .try_io(|fd| fd.get_mut().read(&mut buf))
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..n], b"xy");
            guard.clear_ready_matching(Ready::READABLE);
            #[allow(clippy::drop_non_drop)]
            drop(guard);
            let n = a
                .async_io_mut(Interest::WRITABLE, |s| s.write(b"back"))
                .await
                .unwrap();
            assert_eq!(n, 4);

            // into_inner deregisters and keeps the fd open.
            let a = a.into_inner();
            assert_eq!(a.as_raw_fd(), raw);
            let mut buf = [0u8; 4];
            let mut b2 = b.try_clone().unwrap();
            assert_eq!(b2.read(&mut buf).unwrap(), 4);
            // ... and it can be registered again.
            // (through tokio's deprecated constructor, which still works.)
            #[allow(deprecated)]
            let a = AsyncFd::try_new(a).unwrap();
            drop(a);

            // PRIORITY (Linux only, as in tokio) is not supported: a clear error, and the
            // value back.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                let (c, _d) = pair();
                // SAFETY: `c` owns its fd.
                let err =
                    unsafe { AsyncFd::register_with_interest(c, Interest::PRIORITY) }.unwrap_err();
                let (c, cause) = err.into_parts();
                assert_eq!(cause.kind(), io::ErrorKind::Unsupported);
                assert!(c.as_raw_fd() >= 0);
            }
        })
    });
}

#[test]
fn try_io_does_not_call_the_closure_until_ready_and_clears_on_would_block() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let (a, mut b) = pair();
            let mut a = register(a);
            let mut buf = [0u8; 8];
            // Wait for the first (registration-time) readiness to be known, then drain it.
            let _ = a.writable().await.unwrap();
            let mut called = false;
            let r = a.try_io(Interest::READABLE, |s| {
                called = true;
                (&*s).read(&mut buf)
            });
            // Either the closure was not called (not ready), or it was and got WouldBlock;
            // both are WouldBlock, and afterwards readiness is clear.
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            let mut called_again = false;
            let r = a.try_io(Interest::READABLE, |s| {
                called_again = true;
                (&*s).read(&mut buf)
            });
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            assert!(
                !called_again,
                "readiness was cleared: the closure must not run"
            );
            let _ = called;

            b.write_all(b"abc").unwrap();
            // The event arrives; readable() returns, and try_io now runs the closure.
            let _ = a.readable().await.unwrap();
            let n = a
                .try_io_mut(Interest::READABLE, |s| s.read(&mut buf))
                .unwrap();
            assert_eq!(&buf[..n], b"abc");
            // Drained: the closure runs, gets WouldBlock, and readiness is cleared again.
            let r = a.try_io(Interest::READABLE, |s| (&*s).read(&mut buf));
            assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            let parked = netpoll::time::timeout(Duration::from_millis(30), a.readable()).await;
            assert!(parked.is_err(), "no data: readable() must wait");

            // Writable now: try_io(WRITABLE) runs the closure at once.
            assert_eq!(
                a.try_io(Interest::WRITABLE, |s| (&*s).write(b"z")).unwrap(),
                1
            );
            let mut one = [0u8; 1];
            assert_eq!(b.read(&mut one).unwrap(), 1);
        })
    });
}

/// An fd of a pipe or an eventfd, from libc, as a `File` (which reads and writes any fd).
#[cfg(target_os = "linux")]
fn file_from_raw(fd: libc::c_int) -> std::fs::File {
    assert!(fd >= 0, "{}", io::Error::last_os_error());
    // SAFETY: `fd` was just returned by the kernel and is owned by nothing else.
    unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) }
}

#[cfg(target_os = "linux")]
fn register_file(f: std::fs::File) -> AsyncFd<std::fs::File> {
    // SAFETY: the file owns its fd, closed only when the `AsyncFd` drops it.
    unsafe { AsyncFd::register(f) }.unwrap()
}

// pipe2 and eventfd are Linux calls (the kqueue targets only type-check this file).
#[cfg(target_os = "linux")]
#[test]
fn async_fd_over_a_pipe_waits_for_data_and_sees_the_writer_close() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` has room for the two descriptors pipe2 writes.
            let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
            assert_eq!(rc, 0, "{}", io::Error::last_os_error());
            let reader = register_file(file_from_raw(fds[0]));
            let mut writer = file_from_raw(fds[1]);

            let mut buf = [0u8; 8];
            // Readiness may be spurious (a new registration starts optimistic, as tokio allows):
            // a try_io that gets WouldBlock clears it, and then the wait parks.
            {
                let mut guard = reader.readable().await.unwrap();
                assert!(guard.try_io(|f| f.get_ref().read(&mut buf)).is_err());
            }
            let parked = netpoll::time::timeout(Duration::from_millis(30), reader.readable()).await;
            assert!(parked.is_err(), "an empty pipe is not readable");
            let w = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                writer.write_all(b"pipe").unwrap();
                writer // closed when the thread's result is dropped below
            });
            let n = loop {
                let mut guard = reader.readable().await.unwrap();
                if let Ok(r) = guard.try_io(|f| f.get_ref().read(&mut buf)) {
                    break r.unwrap();
                }
            };
            assert_eq!(&buf[..n], b"pipe");
            drop(w.join().unwrap());
            // The write end is closed: the read gets EOF, and once the netpoller has seen the
            // hang-up the readiness says read-closed (and stays so).
            loop {
                let mut guard = reader.readable().await.unwrap();
                match guard.try_io(|f| f.get_ref().read(&mut buf)) {
                    Ok(r) => {
                        assert_eq!(r.unwrap(), 0, "only EOF is left");
                        break;
                    }
                    Err(_) => continue,
                }
            }
            let mut closed = false;
            for _ in 0..1000 {
                if reader.readable().await.unwrap().ready().is_read_closed() {
                    closed = true;
                    break;
                }
                netpoll::time::sleep(Duration::from_millis(1)).await;
            }
            assert!(closed, "the hang-up never showed as read-closed");
        })
    });
}

#[cfg(target_os = "linux")]
#[test]
fn async_fd_over_an_eventfd_wakes_per_write_and_parks_once_drained() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            // SAFETY: eventfd takes two integers and returns a new fd or -1.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            let efd = register_file(file_from_raw(fd));
            // Writable at once: the counter is far from its maximum.
            assert!(efd.writable().await.unwrap().ready().is_writable());

            // SAFETY: duplicating a valid fd we own.
            let poke = file_from_raw(unsafe { libc::dup(efd.as_raw_fd()) });
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                (&poke).write_all(&3u64.to_ne_bytes()).unwrap();
                poke
            });
            let mut buf = [0u8; 8];
            loop {
                let mut guard = efd.readable().await.unwrap();
                if let Ok(r) = guard.try_io(|f| f.get_ref().read(&mut buf)) {
                    assert_eq!(r.unwrap(), 8);
                    break;
                }
            }
            assert_eq!(u64::from_ne_bytes(buf), 3);
            let poke = t.join().unwrap();

            // Drained: try_io sees WouldBlock, clears readiness, and the next wait parks.
            let mut guard = efd.readable().await.unwrap();
            assert!(guard.try_io(|f| f.get_ref().read(&mut buf)).is_err());
            let parked = netpoll::time::timeout(Duration::from_millis(30), efd.readable()).await;
            assert!(parked.is_err(), "a drained eventfd must not look readable");
            (&poke).write_all(&1u64.to_ne_bytes()).unwrap();
            assert!(efd.readable().await.unwrap().ready().is_readable());
        })
    });
}
