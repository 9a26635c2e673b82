//! `copy` throughput: netpoll's zero-copy paths against what a tokio program does.
//!
//! Two groups, each running netpoll and tokio in the same process with the same number of
//! workers (2, or `NETPOLL_BENCH_WORKERS`), every runtime built once per group:
//!
//! - `copy_socket_256m`: a proxy's inner loop. A sender task writes 256 MiB into connection A,
//!   a copy moves it from A's server end into B's client end, and a receiver drains B's server
//!   end and counts. `netpoll` uses `netpoll::io::copy` (splice), `netpoll_bidirectional`
//!   `netpoll::io::copy_bidirectional` (splice each way), `tokio` uses
//!   `tokio::io::copy_bidirectional` (a user-space buffer, what a tokio proxy runs).
//! - `copy_file_1g`: a 1 GiB file sent to a loopback socket and drained by a receiver. `netpoll`
//!   uses `netpoll::io::copy` from a file reader offering its fd (sendfile); `tokio` uses
//!   `tokio::io::copy` from a `tokio::fs::File` (every read goes to the blocking pool), what a
//!   tokio file server does. That path is slow enough that tokio sends one 128 MiB slice of the file per iteration
//!   (the slices in turn; `NETPOLL_BENCH_TOKIO_FILE_MIB=1024` sends the whole file), with the
//!   throughput counted per slice.
//!
//! Connections are set up inside each iteration but outside the timed part. Every iteration
//! checks the byte counts, and the netpoll functions check that the splice/sendfile counters of
//! `netpoll::io::copy_stats()` grew by the bytes moved, so a broken or buffered copy cannot
//! pass as a fast zero-copy one. A watchdog ends the process (exit 3) if one iteration takes
//! more than `NETPOLL_BENCH_HANG_SECS` (default 120) seconds.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

const SOCKET_BYTES: u64 = 256 << 20;
const FILE_BYTES: u64 = 1 << 30;
/// The sender's and the receivers' buffer.
const IO_CHUNK: usize = 256 << 10;

