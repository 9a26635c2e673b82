//! `netpoll_stress`: the stress tool, and netpoll's main demo.
//!
//! With no arguments it starts an echo server in-process on an ephemeral port and drives it with
//! 1000 connections for 10 s: each sends a random-sized message (1 B to 64 KiB), reads the echo
//! back, and checks every byte. It prints a live progress line (stderr) and a summary: totals,
//! throughput, latency percentiles from a histogram, errors by kind, and the runtime's counters.
//!
//! ```sh
//! cargo run --release --example netpoll_stress
//! cargo run --release --example netpoll_stress -- --addr 127.0.0.1:7000 --conns 100 --size 64 --json
//! cargo run --release --example netpoll_stress -- --mode churn --duration 5
//! cargo run --release --example netpoll_stress -- --mode idle --conns 5000 --duration 5
//! ```
//!
//! Exit status: 0 if every byte came back right and no connection hung; 1 otherwise; 2 for
//! bad arguments.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netpoll::io::{AsyncReadExt, AsyncWriteExt};
use netpoll::net::{TcpListener, TcpStream};

const USAGE: &str = "netpoll_stress [--addr HOST:PORT] [--conns N] [--duration SECS] [--size BYTES]
                      [--mode echo|churn|idle] [--timeout SECS] [--seed N] [--json] [--quiet]

  --addr      target server (default: an echo server started in this process)
  --conns     concurrent connections (default 1000)
  --duration  how long to run, seconds (default 10)
  --size      largest message, bytes; sizes are random in 1..=SIZE (default 65536)
  --mode      echo: request/response with byte checks (default)
              churn: short connections opened and closed as fast as possible, 1 in 4 by RST;
                     against an IPv4 loopback target each loop connects from its own source
                     address in 127.0.0.0/8 (see `churn_source`)
              idle: open and hold the connections, report RSS per connection
  --timeout   a message or connect with no answer for this long counts as hung (default 10)
  --seed      random seed (default: from the clock)
  --json      print the summary as one JSON object on stdout
  --quiet     no progress line (on a terminal it is rewritten in place; into a pipe or a
              file, one line per second)
Workers: NETPOLL_WORKERS (default: number of cores).";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Echo,
    Churn,
    Idle,
}

#[derive(Clone, Debug)]
struct Opts {
    addr: Option<String>,
    conns: usize,
    duration: Duration,
    size: usize,
    mode: Mode,
    timeout: Duration,
    seed: u64,
    json: bool,
    quiet: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        addr: None,
        conns: 1000,
        duration: Duration::from_secs(10),
        size: 64 * 1024,
        mode: Mode::Echo,
        timeout: Duration::from_secs(10),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        json: false,
        quiet: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let num = |name: &str, v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("{name}: not a number: {v:?}"))
        };
        match a.as_str() {
            "--addr" => o.addr = Some(val("--addr")?),
            "--conns" => {
                o.conns = val("--conns")?
                    .parse()
                    .map_err(|_| "--conns: not a count".to_string())?
            }
            "--duration" => {
                o.duration =
                    Duration::from_secs_f64(num("--duration", val("--duration")?)?.max(0.0))
            }
            "--size" => {
                o.size = val("--size")?
                    .parse()
                    .map_err(|_| "--size: not a byte count".to_string())?
            }
            "--timeout" => {
                o.timeout = Duration::from_secs_f64(num("--timeout", val("--timeout")?)?.max(0.001))
            }
            "--seed" => {
                o.seed = val("--seed")?
                    .parse()
                    .map_err(|_| "--seed: not a number".to_string())?
            }
            "--mode" => {
                o.mode = match val("--mode")?.as_str() {
                    "echo" => Mode::Echo,
                    "churn" => Mode::Churn,
                    "idle" => Mode::Idle,
                    m => return Err(format!("--mode: unknown mode {m:?}")),
                }
            }
            "--json" => o.json = true,
            "--quiet" => o.quiet = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.conns == 0 || o.size == 0 {
        return Err("--conns and --size must be at least 1".into());
    }
    Ok(o)
}

