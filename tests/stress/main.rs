//! Stress tests: many connections, churn, wake-up storms, timers under load, every worker
//! blocked. Part of the normal `cargo test` run, each bounded in count and time.
//!
//! The tests of this binary take one lock ([`serial`]) so that they never load the machine at
//! the same time: each measures a runtime under its own load, not under its neighbour's.
//!
//! Soak mode: with `NETPOLL_SOAK_SECS=N` every test repeats its round until N seconds have
//! passed (at least once), for long runs outside CI:
//!
//! ```sh
//! NETPOLL_SOAK_SECS=600 cargo test --release --test stress -- --nocapture
//! ```

#[path = "../support/mod.rs"]
mod support;

mod all_blocked;
mod churn;
mod conn_10k;
mod timers;
mod wake_storm;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netpoll::net::UnixStream;
use netpoll::task::JoinHandle;

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the whole of a test: one stress test at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The soak duration asked for by `NETPOLL_SOAK_SECS`, if any.
pub fn soak_secs() -> Option<Duration> {
    let v = std::env::var("NETPOLL_SOAK_SECS").ok()?;
    match v.trim().parse::<u64>() {
        Ok(s) if s > 0 => Some(Duration::from_secs(s)),
        _ => panic!("NETPOLL_SOAK_SECS={v:?}: expected a positive number of seconds"),
    }
}

/// Runs `round` once, or, in soak mode, again and again until the soak time has passed.
/// `round` gets the round number (0, 1, ...).
pub fn soak(name: &str, mut round: impl FnMut(u64)) {
    let end = soak_secs().map(|d| Instant::now() + d);
    let mut n = 0;
    loop {
        let t = Instant::now();
        round(n);
        if end.is_some() {
            eprintln!("{name}: round {n} passed in {:?}", t.elapsed());
        }
        n += 1;
        match end {
            Some(end) if Instant::now() < end => {}
            _ => break,
        }
    }
}

/// I/O load: spawns a task that ping-pongs `size`-byte messages (different per round, checked
/// byte for byte) with an echo task over a Unix socket pair until `stop` is set, calling
/// `round_trip` after each round trip.
pub fn spawn_ping_pong(
    pair: usize,
    size: usize,
    stop: Arc<AtomicBool>,
    round_trip: impl Fn() + Send + 'static,
) -> JoinHandle<std::io::Result<()>> {
    netpoll::spawn(async move {
        let (a, b) = UnixStream::pair()?;
        let echo = netpoll::spawn(async move {
            let mut buf = vec![0u8; size];
            loop {
                let n = b.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(());
                }
                support::write_all_unix(&b, &buf[..n]).await?;
            }
        });
        let mut out = vec![0u8; size];
        let mut back = vec![0u8; size];
        let mut k = 0u64;
        while !stop.load(SeqCst) {
            out.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = (i as u64 ^ k ^ pair as u64) as u8);
            support::write_all_unix(&a, &out).await?;
            let mut got = 0;
            while got < back.len() {
                match a.read(&mut back[got..]).await? {
                    0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    n => got += n,
                }
            }
            assert!(out == back, "pair {pair}: echo differs in round {k}");
            round_trip();
            k += 1;
        }
        drop(a);
        echo.await.expect("echo task")?;
        Ok(())
    })
}
