//! `http_hello ADDR`: an HTTP/1.1 server answering every `GET` with `Hello, World!`.
//!
//! - keep-alive and pipelining: every complete request in the buffer is answered, and all those
//!   answers go out in one write before the next read;
//! - `GET` → `200 OK` with `Content-Length: 13`, `Content-Type: text/plain` and the body; `HEAD`
//!   → the same headers without the body; other methods → `405` with `Allow: GET, HEAD`;
//! - a malformed request → `400` (or `501`/`505`), a head over 8 KiB → `431`, a body over 1 MiB
//!   → `413`, each followed by a close; smaller request bodies are read and dropped;
//! - slow clients: a request head must arrive within 10 s of its first byte (of the accept for
//!   the first request), and a keep-alive connection may sit idle for 30 s between requests;
//!   then it is closed. `HTTP_HELLO_HEAD_TIMEOUT_MS` and `HTTP_HELLO_IDLE_TIMEOUT_MS` override
//!   these (tests use them);
//! - `Connection: close` (and HTTP/1.0 without `keep-alive`) is honoured; on SIGINT/SIGTERM the
//!   current response is the last one, and idle connections close within half a second.
//!
//! Each connection reuses one read buffer, one output buffer and one parsed [`Request`]: no
//! allocation per request once they have grown.
//!
//! ```sh
//! cargo run --release --example http_hello 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/
//! ```

mod common;

use std::cell::RefCell;
use std::io;
use std::net::Shutdown;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netpoll::io::AsyncWriteExt;
use netpoll::net::TcpStream;
use netpoll_proto::http::{self, parse_request_into, Request, Version};

/// The largest request head accepted (431 beyond).
const MAX_HEAD: usize = 8 * 1024;
/// The largest request body read and dropped (413 beyond).
const MAX_BODY: u64 = 1024 * 1024;
/// Bytes asked of one read: room for a whole head and a burst of pipelined requests.
const READ_SIZE: usize = 16 * 1024;
/// How often a waiting connection wakes to notice shutdown.
const TICK: Duration = Duration::from_millis(500);
/// How long a write may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long, after our last response, we keep reading (and dropping) what the client still
/// sends before closing, so that its unread bytes do not make the kernel reset the connection
/// before the client has read that response.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes dropped while lingering.
const LINGER_MAX: usize = 1024 * 1024;

const BODY: &[u8] = b"Hello, World!";

#[derive(Clone, Copy)]
struct Limits {
    /// From the first byte of a request head to its end.
    head: Duration,
    /// Between requests, and between reads of a request body.
    idle: Duration,
}

impl Limits {
    fn from_env() -> Limits {
        Limits {
            head: env_ms("HTTP_HELLO_HEAD_TIMEOUT_MS", Duration::from_secs(10)),
            idle: env_ms("HTTP_HELLO_IDLE_TIMEOUT_MS", Duration::from_secs(30)),
        }
    }
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return common::usage("http_hello ADDR");
    }
    let limits = Limits::from_env();
    common::serve(&args[1], move |stream, _peer, state| {
        connection(stream, state, limits)
    })
}

/// What to say about the connection in a response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Persist {
    /// Keep it open; HTTP/1.1 says nothing.
    Keep,
    /// Keep it open; an HTTP/1.0 client needs `Connection: keep-alive`.
    KeepOld,
    /// `Connection: close`: this is the last response.
    Close,
}

impl Persist {
    fn header(self) -> &'static [u8] {
        match self {
            Persist::Keep => b"",
            Persist::KeepOld => b"Connection: keep-alive\r\n",
            Persist::Close => b"Connection: close\r\n",
        }
    }
}

/// Appends `Date: <now>\r\n`, formatting the date once per second per thread.
fn push_date(out: &mut Vec<u8>) {
    thread_local!(static DATE: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) });
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs || d.1.is_empty() {
            *d = (secs, http::http_date(secs));
        }
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(d.1.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// The answer to a well-formed request.
fn respond(req: &Request, persist: Persist, out: &mut Vec<u8>) {
    let method = req.method();
    if method == "GET" || method == "HEAD" {
        out.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n",
        );
        push_date(out);
        out.extend_from_slice(persist.header());
        out.extend_from_slice(b"\r\n");
        if method == "GET" {
            out.extend_from_slice(BODY);
        }
    } else {
        out.extend_from_slice(
            b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n",
        );
        push_date(out);
        out.extend_from_slice(persist.header());
        out.extend_from_slice(b"\r\n");
    }
}

