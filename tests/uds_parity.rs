//! tokio parity II (issue 16): UnixStream, UnixListener, UnixDatagram and UnixSocket behave as
//! tokio documents them: readiness clearing, a full datagram queue parks `poll_send_to` until
//! the reader drains it, addresses, peer credentials, std round trips, reunite.
mod support;

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use netpoll::io::{AsyncReadExt, AsyncWriteExt, Interest};
use netpoll::net::unix::{ReuniteError, SocketAddr};
use netpoll::net::{UnixDatagram, UnixListener, UnixSocket, UnixStream};
use netpoll::time::timeout;
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);
const PARKED: Duration = Duration::from_millis(50);

/// A fresh directory for this test's socket files (removed at the end of the test).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("netpoll-uds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn try_read_would_block_then_readable_parks_until_data_arrives() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(
                a.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(timeout(PARKED, a.readable()).await.is_err(), "must park");
            let waiter = async {
                a.readable().await.unwrap();
                a.try_read(&mut buf).unwrap()
            };
            let writer = async {
                netpoll::time::sleep(Duration::from_millis(10)).await;
                b.write_all(b"wake").await.unwrap();
            };
            let (n, ()) = netpoll::join!(waiter, writer);
            assert_eq!(&buf[..n], b"wake");

            b.write_all(b"xy").await.unwrap();
            let r = timeout(Duration::from_secs(5), async {
                loop {
                    let r = a
                        .ready(Interest::READABLE | Interest::WRITABLE)
                        .await
                        .unwrap();
                    if r.is_readable() {
                        return r;
                    }
                    netpoll::task::yield_now().await;
                }
            })
            .await
            .unwrap();
            assert!(r.is_readable() && r.is_writable(), "{r:?}");
            let mut v = Vec::with_capacity(4);
            assert_eq!(a.try_read_buf(&mut v).unwrap(), 2);
            assert_eq!(v, b"xy");
            assert!(a.take_error().unwrap().is_none());
        })
    });
}

#[test]
fn poll_send_to_parks_on_a_full_datagram_queue_and_wakes_when_it_drains() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let dir = Dir::new("dgram-full");
            let (pa, pb) = (dir.path("a"), dir.path("b"));
            let a = UnixDatagram::bind(&pa).unwrap();
            let b = UnixDatagram::bind(&pb).unwrap();
            // Connected to its target, so the kernel wakes the sender when the target drains.
            a.connect(&pb).unwrap();
            let msg = [1u8; 512];
            let mut queued = 0usize;
            loop {
                match a.try_send_to(&msg, &pb) {
                    Ok(_) => queued += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
                assert!(queued < 1_000_000, "the queue never filled");
            }
            let pending = timeout(
                PARKED,
                std::future::poll_fn(|cx| a.poll_send_to(cx, &msg, &pb)),
            )
            .await;
            assert!(
                pending.is_err(),
                "a full queue: poll_send_to must be Pending"
            );

            let drain = async {
                let mut buf = [0u8; 512];
                for _ in 0..queued {
                    b.recv(&mut buf).await.unwrap();
                }
            };
            let send = std::future::poll_fn(|cx| a.poll_send_to(cx, &msg, &pb));
            let (sent, ()) = netpoll::join!(send, drain);
            assert_eq!(sent.unwrap(), 512);
            let mut buf = [0u8; 512];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(n, 512);
            assert_eq!(from.as_pathname(), Some(pa.as_path()));
        })
    });
}

