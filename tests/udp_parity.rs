//! tokio parity II (issue 16): UdpSocket's poll_*/try_*/peek* family, readiness clearing and
//! options, as tokio documents them.
mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use netpoll::io::{Interest, ReadBuf};
use netpoll::net::UdpSocket;
use netpoll::time::timeout;
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);
const PARKED: Duration = Duration::from_millis(50);

async fn connected() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    (a, b)
}

#[test]
fn try_recv_would_block_then_readable_parks_until_a_datagram_arrives() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = connected().await;
            let mut buf = [0u8; 32];
            assert_eq!(
                b.try_recv(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(timeout(PARKED, b.readable()).await.is_err(), "must park");
            let waiter = async {
                b.readable().await.unwrap();
                b.try_recv(&mut buf).unwrap()
            };
            let sender = async {
                netpoll::time::sleep(Duration::from_millis(10)).await;
                a.send(b"dgram").await.unwrap();
            };
            let (n, ()) = netpoll::join!(waiter, sender);
            assert_eq!(&buf[..n], b"dgram");
            let r = b
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await
                .unwrap();
            assert!(r.is_writable());
        })
    });
}

#[test]
fn peeks_leave_the_datagram_queued() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (a, b) = connected().await;
            a.send(b"first").await.unwrap();
            let mut buf = [0u8; 16];
            let n = b.peek(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"first");
            assert_eq!(b.peek_sender().await.unwrap(), a.local_addr().unwrap());
            assert_eq!(b.try_peek_sender().unwrap(), a.local_addr().unwrap());
            let (n, from) = b.peek_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"first"[..], a.local_addr().unwrap()));
            let (n, _) = b.try_peek_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first");
            assert_eq!(b.try_peek(&mut buf).unwrap(), 5);
            let mut rb_mem = [0u8; 16];
            std::future::poll_fn(|cx| {
                let mut rb = ReadBuf::new(&mut rb_mem);
                b.poll_peek(cx, &mut rb)
                    .map_ok(|()| assert_eq!(rb.filled(), b"first"))
            })
            .await
            .unwrap();
            let from = std::future::poll_fn(|cx| {
                let mut rb = ReadBuf::new(&mut rb_mem);
                b.poll_peek_from(cx, &mut rb)
            })
            .await
            .unwrap();
            assert_eq!(from, a.local_addr().unwrap());
            let sender = std::future::poll_fn(|cx| b.poll_peek_sender(cx))
                .await
                .unwrap();
            assert_eq!(sender, a.local_addr().unwrap());
            // Still there for the real receive.
            let mut v = Vec::with_capacity(16);
            let (n, from) = b.recv_buf_from(&mut v).await.unwrap();
            assert_eq!(
                (n, &v[..], from),
                (5, &b"first"[..], a.local_addr().unwrap())
            );
            assert_eq!(
                b.try_recv(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
        })
    });
}

#[test]
fn poll_send_to_poll_recv_from_and_buf_variants_round_trip() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let to: SocketAddr = b.local_addr().unwrap();
            let n = std::future::poll_fn(|cx| a.poll_send_to(cx, b"one", to))
                .await
                .unwrap();
            assert_eq!(n, 3);
            let mut mem = [0u8; 8];
            let from = std::future::poll_fn(|cx| {
                let mut rb = ReadBuf::new(&mut mem);
                b.poll_recv_from(cx, &mut rb)
                    .map_ok(|from| (from, rb.filled().to_vec()))
            })
            .await
            .unwrap();
            assert_eq!(from, (a.local_addr().unwrap(), b"one".to_vec()));

            a.try_send_to(b"two", to).unwrap();
            b.readable().await.unwrap();
            let mut v = Vec::with_capacity(8);
            let (n, _) = b.try_recv_buf_from(&mut v).unwrap();
            assert_eq!(&v[..n], b"two");

            a.connect(to).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            std::future::poll_fn(|cx| a.poll_send_ready(cx))
                .await
                .unwrap();
            std::future::poll_fn(|cx| a.poll_send(cx, b"three"))
                .await
                .unwrap();
            std::future::poll_fn(|cx| b.poll_recv_ready(cx))
                .await
                .unwrap();
            let got = std::future::poll_fn(|cx| {
                let mut rb = ReadBuf::new(&mut mem);
                b.poll_recv(cx, &mut rb).map_ok(|()| rb.filled().to_vec())
            })
            .await
            .unwrap();
            assert_eq!(got, b"three");
            a.try_send(b"four").unwrap();
            let mut v = Vec::with_capacity(8);
            b.recv_buf(&mut v).await.unwrap();
            assert_eq!(v, b"four");
            a.writable().await.unwrap();
            a.send(b"five").await.unwrap();
            b.readable().await.unwrap();
            let mut v = Vec::with_capacity(8);
            b.try_recv_buf(&mut v).unwrap();
            assert_eq!(v, b"five");
            assert!(b.take_error().unwrap().is_none());
        })
    });
}

#[test]
fn options_round_trip_and_std_conversions() {
    bounded(LIMIT, || {
        rt(1).block_on(async {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            s.set_broadcast(true).unwrap();
            assert!(s.broadcast().unwrap());
            s.set_multicast_loop_v4(false).unwrap();
            assert!(!s.multicast_loop_v4().unwrap());
            s.set_multicast_ttl_v4(7).unwrap();
            assert_eq!(s.multicast_ttl_v4().unwrap(), 7);
            s.set_ttl(55).unwrap();
            assert_eq!(s.ttl().unwrap(), 55);
            s.set_tos_v4(0x10).unwrap();
            assert_eq!(s.tos_v4().unwrap(), 0x10);

            let v6 = UdpSocket::bind("[::1]:0").await;
            if let Ok(v6) = v6 {
                v6.set_multicast_loop_v6(false).unwrap();
                assert!(!v6.multicast_loop_v6().unwrap());
                v6.set_tclass_v6(0x20).unwrap();
                assert_eq!(v6.tclass_v6().unwrap(), 0x20);
            }

            let addr = s.local_addr().unwrap();
            let std = s.into_std().unwrap();
            assert_eq!(std.local_addr().unwrap(), addr);
            let back = UdpSocket::try_from(std).unwrap();
            assert_eq!(back.local_addr().unwrap(), addr);
            let fresh = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let s = UdpSocket::from_std(fresh).unwrap();
            s.send_to(b"x", addr).await.unwrap();
            let mut one = [0u8; 1];
            let (_, from) = back.recv_from(&mut one).await.unwrap();
            assert_eq!(from, s.local_addr().unwrap());
        })
    });
}
