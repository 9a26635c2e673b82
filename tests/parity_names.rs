//! tokio parity (issue 15), first slice: the names a tokio program reaches for before anything
//! else — `io::{Error, ErrorKind, Result, SeekFrom}`, `time::{Duration, Instant}`,
//! `time::error::Elapsed` — and tokio's Cargo feature names.
use std::time::Duration as StdDuration;

use netpoll::io;
use netpoll::time;

fn parse(s: &str) -> io::Result<u32> {
    s.parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[test]
fn io_reexports_are_std_types() {
    assert_eq!(parse("7").unwrap(), 7);
    let e: std::io::Error = parse("x").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let _: std::io::SeekFrom = io::SeekFrom::Start(3);
}

#[test]
fn time_reexports_and_elapsed_at_tokio_path() {
    let d: StdDuration = time::Duration::from_millis(1);
    // tokio's own Instant type, convertible to and from std's.
    let now: time::Instant = time::Instant::now();
    let std_now: std::time::Instant = now.into_std();
    assert_eq!(time::Instant::from_std(std_now), now);
    let back: std::time::Instant = now.into();
    assert_eq!(time::Instant::from(back), now);
    assert_eq!((now + d) - now, d);
    assert_eq!(
        now - (now + d),
        StdDuration::ZERO,
        "saturates, as tokio's does"
    );
    let rt = netpoll::runtime::Runtime::new().unwrap();
    let r: Result<(), time::error::Elapsed> =
        rt.block_on(time::timeout(d, std::future::pending::<()>()));
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "deadline has elapsed");
    let io_err: std::io::Error = e.into();
    assert_eq!(io_err.kind(), std::io::ErrorKind::TimedOut);
}

/// A renamed dependency keeps its `features = [...]` line: every tokio 1.x feature name exists.
#[test]
fn tokio_feature_names_exist() {
    let manifest = include_str!("../Cargo.toml");
    let feats = &manifest[manifest.find("\n[features]\n").expect("[features]")..];
    let feats = &feats[1..];
    let feats = &feats[..feats[1..].find("\n[").map_or(feats.len(), |i| i + 1)];
    let names: Vec<&str> = feats
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap_or("").trim())
        .collect();
    for name in [
        "full",
        "rt",
        "rt-multi-thread",
        "macros",
        "net",
        "time",
        "io-util",
        "io-std",
        "sync",
        "fs",
        "process",
        "signal",
        "parking_lot",
        "test-util",
    ] {
        assert!(names.contains(&name), "feature {name} missing: {names:?}");
    }
}

#[test]
fn signal_unix_path_and_kinds() {
    use netpoll::signal::unix::{signal, Signal, SignalKind};
    assert_eq!(SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    assert_eq!(SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    assert_eq!(SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    assert_eq!(SignalKind::io().as_raw_value(), libc::SIGIO);
    let k: SignalKind = libc::SIGUSR1.into();
    assert_eq!(k, SignalKind::user_defined1());
    let raw: std::os::raw::c_int = SignalKind::terminate().into();
    assert_eq!(raw, libc::SIGTERM);
    const HUP: SignalKind = SignalKind::from_raw(libc::SIGHUP);
    assert_eq!(HUP, SignalKind::hangup());

    let rt = netpoll::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut winch: Signal = signal(SignalKind::window_change()).unwrap();
        // SAFETY: raising a signal whose handler netpoll installed (and whose default is to
        // be ignored) in this process.
        assert_eq!(unsafe { libc::raise(libc::SIGWINCH) }, 0);
        let got = time::timeout(StdDuration::from_secs(10), winch.recv()).await;
        assert_eq!(got, Ok(Some(())));
    });
}
