//! 10 000 concurrent loopback connections, all open at once, each echoing a payload.
//!
//! A process may hold 20 000 fds here, so the two ends live in two processes: the server (a
//! netpoll runtime with 2 workers) runs in the test process, and the clients in a child process
//! (this binary re-run with only the ignored `tcp_10k_clients` test selected and the server's
//! address in the environment), on a netpoll runtime of their own.
//!
//! Protocol, per connection: the server greets with one byte as soon as it has accepted; the
//! client counts itself established when the greeting arrives (so "established" means
//! "accepted and held by the server", not merely "in the backlog"). Connects are throttled to
//! `IN_FLIGHT` at a time, which also bounds the backlog. When all `CONNS` are established, every
//! client sends a 4-byte length and a payload of 1 B to 16 KiB (deterministic per connection);
//! the server echoes exactly that many bytes and closes; the client checks every byte and the
//! end of stream, then closes. Client sockets are bound to 127.0.0.2..=127.0.0.5 before
//! connecting, to spread the ephemeral ports.
//!
//! The child prints one `TCP10K_RESULT` line; the parent asserts 10 000 ok, 0 errors, and that
//! the server accepted 10 000 connections and held 10 000 at once. The parent kills the child
//! after 120 s.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{drain_in_thread, rt, wait_until, write_all, Pattern};
use netpoll::net::{TcpListener, TcpSocket, TcpStream};

const ROLE_ENV: &str = "NETPOLL_TEST_10K_SERVER";
const CHILD_TEST: &str = "conn_10k::tcp_10k_clients";
const RESULT_TAG: &str = "TCP10K_RESULT";

const CONNS: usize = 10_000;
const IN_FLIGHT: usize = 256;
const MAX_PAYLOAD: usize = 16 * 1024;
const GREETING: u8 = b'+';
/// Client source addresses: 127.0.0.2 ..= 127.0.0.(1 + SOURCES).
const SOURCES: usize = 4;
const CHILD_LIMIT: Duration = Duration::from_secs(120);
/// Any single step of one connection (connect, greeting, echo) that takes longer is an error.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// What connection `i` sends: its length is 1..=16 KiB, its bytes a pattern seeded by `i`.
fn payload(i: usize) -> Vec<u8> {
    // splitmix64: well-spread sizes from consecutive indices.
    let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let len = 1 + (z % MAX_PAYLOAD as u64) as usize;
    let mut v = vec![0u8; len];
    Pattern::new(z).fill(&mut v);
    v
}

// ---------------------------------------------------------------------------------------------
// The parent: the server.

#[derive(Default)]
struct ServerStats {
    accepted: AtomicUsize,
    active: AtomicUsize,
    peak: AtomicUsize,
    finished: AtomicUsize,
    echoed: AtomicU64,
    errors: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl ServerStats {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, SeqCst);
        self.first_error.lock().unwrap().get_or_insert(what);
    }
}

async fn serve(s: TcpStream, stats: Arc<ServerStats>) {
    if let Err(e) = echo(&s, &stats).await {
        stats.error(format!("server connection: {e}"));
    }
    drop(s);
    stats.active.fetch_sub(1, SeqCst);
    stats.finished.fetch_add(1, SeqCst);
}

