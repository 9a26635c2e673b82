//! `TcpStream::ready` speaks tokio's `io::Interest`/`io::Ready` (one type for io and net).
mod support;

use std::time::Duration;

use netpoll::io::{AsyncWriteExt, Interest};
use netpoll::net::{TcpListener, TcpStream};
use support::{bounded, rt};

#[test]
fn tcp_ready_reports_tokio_ready() {
    bounded(Duration::from_secs(20), || {
        rt(2).block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();

            let ready = client.ready(Interest::WRITABLE).await.unwrap();
            assert!(ready.is_writable() && !ready.is_write_closed());
            // A new socket may report readiness it does not have (tokio allows the false
            // positive); a read that gets WouldBlock clears it, and then ready() waits.
            let mut buf = [0u8; 8];
            let e = client.try_read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
            let idle =
                netpoll::time::timeout(Duration::from_millis(30), client.ready(Interest::READABLE))
                    .await;
            assert!(idle.is_err(), "no data yet: ready(READABLE) must wait");

            server.write_all(b"x").await.unwrap();
            let ready = client.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable() && !ready.is_read_closed());

            drop(server);
            // The unread byte keeps it readable; the FIN adds read_closed when it arrives.
            let closed = netpoll::time::timeout(Duration::from_secs(5), async {
                while !client
                    .ready(Interest::READABLE)
                    .await
                    .unwrap()
                    .is_read_closed()
                {
                    netpoll::task::yield_now().await;
                }
            })
            .await;
            assert!(closed.is_ok(), "the peer closed: read_closed must show");
        })
    });
}
