//! `hyper_server ADDR`: hyper 1's HTTP/1.1 and HTTP/2 server on netpoll (the `hyper` feature).
//!
//! - `GET /` (and `HEAD /`) → `200 OK`, `Hello, World!`; `POST /echo` → `200 OK` with the
//!   request body streamed back as it arrives; anything else → `404 Not Found`;
//! - both protocols on one port: a connection whose first 24 bytes are HTTP/2's client preface
//!   (`PRI * HTTP/2.0...`, "prior knowledge" h2c, as `curl --http2-prior-knowledge` sends) is
//!   served as HTTP/2, anything else as HTTP/1.1 with keep-alive;
//! - a request head (HTTP/1) must arrive within 10 s, timed by `NetpollTimer`, and so must the
//!   first bytes that tell the protocol apart; an idle HTTP/1 keep-alive connection is closed
//!   after the same time. `HYPER_SERVER_HEADER_TIMEOUT_MS` overrides it (tests). An HTTP/2
//!   connection is pinged after 30 s of silence and closed if the ping gets no answer in 10 s;
//! - SIGINT/SIGTERM: stop accepting, start hyper's graceful shutdown on every connection (an
//!   HTTP/1 connection ends after its current response, an HTTP/2 one sends GOAWAY and lets its
//!   open streams finish), and exit once they are done, after 5 s at most.
//!
//! hyper runs on netpoll through `netpoll::hyper`: the socket wrapped in `NetpollIo`, the HTTP/2
//! streams spawned by `NetpollExecutor`, the timeouts on `NetpollTimer`.
//!
//! ```sh
//! cargo run --release --features hyper --example hyper_server 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/
//! curl --http2-prior-knowledge -d 'some body' http://127.0.0.1:8080/echo
//! ```

mod common;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use netpoll::hyper::{NetpollExecutor, NetpollIo, NetpollTimer};
use netpoll::io::{AsyncRead, AsyncWrite, ReadBuf};
use netpoll::net::TcpStream;

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const HELLO: &[u8] = b"Hello, World!";

/// An HTTP/2 connection silent this long gets a PING...
const H2_PING_AFTER: Duration = Duration::from_secs(30);
/// ...and is closed if the PONG takes longer than this.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return common::usage("hyper_server ADDR");
    }
    let header_timeout = env_ms("HYPER_SERVER_HEADER_TIMEOUT_MS", Duration::from_secs(10));
    common::serve(&args[1], move |stream, _peer, state| {
        connection(stream, state, header_timeout)
    })
}

fn env_ms(name: &str, default: Duration) -> Duration {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => {
                eprintln!("ignoring {name}={v:?}: not a positive number of milliseconds");
                default
            }
        },
    }
}

/// The response body: a fixed text, or the request's own body (`POST /echo`).
type Reply = Either<Full<Bytes>, Incoming>;

async fn respond(req: Request<Incoming>) -> Result<Response<Reply>, Infallible> {
    let text = |status: StatusCode, body: &'static [u8]| {
        let mut resp = Response::new(Either::Left(Full::new(Bytes::from_static(body))));
        *resp.status_mut() = status;
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        resp
    };
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => text(StatusCode::OK, HELLO),
        (&Method::POST, "/echo") => {
            let content_type = req.headers().get(CONTENT_TYPE).cloned();
            let mut resp = Response::new(Either::Right(req.into_body()));
            if let Some(ct) = content_type {
                resp.headers_mut().insert(CONTENT_TYPE, ct);
            }
            resp
        }
        _ => text(StatusCode::NOT_FOUND, b"404 Not Found\n"),
    };
    Ok(resp)
}

/// Serves one connection: tells HTTP/2 from HTTP/1 by its first bytes, then hands it to hyper.
async fn connection(
    stream: TcpStream,
    state: Arc<common::State>,
    header_timeout: Duration,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // A client that says nothing in time, or closes at once, gets nothing.
    let (h2, seen) = match netpoll::time::timeout(header_timeout, sniff(&stream)).await {
        Ok(sniffed) => sniffed?,
        Err(_elapsed) => return Ok(()),
    };
    if seen.is_empty() {
        return Ok(());
    }
    let io = NetpollIo::new(Rewind {
        seen,
        pos: 0,
        stream,
    });
    let service = service_fn(respond);
    if h2 {
        let conn = http2::Builder::new(NetpollExecutor::new())
            .timer(NetpollTimer::new())
            .keep_alive_interval(H2_PING_AFTER)
            .keep_alive_timeout(H2_PING_TIMEOUT)
            .serve_connection(io, service);
        until_done(conn, &state, |c| c.graceful_shutdown()).await
    } else {
        let conn = http1::Builder::new()
            .timer(NetpollTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true)
            .serve_connection(io, service);
        until_done(conn, &state, |c| c.graceful_shutdown()).await
    }
}

/// Reads until the bytes are known to be HTTP/2's preface (true) or not (false): the first
/// `PREFACE.len()` bytes, or fewer if they already differ or the client closed. Returns what
/// was read, which the connection must see again.
async fn sniff(stream: &TcpStream) -> io::Result<(bool, Vec<u8>)> {
    let mut seen = vec![0u8; 4096];
    let mut len = 0;
    loop {
        let n = stream.read(&mut seen[len..]).await?;
        len += n;
        let head = len.min(PREFACE.len());
        let h2 = seen[..head] == PREFACE[..head];
        if n == 0 || !h2 || len >= PREFACE.len() {
            seen.truncate(len);
            return Ok((h2 && len >= PREFACE.len(), seen));
        }
    }
}

/// Drives a hyper connection to its end, starting its graceful shutdown once the server's does.
async fn until_done<C>(
    conn: C,
    state: &common::State,
    graceful: impl FnOnce(Pin<&mut C>),
) -> io::Result<()>
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    let mut conn = pin!(conn);
    let mut stop = pin!(state.shutdown_started());
    let mut graceful = Some(graceful);
    let served = poll_fn(|cx| {
        if graceful.is_some() && stop.as_mut().poll(cx).is_ready() {
            if let Some(start) = graceful.take() {
                start(conn.as_mut());
            }
        }
        conn.as_mut().poll(cx)
    })
    .await;
    served.map_err(to_io)
}

/// hyper's error as an `io::Error` whose kind tells `common::quiet` whether it is worth a log
/// line: a timed-out, vanished or resetting client is not.
fn to_io(e: hyper::Error) -> io::Error {
    let kind = if e.is_timeout() {
        io::ErrorKind::TimedOut
    } else if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        io::ErrorKind::UnexpectedEof
    } else {
        match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<io::Error>()) {
            Some(cause) => cause.kind(),
            None => io::ErrorKind::Other,
        }
    };
    io::Error::new(kind, e)
}

/// The socket, with the bytes `sniff` read put back in front of it.
struct Rewind {
    seen: Vec<u8>,
    pos: usize,
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.seen.len() {
            let n = (self.seen.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.seen[start..start + n]);
            self.pos += n;
            if self.pos == self.seen.len() {
                self.seen = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
