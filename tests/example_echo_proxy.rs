//! The echo and proxy examples as child processes, checked with plain std clients.
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use support::{bounded, Example, Hash, Pattern};

fn client(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Sends `len` pattern bytes, half-closes, and returns (hash sent, hash received, bytes received).
fn round_trip(addr: std::net::SocketAddr, seed: u64, len: u64) -> (Hash, Hash, u64) {
    let s = client(addr);
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut p = Pattern::new(seed);
        let mut h = Hash::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            p.fill(&mut buf[..n]);
            h.update(&buf[..n]);
            w.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        w.shutdown(Shutdown::Write).unwrap();
        h
    });
    let mut r = s;
    let mut h = Hash::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        got += n as u64;
    }
    (writer.join().unwrap(), h, got)
}

#[test]
fn echo_integrity_with_1000_concurrent_connections() {
    bounded(Duration::from_secs(90), || {
        let echo = Example::start("echo", &["127.0.0.1:0"], &[("NETPOLL_WORKERS", "2")]);
        let addr = echo.addr;
        // 1000 connections open at once, each sending a different amount, all verified.
        let conns: Vec<TcpStream> = (0..1000).map(|_| client(addr)).collect();
        let handles: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                std::thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn(move || {
                        let len = 1 + (i * 7919) % 20_000;
                        let mut p = Pattern::new(i as u64 + 1);
                        let mut data = vec![0u8; len];
                        p.fill(&mut data);
                        let mut w = s.try_clone().unwrap();
                        w.write_all(&data).unwrap();
                        w.shutdown(Shutdown::Write).unwrap();
                        let mut back = Vec::with_capacity(len);
                        let mut r = s;
                        r.read_to_end(&mut back).unwrap();
                        assert_eq!(back, data, "connection {i}");
                    })
                    .unwrap()
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn echo_finishes_after_half_close_and_exits_0_on_sigterm() {
    bounded(Duration::from_secs(60), || {
        let mut echo = Example::start("echo", &["127.0.0.1:0"], &[]);
        let (sent, got, n) = round_trip(echo.addr, 3, 8 << 20);
        assert_eq!((sent, n), (got, 8 << 20));
        let st = echo.signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
        assert!(st.success(), "{st:?}");
        let mut echo = Example::start("echo", &["127.0.0.1:0"], &[]);
        let st = echo.signal_and_wait(libc::SIGINT, Duration::from_secs(10));
        assert!(st.success(), "{st:?}");
    });
}

#[test]
fn proxy_256_mib_intact_and_half_close_both_ways() {
    bounded(Duration::from_secs(120), || {
        let echo = Example::start("echo", &["127.0.0.1:0"], &[]);
        let up = echo.addr.to_string();
        let proxy = Example::start("proxy", &["127.0.0.1:0", &up], &[]);
        // Client → proxy → echo → proxy → client: 256 MiB, client half-closes, echo finishes,
        // closes, and the proxy passes both half-closes on.
        let (sent, got, n) = round_trip(proxy.addr, 11, 256 << 20);
        assert_eq!(n, 256 << 20);
        assert_eq!(sent, got);
        // The upstream half-closing first: a server that writes and closes right away.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let up2 = l.local_addr().unwrap().to_string();
        let proxy2 = Example::start("proxy", &["127.0.0.1:0", &up2], &[]);
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"server speaks first").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
            rest
        });
        let mut c = client(proxy2.addr);
        let mut first = Vec::new();
        c.read_to_end(&mut first).unwrap(); // EOF passed on from the upstream's half-close
        assert_eq!(first, b"server speaks first");
        c.write_all(b"client answers after EOF").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(server.join().unwrap(), b"client answers after EOF");
    });
}

#[test]
fn proxy_with_unreachable_upstream_closes_the_client_and_keeps_serving() {
    bounded(Duration::from_secs(60), || {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap().to_string();
        drop(dead);
        let mut proxy = Example::start("proxy", &["127.0.0.1:0", &dead_addr], &[]);
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let mut c = client(proxy.addr);
            let mut buf = [0u8; 8];
            let n = c.read(&mut buf).unwrap_or(0);
            assert_eq!(n, 0);
            assert!(
                t.elapsed() < Duration::from_secs(4),
                "client not closed promptly: {:?}",
                t.elapsed()
            );
        }
        let st = proxy.signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
        assert!(st.success());
    });
}

#[test]
fn stress_tool_json_summary_has_no_errors() {
    bounded(Duration::from_secs(120), || {
        let out = std::process::Command::new(support::example_path("netpoll_stress"))
            .args([
                "--conns",
                "200",
                "--duration",
                "3",
                "--size",
                "16384",
                "--json",
                "--quiet",
            ])
            .env("NETPOLL_WORKERS", "2")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let field = |name: &str| -> String {
            let key = format!("\"{name}\": ");
            let i = stdout
                .find(&key)
                .unwrap_or_else(|| panic!("no {name} in {stdout}"))
                + key.len();
            stdout[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect()
        };
        assert_eq!(field("ok"), "true");
        assert_eq!(field("mismatches"), "0");
        assert_eq!(field("hung"), "0");
        assert_eq!(field("errors"), "0");
        assert_eq!(field("conns_finished"), "200");
        assert!(field("messages").parse::<u64>().unwrap() > 200);
        // Against an external server too (the echo example), in churn mode.
        let echo = Example::start("echo", &["127.0.0.1:0"], &[]);
        let out = std::process::Command::new(support::example_path("netpoll_stress"))
            .args([
                "--addr",
                &echo.addr.to_string(),
                "--mode",
                "churn",
                "--conns",
                "20",
                "--duration",
                "2",
                "--json",
                "--quiet",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("\"mismatches\": 0"), "{stdout}");
    });
}

#[test]
fn connection_limit_makes_new_clients_wait_for_a_slot() {
    bounded(Duration::from_secs(60), || {
        let echo = Example::start(
            "echo",
            &["127.0.0.1:0"],
            &[("NETPOLL_WORKERS", "2"), ("NETPOLL_MAX_CONNS", "3")],
        );
        let ping = |s: &mut TcpStream, b: u8| -> std::io::Result<u8> {
            s.write_all(&[b])?;
            let mut got = [0u8; 1];
            s.read_exact(&mut got)?;
            Ok(got[0])
        };
        // Three connections take the three slots (each proven accepted by an echo).
        let mut held: Vec<TcpStream> = (0..3).map(|_| client(echo.addr)).collect();
        for (i, s) in held.iter_mut().enumerate() {
            assert_eq!(ping(s, i as u8).unwrap(), i as u8);
        }
        // A fourth connects (the kernel's backlog takes it) but is not served...
        let mut waiting = client(echo.addr);
        waiting
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let e = ping(&mut waiting, 42).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        );
        // ...until a slot frees up; then its byte (already sent) comes back.
        drop(held.remove(0));
        waiting
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut got = [0u8; 1];
        waiting.read_exact(&mut got).unwrap();
        assert_eq!(got[0], 42);
        for (i, s) in held.iter_mut().enumerate() {
            assert_eq!(ping(s, 7 + i as u8).unwrap(), 7 + i as u8);
        }
    });
}
