//! tokio parity II (issue 16): TcpStream, TcpSocket, TcpListener and the split halves behave
//! as tokio documents them: try_* readiness clearing, combined interests, peek, zero linger,
//! options, std round trips, reunite.
mod support;

use std::io::{ErrorKind, IoSliceMut};
use std::time::Duration;

use netpoll::io::{AsyncReadExt, AsyncWriteExt, Interest};
use netpoll::net::{TcpListener, TcpSocket, TcpStream};
use netpoll::time::timeout;
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);
/// How long a wait that must not finish is given before it counts as parked.
const PARKED: Duration = Duration::from_millis(50);

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn try_read_would_block_then_readable_parks_until_data_arrives() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (client, mut server) = pair().await;
            let mut buf = [0u8; 16];
            // Whatever the initial readiness, a try_read on an empty socket says WouldBlock…
            let e = client.try_read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WouldBlock);
            // …and clears readiness, so readable() parks instead of spinning.
            assert!(timeout(PARKED, client.readable()).await.is_err());
            // A second try_read is WouldBlock without a wake-up in between.
            assert_eq!(
                client.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );

            let waiter = async {
                client.readable().await.unwrap();
                client.try_read(&mut buf).unwrap()
            };
            let writer = async {
                netpoll::time::sleep(Duration::from_millis(10)).await;
                server.write_all(b"wake").await.unwrap();
            };
            let (n, ()) = netpoll::join!(waiter, writer);
            assert_eq!(&buf[..n], b"wake");
        })
    });
}

#[test]
fn ready_with_both_interests_reports_both_directions_and_read_closed() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (client, mut server) = pair().await;
            server.write_all(b"x").await.unwrap();
            let both = Interest::READABLE | Interest::WRITABLE;
            // Wait until the byte is there; a writable-only report may come first.
            let ready = timeout(Duration::from_secs(5), async {
                loop {
                    let r = client.ready(both).await.unwrap();
                    if r.is_readable() {
                        return r;
                    }
                    netpoll::task::yield_now().await;
                }
            })
            .await
            .unwrap();
            assert!(ready.is_readable() && ready.is_writable(), "{ready:?}");
            assert!(!ready.is_read_closed());

            let mut one = [0u8; 1];
            assert_eq!(client.try_read(&mut one).unwrap(), 1);
            server.shutdown().await.unwrap();
            let closed = timeout(Duration::from_secs(5), async {
                loop {
                    let r = client.ready(Interest::READABLE).await.unwrap();
                    if r.is_read_closed() {
                        return r;
                    }
                    let _ = client.try_read(&mut one);
                    netpoll::task::yield_now().await;
                }
            })
            .await;
            assert!(closed.is_ok(), "the peer's FIN must show as read-closed");
            assert_eq!(client.try_read(&mut one).unwrap(), 0, "end of stream");
        })
    });
}

#[test]
fn peek_does_not_consume_on_the_stream_and_on_its_halves() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (mut client, mut server) = pair().await;
            server.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            let n = timeout(Duration::from_secs(5), async {
                loop {
                    let n = client.peek(&mut buf).await.unwrap();
                    if n == 5 {
                        return n;
                    }
                }
            })
            .await
            .unwrap();
            assert_eq!(&buf[..n], b"hello");
            let mut again = [0u8; 5];
            let m = std::future::poll_fn(|cx| {
                let mut rb = netpoll::io::ReadBuf::new(&mut again);
                client.poll_peek(cx, &mut rb)
            })
            .await
            .unwrap();
            assert_eq!(&again[..m], &b"hello"[..m]);
            {
                let (mut r, _w) = client.split();
                let mut via_half = [0u8; 5];
                let k = r.peek(&mut via_half).await.unwrap();
                assert_eq!(&via_half[..k], &b"hello"[..k]);
            }
            let mut read = [0u8; 5];
            client.read_exact(&mut read).await.unwrap();
            assert_eq!(&read, b"hello", "peeks left the bytes queued");
        })
    });
}

#[test]
fn zero_linger_close_resets_the_peer() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (client, server) = pair().await;
            client.set_zero_linger().unwrap();
            assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
            drop(client);
            let mut buf = [0u8; 8];
            let e = timeout(Duration::from_secs(5), server.read(&mut buf))
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionReset);
        })
    });
}

#[test]
fn try_write_until_would_block_then_writable_wakes_after_the_peer_reads() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (client, mut server) = pair().await;
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0usize;
            loop {
                match client.try_write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(timeout(PARKED, client.writable()).await.is_err());
            let drain = async {
                let mut buf = vec![0u8; sent];
                server.read_exact(&mut buf).await.unwrap();
            };
            let (w, ()) = netpoll::join!(client.writable(), drain);
            w.unwrap();
            assert!(client.try_write(b"more").unwrap() > 0);
        })
    });
}