#[test]
fn datagram_pair_unbound_and_std_round_trip() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = UnixDatagram::pair().unwrap();
            assert!(a.local_addr().unwrap().is_unnamed());
            a.try_send(b"one").unwrap();
            b.readable().await.unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = b.try_recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"one");
            assert!(from.is_unnamed());
            assert_eq!(
                b.try_recv(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );

            let std_a = a.into_std().unwrap();
            let a = UnixDatagram::try_from(std_a).unwrap();
            a.send(b"two").await.unwrap();
            let mut v = Vec::with_capacity(8);
            let (n, _) = b.recv_buf_from(&mut v).await.unwrap();
            assert_eq!(&v[..n], b"two");

            let dir = Dir::new("dgram-unbound");
            let target = UnixDatagram::bind(dir.path("t")).unwrap();
            let u = UnixDatagram::unbound().unwrap();
            u.send_to(b"hi", dir.path("t")).await.unwrap();
            let n = target.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hi");
            u.shutdown(std::net::Shutdown::Both).unwrap();
        })
    });
}

#[test]
fn listener_addresses_peer_cred_and_std_round_trips() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let dir = Dir::new("listener");
            let path = dir.path("l");
            let std_l = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let listener = UnixListener::try_from(std_l).unwrap();
            let listener = UnixListener::from_std(listener.into_std().unwrap()).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            assert!(listener.take_error().unwrap().is_none());

            let mut client = UnixStream::connect(&path).await.unwrap();
            let (mut server, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx))
                .await
                .unwrap();
            assert!(peer.is_unnamed());
            assert_eq!(
                client.peer_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            let cred = server.peer_cred().unwrap();
            // The process's own uid, read through std.
            let me = std::fs::metadata("/proc/self").map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid()
            });
            if let Ok(uid) = me {
                assert_eq!(cred.uid(), uid);
            }
            if let Some(pid) = cred.pid() {
                assert_eq!(pid as u32, std::process::id());
            }

            client.write_all(b"ping").await.unwrap();
            let std_server = server.into_std().unwrap();
            server = UnixStream::from_std(std_server).unwrap();
            let mut buf = [0u8; 4];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");

            let addr: SocketAddr = listener.local_addr().unwrap();
            let std_addr: std::os::unix::net::SocketAddr = addr.clone().into();
            assert_eq!(SocketAddr::from(std_addr).as_pathname(), addr.as_pathname());
            let mut again = UnixStream::connect_addr(&addr).await.unwrap();
            let (mut s2, _) = listener.accept().await.unwrap();
            again.write_all(b"!").await.unwrap();
            let mut one = [0u8; 1];
            s2.read_exact(&mut one).await.unwrap();
        })
    });
}

#[test]
fn reunite_of_mismatched_halves_fails_and_gives_them_back() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (ra, wa) = a.into_split();
            let (rb, wb) = b.into_split();
            let ReuniteError(rb, wa) = wa.reunite(rb).unwrap_err();
            let mut a = ra.reunite(wa).expect("halves of one stream");
            let mut b = wb.reunite(rb).expect("halves of one stream");
            a.write_all(b"1").await.unwrap();
            let mut one = [0u8; 1];
            b.read_exact(&mut one).await.unwrap();
            assert_eq!(&one, b"1");
        })
    });
}

#[test]
fn unix_socket_builds_listeners_streams_and_datagrams() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let dir = Dir::new("unixsocket");
            let path = dir.path("s");
            let s = UnixSocket::new_stream().unwrap();
            s.bind(&path).unwrap();
            let listener = s.listen(16).unwrap();
            let c = UnixSocket::new_stream().unwrap();
            let mut client = c.connect(&path).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"via UnixSocket").await.unwrap();
            let mut buf = [0u8; 14];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"via UnixSocket");

            let d = UnixSocket::new_datagram().unwrap();
            d.bind(dir.path("d")).unwrap();
            let d = d.datagram().unwrap();
            assert_eq!(
                d.local_addr().unwrap().as_pathname(),
                Some(dir.path("d").as_path())
            );

            assert!(UnixSocket::new_datagram().unwrap().listen(1).is_err());
            assert!(UnixSocket::new_stream().unwrap().datagram().is_err());
            assert!(UnixSocket::new_datagram()
                .unwrap()
                .connect(&path)
                .await
                .is_err());
        })
    });
}
