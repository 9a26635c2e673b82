//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it has not finished within `limit`, so a
/// lost wake-up fails fast instead of hanging CI. Panics inside `f` are re-raised.
pub fn bounded<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::Builder::new()
        .name("bounded-test".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .expect("spawn test thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => {
            let _ = t.join();
            r
        }
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("test did not finish within {limit:?} (lost wake-up or deadlock?)"),
    }
}

/// Runs the future `f` makes on a current-thread runtime, failing the test after 30 s.
pub fn run<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    bounded(Duration::from_secs(30), move || rt_current().block_on(f()));
}

/// Polls `fut` once (from inside a task): `Some(output)` if it completed.
pub async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut *fut).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// A multi-thread runtime with `n` workers.
pub fn rt(n: usize) -> netpoll::runtime::Runtime {
    netpoll::runtime::Builder::new_multi_thread()
        .worker_threads(n)
        .enable_all()
        .build()
        .expect("build runtime")
}

/// A current-thread runtime.
pub fn rt_current() -> netpoll::runtime::Runtime {
    netpoll::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build runtime")
}

/// Number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Number of threads of this process that a runtime started: those whose name begins with
/// `netpoll` (workers, sysmon, blocking pool). Counting every thread would race with the test
/// harness, which starts the next test's thread whenever one finishes.
pub fn runtime_threads() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .map(|c| c.starts_with("netpoll"))
                .unwrap_or(false)
        })
        .count()
}

/// Polls `cond` every millisecond until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// A deterministic byte stream (xorshift), so big transfers can be checked without storing them.
pub struct Pattern(u64);

impl Pattern {
    pub fn new(seed: u64) -> Pattern {
        Pattern(seed | 1)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// FNV-1a over 8-byte words (fast enough for gigabytes in an opt-level-1 test build).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Hash(u64, u64);

impl Hash {
    pub fn new() -> Hash {
        Hash(0xcbf2_9ce4_8422_2325, 0)
    }
    pub fn update(&mut self, data: &[u8]) {
        let mut h = self.0;
        for &b in data {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
        self.1 += data.len() as u64;
    }
}

/// Writes all of `buf` with the stream's inherent `write`.
pub async fn write_all(s: &netpoll::net::TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = s.write(buf).await?;
        buf = &buf[n..];
    }
    Ok(())
}

/// Reads until EOF, hashing.
/// `write_all` for a Unix stream.
pub async fn write_all_unix(s: &netpoll::net::UnixStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = s.write(buf).await?;
        buf = &buf[n..];
    }
    Ok(())
}

/// Reads `r` to its end on a thread of its own (a child's stdout/stderr); the text is lossy UTF-8.
pub fn drain_in_thread<R: std::io::Read + Send + 'static>(
    mut r: R,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

pub async fn read_to_end_hash(s: &netpoll::net::TcpStream) -> std::io::Result<Hash> {
    let mut h = Hash::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(h);
        }
        h.update(&buf[..n]);
    }
}

/// Sends `len` pattern bytes (seeded) and returns their hash.
pub async fn send_pattern(
    s: &netpoll::net::TcpStream,
    seed: u64,
    len: u64,
) -> std::io::Result<Hash> {
    let mut p = Pattern::new(seed);
    let mut h = Hash::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        p.fill(&mut buf[..n]);
        h.update(&buf[..n]);
        write_all(s, &buf[..n]).await?;
        left -= n as u64;
    }
    Ok(h)
}

/// A connected loopback TCP pair inside the current runtime.
pub async fn tcp_pair() -> (netpoll::net::TcpStream, netpoll::net::TcpStream) {
    let l = netpoll::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = l.local_addr().unwrap();
    let c = netpoll::spawn(async move { netpoll::net::TcpStream::connect(addr).await.unwrap() });
    let (s, _) = l.accept().await.unwrap();
    (c.await.unwrap(), s)
}

/// An example server started as a child process (killed on drop).
pub struct Example {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Path of a built example: `cargo test` builds examples next to the test binaries' profile.
pub fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let p = profile_dir.join("examples").join(name);
    if !p.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .expect("run cargo build --example");
        assert!(status.success(), "cargo build --example {name} failed");
    }
    p
}

impl Example {
    /// Starts `name args...` and waits (bounded) for its `listening on ADDR` line.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Example {
        Example::start_with_nofile(name, args, env, None)
    }

    /// [`Example::start`] with the child's soft and hard RLIMIT_NOFILE set to `nofile`, as
    /// `prlimit --nofile=N` or a container's default would.
    pub fn start_with_nofile(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        nofile: Option<u64>,
    ) -> Example {
        use std::io::{BufRead, Read};
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(example_path(name));
        if let Some(n) = nofile {
            // SAFETY: the closure runs in the forked child before exec and only calls
            // setrlimit, which is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n as _,
                        rlim_max: n as _,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn example");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(l)) = lines.next() {
                let _ = tx.send(l);
            }
            for _ in lines {}
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let e2 = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                e2.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "{name} printed no `listening on` line; stderr: {}",
                    stderr.lock().unwrap()
                );
            }
        };
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Example {
            child,
            addr: addr.parse().expect("address"),
            stderr,
        }
    }

    /// Sends `sig` and waits (bounded) for the exit status.
    pub fn signal_and_wait(&mut self, sig: i32, limit: Duration) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid, which it keeps until we reap it.
        unsafe { libc::kill(self.child.id() as i32, sig) };
        let end = std::time::Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if std::time::Instant::now() > end {
                let _ = self.child.kill();
                panic!("the example did not exit within {limit:?} of signal {sig}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hostile client: pipelines `request` over and over without ever reading a reply, until the
/// server stops reading (a write blocks for `stall`) or `max_bytes` have gone out. Returns the
/// bytes sent and the still-open connection. A server that bounds its pipelined backlog stops
/// reading after a few socket buffers' worth; one that does not buffers replies without limit.
pub fn flood_without_reading(
    addr: std::net::SocketAddr,
    request: &[u8],
    max_bytes: u64,
    stall: Duration,
) -> (u64, std::net::TcpStream) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_write_timeout(Some(stall)).expect("write timeout");
    let batch: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * (64 * 1024 / request.len()).max(1))
        .collect();
    let mut sent = 0u64;
    while sent < max_bytes {
        match s.write(&batch) {
            Ok(n) => sent += n as u64,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => panic!("flood: {e} after {sent} bytes"),
        }
    }
    (sent, s)
}

/// Resident set size of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .expect("VmRSS in /proc/<pid>/status")
}
