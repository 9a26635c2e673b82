//! Accept under fd exhaustion (EMFILE), in a child process with a soft RLIMIT_NOFILE of 64.
//!
//! The parent test re-runs this binary with only the ignored `emfile_child` test selected and
//! an environment variable naming its role. The child lowers its fd limit before it builds a
//! runtime, runs an accept loop that keeps every connection, and then, for each of two
//! episodes:
//!
//! 1. connects clients from a plain std thread, one at a time, each accepted and held, until
//!    only a few fds are left;
//! 2. connects `PENDING` more clients while the accept loop is held at a gate (a semaphore), so
//!    they wait in the listener's backlog, and fills the remaining fds with `/dev/null`;
//! 3. opens the gate: accept now fails with EMFILE. Over `EXHAUSTED_FOR` the process's CPU time
//!    (getrusage) must stay well under the wall time (the accept loop backs off, it does not
//!    spin), and nothing may be accepted;
//! 4. drops the held connections: the pending clients must then be accepted, and must be live
//!    (a byte written by each client arrives on an accepted stream).
//!
//! The child prints one `EMFILE_RESULT` line; the parent checks it, the exit status, and the
//! child's stderr: exactly one "out of fds" line per episode. A watchdog kills the child after
//! 30 s.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream as StdStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netpoll::net::{TcpListener, TcpStream};
use support::{drain_in_thread, open_fds, rt, wait_until};
use tokio::sync::Semaphore;

const ROLE_ENV: &str = "NETPOLL_TEST_EMFILE_CHILD";
const CHILD_TEST: &str = "emfile_child";
const RESULT_TAG: &str = "EMFILE_RESULT";

/// The child's soft RLIMIT_NOFILE.
const FD_LIMIT: u64 = 64;
/// Clients left in the backlog while fds are exhausted.
const PENDING: usize = 4;
const EPISODES: usize = 2;
/// How long each episode stays exhausted while CPU time is measured.
const EXHAUSTED_FOR: Duration = Duration::from_millis(300);
/// The child's CPU time over `EXHAUSTED_FOR` must stay under this share of the wall time.
const MAX_CPU_SHARE: f64 = 0.5;
const CHILD_LIMIT: Duration = Duration::from_secs(30);

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(ROLE_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let out = drain_in_thread(child.stdout.take().expect("stdout"));
    let err = drain_in_thread(child.stderr.take().expect("stderr"));

    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break Some(s);
        }
        if started.elapsed() > CHILD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let report = format!("--- child stdout ---\n{stdout}\n--- child stderr ---\n{stderr}");
    let Some(status) = status else {
        panic!("the child did not finish within {CHILD_LIMIT:?}: killed\n{report}");
    };
    assert!(status.success(), "the child failed: {status}\n{report}");

    let line = stdout
        .lines()
        .find_map(|l| l.find(RESULT_TAG).map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no {RESULT_TAG} line\n{report}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("bad {name} in {line:?}: {e}"))
    };
    assert_eq!(field("episodes"), EPISODES as f64, "{report}");
    assert_eq!(field("recovered"), EPISODES as f64, "{report}");
    assert_eq!(field("accepted_while_exhausted"), 0.0, "{report}");
    assert!(
        field("max_cpu_pct") < MAX_CPU_SHARE * 100.0,
        "accept spun while out of fds: {line}\n{report}"
    );
    // Each episode must have been real: every accepted connection held was an fd.
    assert!(field("min_held") >= PENDING as f64, "{report}");

    // The listener logs one line when an episode starts (and one when it ends): not one per
    // retry, and not only once per process.
    let exhausted = stderr
        .lines()
        .filter(|l| l.contains("accept") && is_emfile_text(l))
        .count();
    assert_eq!(
        exhausted, EPISODES,
        "expected one exhaustion line per episode\n{report}"
    );
    let recovered = stderr
        .lines()
        .filter(|l| l.contains("accept") && l.contains("recovered"))
        .count();
    assert!(
        recovered <= EPISODES,
        "more recovery lines than episodes\n{report}"
    );
    eprintln!("{line}");
}

fn is_emfile_text(l: &str) -> bool {
    l.contains("os error 24") || l.contains("Too many open files")
}

// ---------------------------------------------------------------------------------------------
// The child.

#[test]
#[ignore = "runs only as the child process of accept_backs_off_on_emfile_and_recovers"]
fn emfile_child() {
    if std::env::var_os(ROLE_ENV).is_none() {
        return;
    }
    lower_fd_limit(FD_LIMIT);
    let rt = rt(2);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local_addr");

    let shared = Arc::new(Acceptor {
        gate: Semaphore::new(0),
        held: Mutex::new(Vec::new()),
        accepted: AtomicUsize::new(0),
        error: Mutex::new(None),
    });
    let acceptor = Arc::clone(&shared);
    drop(rt.spawn(async move {
        loop {
            acceptor.gate.acquire().await.expect("gate closed").forget();
            match listener.accept().await {
                Ok((s, _)) => {
                    acceptor.held.lock().unwrap().push(s);
                    acceptor.accepted.fetch_add(1, SeqCst);
                }
                Err(e) => {
                    *acceptor.error.lock().unwrap() = Some(e.to_string());
                    return;
                }
            }
        }
    }));

    // The clients run on a plain std thread.
    let clients = std::thread::Builder::new()
        .name("emfile-clients".into())
        .spawn({
            let shared = Arc::clone(&shared);
            move || {
                (1..=EPISODES)
                    .map(|n| episode(n, addr, &shared))
                    .collect::<Vec<_>>()
            }
        })
        .expect("spawn the client thread");
    let episodes = clients.join().expect("client thread panicked");

    let mut max_cpu = 0f64;
    let mut min_held = usize::MAX;
    let mut accepted_while_exhausted = 0;
    for e in &episodes {
        max_cpu = max_cpu.max(e.cpu_pct);
        min_held = min_held.min(e.held);
        accepted_while_exhausted += e.accepted_while_exhausted;
        println!(
            "episode {}: held={} pending={} cpu={:.1}% over {} ms, recovered in {} ms",
            e.n, e.held, PENDING, e.cpu_pct, e.measured_ms, e.recovery_ms
        );
    }
    assert!(shared.error.lock().unwrap().is_none(), "accept failed");
    println!(
        "{RESULT_TAG} episodes={} recovered={} accepted_while_exhausted={} max_cpu_pct={:.1} \
         min_held={}",
        episodes.len(),
        episodes.iter().filter(|e| e.live == PENDING).count(),
        accepted_while_exhausted,
        max_cpu,
        min_held
    );
    drop(rt);
}

