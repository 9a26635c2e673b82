//! End-to-end tests of the `kv` example: the binary runs as a child process (`kv 127.0.0.1:0`)
//! and a plain blocking `std::net::TcpStream` speaks RESP2 to it.
//!
//! Every test is bounded: each server has a watchdog that kills it after a time limit (so a
//! client blocked on it fails instead of hanging), every socket has read and write timeouts, and
//! the server is killed when its guard drops.

mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Read/write timeout of every client socket.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test's server may live before its watchdog kills it.
const TEST_LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The server process

/// The `kv` example binary: next to this test binary's directory, in
/// `target/<profile>/examples/`. It is (re)built once per test run with `cargo build --example
/// kv` (a no-op when up to date), because `cargo test --test example_kv` builds only this test
/// (checked: it leaves a stale `examples/kv` alone), while a plain `cargo test` builds it too.
fn kv_binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        // target/<profile>/deps/example_kv-<hash> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("test binary outside target/<profile>/deps");
        let bin = profile_dir
            .join("examples")
            .join(format!("kv{}", std::env::consts::EXE_SUFFIX));
        build_example(profile_dir.ends_with("release"));
        assert!(
            bin.exists(),
            "{} is missing after building it",
            bin.display()
        );
        bin
    })
}

/// `cargo build --example kv`, bounded to 10 minutes. A failure is reported but not fatal when
/// an older binary exists (the caller asserts that one does).
fn build_example(release: bool) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--example",
        "kv",
        "--manifest-path",
        manifest,
    ]);
    // The profile `cargo test` builds examples with, so that this is a no-op after it.
    cmd.args(["--profile", if release { "release" } else { "test" }]);
    let mut child = match cmd.stdin(Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run cargo build --example kv: {e}");
            return;
        }
    };
    match wait_timeout(&mut child, Duration::from_secs(600)) {
        Some(s) if s.success() => {}
        Some(s) => eprintln!("cargo build --example kv failed: {s}"),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("cargo build --example kv timed out");
        }
    }
}

