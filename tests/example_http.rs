//! The `http_hello` example as a child process, driven by plain std clients.
//!
//! Each test starts its own server (`127.0.0.1:0`, two workers) and runs its client part under
//! a watchdog on another thread; the server's handle stays on the test's thread, so a timeout
//! panics there and dropping the handle kills the child.
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::{bounded, Example};

const NAME: &str = "http_hello";
const LIMIT: Duration = Duration::from_secs(60);

/// Brings the example binary up to date with the profile of this test binary, so that a
/// `cargo test --test example_http` after an edit does not test a stale binary. `cargo test`
/// builds examples itself (with the `test` profile, into the same `target/debug/examples`), so
/// this is normally a no-op; `--test` alone does not build them.
fn build_example(name: &str) {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        // target/<profile dir>/deps/<test binary>
        let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
        let target_dir: PathBuf = profile_dir.parent().expect("target dir").into();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "test",
            Some("release") => "release",
            Some(other) => other,
            None => "test",
        };
        let mut child = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--example", name, "--profile", profile])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .spawn()
            .expect("run cargo build --example");
        let end = Instant::now() + Duration::from_secs(900);
        loop {
            if let Some(st) = child.try_wait().expect("wait for cargo") {
                assert!(st.success(), "cargo build --example {name}: {st}");
                break;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cargo build --example {name} took more than 15 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(profile_dir.join("examples").join(name).exists());
    });
}

/// A running server; shows the child's stderr if the test fails.
struct Server(Example);

impl Server {
    fn start(env: &[(&str, &str)]) -> Server {
        build_example(NAME);
        let mut all = vec![("NETPOLL_WORKERS", "2")];
        all.extend_from_slice(env);
        Server(Example::start(NAME, &["127.0.0.1:0"], &all))
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Runs the client part `f` under the watchdog.
    fn run(&self, f: impl FnOnce(SocketAddr) + Send + 'static) {
        let addr = self.addr();
        bounded(LIMIT, move || f(addr));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {NAME} stderr ---\n{}",
                self.0.stderr.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    }
}

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    /// The head exactly as received, final CRLF CRLF included.
    head: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection with a buffer (responses may arrive together).
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Client { s, buf: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// Reads more bytes into the buffer; false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        match self.s.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Reads one response; `head_only` for the answer to HEAD (no body whatever the length).
    fn response(&mut self, head_only: bool) -> Response {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(
                self.fill(),
                "connection closed inside a response head: {:?}",
                self.text()
            );
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("ASCII head");
        let mut lines = head[..head_end - 4].split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line:?}");
        let status = status_line[9..12].parse().expect("status");
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap_or_else(|| panic!("header {l:?}"));
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let mut r = Response {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        let len: usize = match (head_only, r.header("content-length")) {
            (true, _) => 0,
            (false, Some(v)) => v.parse().expect("content-length"),
            (false, None) => panic!("no Content-Length: {:?}", r.head),
        };
        while self.buf.len() < head_end + len {
            assert!(self.fill(), "connection closed inside a body");
        }
        r.body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        r
    }

    /// Asserts that the server closes the connection with nothing more to say.
    fn expect_close(&mut self) {
        while self.fill() {}
        assert!(self.buf.is_empty(), "unexpected bytes: {:?}", self.text());
    }

    /// Asserts that nothing more arrives for a moment and the connection stays open.
    fn expect_quiet(&mut self) {
        self.s
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut b = [0u8; 64];
        match self.s.read(&mut b) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected silence, got {other:?}"),
        }
        self.s
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn assert_hello(r: &Response) {
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-length"), Some("13"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.body, b"Hello, World!");
}

#[test]
fn get_answers_exact_bytes() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let mut c = Client::connect(addr);
        c.send(GET);
        let r = c.response(false);
        let date = r.header("date").expect("Date").to_owned();
        assert_eq!(date.len(), 29, "{date:?}");
        assert!(date.ends_with(" GMT"), "{date:?}");
        let expected = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\
             Date: {date}\r\n\r\n"
        );
        assert_eq!(r.head, expected);
        assert_eq!(r.body, b"Hello, World!");
        // Nothing else was sent, and the connection stays open.
        assert!(c.buf.is_empty());
        c.expect_quiet();
    });
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let mut c = Client::connect(addr);
        for i in 0..20 {
            c.send(
                format!("GET /n/{i} HTTP/1.1\r\nHost: h\r\nUser-Agent: test\r\n\r\n").as_bytes(),
            );
            assert_hello(&c.response(false));
        }
        // HTTP/1.0 with keep-alive stays open too, and is told so.
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response(false);
        assert_hello(&r);
        assert_eq!(r.header("connection"), Some("keep-alive"));
        c.send(GET);
        assert_hello(&c.response(false));
        c.expect_quiet();
    });
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let server = Server::start(&[]);
    server.run(|addr| {
        // Ten in one write.
        let mut c = Client::connect(addr);
        c.send(&GET.repeat(10));
        for _ in 0..10 {
            assert_hello(&c.response(false));
        }
        assert!(c.buf.is_empty());
        c.expect_quiet();

        // Mixed methods, a body to skip, and the next request still right.
        let mut batch = Vec::new();
        batch.extend_from_slice(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
        batch.extend_from_slice(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde");
        batch.extend_from_slice(GET);
        batch.extend_from_slice(b"\r\nGET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
        batch.extend_from_slice(GET);
        c.send(&batch);
        let head = c.response(true);
        assert_eq!(
            (head.status, head.header("content-length")),
            (200, Some("13"))
        );
        let post = c.response(false);
        assert_eq!(post.status, 405);
        assert_hello(&c.response(false));
        assert_hello(&c.response(false));
        assert_hello(&c.response(false));
        c.expect_quiet();

        // The same stream cut into 7-byte writes: requests straddle reads.
        let mut c = Client::connect(addr);
        let all = GET.repeat(5);
        for piece in all.chunks(7) {
            c.send(piece);
            std::thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..5 {
            assert_hello(&c.response(false));
        }
        c.expect_quiet();

        // Many at once: 500 requests in one write (more than one read's worth).
        let mut c = Client::connect(addr);
        c.send(&GET.repeat(500));
        for _ in 0..500 {
            assert_hello(&c.response(false));
        }
        c.expect_quiet();
    });
}

#[test]
fn head_has_the_headers_and_no_body() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let mut c = Client::connect(addr);
        c.send(b"HEAD /anything HTTP/1.1\r\nHost: h\r\n\r\n");
        let r = c.response(true);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("13"));
        assert_eq!(r.header("content-type"), Some("text/plain"));
        // No body followed: the next response starts right after the head.
        c.send(GET);
        assert_hello(&c.response(false));
    });
}