fn workers() -> usize {
    std::env::var("NETPOLL_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// Bytes of the file one tokio iteration sends: `NETPOLL_BENCH_TOKIO_FILE_MIB` (default 128;
/// 1024 sends the whole file each time), rounded down to a power of two that divides the file.
fn tokio_file_slice() -> u64 {
    let mib = std::env::var("NETPOLL_BENCH_TOKIO_FILE_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(128)
        .clamp(1, FILE_BYTES >> 20);
    (1u64 << (63 - mib.leading_zeros())) << 20
}

fn netpoll_runtime() -> netpoll::runtime::Runtime {
    netpoll::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("build the netpoll runtime")
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("build the tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// Hang guard: one stalled iteration must not hold the machine forever.

/// Milliseconds since `START` at the last finished iteration.
static PROGRESS_MS: AtomicU64 = AtomicU64::new(0);
static WATCHDOG: Once = Once::new();
/// The bench file, for the watchdog to remove before it ends the process.
static BENCH_FILE: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

fn start_instant() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn progress() {
    PROGRESS_MS.store(
        start_instant().elapsed().as_millis() as u64,
        Ordering::Relaxed,
    );
}

fn start_watchdog() {
    WATCHDOG.call_once(|| {
        progress();
        let limit_ms = std::env::var("NETPOLL_BENCH_HANG_SECS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(120)
            * 1000;
        std::thread::Builder::new()
            .name("copy-bench-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(1));
                let now = start_instant().elapsed().as_millis() as u64;
                let last = PROGRESS_MS.load(Ordering::Relaxed);
                if now.saturating_sub(last) > limit_ms {
                    eprintln!(
                        "copy bench: no iteration finished for {} s: giving up",
                        limit_ms / 1000
                    );
                    if let Some(p) = BENCH_FILE.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        let _ = std::fs::remove_file(p);
                    }
                    std::process::exit(3);
                }
            })
            .expect("spawn the watchdog");
    });
}

/// Runs `iters` iterations of `one` (each returns its own timed part) and sums the timed parts.
async fn sum<F, Fut>(iters: u64, mut one: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += one().await;
        progress();
    }
    total
}

// ---------------------------------------------------------------------------------------------
// netpoll side.

mod np {
    use super::*;
    use netpoll::net::{TcpListener, TcpStream};

    /// A connected loopback pair: (client end, server end).
    pub async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        // A loopback connect completes in the kernel's backlog, before accept.
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (client, server)
    }

    async fn write_all(s: &TcpStream, mut buf: &[u8]) {
        while !buf.is_empty() {
            let n = s.write(buf).await.expect("send");
            assert!(n > 0, "send wrote nothing");
            buf = &buf[n..];
        }
    }

    /// Writes `total` bytes, then shuts the write side down (the stream stays open).
    pub async fn send(s: TcpStream, total: u64) -> TcpStream {
        let buf = vec![0x5au8; IO_CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(IO_CHUNK as u64) as usize;
            write_all(&s, &buf[..n]).await;
            left -= n as u64;
        }
        s.shutdown_std(Shutdown::Write).expect("shutdown(Write)");
        s
    }

    /// Reads to end of stream and counts, then shuts its own write side down (so a
    /// bidirectional copy's other direction ends too).
    pub async fn drain(s: TcpStream) -> (u64, TcpStream) {
        let mut buf = vec![0u8; IO_CHUNK];
        let mut n = 0u64;
        loop {
            match s.read(&mut buf).await.expect("recv") {
                0 => break,
                k => n += k as u64,
            }
        }
        s.shutdown_std(Shutdown::Write).expect("shutdown(Write)");
        (n, s)
    }

    /// One socket→socket iteration; returns the timed transfer.
    pub async fn socket_once(bidirectional: bool) -> Duration {
        let (a_client, mut a_server) = pair().await;
        let (mut b_client, b_server) = pair().await;
        let expect_path = netpoll::io::copy_path(&a_server, &b_client);
        assert_eq!(expect_path, netpoll::io::CopyPath::Splice);
        let before = netpoll::io::copy_stats();

        let start = Instant::now();
        let sender = netpoll::spawn(send(a_client, SOCKET_BYTES));
        let receiver = netpoll::spawn(drain(b_server));
        let middle = netpoll::spawn(async move {
            let moved = if bidirectional {
                let (ab, ba) = netpoll::io::copy_bidirectional(&mut a_server, &mut b_client)
                    .await
                    .expect("copy_bidirectional");
                assert_eq!(ba, 0, "nothing flows back");
                ab
            } else {
                let n = netpoll::io::copy(&mut a_server, &mut b_client)
                    .await
                    .expect("copy");
                b_client
                    .shutdown_std(Shutdown::Write)
                    .expect("shutdown(Write)");
                n
            };
            (moved, a_server, b_client)
        });
        let (moved, _a, _b) = middle.await.expect("copy task");
        let (received, _r) = receiver.await.expect("receiver task");
        let _s = sender.await.expect("sender task");
        let elapsed = start.elapsed();

        let after = netpoll::io::copy_stats();
        assert_eq!(moved, SOCKET_BYTES, "copy moved the wrong byte count");
        assert_eq!(received, SOCKET_BYTES, "receiver got the wrong byte count");
        assert!(
            after.splice_bytes - before.splice_bytes >= SOCKET_BYTES,
            "splice did not carry the copy: {before:?} -> {after:?}"
        );
        elapsed
    }

    /// One file→socket iteration; returns the timed transfer.
    pub async fn file_once(path: &Path) -> Duration {
        let mut src = FileSource::open(path);
        let (mut client, server) = pair().await;
        assert_eq!(
            netpoll::io::copy_path(&src, &client),
            netpoll::io::CopyPath::Sendfile
        );
        let before = netpoll::io::copy_stats();

        let start = Instant::now();
        let receiver = netpoll::spawn(drain(server));
        let sender = netpoll::spawn(async move {
            let n = netpoll::io::copy(&mut src, &mut client)
                .await
                .expect("copy");
            client
                .shutdown_std(Shutdown::Write)
                .expect("shutdown(Write)");
            (n, src.pos, client)
        });
        let (moved, pos, _c) = sender.await.expect("copy task");
        let (received, _s) = receiver.await.expect("receiver task");
        let elapsed = start.elapsed();

        let after = netpoll::io::copy_stats();
        assert_eq!(moved, FILE_BYTES, "copy moved the wrong byte count");
        assert_eq!(
            pos, FILE_BYTES,
            "the reader was not told what sendfile consumed"
        );
        assert_eq!(received, FILE_BYTES, "receiver got the wrong byte count");
        assert!(
            after.sendfile_bytes - before.sendfile_bytes >= FILE_BYTES,
            "sendfile did not carry the copy: {before:?} -> {after:?}"
        );
        elapsed
    }
}

/// A regular file as a netpoll reader that offers its fd, so `copy` can sendfile from it.
/// Plain reads (the buffered fallback) are positional and blocking: a page-cache read.
struct FileSource {
    file: std::fs::File,
    pos: u64,
}

impl FileSource {
    fn open(path: &Path) -> FileSource {
        FileSource {
            file: std::fs::File::open(path).expect("open the bench file"),
            pos: 0,
        }
    }
}

impl netpoll::io::AsyncRead for FileSource {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut netpoll::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let pos = self.pos;
        let n = self.file.read_at(buf.initialize_unfilled(), pos)?;
        buf.advance(n);
        self.pos += n as u64;
        Poll::Ready(Ok(()))
    }

    fn zero_copy_source(&self) -> Option<(netpoll::io::ZeroCopySource<'_>, Option<u64>)> {
        Some((
            netpoll::io::ZeroCopySource::File {
                fd: self.file.as_raw_fd(),
                offset: self.pos,
            },
            None,
        ))
    }

    fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
        self.pos += n;
    }
}