struct Acceptor {
    /// One permit per connection the accept loop may take.
    gate: Semaphore,
    held: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
    error: Mutex<Option<String>>,
}

struct Episode {
    n: usize,
    /// Connections accepted and held before exhaustion.
    held: usize,
    cpu_pct: f64,
    measured_ms: u128,
    accepted_while_exhausted: usize,
    recovery_ms: u128,
    /// Pending clients whose byte reached an accepted stream after recovery.
    live: usize,
}

fn episode(n: usize, addr: SocketAddr, a: &Acceptor) -> Episode {
    // 1. Accepted, held connections, one at a time, until a few fds are left. The count of
    //    open fds includes the directory fd `open_fds` uses, so `free` is conservative.
    let mut clients = Vec::new();
    loop {
        let free = (FD_LIMIT as usize).saturating_sub(open_fds());
        if free < PENDING + 4 {
            break;
        }
        let target = a.accepted.load(SeqCst) + 1;
        clients.push(connect(addr));
        a.gate.add_permits(1);
        assert!(
            wait_until(Duration::from_secs(5), || a.accepted.load(SeqCst) == target),
            "episode {n}: connection {} was not accepted",
            clients.len()
        );
    }
    let held = a.held.lock().unwrap().len();
    assert!(held >= PENDING, "episode {n}: only {held} connections held");

    // 2. Clients the accept loop has no permit for yet wait in the backlog; then no fd is left.
    let mut pending: Vec<StdStream> = (0..PENDING).map(|_| connect(addr)).collect();
    let mut filler = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => filler.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => panic!("episode {n}: open /dev/null: {e}"),
        }
    }

    // 3. Let the accept loop at them: EMFILE. It must wait, not spin.
    let accepted_before = a.accepted.load(SeqCst);
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    a.gate.add_permits(PENDING);
    std::thread::sleep(EXHAUSTED_FOR);
    let cpu = cpu_time() - cpu0;
    let wall = t0.elapsed();
    let accepted_while_exhausted = a.accepted.load(SeqCst) - accepted_before;
    let still_out = matches!(
        std::fs::File::open("/dev/null"),
        Err(e) if e.raw_os_error() == Some(libc::EMFILE)
    );
    assert!(
        still_out,
        "episode {n}: an fd came free during the exhaustion"
    );

    // 4. Free fds: the pending clients must be accepted now.
    let freed = std::mem::take(&mut *a.held.lock().unwrap());
    drop(freed);
    let t1 = Instant::now();
    let recovered = wait_until(Duration::from_secs(5), || {
        a.accepted.load(SeqCst) == accepted_before + PENDING
    });
    let recovery_ms = t1.elapsed().as_millis();
    assert!(
        recovered,
        "episode {n}: {} of {PENDING} pending connections accepted 5 s after fds were freed",
        a.accepted.load(SeqCst) - accepted_before
    );
    drop(filler);
    drop(clients);

    // The accepted streams are the pending clients, and work: one byte from each.
    for (i, c) in pending.iter_mut().enumerate() {
        c.write_all(&[i as u8]).expect("client write");
    }
    let accepted = std::mem::take(&mut *a.held.lock().unwrap());
    let live = check_live(&accepted);
    drop(accepted);
    drop(pending);

    Episode {
        n,
        held,
        cpu_pct: 100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        measured_ms: wall.as_millis(),
        accepted_while_exhausted,
        recovery_ms,
        live,
    }
}

/// How many of the accepted streams carry one of the clients' bytes (each a different one).
fn check_live(accepted: &[TcpStream]) -> usize {
    let mut seen = [false; PENDING];
    for s in accepted {
        let mut b = [0u8; 1];
        let mut got = None;
        // `try_read` needs no runtime context: this is a plain thread.
        wait_until(Duration::from_secs(2), || match s.try_read(&mut b) {
            Ok(1) => {
                got = Some(b[0] as usize);
                true
            }
            _ => false,
        });
        if let Some(i) = got.filter(|&i| i < PENDING) {
            seen[i] = true;
        }
    }
    seen.iter().filter(|&&x| x).count()
}

fn connect(addr: SocketAddr) -> StdStream {
    StdStream::connect_timeout(&addr, Duration::from_secs(5)).expect("client connect")
}

fn lower_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(r, 0, "getrlimit: {}", std::io::Error::last_os_error());
    lim.rlim_cur = soft as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit below the hard one is allowed.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(r, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// User plus system CPU time of the whole process (every thread).
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for getrusage to fill.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(r, 0, "getrusage: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
