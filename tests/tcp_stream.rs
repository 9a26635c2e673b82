//! TCP: echo, half-close, reset, backpressure, options, split halves, deadlines, UDP and Unix.
mod support;

use std::net::Shutdown;
use std::time::{Duration, Instant};

use netpoll::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use support::{bounded, read_to_end_hash, rt, send_pattern, tcp_pair, write_all};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn echo_many_connections() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            netpoll::spawn(async move {
                loop {
                    let (s, _) = l.accept().await.unwrap();
                    netpoll::spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            write_all(&s, &buf[..n]).await.unwrap();
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..200u64)
                .map(|i| {
                    netpoll::spawn(async move {
                        let c = TcpStream::connect(addr).await.unwrap();
                        let msg = format!("hello {i} ").repeat(50);
                        write_all(&c, msg.as_bytes()).await.unwrap();
                        c.shutdown_std(Shutdown::Write).unwrap();
                        let mut got = Vec::new();
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = c.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            got.extend_from_slice(&buf[..n]);
                        }
                        assert_eq!(got, msg.as_bytes());
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
        });
    });
}

#[test]
fn half_close_both_ways() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            write_all(&a, b"from a").await.unwrap();
            a.shutdown_std(Shutdown::Write).unwrap();
            // b sees the data, then EOF, and can still write back.
            let mut buf = [0u8; 16];
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from a");
            assert_eq!(b.read(&mut buf).await.unwrap(), 0);
            write_all(&b, b"from b").await.unwrap();
            b.shutdown_std(Shutdown::Write).unwrap();
            let n = a.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"from b");
            assert_eq!(a.read(&mut buf).await.unwrap(), 0);
        });
    });
}

#[test]
fn peer_reset_mid_read_and_mid_write() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            // Mid-read: the reader is parked; the peer closes with RST (linger 0).
            let (a, b) = tcp_pair().await;
            let reader = netpoll::spawn(async move {
                let mut buf = [0u8; 16];
                a.read(&mut buf).await
            });
            netpoll::time::sleep(Duration::from_millis(20)).await;
            b.set_zero_linger().unwrap();
            drop(b);
            let r = reader.await.unwrap();
            assert!(
                matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
                    || matches!(r, Ok(0)),
                "{r:?}"
            );

            // Mid-write: the writer fills the buffer, the peer resets; the write fails (no SIGPIPE).
            let (a, b) = tcp_pair().await;
            let writer = netpoll::spawn(async move {
                let chunk = vec![1u8; 1 << 20];
                loop {
                    if let Err(e) = write_all(&a, &chunk).await {
                        return e;
                    }
                }
            });
            netpoll::time::sleep(Duration::from_millis(30)).await;
            b.set_zero_linger().unwrap();
            drop(b);
            let e = writer.await.unwrap();
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{e:?}"
            );
        });
    });
}

#[test]
fn a_peer_that_never_reads_parks_the_writer_until_it_drains() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            // Fill until EAGAIN.
            let chunk = vec![9u8; 64 * 1024];
            let mut sent = 0usize;
            loop {
                match a.try_write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(sent > 0);
            // A write now parks; draining the peer wakes it.
            let w = netpoll::spawn(async move {
                write_all(&a, &chunk).await.unwrap();
                a
            });
            netpoll::time::sleep(Duration::from_millis(20)).await;
            assert!(
                !w.is_finished(),
                "the write should be parked on a full buffer"
            );
            let mut buf = vec![0u8; 1 << 20];
            let mut got = 0;
            while got < sent + 64 * 1024 {
                got += b.read(&mut buf).await.unwrap();
            }
            let _a = w.await.unwrap();
        });
    });
}

#[test]
fn owned_split_halves_run_in_different_tasks_and_reunite() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            let (ra, wa) = a.into_split();
            let reader = netpoll::spawn(async move {
                let mut ra = ra;
                let h = {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 64];
                    loop {
                        let n = std::future::poll_fn(|cx| {
                            let mut rb = netpoll::io::ReadBuf::new(&mut buf);
                            let mut r = std::pin::Pin::new(&mut ra);
                            netpoll::io::AsyncRead::poll_read(r.as_mut(), cx, &mut rb)
                                .map_ok(|_| rb.filled().len())
                        })
                        .await
                        .unwrap();
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    got
                };
                (h, ra)
            });
            write_all(&b, b"to the read half").await.unwrap();
            b.shutdown_std(Shutdown::Write).unwrap();
            let (got, ra) = reader.await.unwrap();
            assert_eq!(got, b"to the read half");
            let a = ra.reunite(wa).unwrap();
            write_all(&a, b"x").await.unwrap();
        });
    });
}