/// A log-linear latency histogram in microseconds: 16 sub-buckets per power of two, so a
/// percentile is within ~6 % of the truth.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    max: u64,
    total: u64,
}

impl Histogram {
    const SUB: u64 = 16;

    fn new() -> Histogram {
        Histogram {
            counts: vec![0; 64 * Self::SUB as usize],
            max: 0,
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < Self::SUB {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros() as u64; // v >= 16 => exp >= 4
        let sub = (v >> (exp - 4)) & (Self::SUB - 1);
        ((exp - 3) * Self::SUB + sub) as usize
    }

    fn value_at(i: usize) -> u64 {
        let i = i as u64;
        if i < Self::SUB {
            return i;
        }
        let exp = i / Self::SUB + 3;
        let sub = i % Self::SUB;
        (Self::SUB + sub) << (exp - 4)
    }

    fn record(&mut self, us: u64) {
        let i = Self::index(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.max = self.max.max(us);
        self.total += 1;
    }

    fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.max = self.max.max(o.max);
        self.total += o.total;
    }

    fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value_at(i).min(self.max);
            }
        }
        self.max
    }
}

/// xorshift64*: deterministic per connection, cheap.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[derive(Default)]
struct Counters {
    msgs: AtomicU64,
    bytes: AtomicU64,
    connects: AtomicU64,
    conns_open: AtomicU64,
    conns_done: AtomicU64,
    mismatches: AtomicU64,
    hung: AtomicU64,
    errors: AtomicU64,
}

struct Shared {
    c: Counters,
    errors: Mutex<BTreeMap<String, u64>>,
    hist: Mutex<Histogram>,
    stop: AtomicBool,
}

impl Shared {
    fn error(&self, kind: &str) {
        self.c.errors.fetch_add(1, Relaxed);
        *self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind.to_string())
            .or_default() += 1;
    }
}

fn kind_of(e: &io::Error) -> String {
    format!("{:?}", e.kind())
}

/// The source address churn loop `id` connects from, for an IPv4 loopback target: one of
/// 60,000 addresses in 127.1.0.0/16.
///
/// Why: every connection the client closes first leaves a TIME_WAIT socket with the same four
/// tuple but its port, so after a few seconds of churn from one source address nearly every
/// ephemeral port is taken for this destination and `connect(2)` walks the whole range in the
/// kernel (`__inet_hash_connect` → `__inet_check_established`) before it finds one: perf showed
/// 38 % of the client's samples there, and single `connect` calls using 10–13 ms of CPU, which
/// sysmon rightly reported as long polls and handed off. A source address per loop gives each
/// its own port space, as load generators that churn connections do.
fn churn_source(id: u64, target: SocketAddr) -> Option<SocketAddr> {
    if !cfg!(target_os = "linux") {
        return None; // IP_BIND_ADDRESS_NO_PORT is Linux's
    }
    match target {
        SocketAddr::V4(t) if t.ip().is_loopback() => {
            let ip = std::net::Ipv4Addr::from(0x7F01_0000u32 + 1 + (id % 60_000) as u32);
            Some(SocketAddr::new(ip.into(), 0))
        }
        _ => None,
    }
}

/// Connects to `addr`, from `source` (port chosen at connect time) if given.
async fn open(addr: SocketAddr, source: Option<SocketAddr>) -> io::Result<TcpStream> {
    let Some(src) = source else {
        return TcpStream::connect(addr).await;
    };
    bind_no_port(addr, src).await
}

#[cfg(not(target_os = "linux"))]
async fn bind_no_port(addr: SocketAddr, _src: SocketAddr) -> io::Result<TcpStream> {
    TcpStream::connect(addr).await
}

