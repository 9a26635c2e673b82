//! `http_hello ADDR`: HTTP/1.1 answering every `GET` with `Hello, World!`.
//!
//! A small hand-written responder, as a tokio user without hyper writes one: a `BytesMut` read
//! buffer, every complete request in it answered into one output buffer, and one `write_all`
//! per read (so pipelined requests are answered in order, in one write). Keep-alive by default,
//! `Connection: close` and HTTP/1.0 honoured; a malformed head gets 400, a head over 8 KiB 431,
//! a body over 1 MiB 413, each followed by a close; small request bodies are read and dropped.

use std::io;
use std::process::ExitCode;

use bytes::{Buf, BytesMut};
use compare_tokio::{head_end, parse_head, push_date};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: u64 = 1024 * 1024;
const BODY: &[u8] = b"Hello, World!";

fn error_response(status: u16, reason: &str, out: &mut Vec<u8>) {
    let body = format!("{status} {reason}\n");
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    push_date(out);
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
}

async fn connection(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(1024);
    // Bytes of the current request's body still to drop.
    let mut discard = 0u64;
    loop {
        let mut close = false;
        loop {
            if discard > 0 {
                let n = discard.min(buf.len() as u64);
                buf.advance(n as usize);
                discard -= n;
                if discard > 0 {
                    break;
                }
            }
            let Some(end) = head_end(&buf) else {
                if buf.len() > MAX_HEAD {
                    error_response(431, "Request Header Fields Too Large", &mut out);
                    close = true;
                }
                break;
            };
            if end > MAX_HEAD {
                error_response(431, "Request Header Fields Too Large", &mut out);
                close = true;
                break;
            }
            let Some(head) = parse_head(&buf[..end]) else {
                error_response(400, "Bad Request", &mut out);
                close = true;
                break;
            };
            if head.content_length > MAX_BODY {
                error_response(413, "Content Too Large", &mut out);
                close = true;
                break;
            }
            let (get, head_only) = (head.method == "GET", head.method == "HEAD");
            let keep_alive = head.keep_alive;
            let http10 = head.http10;
            discard = head.content_length;
            buf.advance(end);
            if get || head_only {
                out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n",
                );
            } else {
                out.extend_from_slice(
                    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n",
                );
            }
            push_date(&mut out);
            if !keep_alive {
                out.extend_from_slice(b"Connection: close\r\n");
            } else if http10 {
                out.extend_from_slice(b"Connection: keep-alive\r\n");
            }
            out.extend_from_slice(b"\r\n");
            if get {
                out.extend_from_slice(BODY);
            }
            if !keep_alive {
                close = true;
                break;
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.shutdown().await;
        }
        buf.reserve(4096);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return compare_tokio::usage("http_hello ADDR");
    }
    compare_tokio::serve(&args[1], connection)
}