#[test]
fn options_and_addresses() {
    bounded(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            a.set_nodelay(true).unwrap();
            assert!(a.nodelay().unwrap());
            a.set_ttl(33).unwrap();
            assert_eq!(a.ttl().unwrap(), 33);
            a.set_linger(Some(Duration::from_secs(1))).unwrap();
            assert_eq!(a.linger().unwrap(), Some(Duration::from_secs(1)));
            a.set_keepalive(Some(Duration::from_secs(30))).unwrap();
            assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
            let mut peek = [0u8; 4];
            write_all(&b, b"peek").await.unwrap();
            assert_eq!(a.peek(&mut peek).await.unwrap(), 4);
            let mut buf = [0u8; 4];
            assert_eq!(a.read(&mut buf).await.unwrap(), 4);
            assert_eq!(&buf, b"peek");
            // into_std and back.
            let std = a.into_std().unwrap();
            let a = TcpStream::from_std(std).unwrap();
            write_all(&a, b"ok").await.unwrap();
            let n = b.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ok");
            // Names resolve on the blocking pool.
            let c = TcpStream::connect(("localhost", b.local_addr().unwrap().port())).await;
            assert!(c.is_err(), "b is not a listener");
            assert!(netpoll::net::lookup_host("localhost:1")
                .await
                .unwrap()
                .next()
                .is_some());
        });
    });
}

#[test]
fn connect_refused_is_an_error_not_a_hang() {
    bounded(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            drop(l);
            let e = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        });
    });
}

#[test]
fn deadlines_expire_move_and_reuse() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            let mut buf = [0u8; 8];
            // Expire.
            a.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
            let t = Instant::now();
            let e = a.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            assert!(t.elapsed() >= Duration::from_millis(25));
            // Past deadline: fails at once even with data there.
            write_all(&b, b"data").await.unwrap();
            assert_eq!(
                a.read(&mut buf).await.unwrap_err().kind(),
                std::io::ErrorKind::TimedOut
            );
            // Move it: usable again.
            a.set_read_deadline(Some(Instant::now() + Duration::from_secs(5)));
            assert_eq!(a.read(&mut buf).await.unwrap(), 4);
            // Moving the deadline earlier wakes a parked reader.
            let a = std::sync::Arc::new(a);
            let a2 = a.clone();
            let r = netpoll::spawn(async move {
                let mut buf = [0u8; 8];
                a2.read(&mut buf).await
            });
            netpoll::time::sleep(Duration::from_millis(10)).await;
            a.set_read_deadline(Some(Instant::now()));
            assert_eq!(
                r.await.unwrap().unwrap_err().kind(),
                std::io::ErrorKind::TimedOut
            );
            // Clear it.
            a.set_read_deadline(None);
            write_all(&b, b"more").await.unwrap();
            assert_eq!(a.read(&mut buf).await.unwrap(), 4);
            // Write deadline on a full socket.
            a.set_write_deadline(Some(Instant::now() + Duration::from_millis(50)));
            let chunk = vec![0u8; 1 << 20];
            let e = loop {
                if let Err(e) = a.write(&chunk).await {
                    break e;
                }
            };
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        });
    });
}

#[test]
fn udp_send_recv_connect_peek() {
    bounded(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // b waits first, then a sends: the recv must park and wake.
            let baddr = b.local_addr().unwrap();
            let recv = netpoll::spawn(async move {
                let mut buf = [0u8; 32];
                let (n, from) = b.peek_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"dgram");
                let (n2, from2) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!((n, from), (n2, from2));
                b
            });
            netpoll::time::sleep(Duration::from_millis(10)).await;
            a.send_to(b"dgram", baddr).await.unwrap();
            let b = recv.await.unwrap();
            a.connect(baddr).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            a.send(b"conn").await.unwrap();
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"conn");
            a.set_broadcast(true).unwrap();
            assert!(a.broadcast().unwrap());
        });
    });
}

#[test]
fn unix_stream_listener_pair_and_datagram() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("netpoll-uds-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join("s.sock");
            let _ = std::fs::remove_file(&path);
            let l = netpoll::net::UnixListener::bind(&path).unwrap();
            let p2 = path.clone();
            let c = netpoll::spawn(async move {
                let c = UnixStream::connect(&p2).await.unwrap();
                c.write(b"uds").await.unwrap();
                c
            });
            let (s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 8];
            let n = s.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"uds");
            drop(c.await.unwrap());
            assert_eq!(s.read(&mut buf).await.unwrap(), 0);
            let (x, y) = UnixStream::pair().unwrap();
            x.write(b"pair").await.unwrap();
            let n = y.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"pair");
            let (d1, d2) = UnixDatagram::pair().unwrap();
            d1.send(b"dg").await.unwrap();
            let n = d2.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"dg");
            let _ = std::fs::remove_dir_all(&dir);
        });
    });
}

#[test]
fn big_transfer_is_intact() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            let sender = netpoll::spawn(async move {
                let h = send_pattern(&a, 7, 64 << 20).await.unwrap();
                a.shutdown_std(Shutdown::Write).unwrap();
                h
            });
            let got = read_to_end_hash(&b).await.unwrap();
            assert_eq!(got, sender.await.unwrap());
        });
    });
}
