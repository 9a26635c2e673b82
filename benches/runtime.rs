//! Scheduler benchmarks: netpoll against tokio, same shapes, same worker count, same channels.
//!
//! Every shape is written once, generic over [`Rt`] (the TCP echo as a macro over the crate),
//! and instantiated for both runtimes; the two instances sit in one criterion group named after
//! the shape (functions `netpoll` and `tokio`), so a run measures both under the same machine
//! conditions. Channels and the completion signal are tokio's runtime-agnostic `sync` types on
//! both sides.
//!
//! Workers: `NETPOLL_BENCH_WORKERS` (default 2). Hang guard: `NETPOLL_BENCH_HANG_SECS`
//! (default 30): each function first runs one probe iteration on a side thread and is skipped
//! if that panics or does not finish in time; a watchdog ends the process if a measured
//! iteration stalls that long. See `benches/README.md`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use tokio::sync::{mpsc, oneshot, Notify};

const SPAWN_TASKS: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELDS_PER_TASK: usize = 200;
const PING_PONG_PAIRS: usize = 1_000;
const PING_PONG_ROUNDS: u32 = 10;
const CHAIN_DEPTH: usize = 1_000;
const SLEEP_TASKS: usize = 10_000;
const SLEEP_FOR: Duration = Duration::from_millis(1);
const ECHO_ROUND_TRIPS: usize = 1_000;
const ECHO_MSG: usize = 64;

// ---------------------------------------------------------------------------------------------
// The two runtimes behind one interface.

/// What a shape needs from a runtime. Spawned futures are detached unless awaited via
/// [`Rt::spawn`].
trait Rt: Send + Sync + Sized + 'static {
    /// The criterion function name.
    const NAME: &'static str;

    fn build(workers: usize) -> Self;

    fn block_on<F: Future>(&self, f: F) -> F::Output;

    /// Spawns from outside the runtime (the bench thread); the task is detached.
    fn spawn_remote<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Spawns from inside the runtime; the task is detached.
    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static;

    fn yield_now() -> impl Future<Output = ()> + Send;

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;
}

impl Rt for netpoll::runtime::Runtime {
    const NAME: &'static str = "netpoll";

    fn build(workers: usize) -> Self {
        netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build the netpoll runtime")
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        netpoll::runtime::Runtime::block_on(self, f)
    }

    fn spawn_remote<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(netpoll::runtime::Runtime::spawn(self, f));
    }

    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(netpoll::spawn(f));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        netpoll::task::yield_now()
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        netpoll::time::sleep(d)
    }
}

impl Rt for tokio::runtime::Runtime {
    const NAME: &'static str = "tokio";

    fn build(workers: usize) -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("build the tokio runtime")
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, f)
    }

    fn spawn_remote<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::runtime::Runtime::spawn(self, f));
    }

    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(f));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
}

/// Completion signal shared by `n` tasks: the last one to finish wakes the waiter. `Notify`
/// stores the permit if nobody waits yet, so the order of `finish` and `wait` does not matter.
struct Countdown {
    left: AtomicUsize,
    done: Notify,
}

impl Countdown {
    fn new(n: usize) -> Arc<Countdown> {
        Arc::new(Countdown {
            left: AtomicUsize::new(n),
            done: Notify::new(),
        })
    }