// ---------------------------------------------------------------------------------------------
// tokio side.

mod tk {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (client, server)
    }

    pub async fn send(mut s: TcpStream, total: u64) -> TcpStream {
        let buf = vec![0x5au8; IO_CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(IO_CHUNK as u64) as usize;
            s.write_all(&buf[..n]).await.expect("send");
            left -= n as u64;
        }
        s.shutdown().await.expect("shutdown(Write)");
        s
    }

    pub async fn drain(mut s: TcpStream) -> (u64, TcpStream) {
        let mut buf = vec![0u8; IO_CHUNK];
        let mut n = 0u64;
        loop {
            match s.read(&mut buf).await.expect("recv") {
                0 => break,
                k => n += k as u64,
            }
        }
        s.shutdown().await.expect("shutdown(Write)");
        (n, s)
    }

    pub async fn socket_once() -> Duration {
        let (a_client, mut a_server) = pair().await;
        let (mut b_client, b_server) = pair().await;

        let start = Instant::now();
        let sender = tokio::spawn(send(a_client, SOCKET_BYTES));
        let receiver = tokio::spawn(drain(b_server));
        let middle = tokio::spawn(async move {
            let r = tokio::io::copy_bidirectional(&mut a_server, &mut b_client)
                .await
                .expect("copy_bidirectional");
            (r, a_server, b_client)
        });
        let ((ab, ba), _a, _b) = middle.await.expect("copy task");
        let (received, _r) = receiver.await.expect("receiver task");
        let _s = sender.await.expect("sender task");
        let elapsed = start.elapsed();

        assert_eq!(
            (ab, ba),
            (SOCKET_BYTES, 0),
            "copy moved the wrong byte count"
        );
        assert_eq!(received, SOCKET_BYTES, "receiver got the wrong byte count");
        elapsed
    }

    /// One file→socket iteration over `slice` bytes of the file; iterations take the file's
    /// slices in turn. Returns the timed transfer.
    pub async fn file_once(path: &Path, slice: u64) -> Duration {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let k = NEXT.fetch_add(1, Ordering::Relaxed) % (FILE_BYTES / slice);
        let mut file = tokio::fs::File::open(path)
            .await
            .expect("open the bench file");
        tokio::io::AsyncSeekExt::seek(&mut file, io::SeekFrom::Start(k * slice))
            .await
            .expect("seek");
        let mut src = tokio::io::AsyncReadExt::take(file, slice);
        let (mut client, server) = pair().await;

        let start = Instant::now();
        let receiver = tokio::spawn(drain(server));
        let sender = tokio::spawn(async move {
            let n = tokio::io::copy(&mut src, &mut client).await.expect("copy");
            client.shutdown().await.expect("shutdown(Write)");
            (n, client)
        });
        let (moved, _c) = sender.await.expect("copy task");
        let (received, _s) = receiver.await.expect("receiver task");
        let elapsed = start.elapsed();

        assert_eq!(moved, slice, "copy moved the wrong byte count");
        assert_eq!(received, slice, "receiver got the wrong byte count");
        elapsed
    }
}