#[test]
fn try_io_skips_the_closure_when_not_ready_and_vectored_and_buf_reads_work() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (client, mut server) = pair().await;
            let mut buf = [0u8; 4];
            assert_eq!(
                client.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            let mut called = false;
            let r = client.try_io(Interest::READABLE, || {
                called = true;
                Ok(())
            });
            assert_eq!(r.unwrap_err().kind(), ErrorKind::WouldBlock);
            assert!(!called, "readiness was cleared: the closure must not run");

            server.write_all(b"abcdef").await.unwrap();
            client.readable().await.unwrap();
            let (mut a, mut b) = ([0u8; 2], [0u8; 2]);
            let n = client
                .try_read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
                .unwrap();
            assert_eq!((n, &a, &b), (4, b"ab", b"cd"));
            let mut v = Vec::with_capacity(8);
            let n = client.try_read_buf(&mut v).unwrap();
            assert_eq!((n, &v[..]), (2, &b"ef"[..]));

            // async_io retries the closure until it does not say WouldBlock.
            server.write_all(b"z").await.unwrap();
            let got = client
                .async_io(Interest::READABLE, || {
                    let mut one = [0u8; 1];
                    client.try_read(&mut one).map(|_| one[0])
                })
                .await
                .unwrap();
            assert_eq!(got, b'z');
        })
    });
}

#[test]
fn socket_options_round_trip() {
    bounded(LIMIT, || {
        rt(1).block_on(async {
            let s = TcpSocket::new_v4().unwrap();
            s.set_reuseaddr(true).unwrap();
            assert!(s.reuseaddr().unwrap());
            s.set_reuseport(true).unwrap();
            assert!(s.reuseport().unwrap());
            s.set_keepalive(true).unwrap();
            assert!(s.keepalive().unwrap());
            s.set_nodelay(true).unwrap();
            assert!(s.nodelay().unwrap());
            s.set_zero_linger().unwrap();
            assert_eq!(s.linger().unwrap(), Some(Duration::ZERO));
            s.set_send_buffer_size(64 * 1024).unwrap();
            assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
            s.set_recv_buffer_size(64 * 1024).unwrap();
            assert!(s.recv_buffer_size().unwrap() >= 64 * 1024);
            s.set_tos_v4(0x10).unwrap();
            assert_eq!(s.tos_v4().unwrap(), 0x10);
            assert!(s.take_error().unwrap().is_none());
            s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = s.local_addr().unwrap();
            let listener = s.listen(16).unwrap();
            assert_eq!(listener.local_addr().unwrap(), addr);
            listener.set_ttl(33).unwrap();
            assert_eq!(listener.ttl().unwrap(), 33);

            let v6 = TcpSocket::new_v6().unwrap();
            v6.set_tclass_v6(0x20).unwrap();
            assert_eq!(v6.tclass_v6().unwrap(), 0x20);

            let client = TcpStream::connect(addr).await.unwrap();
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            client.set_ttl(42).unwrap();
            assert_eq!(client.ttl().unwrap(), 42);
            assert!(client.take_error().unwrap().is_none());
            let (server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        })
    });
}

#[test]
fn std_round_trips_keep_the_connection() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let listener = TcpListener::try_from(std_listener).unwrap();
            let listener = TcpListener::from_std(listener.into_std().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();

            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let mut client = TcpStream::try_from(std_client).unwrap();
            client.write_all(b"ping").await.unwrap();

            // Out to std (blocking mode restored by the caller) and back.
            let std_server = server.into_std().unwrap();
            std_server.set_nonblocking(false).unwrap();
            let mut buf = [0u8; 4];
            std::io::Read::read_exact(&mut &std_server, &mut buf).unwrap();
            assert_eq!(&buf, b"ping");
            let mut server = TcpStream::from_std(std_server).unwrap();
            server.write_all(b"pong").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");

            // TcpSocket::from_std_stream: options on an existing stream.
            let sock = TcpSocket::from_std_stream(client.into_std().unwrap());
            sock.set_nodelay(true).unwrap();
            assert!(sock.nodelay().unwrap());
        })
    });
}

#[test]
fn reunite_of_mismatched_halves_fails_and_gives_them_back() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = pair().await;
            let (ra, wa) = a.into_split();
            let (rb, wb) = b.into_split();
            let err = ra.reunite(wb).unwrap_err();
            assert!(err.to_string().contains("not from the same socket"));
            let netpoll::net::tcp::ReuniteError(ra, wb) = err;
            let a = wa.reunite(ra).expect("halves of one stream");
            let b = rb.reunite(wb).expect("halves of one stream");
            // Still connected both ways, and no FIN was sent by the reunite.
            let (mut a, mut b) = (a, b);
            a.write_all(b"1").await.unwrap();
            let mut one = [0u8; 1];
            b.read_exact(&mut one).await.unwrap();
            b.write_all(b"2").await.unwrap();
            a.read_exact(&mut one).await.unwrap();
            assert_eq!(&one, b"2");
        })
    });
}

#[test]
fn owned_halves_have_tokios_methods_and_the_write_half_drop_sends_fin() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, mut b) = pair().await;
            let (r, w) = a.into_split();
            assert_eq!(r.local_addr().unwrap(), w.local_addr().unwrap());
            assert_eq!(r.peer_addr().unwrap(), b.local_addr().unwrap());
            w.writable().await.unwrap();
            assert_eq!(w.try_write(b"hi").unwrap(), 2);
            let mut buf = [0u8; 2];
            b.read_exact(&mut buf).await.unwrap();
            b.write_all(b"yo").await.unwrap();
            r.readable().await.unwrap();
            let mut got = [0u8; 2];
            let n = r.try_read(&mut got).unwrap();
            assert_eq!(&got[..n], &b"yo"[..n]);
            drop(w);
            let mut rest = Vec::new();
            timeout(Duration::from_secs(5), b.read_to_end(&mut rest))
                .await
                .unwrap()
                .unwrap();
            assert!(rest.is_empty(), "dropping the write half sent a FIN");
            let _ = r;
        })
    });
}
