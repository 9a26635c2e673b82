//! With feature `futures-io`, the socket types are futures-io readers and writers themselves:
//! futures-util's own `BufReader` and `AsyncWriteExt::close` work on a bare `TcpStream` (and a
//! `UnixStream`), without a Compat wrapper.
mod support;

use std::time::Duration;

use futures_util::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use netpoll::net::{TcpListener, TcpStream, UnixStream};
use support::{bounded, rt};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn futures_util_buf_reader_reads_lines_from_a_bare_tcp_stream() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = netpoll::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                AsyncWriteExt::write_all(&mut s, b"first line\nsecond\n")
                    .await
                    .unwrap();
                // futures-io's close is the write half's shutdown: the client sees EOF.
                AsyncWriteExt::close(&mut s).await.unwrap();
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            assert_eq!(reader.read_line(&mut line).await.unwrap(), 11);
            assert_eq!(line, "first line\n");
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            assert_eq!(line, "second\n");
            line.clear();
            assert_eq!(
                reader.read_line(&mut line).await.unwrap(),
                0,
                "EOF after close"
            );
            server.await.unwrap();
        })
    });
}

#[test]
fn futures_io_on_a_unix_stream_pair() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            let (mut a, b) = UnixStream::pair().unwrap();
            AsyncWriteExt::write_all(&mut a, b"x\n").await.unwrap();
            AsyncWriteExt::close(&mut a).await.unwrap();
            let mut lines = BufReader::new(b).lines();
            use futures_util::StreamExt;
            assert_eq!(lines.next().await.unwrap().unwrap(), "x");
            assert!(lines.next().await.is_none());
        })
    });
}
