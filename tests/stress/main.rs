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

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