async fn read_exact(s: &TcpStream, mut buf: &mut [u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.read(buf).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

async fn echo(s: &TcpStream, stats: &ServerStats) -> std::io::Result<()> {
    write_all(s, &[GREETING]).await?;
    let mut len = [0u8; 4];
    read_exact(s, &mut len).await?;
    let mut left = u32::from_le_bytes(len) as usize;
    if left == 0 || left > MAX_PAYLOAD {
        return Err(std::io::Error::other(format!("bad length {left}")));
    }
    let mut buf = vec![0u8; 4096];
    while left > 0 {
        let want = left.min(buf.len());
        let n = s.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        write_all(s, &buf[..n]).await?;
        left -= n;
        stats.echoed.fetch_add(n as u64, SeqCst);
    }
    Ok(())
}

#[test]
fn ten_thousand_concurrent_connections() {
    let _serial = crate::serial();
    crate::soak("conn_10k", |_| one_round());
}

fn one_round() {
    let started = Instant::now();
    let rt = rt(2);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let stats = Arc::new(ServerStats::default());
    let server_stats = Arc::clone(&stats);
    drop(rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    server_stats.accepted.fetch_add(1, SeqCst);
                    let now = server_stats.active.fetch_add(1, SeqCst) + 1;
                    server_stats.peak.fetch_max(now, SeqCst);
                    drop(netpoll::spawn(serve(s, Arc::clone(&server_stats))));
                }
                Err(e) => {
                    server_stats.error(format!("accept: {e}"));
                    return;
                }
            }
        }
    }));

    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(ROLE_ENV, addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the client process");
    let out = drain_in_thread(child.stdout.take().expect("stdout"));
    let err = drain_in_thread(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break Some(s);
        }
        if started.elapsed() > CHILD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    // Every server task ends once its client has closed (the child has exited).
    wait_until(Duration::from_secs(10), || {
        stats.finished.load(SeqCst) >= stats.accepted.load(SeqCst)
    });
    let server = format!(
        "server: accepted={} peak={} finished={} active={} echoed={} errors={} first_error={:?}",
        stats.accepted.load(SeqCst),
        stats.peak.load(SeqCst),
        stats.finished.load(SeqCst),
        stats.active.load(SeqCst),
        stats.echoed.load(SeqCst),
        stats.errors.load(SeqCst),
        stats.first_error.lock().unwrap()
    );
    let report =
        format!("{server}\n--- child stdout ---\n{stdout}\n--- child stderr ---\n{stderr}");
    let Some(status) = status else {
        panic!("the client process did not finish within {CHILD_LIMIT:?}: killed\n{report}");
    };
    assert!(
        status.success(),
        "the client process failed: {status}\n{report}"
    );

    let line = stdout
        .lines()
        .find_map(|l| l.find(RESULT_TAG).map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no {RESULT_TAG} line\n{report}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("bad {name} in {line:?}: {e}"))
    };
    assert_eq!(field("ok"), CONNS as u64, "{report}");
    assert_eq!(field("errors"), 0, "{report}");
    assert_eq!(field("established"), CONNS as u64, "{report}");
    assert_eq!(stats.accepted.load(SeqCst), CONNS, "{report}");
    assert_eq!(stats.peak.load(SeqCst), CONNS, "{report}");
    assert_eq!(stats.errors.load(SeqCst), 0, "{report}");
    assert_eq!(stats.finished.load(SeqCst), CONNS, "{report}");
    assert_eq!(stats.echoed.load(SeqCst), field("bytes"), "{report}");
    eprintln!("{line}\n{server}\ntotal {:?}", started.elapsed());
    drop(rt);
}

// ---------------------------------------------------------------------------------------------
// The child: the clients.

#[test]
#[ignore = "runs only as the client process of ten_thousand_concurrent_connections"]
fn tcp_10k_clients() {
    let Some(addr) = std::env::var_os(ROLE_ENV) else {
        return;
    };
    let addr: SocketAddr = addr
        .to_str()
        .expect("utf-8 address")
        .parse()
        .expect("address");
    let rt = rt(2);
    let summary = rt.block_on(run_clients(addr));
    println!("{summary}");
    drop(rt);
}