// ---------------------------------------------------------------------------------------------
// The bench file.

/// A file of `len` bytes in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn create(len: u64) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "netpoll-bench-copy-{}-{}.bin",
            std::process::id(),
            len
        ));
        let mut f = std::fs::File::create(&path).expect("create the bench file");
        *BENCH_FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
        let guard = TempFile(path);
        let mut chunk = vec![0u8; 1 << 20];
        for (i, b) in chunk.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..n]).expect("write the bench file");
            left -= n as u64;
        }
        f.sync_all().expect("sync the bench file");
        assert_eq!(f.metadata().expect("stat").len(), len);
        guard
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        BENCH_FILE.lock().unwrap_or_else(|e| e.into_inner()).take();
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads the file once so both runtimes start from a warm page cache.
fn warm_page_cache(path: &Path) {
    let mut f = std::fs::File::open(path).expect("open the bench file");
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).expect("read the bench file") > 0 {}
}

// ---------------------------------------------------------------------------------------------
// Groups.

fn copy_socket_256m(c: &mut Criterion) {
    start_watchdog();
    let np_rt = netpoll_runtime();
    let tk_rt = tokio_runtime();
    let mut g = c.benchmark_group("copy_socket_256m");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Bytes(SOCKET_BYTES));

    g.bench_function("netpoll", |b| {
        b.iter_custom(|iters| np_rt.block_on(sum(iters, || np::socket_once(false))))
    });
    g.bench_function("netpoll_bidirectional", |b| {
        b.iter_custom(|iters| np_rt.block_on(sum(iters, || np::socket_once(true))))
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| tk_rt.block_on(sum(iters, tk::socket_once)))
    });
    g.finish();
}

fn copy_file_1g(c: &mut Criterion) {
    start_watchdog();
    let file = TempFile::create(FILE_BYTES);
    warm_page_cache(&file.0);
    progress();
    let np_rt = netpoll_runtime();
    let tk_rt = tokio_runtime();
    let mut g = c.benchmark_group("copy_file_1g");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Bytes(FILE_BYTES));

    let path = file.0.as_path();
    g.bench_function("netpoll", |b| {
        b.iter_custom(|iters| np_rt.block_on(sum(iters, || np::file_once(path))))
    });
    // tokio's file reads cost one blocking-pool trip per 8 KiB (about 100 MiB/s here): a whole
    // GiB per iteration would make criterion's 10 samples take minutes. Each iteration sends
    // one slice of the same file instead, the slices taken in turn, and the throughput is per
    // slice, so the two rates compare.
    let slice = tokio_file_slice();
    g.throughput(Throughput::Bytes(slice));
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| tk_rt.block_on(sum(iters, || tk::file_once(path, slice))))
    });
    g.finish();
    drop(file);
}

criterion_group!(benches, copy_socket_256m, copy_file_1g);
criterion_main!(benches);