#[test]
fn other_methods_get_405_and_keep_the_connection() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let mut c = Client::connect(addr);
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"] {
            c.send(
                format!("{method} / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody")
                    .as_bytes(),
            );
            let r = c.response(false);
            assert_eq!(r.status, 405, "{method}");
            assert_eq!(r.header("allow"), Some("GET, HEAD"));
        }
        // A body of 1 MiB is read and dropped.
        let body = vec![b'x'; 1 << 20];
        c.send(
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        c.send(&body);
        assert_eq!(c.response(false).status, 405);
        c.send(GET);
        assert_hello(&c.response(false));
        // A client waiting for `100 Continue` may never send its body: answer, then close.
        c.send(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
        let r = c.response(false);
        assert_eq!((r.status, r.header("connection")), (405, Some("close")));
        c.expect_close();
    });
}

#[test]
fn malformed_requests_get_400_and_a_close() {
    let server = Server::start(&[]);
    server.run(|addr| {
        for bad in [
            &b"garbage\r\n\r\n"[..],
            b"GET / HTTP/1.1\nHost: h\n\n",
            b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: nope\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        ] {
            let mut c = Client::connect(addr);
            c.send(bad);
            let r = c.response(false);
            assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(bad));
            assert_eq!(r.header("connection"), Some("close"));
            c.expect_close();
        }
        // A good request first, then garbage: the good one is answered, then 400 and close.
        let mut c = Client::connect(addr);
        let mut both = GET.to_vec();
        both.extend_from_slice(b"NOT HTTP AT ALL\r\n\r\n");
        c.send(&both);
        assert_hello(&c.response(false));
        assert_eq!(c.response(false).status, 400);
        c.expect_close();
        // Chunked bodies are not implemented; HTTP/2 is not HTTP/1.
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert_eq!(c.response(false).status, 501);
        c.expect_close();
        let mut c = Client::connect(addr);
        c.send(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n");
        assert_eq!(c.response(false).status, 505);
        c.expect_close();
    });
}