/// An error response with a short text body; always the last on its connection.
fn error_response(status: u16, out: &mut Vec<u8>) {
    let reason = http::reason_phrase(status);
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

/// Serves one connection until the client or the server ends it.
async fn connection(
    mut stream: TcpStream,
    state: Arc<common::State>,
    limits: Limits,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_SIZE];
    // Unprocessed bytes are `buf[start..end]`.
    let (mut start, mut end) = (0usize, 0usize);
    let mut out = Vec::with_capacity(1024);
    let mut req = Request::default();
    // Bytes of the current request's body still to drop.
    let mut discard = 0u64;
    // The clock as of the last read's return: read once per read, not per use (the limits are
    // seconds; the processing since is microseconds).
    let mut now = Instant::now();
    // When the request head being received began: the accept, for the first one.
    let mut head_started = Some(now);
    // The last time bytes arrived.
    let mut last_read = now;
    // The read deadline set on the socket (it is moved as rarely as possible), and the write one.
    let mut read_armed: Option<Instant> = None;
    let mut write_armed: Option<Instant> = None;

    loop {
        let mut close = false;
        loop {
            if discard > 0 {
                let n = discard.min((end - start) as u64);
                start += n as usize;
                discard -= n;
                if discard > 0 {
                    break;
                }
            }
            if start == end {
                break;
            }
            match parse_request_into(&buf[start..end], MAX_HEAD, &mut req) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    start += n;
                    head_started = None;
                    let body = req.content_length().unwrap_or(0);
                    if body > MAX_BODY {
                        error_response(413, &mut out);
                        close = true;
                        break;
                    }
                    discard = body;
                    // A client that sent `Expect: 100-continue` waits for a `100 Continue`
                    // that never comes, and may skip its body after our answer: close.
                    let expects = body > 0 && req.header("expect").is_some();
                    let persist = if !req.keep_alive() || expects || state.shutting_down() {
                        Persist::Close
                    } else if req.version() == Version::Http10 {
                        Persist::KeepOld
                    } else {
                        Persist::Keep
                    };
                    respond(&req, persist, &mut out);
                    if persist == Persist::Close {
                        close = true;
                        break;
                    }
                }
                Err(e) => {
                    error_response(e.status(), &mut out);
                    close = true;
                    break;
                }
            }
        }

        if !out.is_empty() {
            if write_armed.map_or(true, |at| at < now + WRITE_TIMEOUT / 2) {
                write_armed = Some(now + WRITE_TIMEOUT);
                stream.set_write_deadline(write_armed);
            }
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            linger(&stream, &mut buf).await;
            return Ok(());
        }

        // Keep the unprocessed bytes (part of a head: under MAX_HEAD) at the buffer's start.
        if start == end {
            (start, end) = (0, 0);
        } else if start > 0 {
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        if end > 0 && discard == 0 && head_started.is_none() {
            head_started = Some(last_read);
        }

        let deadline = match head_started {
            Some(t) if discard == 0 => t + limits.head,
            _ => last_read + limits.idle,
        };
        // Between requests, shutdown ends the connection; a request under way may finish.
        let between_requests = end == 0 && discard == 0;
        if now >= deadline || (between_requests && state.shutting_down()) {
            return Ok(());
        }
        let want = deadline.min(now + TICK);
        if read_armed.map_or(true, |at| at <= now || at > deadline) {
            read_armed = Some(want);
            stream.set_read_deadline(read_armed);
        }
        let res = stream.read(&mut buf[end..]).await;
        now = Instant::now();
        match res {
            Ok(0) => return Ok(()),
            Ok(n) => {
                end += n;
                last_read = now;
            }
            // A tick or the real deadline: the checks above decide.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
}

/// Closes our side after the last response, then drops what the client still sends for up to
/// [`LINGER`], so that the response is not lost to a reset.
async fn linger(stream: &TcpStream, buf: &mut [u8]) {
    if stream.shutdown_std(Shutdown::Write).is_err() {
        return;
    }
    stream.set_read_deadline(Some(Instant::now() + LINGER));
    let mut dropped = 0;
    while dropped < LINGER_MAX {
        match stream.read(buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => dropped += n,
        }
    }
}
