//! tokio parity II (issue 16): `net::unix::pipe` on the netpoller: anonymous pipes and FIFOs,
//! readiness clearing, a full pipe parks the writer, EPIPE (never SIGPIPE), the end checks.
mod support;

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use netpoll::io::{AsyncReadExt, AsyncWriteExt, Interest};
use netpoll::net::unix::pipe::{self, OpenOptions, Receiver, Sender};
use netpoll::time::timeout;
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);
const PARKED: Duration = Duration::from_millis(50);

#[test]
fn try_read_would_block_then_readable_parks_and_eof_after_the_sender_drops() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (mut tx, rx) = pipe::pipe().unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(
                rx.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(timeout(PARKED, rx.readable()).await.is_err(), "must park");
            let waiter = async {
                rx.readable().await.unwrap();
                rx.try_read(&mut buf).unwrap()
            };
            let writer = async {
                netpoll::time::sleep(Duration::from_millis(10)).await;
                tx.write_all(b"pipe").await.unwrap();
            };
            let (n, ()) = netpoll::join!(waiter, writer);
            assert_eq!(&buf[..n], b"pipe");

            tx.write_all(b"tail").await.unwrap();
            drop(tx);
            let mut rx = rx;
            let mut rest = Vec::new();
            rx.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"tail");
            let r = rx.ready(Interest::READABLE).await.unwrap();
            assert!(r.is_read_closed(), "{r:?}");
            assert_eq!(rx.try_read(&mut buf).unwrap(), 0);
        })
    });
}

#[test]
fn a_full_pipe_parks_the_writer_until_the_reader_drains_and_a_gone_reader_is_epipe() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (tx, mut rx) = pipe::pipe().unwrap();
            let chunk = [9u8; 4096];
            let mut queued = 0usize;
            loop {
                match tx.try_write(&chunk) {
                    Ok(n) => queued += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(
                timeout(PARKED, tx.writable()).await.is_err(),
                "a full pipe: must park"
            );
            let drain = async {
                let mut buf = vec![0u8; queued];
                rx.read_exact(&mut buf).await.unwrap();
            };
            let (w, ()) = netpoll::join!(tx.writable(), drain);
            w.unwrap();
            assert!(tx.try_write(b"x").unwrap() == 1);
            drop(rx);
            let e = timeout(Duration::from_secs(5), async {
                loop {
                    match tx.try_write(b"x") {
                        Err(e) if e.kind() == ErrorKind::WouldBlock => tx.writable().await.unwrap(),
                        Err(e) => return e,
                        Ok(_) => {}
                    }
                }
            })
            .await
            .unwrap();
            assert_eq!(e.kind(), ErrorKind::BrokenPipe);
            let r = tx.ready(Interest::WRITABLE).await.unwrap();
            assert!(r.is_write_closed(), "{r:?}");
        })
    });
}

struct Fifo(PathBuf);

impl Fifo {
    fn new(name: &str) -> Fifo {
        let p = std::env::temp_dir().join(format!("netpoll-fifo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "mkfifo failed");
        Fifo(p)
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn fifos_open_with_the_documented_checks() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let fifo = Fifo::new("open");
            let e = OpenOptions::new().open_sender(&fifo.0).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ENXIO), "no reader yet");
            let mut rx = OpenOptions::new().open_receiver(&fifo.0).unwrap();
            let mut tx = OpenOptions::new().open_sender(&fifo.0).unwrap();
            tx.write_all(b"fifo").await.unwrap();
            let mut buf = [0u8; 4];
            rx.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"fifo");
            let rw = OpenOptions::new()
                .read_write(true)
                .unchecked(true)
                .open_sender(&fifo.0)
                .unwrap();
            drop(rw);

            let file = std::env::temp_dir().join(format!("netpoll-notfifo-{}", std::process::id()));
            std::fs::write(&file, b"plain").unwrap();
            let e = OpenOptions::new().open_receiver(&file).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            let e = Sender::from_file(std::fs::File::open(&file).unwrap()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            std::fs::remove_file(&file).unwrap();

            // A read end is not a Sender; checked ends round-trip through their fds.
            let (tx2, rx2) = pipe::pipe().unwrap();
            let rfd = rx2.into_nonblocking_fd().unwrap();
            assert_eq!(
                Sender::from_owned_fd(rfd.try_clone().unwrap())
                    .unwrap_err()
                    .kind(),
                ErrorKind::InvalidInput
            );
            let rx2 = Receiver::from_owned_fd(rfd).unwrap();
            let tx2 = Sender::from_owned_fd(tx2.into_blocking_fd().unwrap()).unwrap();
            assert_eq!(tx2.try_write(b"ok").unwrap(), 2);
            rx2.readable().await.unwrap();
            let mut v = Vec::with_capacity(2);
            assert_eq!(rx2.try_read_buf(&mut v).unwrap(), 2);
            assert_eq!(v, b"ok");
        })
    });
}