    fn finish(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    async fn wait(&self) {
        self.done.notified().await
    }
}

// ---------------------------------------------------------------------------------------------
// The shapes. Each function is one iteration: it returns once all of its tasks are done.

/// A task spawns 10k trivial tasks onto its own worker (local queue / LIFO slot, stealing).
fn spawn_many_local<R: Rt>(rt: &R) {
    let countdown = Countdown::new(SPAWN_TASKS);
    let root = countdown.clone();
    rt.block_on(async move {
        R::spawn_detached(async move {
            for _ in 0..SPAWN_TASKS {
                let c = root.clone();
                R::spawn_detached(async move { c.finish() });
            }
        });
        countdown.wait().await;
    });
}

/// The bench thread spawns 10k trivial tasks (global/injection queue, waking idle workers).
fn spawn_many_remote<R: Rt>(rt: &R) {
    let countdown = Countdown::new(SPAWN_TASKS);
    for _ in 0..SPAWN_TASKS {
        let c = countdown.clone();
        rt.spawn_remote(async move { c.finish() });
    }
    rt.block_on(countdown.wait());
}

/// 200 tasks each yield 200 times: the cost of a wake-to-self and a trip through the run queue.
fn yield_many<R: Rt>(rt: &R) {
    let countdown = Countdown::new(YIELD_TASKS);
    for _ in 0..YIELD_TASKS {
        let c = countdown.clone();
        rt.spawn_remote(async move {
            for _ in 0..YIELDS_PER_TASK {
                R::yield_now().await;
            }
            c.finish();
        });
    }
    rt.block_on(countdown.wait());
}

/// 1k pairs of tasks bounce a message 10 times over bounded mpsc channels: cross-task wake-ups.
fn ping_pong<R: Rt>(rt: &R) {
    let countdown = Countdown::new(PING_PONG_PAIRS);
    let root = countdown.clone();
    rt.block_on(async move {
        R::spawn_detached(async move {
            for _ in 0..PING_PONG_PAIRS {
                let c = root.clone();
                R::spawn_detached(async move {
                    let (ping_tx, mut ping_rx) = mpsc::channel::<u32>(1);
                    let (pong_tx, mut pong_rx) = mpsc::channel::<u32>(1);
                    R::spawn_detached(async move {
                        while let Some(v) = ping_rx.recv().await {
                            if pong_tx.send(v + 1).await.is_err() {
                                break;
                            }
                        }
                    });
                    for i in 0..PING_PONG_ROUNDS {
                        ping_tx.send(i).await.expect("ponger alive");
                        let v = pong_rx.recv().await.expect("ponger alive");
                        assert_eq!(v, i + 1);
                    }
                    c.finish();
                });
            }
        });
        countdown.wait().await;
    });
}

/// One task spawns the next, 1k deep; the last signals over a oneshot. Pure spawn latency, no
/// parallelism to exploit.
fn chained_spawn<R: Rt>(rt: &R) {
    fn link<R: Rt>(left: usize, done: oneshot::Sender<()>) {
        if left == 0 {
            let _ = done.send(());
        } else {
            R::spawn_detached(async move { link::<R>(left - 1, done) });
        }
    }
    rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        R::spawn_detached(async move { link::<R>(CHAIN_DEPTH, tx) });
        rx.await.expect("chain completed");
    });
}

/// 10k tasks each sleep 1 ms concurrently: timer insertion, expiry and the wake-up storm.
fn sleep_10k<R: Rt>(rt: &R) {
    let countdown = Countdown::new(SLEEP_TASKS);
    let root = countdown.clone();
    rt.block_on(async move {
        R::spawn_detached(async move {
            for _ in 0..SLEEP_TASKS {
                let c = root.clone();
                R::spawn_detached(async move {
                    R::sleep(SLEEP_FOR).await;
                    c.finish();
                });
            }
        });
        countdown.wait().await;
    });
}

/// A loopback TCP echo: a server task echoes 64-byte messages back, a client task sends one and
/// `read_exact`s the echo, 1k round trips per iteration over one connected pair (its set-up, a
/// bind, a connect and an accept, is part of the iteration but small next to the round trips).
///
/// Sockets are not behind [`Rt`], so the shape is written once as a macro over the crate that
/// provides `net`, `io`'s extension traits and `spawn`: both crates use tokio's names.
macro_rules! tcp_echo_shape {
    ($name:ident, $krate:ident) => {
        fn $name(rt: &$krate::runtime::Runtime) {
            use $krate::io::{AsyncReadExt, AsyncWriteExt};
            use $krate::net::{TcpListener, TcpStream};
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("local_addr");
                let server = $krate::spawn(async move {
                    let (mut s, _) = listener.accept().await.expect("accept");
                    s.set_nodelay(true).expect("set_nodelay");
                    let mut buf = [0u8; ECHO_MSG];
                    loop {
                        match s.read_exact(&mut buf).await {
                            Ok(_) => s.write_all(&buf).await.expect("echo write"),
                            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                            Err(e) => panic!("echo read: {e}"),
                        }
                    }
                });
                let client = $krate::spawn(async move {
                    let mut c = TcpStream::connect(addr).await.expect("connect");
                    c.set_nodelay(true).expect("set_nodelay");
                    let mut msg = [0u8; ECHO_MSG];
                    let mut back = [0u8; ECHO_MSG];
                    for i in 0..ECHO_ROUND_TRIPS {
                        msg[0] = i as u8;
                        c.write_all(&msg).await.expect("client write");
                        c.read_exact(&mut back).await.expect("client read");
                        assert_eq!(back, msg, "the echo differs");
                    }
                });
                client.await.expect("client task");
                server.await.expect("server task");
            });
        }
    };
}