struct Clients {
    throttle: tokio::sync::Semaphore,
    /// Connections that got their greeting, and ones that failed before it.
    established: AtomicUsize,
    failed_early: AtomicUsize,
    go: tokio::sync::watch::Sender<bool>,
    /// Established connections that saw `go` (all of them were open at that moment).
    open_at_go: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl Clients {
    /// One connection is done with the connect phase (either way); the last opens the gate.
    fn arrive(&self) {
        let done = self.established.load(SeqCst) + self.failed_early.load(SeqCst);
        if done == CONNS {
            self.go.send_replace(true);
        }
    }

    fn error(&self, i: usize, what: &str, e: std::io::Error) -> String {
        let msg = format!("connection {i}: {what}: {e}");
        self.first_error.lock().unwrap().get_or_insert(msg.clone());
        msg
    }
}

async fn run_clients(addr: SocketAddr) -> String {
    let (go, _) = tokio::sync::watch::channel(false);
    let c = Arc::new(Clients {
        throttle: tokio::sync::Semaphore::new(IN_FLIGHT),
        established: AtomicUsize::new(0),
        failed_early: AtomicUsize::new(0),
        go,
        open_at_go: AtomicUsize::new(0),
        first_error: Mutex::new(None),
    });
    let t0 = Instant::now();
    let connected_at = Arc::new(Mutex::new(None::<Duration>));
    let tasks: Vec<_> = (0..CONNS)
        .map(|i| {
            let c = Arc::clone(&c);
            let connected_at = Arc::clone(&connected_at);
            let mut go = c.go.subscribe();
            netpoll::spawn(async move {
                let s = {
                    let _permit = c.throttle.acquire().await.expect("throttle closed");
                    match bounded_step(establish(i, addr)).await {
                        Ok(s) => {
                            c.established.fetch_add(1, SeqCst);
                            c.arrive();
                            s
                        }
                        Err(e) => {
                            let msg = c.error(i, "establish", e);
                            c.failed_early.fetch_add(1, SeqCst);
                            c.arrive();
                            return Err(msg);
                        }
                    }
                };
                // Barrier: nobody sends before every connection is established.
                go.wait_for(|&g| g).await.expect("go sender dropped");
                c.open_at_go.fetch_add(1, SeqCst);
                connected_at
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| t0.elapsed());
                match bounded_step(exchange(&s, i)).await {
                    Ok(n) => Ok(n),
                    Err(e) => Err(c.error(i, "exchange", e)),
                }
            })
        })
        .collect();

    let mut ok = 0usize;
    let mut errors = 0usize;
    let mut bytes = 0u64;
    for t in tasks {
        match t.await {
            Ok(Ok(n)) => {
                ok += 1;
                bytes += n as u64;
            }
            Ok(Err(_)) => errors += 1,
            Err(e) => {
                errors += 1;
                c.first_error
                    .lock()
                    .unwrap()
                    .get_or_insert(format!("task: {e:?}"));
            }
        }
    }
    let connect_ms = connected_at.lock().unwrap().map_or(0, |d| d.as_millis());
    format!(
        "{RESULT_TAG} ok={ok} errors={errors} established={} open_at_go={} bytes={bytes} \
         connect_ms={connect_ms} total_ms={} first_error={:?}",
        c.established.load(SeqCst),
        c.open_at_go.load(SeqCst),
        t0.elapsed().as_millis(),
        c.first_error.lock().unwrap().as_deref().unwrap_or("none")
    )
}

async fn bounded_step<T>(
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    match netpoll::time::timeout(STEP_LIMIT, f).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no progress in {STEP_LIMIT:?}"),
        )),
    }
}

/// Connects from 127.0.0.(2 + i % SOURCES) and waits for the server's greeting.
async fn establish(i: usize, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    let src = Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCES) as u8);
    socket.bind(SocketAddr::from((src, 0)))?;
    let s = socket.connect(addr).await?;
    let mut g = [0u8; 1];
    read_exact(&s, &mut g).await?;
    if g[0] != GREETING {
        return Err(std::io::Error::other(format!("bad greeting {:#x}", g[0])));
    }
    Ok(s)
}

/// Sends the payload with its length, checks the echo byte for byte and the end of stream.
async fn exchange(s: &TcpStream, i: usize) -> std::io::Result<usize> {
    let data = payload(i);
    let mut msg = Vec::with_capacity(4 + data.len());
    msg.extend_from_slice(&(data.len() as u32).to_le_bytes());
    msg.extend_from_slice(&data);
    write_all(s, &msg).await?;
    let mut buf = vec![0u8; 4096];
    let mut at = 0;
    while at < data.len() {
        let want = (data.len() - at).min(buf.len());
        let n = s.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("echo ended after {at} of {} bytes", data.len()),
            ));
        }
        if buf[..n] != data[at..at + n] {
            let off = (0..n).find(|&k| buf[k] != data[at + k]).unwrap_or(0);
            return Err(std::io::Error::other(format!(
                "echo differs at byte {} of {}",
                at + off,
                data.len()
            )));
        }
        at += n;
    }
    // The server closes after echoing exactly the payload: nothing more may come.
    match s.read(&mut buf[..1]).await? {
        0 => Ok(data.len()),
        _ => Err(std::io::Error::other("bytes after the echo")),
    }
}