/// Waits for `child` for at most `limit`; `None` if it is still running.
fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A running `kv` server, killed on drop (and by its watchdog after [`TEST_LIMIT`]).
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Dropping this tells the watchdog the test is over.
    _watchdog: mpsc::Sender<()>,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(kv_binary())
            .arg("127.0.0.1:0")
            .env("NETPOLL_WORKERS", "2")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kv");
        let pid = child.id();

        let (done, cancelled) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(TEST_LIMIT) {
                eprintln!(
                    "watchdog: kv (pid {pid}) still running after {TEST_LIMIT:?}; killing it"
                );
                kill(pid, libc::SIGKILL);
            }
        });

        // The contract's one line, read with a timeout; the rest of stdout is drained.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            let _ = io::copy(&mut r, &mut io::sink());
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kv did not print its listening line within 20 s");
            }
        };
        let addr = line
            .trim_end()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                let _ = child.wait();
                panic!("unexpected first line from kv: {line:?}")
            });
        Server {
            child,
            addr,
            _watchdog: done,
        }
    }

    fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// The server's resident set size, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Sends SIGTERM and waits (at most 15 s) for the exit status.
    fn terminate(mut self) -> ExitStatus {
        kill(self.child.id(), libc::SIGTERM);
        wait_timeout(&mut self.child, Duration::from_secs(15))
            .expect("kv did not exit within 15 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child's.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// RESP2 encoding of a command: an array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The length of the first complete reply in `buf`, if it is complete.
fn reply_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let after = line_end + 2;
    let header = std::str::from_utf8(&buf[1..line_end]).ok();
    match buf[0] {
        b'+' | b'-' | b':' => Some(after),
        b'$' => {
            let n: i64 = header?.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' => {
            let n: i64 = header?.parse().ok()?;
            let mut at = after;
            for _ in 0..n.max(0) {
                at += reply_len(&buf[at..])?;
            }
            Some(at)
        }
        other => panic!("not a RESP reply: starts with {:?}", other as char),
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to kv");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to kv");
    }

    /// Reads one reply, raw.
    fn reply(&mut self) -> Vec<u8> {
        loop {
            if !self.buf.is_empty() {
                if let Some(n) = reply_len(&self.buf) {
                    return self.buf.drain(..n).collect();
                }
            }
            let mut chunk = [0u8; 64 << 10];
            let n = self.stream.read(&mut chunk).expect("read from kv");
            assert!(
                n > 0,
                "kv closed the connection mid-reply; have {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its reply.
    fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.reply()
    }

    /// Sends a command and checks its reply byte for byte.
    fn expect(&mut self, args: &[&[u8]], reply: &[u8]) {
        let got = self.cmd(args);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply),
            "reply to {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }

    /// Checks the next reply byte for byte.
    fn expect_reply(&mut self, reply: &[u8]) {
        let got = self.reply();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply)
        );
    }

    /// Asserts that the server closes the connection with nothing more to say.
    fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected a close, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected a close, got {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn basic_commands_round_trip() {
    let server = Server::start();
    let mut c = server.client();
    c.expect(&[b"PING"], b"+PONG\r\n");
    c.expect(&[b"ping", b"hello"], b"$5\r\nhello\r\n");
    c.expect(&[b"ECHO", b"hi there"], b"$8\r\nhi there\r\n");
    c.expect(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.expect(&[b"GET", b"k"], b"$1\r\nv\r\n");
    c.expect(&[b"get", b"missing"], b"$-1\r\n");
    c.expect(&[b"SET", b"k", b"v2"], b"+OK\r\n");
    c.expect(&[b"GET", b"k"], b"$2\r\nv2\r\n");
    c.expect(&[b"EXISTS", b"k", b"missing", b"k"], b":2\r\n");
    c.expect(&[b"DEL", b"k", b"missing"], b":1\r\n");
    c.expect(&[b"EXISTS", b"k"], b":0\r\n");
    c.expect(&[b"GET", b"k"], b"$-1\r\n");

    // Binary-safe keys and values, the empty value, and a 1 MiB value.
    let binary: &[u8] = b"a\r\nb\0c\r\n$3\r\n";
    c.expect(&[b"SET", binary, binary], b"+OK\r\n");
    let mut expected = format!("${}\r\n", binary.len()).into_bytes();
    expected.extend_from_slice(binary);
    expected.extend_from_slice(b"\r\n");
    c.expect(&[b"GET", binary], &expected);
    c.expect(&[b"SET", b"empty", b""], b"+OK\r\n");
    c.expect(&[b"GET", b"empty"], b"$0\r\n\r\n");
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + 3) as u8).collect();
    c.expect(&[b"SET", b"big", &big], b"+OK\r\n");
    let mut expected = format!("${}\r\n", big.len()).into_bytes();
    expected.extend_from_slice(&big);
    expected.extend_from_slice(b"\r\n");
    assert!(c.cmd(&[b"GET", b"big"]) == expected, "1 MiB value differs");

    // INCR and friends, with Redis' errors.
    c.expect(&[b"INCR", b"n"], b":1\r\n");
    c.expect(&[b"INCR", b"n"], b":2\r\n");
    c.expect(&[b"DECR", b"n"], b":1\r\n");
    c.expect(&[b"INCRBY", b"n", b"-10"], b":-9\r\n");
    c.expect(&[b"GET", b"n"], b"$2\r\n-9\r\n");
    c.expect(&[b"SET", b"s", b"abc"], b"+OK\r\n");
    c.expect(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.expect(&[b"SET", b"s", b" 1"], b"+OK\r\n");
    c.expect(
        &[b"INCR", b"s"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.expect(&[b"SET", b"max", b"9223372036854775806"], b"+OK\r\n");
    c.expect(&[b"INCR", b"max"], b":9223372036854775807\r\n");
    c.expect(
        &[b"INCR", b"max"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    c.expect(&[b"GET", b"max"], b"$19\r\n9223372036854775807\r\n");

    // SET NX / XX / GET.
    c.expect(&[b"SET", b"once", b"1", b"NX"], b"+OK\r\n");
    c.expect(&[b"SET", b"once", b"2", b"nx"], b"$-1\r\n");
    c.expect(&[b"SET", b"nothere", b"1", b"XX"], b"$-1\r\n");
    c.expect(&[b"SET", b"once", b"3", b"XX", b"GET"], b"$1\r\n1\r\n");
    c.expect(&[b"GET", b"once"], b"$1\r\n3\r\n");
    c.expect(
        &[b"SET", b"once", b"4", b"NX", b"XX"],
        b"-ERR syntax error\r\n",
    );
    c.expect(&[b"SET", b"once", b"4", b"BOGUS"], b"-ERR syntax error\r\n");

    // Wrong arity.
    c.expect(
        &[b"GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    c.expect(
        &[b"SET", b"k"],
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    c.expect(
        &[b"ECHO", b"a", b"b"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );

    // DBSIZE, FLUSHALL.
    c.expect(&[b"DBSIZE"], b":7\r\n");
    c.expect(&[b"FLUSHALL"], b"+OK\r\n");
    c.expect(&[b"DBSIZE"], b":0\r\n");
    assert!(server.terminate().success());
}

#[test]
fn set_with_expiry() {
    let server = Server::start();
    let mut c = server.client();
    c.expect(&[b"SET", b"long", b"v", b"EX", b"100"], b"+OK\r\n");
    let ttl = c.cmd(&[b"TTL", b"long"]);
    assert!(ttl == b":100\r\n" || ttl == b":99\r\n", "{ttl:?}");
    c.expect(&[b"SET", b"long", b"w"], b"+OK\r\n");
    c.expect(&[b"TTL", b"long"], b":-1\r\n");
    c.expect(&[b"TTL", b"missing"], b":-2\r\n");

    c.expect(&[b"SET", b"short", b"v", b"PX", b"50"], b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = c.cmd(&[b"GET", b"short"]);
        if r == b"$-1\r\n" {
            break;
        }
        assert_eq!(r, b"$1\r\nv\r\n");
        assert!(Instant::now() < deadline, "PX 50 key still there after 5 s");
        thread::sleep(Duration::from_millis(10));
    }
    c.expect(&[b"EXISTS", b"short"], b":0\r\n");

    c.expect(&[b"SET", b"secs", b"v", b"ex", b"1"], b"+OK\r\n");
    thread::sleep(Duration::from_millis(1100));
    c.expect(&[b"GET", b"secs"], b"$-1\r\n");

    // Keys nobody reads again are swept away.
    c.expect(&[b"FLUSHALL"], b"+OK\r\n");
    for i in 0..200 {
        let key = format!("sweep{i}");
        c.expect(&[b"SET", key.as_bytes(), b"x", b"PX", b"30"], b"+OK\r\n");
    }
    c.expect(&[b"SET", b"stays", b"x"], b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.cmd(&[b"DBSIZE"]) != b":1\r\n" {
        assert!(
            Instant::now() < deadline,
            "expired keys not swept after 5 s"
        );
        thread::sleep(Duration::from_millis(20));
    }

    c.expect(
        &[b"SET", b"k", b"v", b"EX", b"0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    c.expect(
        &[b"SET", b"k", b"v", b"PX", b"-5"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    c.expect(
        &[b"SET", b"k", b"v", b"EX", b"soon"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.expect(&[b"SET", b"k", b"v", b"EX"], b"-ERR syntax error\r\n");
    c.expect(
        &[b"SET", b"k", b"v", b"EX", b"1", b"PX", b"1"],
        b"-ERR syntax error\r\n",
    );
    c.expect(&[b"EXISTS", b"k"], b":0\r\n");
}

#[test]
fn pipelining_a_thousand_commands() {
    let server = Server::start();
    let mut c = server.client();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let key = format!("key{}", (i / 4) % 100);
        match i % 4 {
            0 => {
                batch.extend(encode(&[
                    b"SET",
                    key.as_bytes(),
                    format!("v{i}").as_bytes(),
                ]));
                expected.extend_from_slice(b"+OK\r\n");
            }
            1 => {
                batch.extend(encode(&[b"GET", key.as_bytes()]));
                let v = format!("v{}", i - 1);
                expected.extend(format!("${}\r\n{v}\r\n", v.len()).bytes());
            }
            2 => {
                batch.extend(encode(&[b"INCR", b"counter"]));
                expected.extend(format!(":{}\r\n", i / 4 + 1).bytes());
            }
            _ => {
                batch.extend_from_slice(b"PING\r\n");
                expected.extend_from_slice(b"+PONG\r\n");
            }
        }
    }
    c.send(&batch);
    let mut got = Vec::new();
    for _ in 0..1000 {
        got.extend(c.reply());
    }
    assert!(got == expected, "pipelined replies differ");

    // The same pipeline again, dribbled in 7-byte pieces.
    let mut got = Vec::new();
    let writer = c.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut w = writer;
        for piece in batch.chunks(7) {
            w.write_all(piece).unwrap();
        }
    });
    for _ in 0..1000 {
        got.extend(c.reply());
    }
    sender.join().unwrap();
    // The counter goes on from 250: compare everything but the INCR replies' values.
    let strip = |b: &[u8]| -> Vec<u8> {
        String::from_utf8_lossy(b)
            .split("\r\n")
            .filter(|l| !l.starts_with(':'))
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes()
    };
    assert_eq!(strip(&got), strip(&expected));
    c.expect(&[b"GET", b"counter"], b"$3\r\n500\r\n");

    // One command fed byte by byte.
    for &b in &encode(&[b"ECHO", b"slowly"]) {
        c.send(&[b]);
        thread::sleep(Duration::from_millis(1));
    }
    c.expect_reply(b"$6\r\nslowly\r\n");
}

#[test]
fn inline_commands() {
    let server = Server::start();
    let mut c = server.client();
    c.send(b"PING\r\n");
    c.expect_reply(b"+PONG\r\n");
    c.send(b"SET a b\r\n");
    c.expect_reply(b"+OK\r\n");
    c.send(b"get\t a \n");
    c.expect_reply(b"$1\r\nb\r\n");
    // Blank lines and empty arrays are skipped without a reply.
    c.send(b"\r\n   \r\n*0\r\nECHO x\r\n");
    c.expect_reply(b"$1\r\nx\r\n");
    c.send(b"INCR a\r\n");
    c.expect_reply(b"-ERR value is not an integer or out of range\r\n");
}

#[test]
fn hostile_lengths_are_refused_without_allocating() {
    let server = Server::start();
    // Warm up: every worker thread has served something.
    for _ in 0..8 {
        let mut c = server.client();
        c.expect(&[b"SET", b"k", b"v"], b"+OK\r\n");
    }
    let before = server.rss_kib();
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$2000000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*2000000000\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$99999999999999999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for _ in 0..10 {
        for (input, reply) in cases {
            let mut c = server.client();
            c.send(input);
            c.expect_reply(reply);
            c.expect_closed();
        }
    }
    // An endless inline line: refused once it passes 64 KiB.
    let mut c = server.client();
    c.send(&vec![b'a'; 70 << 10]);
    c.expect_reply(b"-ERR Protocol error: too big inline request\r\n");
    c.expect_closed();

    let after = server.rss_kib();
    assert!(
        after < before + 8 * 1024,
        "RSS went from {before} KiB to {after} KiB"
    );
    // And the server is still serving.
    server.client().expect(&[b"GET", b"k"], b"$1\r\nv\r\n");
}

#[test]
fn a_client_that_pipelines_without_reading_is_held_to_a_bounded_backlog() {
    let server = Server::start();
    // 16 KiB values: every 24-byte GET asks for a 16 KiB reply.
    let value = vec![b'x'; 16 << 10];
    let mut c = server.client();
    c.expect(&[b"SET", b"big", &value], b"+OK\r\n");
    let before = server.rss_kib();
    // 256 MiB of GETs would ask for ~170 GiB of replies.
    let (sent, hog) = support::flood_without_reading(
        server.addr,
        b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n",
        256 << 20,
        Duration::from_secs(2),
    );
    let after = server.rss_kib();
    assert!(
        sent < 64 << 20,
        "the server kept reading a client that never reads: {sent} bytes taken"
    );
    assert!(
        after < before + 32 * 1024,
        "RSS went from {before} KiB to {after} KiB while {sent} bytes of GETs were pipelined"
    );
    // Others are still served meanwhile.
    server.client().expect(&[b"PING"], b"+PONG\r\n");
    drop(hog);
}

#[test]
fn garbage_gets_an_error_and_a_close() {
    let server = Server::start();
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-3\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*-5\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nPING\r\n",
            b"-ERR Protocol error: expected '$', got 'P'\r\n",
        ),
        (
            b"*1\r\n$4\r\nPINGXX",
            b"-ERR Protocol error: missing CRLF\r\n",
        ),
        // Commands before the garbage are answered first.
        (
            b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$y\r\n",
            b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (input, reply) in cases {
        let mut c = server.client();
        c.send(input);
        let mut got = Vec::new();
        while got.len() < reply.len() {
            got.extend(c.reply());
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply),
            "reply to {:?}",
            String::from_utf8_lossy(input)
        );
        c.expect_closed();
    }
    server.client().expect(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn unknown_commands_keep_the_connection() {
    let server = Server::start();
    let mut c = server.client();
    c.expect(&[b"FOO", b"a", b"b"], b"-ERR unknown command 'FOO'\r\n");
    c.expect(
        &[b"averyveryverylongcommandname"],
        b"-ERR unknown command 'averyveryverylongcommandname'\r\n",
    );
    c.expect(&[b"A\r\nB"], b"-ERR unknown command 'A  B'\r\n");
    c.expect(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn stubs_for_redis_tools() {
    let server = Server::start();
    let mut c = server.client();
    c.expect(&[b"COMMAND"], b"*0\r\n");
    c.expect(&[b"COMMAND", b"DOCS"], b"*0\r\n");
    assert!(c.cmd(&[b"COMMAND", b"COUNT"]).starts_with(b":"));
    c.expect(
        &[b"CONFIG", b"GET", b"save"],
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
    );
    c.expect(
        &[b"CONFIG", b"GET", b"appendonly"],
        b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    c.expect(&[b"CONFIG", b"GET", b"maxmemory"], b"*0\r\n");
    c.expect(&[b"CLIENT", b"SETNAME", b"tester"], b"+OK\r\n");
    c.expect(&[b"CLIENT", b"GETNAME"], b"$6\r\ntester\r\n");
    c.expect(&[b"SELECT", b"0"], b"+OK\r\n");
    c.expect(&[b"SELECT", b"3"], b"-ERR DB index is out of range\r\n");
    c.expect(&[b"FLUSHDB"], b"+OK\r\n");
    let info = c.cmd(&[b"INFO"]);
    assert!(
        info.starts_with(b"$"),
        "{:?}",
        String::from_utf8_lossy(&info)
    );
    assert!(String::from_utf8_lossy(&info).contains("# Server"));
    c.expect(&[b"QUIT"], b"+OK\r\n");
    c.expect_closed();
}

#[test]
fn concurrent_clients_share_the_store() {
    let server = Server::start();
    let addr = server.addr;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                let mut c = Client::connect(addr);
                for i in 0..200 {
                    let key = format!("t{t}-{i}");
                    c.expect(&[b"SET", key.as_bytes(), b"x"], b"+OK\r\n");
                    let r = c.cmd(&[b"INCR", b"shared"]);
                    assert!(r.starts_with(b":"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = server.client();
    c.expect(&[b"GET", b"shared"], b"$4\r\n1600\r\n");
    c.expect(&[b"DBSIZE"], b":1601\r\n");
}

#[test]
fn sigterm_exits_zero() {
    // With no connection.
    let server = Server::start();
    server.client().expect(&[b"PING"], b"+PONG\r\n");
    assert!(server.terminate().success());

    // With an idle connection open, and one half-way through a command: both are closed and
    // the server exits 0 within the grace period.
    let server = Server::start();
    let mut idle = server.client();
    idle.expect(&[b"PING"], b"+PONG\r\n");
    let mut partial = server.client();
    partial.send(b"*2\r\n$4\r\nECHO\r\n$10\r\nhal");
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(8));
    idle.expect_closed();
    let _ = partial.stream.shutdown(Shutdown::Both);
}

#[test]
fn redis_cli_if_installed() {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("redis-cli").is_file()));
    if !found {
        eprintln!("skipped: redis-cli is not installed (apt-get install redis-tools)");
        return;
    }
    let server = Server::start();
    let port = server.addr.port().to_string();
    let run = |args: &[&str]| -> String {
        let mut child = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn redis-cli");
        let status = wait_timeout(&mut child, Duration::from_secs(10));
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-cli {args:?} did not finish in 10 s");
        }
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    };
    assert_eq!(run(&["PING"]), "PONG\n");
    assert_eq!(run(&["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(run(&["GET", "greeting"]), "hello world\n");
    assert_eq!(run(&["INCR", "hits"]), "1\n");
    assert_eq!(run(&["DBSIZE"]), "2\n");
    assert_eq!(run(&["NOPE"]).trim_end(), "ERR unknown command 'NOPE'");
}