#[test]
fn oversized_head_gets_431_and_a_close() {
    let server = Server::start(&[]);
    server.run(|addr| {
        // One long header, sent in full (the server must not reset before we read the 431).
        let mut c = Client::connect(addr);
        let big = "a".repeat(9000);
        c.send(format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {big}\r\n\r\n").as_bytes());
        let r = c.response(false);
        assert_eq!(r.status, 431);
        assert_eq!(r.header("connection"), Some("close"));
        c.expect_close();
        // Many small headers adding up to more than 8 KiB.
        let mut c = Client::connect(addr);
        let mut req = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
        for i in 0..90 {
            req.push_str(&format!("X-{i}: {}\r\n", "b".repeat(90)));
        }
        req.push_str("\r\n");
        assert!(req.len() > 8192);
        c.send(req.as_bytes());
        assert_eq!(c.response(false).status, 431);
        c.expect_close();
        // Just under the limit is fine.
        let mut c = Client::connect(addr);
        let pad = "c".repeat(8192 - 60);
        let req = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: {pad}\r\n\r\n");
        assert!(req.len() <= 8192, "{}", req.len());
        c.send(req.as_bytes());
        assert_hello(&c.response(false));
        // A body over 1 MiB is refused without reading it.
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n");
        assert_eq!(c.response(false).status, 413);
        c.expect_close();
    });
}

#[test]
fn a_client_that_pipelines_without_reading_is_held_to_a_bounded_backlog() {
    let server = Server::start(&[]);
    let pid = server.0.child.id();
    server.run(move |addr| {
        let before = support::rss_kib(pid);
        let (sent, hog) = support::flood_without_reading(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            256 << 20,
            Duration::from_secs(2),
        );
        let after = support::rss_kib(pid);
        assert!(
            sent < 64 << 20,
            "the server kept reading a client that never reads: {sent} bytes taken"
        );
        assert!(
            after < before + 32 * 1024,
            "RSS went from {before} KiB to {after} KiB while {sent} bytes of requests were pipelined"
        );
        // Others are still served meanwhile.
        let mut c = Client::connect(addr);
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_hello(&c.response(false));
        drop(hog);
    });
}

#[test]
fn connection_close_is_honoured() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let mut c = Client::connect(addr);
        c.send(GET);
        assert_hello(&c.response(false));
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        let r = c.response(false);
        assert_hello(&r);
        assert_eq!(r.header("connection"), Some("close"));
        c.expect_close();
        // HTTP/1.0 closes by default; requests pipelined after a close are not answered.
        let mut c = Client::connect(addr);
        let mut two = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        two.extend_from_slice(GET);
        c.send(&two);
        let r = c.response(false);
        assert_hello(&r);
        assert_eq!(r.header("connection"), Some("close"));
        c.expect_close();
    });
}

#[test]
fn slow_and_idle_clients_are_disconnected() {
    let server = Server::start(&[
        ("HTTP_HELLO_HEAD_TIMEOUT_MS", "400"),
        ("HTTP_HELLO_IDLE_TIMEOUT_MS", "600"),
    ]);
    server.run(|addr| {
        // Slowloris: a byte every 50 ms never completes a head in time.
        let mut c = Client::connect(addr);
        c.s.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let t0 = Instant::now();
        let trickle = b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: "
            .iter()
            .chain(std::iter::repeat(&b'z'));
        let mut closed = false;
        for &b in trickle {
            if c.s.write_all(&[b]).is_err() {
                closed = true;
                break;
            }
            let mut x = [0u8; 64];
            match c.s.read(&mut x) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => panic!("unexpected answer {:?}", String::from_utf8_lossy(&x[..n])),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "still open after 5 s"
            );
        }
        assert!(closed);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(350),
            "closed too early: {took:?}"
        );

        // A connection that never sends anything is closed after the head timeout too.
        let mut c = Client::connect(addr);
        let t0 = Instant::now();
        c.expect_close();
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(350) && took < Duration::from_secs(5),
            "{took:?}"
        );

        // Idle between requests: closed after the idle timeout, not before.
        let mut c = Client::connect(addr);
        c.send(GET);
        assert_hello(&c.response(false));
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(300));
        c.send(GET);
        assert_hello(&c.response(false));
        c.expect_close();
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(850) && took < Duration::from_secs(5),
            "{took:?}"
        );
    });
}

#[test]
fn concurrent_keep_alive_clients() {
    let server = Server::start(&[]);
    server.run(|addr| {
        let threads: Vec<_> = (0..32)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut c = Client::connect(addr);
                    for round in 0..20 {
                        // Alternate single requests and pipelined bursts.
                        let n = if round % 2 == 0 { 1 } else { 8 };
                        c.send(&GET.repeat(n));
                        for _ in 0..n {
                            assert_hello(&c.response(false));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    let mut server = Server::start(&[]);
    let addr = server.addr();
    // An idle keep-alive connection, and one in the middle of a request head.
    let (idle, busy) = bounded(LIMIT, move || {
        let mut idle = Client::connect(addr);
        idle.send(GET);
        assert_hello(&idle.response(false));
        let mut busy = Client::connect(addr);
        busy.send(b"GET / HTTP/1.1\r\n");
        std::thread::sleep(Duration::from_millis(100));
        (idle, busy)
    });
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child's.
    unsafe { libc::kill(server.0.child.id() as i32, libc::SIGTERM) };
    let (mut idle, mut busy) = bounded(LIMIT, move || {
        let mut busy = busy;
        // Once the signal is handled, the request finishes with a last response.
        std::thread::sleep(Duration::from_millis(200));
        busy.send(b"Host: h\r\n\r\n");
        let r = busy.response(false);
        assert_hello(&r);
        assert_eq!(r.header("connection"), Some("close"));
        busy.expect_close();
        (idle, busy)
    });
    let t0 = Instant::now();
    // Signal 0 sends nothing: this only waits (bounded) for the exit.
    let status = server.0.signal_and_wait(0, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    // The idle connection did not hold the exit up for the whole grace period.
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    idle.expect_close();
    busy.expect_close();
    // New connections are refused now.
    assert!(TcpStream::connect(addr).is_err());
}
