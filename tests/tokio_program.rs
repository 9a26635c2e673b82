//! The drop-in promise, end to end (issue 15): `tests/programs/tokio_kv.rs` is a plain tokio
//! program (server, clients, `select!`, `JoinSet`, `LocalSet`, `interval`, `timeout`). This
//! test builds it twice — on tokio, and on netpoll through nothing but
//! `tokio = { package = "netpoll", path = ".." }` in its Cargo.toml — runs both, and checks that
//! they print the same thing (and the right thing).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUN_LIMIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A throwaway package for the program with the given `tokio` dependency line.
fn package(dir: &Path, tokio_dep: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let program = repo().join("tests/programs/tokio_kv.rs");
    let manifest = format!(
        "[package]\nname = \"tokio-kv\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [[bin]]\nname = \"tokio-kv\"\npath = {program:?}\n\n\
         [dependencies]\n{tokio_dep}\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // Start from the versions this repository is tested with.
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(repo().join("Cargo.lock"), &lock).unwrap();
    }
}

fn build(dir: &Path, target: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "building {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug/tokio-kv")
}

/// Runs the program with a time limit; returns its stdout.
fn run(bin: &Path) -> String {
    let mut child = Command::new(bin)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(
                status.success(),
                "{} failed: {status}\n{}",
                bin.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            return String::from_utf8(out.stdout).unwrap();
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("{} did not finish within {RUN_LIMIT:?}", bin.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_same_tokio_program_builds_and_behaves_the_same_on_tokio_and_on_netpoll() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tokio-program");
    let on_tokio = tmp.join("on-tokio");
    let on_netpoll = tmp.join("on-netpoll");
    package(
        &on_tokio,
        "tokio = { version = \"1\", features = [\"full\"] }",
    );
    package(
        &on_netpoll,
        &format!(
            "tokio = {{ package = \"netpoll\", path = {:?}, features = [\"full\"] }}",
            repo()
        ),
    );
    let target = tmp.join("target");
    let tokio_bin = build(&on_tokio, &target.join("tokio"));
    let netpoll_bin = build(&on_netpoll, &target.join("netpoll"));

    let expected_tail = [
        "idle client: Ok(\"BYE idle then None\")",
        "hits: \"200\" client0: \"1\"",
        "served 11 connections, 250 commands; store has 9 keys",
        "stats: connected=11 closed=11 timed_out=1 commands=250 \
         kinds={\"error\": 16, \"get\": 18, \"incr\": 208, \"set\": 8} ticked=true",
    ];
    for _ in 0..2 {
        let a = run(&tokio_bin);
        let b = run(&netpoll_bin);
        assert_eq!(a, b, "tokio's and netpoll's runs differ");
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 12, "{a}");
        assert_eq!(&lines[8..], expected_tail, "{a}");
        assert_eq!(
            lines[0],
            "client 0: 32 replies, set=OK get=0 missing=NIL unknown=\"ERR unknown command\" \
             bad=\"ERR value is not an integer\" own-incr=1 last=Some(\"BYE\")"
        );
    }
}