/// Connects to `addr` from the address of `src`, the port chosen by connect.
#[cfg(target_os = "linux")]
async fn bind_no_port(addr: SocketAddr, src: SocketAddr) -> io::Result<TcpStream> {
    let sock = netpoll::net::TcpSocket::new_v4()?;
    // IP_BIND_ADDRESS_NO_PORT: bind only the address now; the port is picked by connect, per
    // four-tuple, instead of by bind from the ports free for any destination.
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a valid pointer to an int and its size.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    sock.bind(src)?;
    sock.connect(addr).await
}

async fn connect(addr: SocketAddr, shared: &Shared, timeout: Duration) -> Option<TcpStream> {
    connect_from(addr, None, shared, timeout).await
}

async fn connect_from(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    shared: &Shared,
    timeout: Duration,
) -> Option<TcpStream> {
    match netpoll::time::timeout(timeout, open(addr, source)).await {
        Ok(Ok(s)) => {
            shared.c.connects.fetch_add(1, Relaxed);
            let _ = s.set_nodelay(true);
            Some(s)
        }
        Ok(Err(e)) => {
            shared.error(&format!("connect: {}", kind_of(&e)));
            None
        }
        Err(_) => {
            shared.c.hung.fetch_add(1, Relaxed);
            shared.error("connect: hung");
            None
        }
    }
}

