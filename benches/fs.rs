//! File-system calls from a task: netpoll's syscall sections against tokio's blocking pool.
//!
//! Each group runs netpoll and tokio in the same process, each with 2 workers (or
//! `NETPOLL_BENCH_WORKERS`), every runtime built once. An iteration is one call from inside a
//! task (the task is spawned once per batch of `iter_custom` iterations, so the spawn is not
//! counted):
//!
//! - `fs_read_4k`: `fs::read` of a 4 KiB file (page-cache hot).
//! - `fs_open_metadata`: `File::open` + `File::metadata` of that file.
//!
//! On netpoll each call runs inline on the worker in a syscall section (sysmon would hand the
//! worker's queue on if it blocked); tokio sends each call to its blocking pool (two thread
//! hand-offs and a wake). `bash benches/ratios.sh` tabulates netpoll/tokio.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

fn workers() -> usize {
    std::env::var("NETPOLL_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// A 4 KiB file in a fresh temporary directory (removed at exit by the OS's tmp cleaning; it is
/// tiny).
fn file_4k() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netpoll-bench-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("file-4k.bin");
    std::fs::write(&path, vec![0x5au8; 4096]).expect("write the bench file");
    path
}

fn netpoll_rt() -> netpoll::runtime::Runtime {
    netpoll::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("netpoll runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn fs_read_4k(c: &mut Criterion) {
    let path = file_4k();
    let np = netpoll_rt();
    let tk = tokio_rt();
    let mut g = c.benchmark_group("fs_read_4k");
    g.bench_function("netpoll", |b| {
        b.iter_custom(|iters| {
            let path = path.clone();
            np.block_on(async move {
                netpoll::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let data = netpoll::fs::read(&path).await.expect("read");
                        assert_eq!(data.len(), 4096);
                    }
                    start.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let path = path.clone();
            tk.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let data = tokio::fs::read(&path).await.expect("read");
                        assert_eq!(data.len(), 4096);
                    }
                    start.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    g.finish();
}

fn fs_open_metadata(c: &mut Criterion) {
    let path = file_4k();
    let np = netpoll_rt();
    let tk = tokio_rt();
    let mut g = c.benchmark_group("fs_open_metadata");
    g.bench_function("netpoll", |b| {
        b.iter_custom(|iters| {
            let path = path.clone();
            np.block_on(async move {
                netpoll::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let f = netpoll::fs::File::open(&path).await.expect("open");
                        assert_eq!(f.metadata().await.expect("metadata").len(), 4096);
                    }
                    start.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let path = path.clone();
            tk.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let f = tokio::fs::File::open(&path).await.expect("open");
                        assert_eq!(f.metadata().await.expect("metadata").len(), 4096);
                    }
                    start.elapsed()
                })
                .await
                .expect("task")
            })
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = fs_read_4k, fs_open_metadata
}
criterion_main!(benches);