tcp_echo_shape!(tcp_echo_64b_netpoll, netpoll);
tcp_echo_shape!(tcp_echo_64b_tokio, tokio);

// ---------------------------------------------------------------------------------------------
// Harness: hang guard, groups.

fn workers() -> usize {
    match std::env::var("NETPOLL_BENCH_WORKERS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("NETPOLL_BENCH_WORKERS must be a positive integer, got {v:?}"),
        },
        Err(_) => 2,
    }
}

fn hang_limit() -> Duration {
    let secs = std::env::var("NETPOLL_BENCH_HANG_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Bumped by every measured iteration; the watchdog reads it.
static PROGRESS: AtomicU64 = AtomicU64::new(0);
/// The function being measured, if any (`group/function`).
static ACTIVE: Mutex<Option<String>> = Mutex::new(None);
static WATCHDOG: Once = Once::new();

/// Starts (once) a thread that ends the process if a measured function makes no progress for
/// the hang limit. A stall inside criterion's measuring loop cannot be skipped, only reported.
fn start_watchdog() {
    WATCHDOG.call_once(|| {
        let limit = hang_limit();
        std::thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(move || {
                let tick = Duration::from_millis(500);
                let mut last = PROGRESS.load(Ordering::Relaxed);
                let mut stalled = Duration::ZERO;
                loop {
                    std::thread::sleep(tick);
                    let now = PROGRESS.load(Ordering::Relaxed);
                    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    if now != last || active.is_none() {
                        last = now;
                        stalled = Duration::ZERO;
                        continue;
                    }
                    stalled += tick;
                    if stalled >= limit {
                        eprintln!(
                            "\nbench watchdog: {} made no progress for {:?} during measurement \
                             (hung); exiting. Results of earlier functions are kept.",
                            active.unwrap_or_default(),
                            limit
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("spawn the watchdog thread");
    });
}

/// Marks a function as being measured while alive.
struct Watch;

impl Watch {
    fn start(label: &str) -> Watch {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(label.to_string());
        PROGRESS.fetch_add(1, Ordering::Relaxed);
        Watch
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Runs one iteration on a side thread, bounded by the hang limit.
fn probe<R: Rt>(rt: &Arc<R>, shape: fn(&R)) -> Result<(), String> {
    let limit = hang_limit();
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = rt.clone();
    std::thread::Builder::new()
        .name("bench-probe".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| shape(&rt)));
            let _ = tx.send(outcome.map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_string())
            }));
        })
        .map_err(|e| format!("could not spawn the probe thread: {e}"))?;
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) => Err(format!("panicked: {msg}")),
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "one iteration did not finish within {limit:?} (hung; its runtime is leaked)"
        )),
        Err(RecvTimeoutError::Disconnected) => Err("the probe thread died".to_string()),
    }
}

fn bench_one<R: Rt>(g: &mut BenchmarkGroup<'_, WallTime>, group: &str, shape: fn(&R)) {
    let label = format!("{group}/{}", R::NAME);
    let rt = Arc::new(R::build(workers()));
    if let Err(e) = probe(&rt, shape) {
        eprintln!("SKIPPED {label}: {e}");
        return;
    }
    g.bench_function(R::NAME, |b| {
        let _watch = Watch::start(&label);
        b.iter(|| {
            shape(&rt);
            PROGRESS.fetch_add(1, Ordering::Relaxed);
        })
    });
}

fn shape_group(
    c: &mut Criterion,
    name: &str,
    netpoll_shape: fn(&netpoll::runtime::Runtime),
    tokio_shape: fn(&tokio::runtime::Runtime),
) {
    start_watchdog();
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench_one(&mut g, name, netpoll_shape);
    bench_one(&mut g, name, tokio_shape);
    g.finish();
}

fn benches(c: &mut Criterion) {
    shape_group(c, "spawn_many_local", spawn_many_local, spawn_many_local);
    shape_group(c, "spawn_many_remote", spawn_many_remote, spawn_many_remote);
    shape_group(c, "yield_many", yield_many, yield_many);
    shape_group(c, "ping_pong", ping_pong, ping_pong);
    shape_group(c, "chained_spawn", chained_spawn, chained_spawn);
    shape_group(c, "sleep_10k", sleep_10k, sleep_10k);
    shape_group(c, "tcp_echo_64b", tcp_echo_64b_netpoll, tcp_echo_64b_tokio);
}

criterion_group!(scheduler, benches);
criterion_main!(scheduler);