/// One echo connection: messages until the run ends, every byte checked.
async fn echo_conn(id: u64, addr: SocketAddr, o: Arc<Opts>, shared: Arc<Shared>) {
    let Some(stream) = connect(addr, &shared, o.timeout).await else {
        return;
    };
    shared.c.conns_open.fetch_add(1, Relaxed);
    let mut rng = Rng(o.seed ^ (id.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut hist = Histogram::new();
    let mut out = vec![0u8; o.size];
    let mut back = vec![0u8; o.size];
    let (mut r, mut w) = stream.into_split();
    let mut failed = false;
    while !shared.stop.load(Relaxed) {
        let n = 1 + (rng.next() % o.size as u64) as usize;
        rng.fill(&mut out[..n]);
        let t = Instant::now();
        let exchange = async {
            let (wr, rd) =
                futures_util::future::join(w.write_all(&out[..n]), r.read_exact(&mut back[..n]))
                    .await;
            wr?;
            rd.map(|_| ())
        };
        match netpoll::time::timeout(o.timeout, exchange).await {
            Ok(Ok(())) => {
                hist.record(t.elapsed().as_micros() as u64);
                if back[..n] != out[..n] {
                    shared.c.mismatches.fetch_add(1, Relaxed);
                    shared.error("echo: wrong bytes");
                    failed = true;
                    break;
                }
                shared.c.msgs.fetch_add(1, Relaxed);
                shared.c.bytes.fetch_add(2 * n as u64, Relaxed);
            }
            Ok(Err(e)) => {
                shared.error(&format!("echo: {}", kind_of(&e)));
                failed = true;
                break;
            }
            Err(_) => {
                shared.c.hung.fetch_add(1, Relaxed);
                shared.error("echo: hung");
                failed = true;
                break;
            }
        }
    }
    if !failed {
        // Half-close; the echo server finishes and closes: expect a clean EOF.
        let _ = w.shutdown().await;
        match netpoll::time::timeout(o.timeout, r.read(&mut back[..1])).await {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => shared.error("close: unexpected bytes"),
            Ok(Err(e)) => shared.error(&format!("close: {}", kind_of(&e))),
            Err(_) => {
                shared.c.hung.fetch_add(1, Relaxed);
                shared.error("close: hung");
            }
        }
    }
    shared
        .hist
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .merge(&hist);
    shared.c.conns_open.fetch_sub(1, Relaxed);
    shared.c.conns_done.fetch_add(1, Relaxed);
}

/// One churn loop: connect, a tiny exchange, close (1 in 4 by RST), repeat.
async fn churn_loop(id: u64, addr: SocketAddr, o: Arc<Opts>, shared: Arc<Shared>) {
    let mut rng = Rng(o.seed ^ (id + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut hist = Histogram::new();
    let source = churn_source(id, addr);
    while !shared.stop.load(Relaxed) {
        let t = Instant::now();
        let Some(mut s) = connect_from(addr, source, &shared, o.timeout).await else {
            netpoll::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let v = rng.next().to_le_bytes();
        let r = netpoll::time::timeout(o.timeout, async {
            s.write_all(&v).await?;
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await?;
            Ok::<_, io::Error>(b)
        })
        .await;
        match r {
            Ok(Ok(b)) if b == v => {
                shared.c.msgs.fetch_add(1, Relaxed);
                shared.c.bytes.fetch_add(16, Relaxed);
                hist.record(t.elapsed().as_micros() as u64);
            }
            Ok(Ok(_)) => {
                shared.c.mismatches.fetch_add(1, Relaxed);
                shared.error("churn: wrong bytes");
            }
            Ok(Err(e)) => shared.error(&format!("churn: {}", kind_of(&e))),
            Err(_) => {
                shared.c.hung.fetch_add(1, Relaxed);
                shared.error("churn: hung");
            }
        }
        if rng.next() % 4 == 0 {
            let _ = s.set_linger(Some(Duration::ZERO));
        }
        drop(s);
        shared.c.conns_done.fetch_add(1, Relaxed);
    }
    shared
        .hist
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .merge(&hist);
}

/// One idle connection: connect and hold until the end.
async fn idle_conn(addr: SocketAddr, o: Arc<Opts>, shared: Arc<Shared>) {
    let Some(s) = connect(addr, &shared, o.timeout).await else {
        return;
    };
    shared.c.conns_open.fetch_add(1, Relaxed);
    while !shared.stop.load(Relaxed) {
        netpoll::time::sleep(Duration::from_millis(100)).await;
    }
    drop(s);
    shared.c.conns_open.fetch_sub(1, Relaxed);
    shared.c.conns_done.fetch_add(1, Relaxed);
}

/// The in-process echo server (splice, like `examples/echo.rs`).
async fn echo_server() -> io::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    netpoll::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else {
                continue;
            };
            netpoll::spawn(async move {
                let _ = s.set_nodelay(true);
                let (mut r, mut w) = s.into_split();
                // NETPOLL_STRESS_BUFFERED_ECHO=1 echoes through a user-space buffer instead of
                // splice, to compare the two paths on the same load.
                let done = if std::env::var_os("NETPOLL_STRESS_BUFFERED_ECHO").is_some() {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) => break Ok(0),
                            Ok(n) => {
                                if let Err(e) = w.write_all(&buf[..n]).await {
                                    break Err(e);
                                }
                            }
                            Err(e) => break Err(e),
                        }
                    }
                } else {
                    netpoll::io::copy(&mut r, &mut w).await
                };
                if done.is_ok() {
                    let _ = w.shutdown().await;
                }
            });
        }
    });
    Ok(addr)
}

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("netpoll_stress: {e}\n\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match netpoll::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netpoll_stress: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let o = Arc::new(o);
    let shared = Arc::new(Shared {
        c: Counters::default(),
        errors: Mutex::new(BTreeMap::new()),
        hist: Mutex::new(Histogram::new()),
        stop: AtomicBool::new(false),
    });
    let rss_before = rss_bytes();
    let result = rt.block_on(run(o.clone(), shared.clone()));
    let (addr, elapsed, peak_open, rss_at_peak) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netpoll_stress: {e}");
            return ExitCode::from(2);
        }
    };
    let m = rt.metrics();
    let code = summary(
        &o,
        &shared,
        addr,
        elapsed,
        peak_open,
        rss_before,
        rss_at_peak,
        &m,
    );
    rt.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run(
    o: Arc<Opts>,
    shared: Arc<Shared>,
) -> io::Result<(SocketAddr, Duration, u64, Option<u64>)> {
    let addr = match &o.addr {
        Some(a) => netpoll::net::lookup_host(a.as_str())
            .await?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{a}: no address"))
            })?,
        None => echo_server().await?,
    };
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(o.conns);
    for id in 0..o.conns as u64 {
        let (o2, s2) = (o.clone(), shared.clone());
        tasks.push(match o.mode {
            Mode::Echo => netpoll::spawn(echo_conn(id, addr, o2, s2)),
            Mode::Churn => netpoll::spawn(churn_loop(id, addr, o2, s2)),
            Mode::Idle => netpoll::spawn(idle_conn(addr, o2, s2)),
        });
        // Pace connection set-up a little so the listen backlog is not flooded.
        if id % 256 == 255 {
            netpoll::task::yield_now().await;
        }
    }
    let mut peak_open = 0;
    let mut rss_at_peak = None;
    let mut last = (Instant::now(), 0u64, 0u64);
    // On a terminal the progress line is rewritten in place; into a log or a pipe, where `\r`
    // would make one endless line, it is one line per interval.
    let in_place = io::IsTerminal::is_terminal(&io::stderr());
    let mut printed = false;
    while start.elapsed() < o.duration {
        netpoll::time::sleep(
            Duration::from_millis(250).min(o.duration.saturating_sub(start.elapsed())),
        )
        .await;
        let open = shared.c.conns_open.load(Relaxed);
        if open >= peak_open {
            peak_open = open;
            rss_at_peak = rss_bytes();
        }
        if !o.quiet && last.0.elapsed() >= Duration::from_secs(1) {
            let (msgs, bytes) = (shared.c.msgs.load(Relaxed), shared.c.bytes.load(Relaxed));
            let dt = last.0.elapsed().as_secs_f64();
            let line = format!(
                "[{:5.1}s] conns {:>6} | {:>9.0} msg/s | {:>8.1} MB/s | errors {}",
                start.elapsed().as_secs_f64(),
                open,
                (msgs - last.1) as f64 / dt,
                (bytes - last.2) as f64 / dt / 1e6,
                shared.c.errors.load(Relaxed)
            );
            if in_place {
                eprint!("\r{line}   ");
                printed = true;
            } else {
                eprintln!("{line}");
            }
            let _ = io::stderr().flush();
            last = (Instant::now(), msgs, bytes);
        }
    }
    shared.stop.store(true, Relaxed);
    let elapsed = start.elapsed();
    // Every connection must finish on its own (each wait is bounded by --timeout).
    let finish_by = o.timeout * 2 + Duration::from_secs(5);
    for t in tasks {
        if netpoll::time::timeout(finish_by, t).await.is_err() {
            shared.c.hung.fetch_add(1, Relaxed);
            shared.error("task: did not finish");
        }
    }
    if printed {
        eprintln!();
    }
    Ok((addr, elapsed, peak_open, rss_at_peak))
}

fn fmt_us(us: u64) -> String {
    if us >= 1000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    o: &Opts,
    shared: &Shared,
    addr: SocketAddr,
    elapsed: Duration,
    peak_open: u64,
    rss_before: Option<u64>,
    rss_at_peak: Option<u64>,
    m: &netpoll::runtime::RuntimeMetrics,
) -> ExitCode {
    let c = &shared.c;
    let h = shared
        .hist
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let errors = shared
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let secs = elapsed.as_secs_f64().max(1e-9);
    let (msgs, bytes) = (c.msgs.load(Relaxed), c.bytes.load(Relaxed));
    let polls: u64 = (0..m.num_workers()).map(|w| m.worker_poll_count(w)).sum();
    let steals: u64 = (0..m.num_workers()).map(|w| m.worker_steal_count(w)).sum();
    let parks: u64 = (0..m.num_workers()).map(|w| m.worker_park_count(w)).sum();
    let rss_per_conn = match (rss_before, rss_at_peak) {
        (Some(a), Some(b)) if peak_open > 0 => Some(b.saturating_sub(a) / peak_open),
        _ => None,
    };
    let mode = format!("{:?}", o.mode).to_lowercase();
    let pcts = [50.0, 90.0, 99.0, 99.9];
    let ok = c.mismatches.load(Relaxed) == 0 && c.hung.load(Relaxed) == 0;
    let target = if o.addr.is_some() {
        addr.to_string()
    } else {
        format!("{addr} (in-process echo server)")
    };
    if o.json {
        let errs: Vec<String> = errors
            .iter()
            .map(|(k, v)| format!("{:?}: {v}", k))
            .collect();
        println!(
            "{{\"mode\": \"{mode}\", \"target\": \"{addr}\", \"in_process\": {}, \"workers\": {}, \"conns\": {}, \"duration_s\": {:.3}, \
\"connects\": {}, \"conns_finished\": {}, \"peak_open\": {peak_open}, \"messages\": {msgs}, \"bytes\": {bytes}, \
\"msgs_per_s\": {:.1}, \"mb_per_s\": {:.2}, \"latency_us\": {{\"p50\": {}, \"p90\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}, \
\"mismatches\": {}, \"hung\": {}, \"errors\": {}, \"errors_by_kind\": {{{}}}, \
\"rss_per_conn_bytes\": {}, \"runtime\": {{\"polls\": {polls}, \"steals\": {steals}, \"parks\": {parks}, \
\"poller_wakeups\": {}, \"poller_events\": {}, \"sysmon_polls\": {}, \"sysmon_handoffs\": {}, \"long_polls\": {}}}, \"ok\": {ok}}}",
            o.addr.is_none(),
            m.num_workers(),
            o.conns,
            secs,
            c.connects.load(Relaxed),
            c.conns_done.load(Relaxed),
            msgs as f64 / secs,
            bytes as f64 / secs / 1e6,
            h.percentile(50.0),
            h.percentile(90.0),
            h.percentile(99.0),
            h.percentile(99.9),
            h.max,
            c.mismatches.load(Relaxed),
            c.hung.load(Relaxed),
            c.errors.load(Relaxed),
            errs.join(", "),
            rss_per_conn.map_or("null".to_string(), |v| v.to_string()),
            m.io_driver_wakeup_count(),
            m.io_driver_ready_count(),
            m.sysmon_poll_count(),
            m.sysmon_handoff_count(),
            m.long_poll_count(),
        );
    } else {
        println!(
            "netpoll_stress: {mode} mode against {target}, {} workers",
            m.num_workers()
        );
        println!(
            "  connections : {} requested, {} connected, {} finished, peak {peak_open} open",
            o.conns,
            c.connects.load(Relaxed),
            c.conns_done.load(Relaxed)
        );
        println!("  duration    : {secs:.2} s");
        println!(
            "  messages    : {msgs} ({:.0} msg/s), {:.1} MB moved ({:.1} MB/s, both directions)",
            msgs as f64 / secs,
            bytes as f64 / 1e6,
            bytes as f64 / secs / 1e6
        );
        let lat: Vec<String> = pcts
            .iter()
            .map(|p| format!("p{p} {}", fmt_us(h.percentile(*p))))
            .collect();
        println!("  latency     : {}, max {}", lat.join(", "), fmt_us(h.max));
        println!(
            "  errors      : {} (wrong bytes {}, hung {})",
            c.errors.load(Relaxed),
            c.mismatches.load(Relaxed),
            c.hung.load(Relaxed)
        );
        for (k, v) in &errors {
            println!("                {v:>8}  {k}");
        }
        if let Some(r) = rss_per_conn {
            println!(
                "  memory      : {:.1} KiB RSS per open connection (this process)",
                r as f64 / 1024.0
            );
        }
        println!(
            "  runtime     : {polls} polls, {steals} steals, {parks} parks, {} poller wake-ups ({} events), \
sysmon: {} polls, {} hand-offs, {} long polls",
            m.io_driver_wakeup_count(),
            m.io_driver_ready_count(),
            m.sysmon_poll_count(),
            m.sysmon_handoff_count(),
            m.long_poll_count()
        );
        println!("  result      : {}", if ok { "OK" } else { "FAILED" });
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
