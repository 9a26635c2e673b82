//! Faults inside one machine: peers resetting mid-splice and mid-sendfile, a signal storm
//! interrupting every blocking syscall (EINTR), kernel errors (ENOMEM, ENOBUFS, EMFILE) injected
//! with a seccomp filter, a task panicking while it holds a socket, and a runtime dropped with
//! tasks blocked in every kind of operation. Each must end in an error or a clean result, never
//! a panic, a hang, a lost byte or a leaked fd. (Faults across network namespaces — loss, rate
//! limits, blackholes — are in `tests/faults/netns.sh`.)
//!
//! Tests that change process-wide state (signal handlers, seccomp filters) run in a child
//! process: this binary re-run with one ignored test selected and `FAULTS_CHILD` set.
#![cfg(target_os = "linux")]

mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpoll::io::{copy, copy_path, CopyPath};
use netpoll::net::{TcpListener, TcpStream};
use support::{bounded, open_fds, rt, send_pattern, tcp_pair, wait_until, Hash, Pattern};

const LIMIT: Duration = Duration::from_secs(60);
const CHILD_ENV: &str = "FAULTS_CHILD";

/// Two tests here compare the process's fd count before and after: the tests of this binary
/// run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Child processes.

/// Runs the ignored test `name` of this binary in a child process (killed after `limit`);
/// returns its exit success and its output.
fn run_child(name: &str, limit: Duration) -> (bool, String) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let o = support::drain_in_thread(child.stdout.take().expect("stdout"));
    let e = support::drain_in_thread(child.stderr.take().expect("stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        o.join().unwrap_or_default(),
        e.join().unwrap_or_default()
    );
    match status {
        Some(st) => (
            st.success() && text.contains("1 passed"),
            format!("{st}\n{text}"),
        ),
        None => (false, format!("killed after {limit:?}\n{text}")),
    }
}

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

// ---------------------------------------------------------------------------------------------
// Resets in the middle of zero-copy transfers.

#[test]
fn source_reset_mid_splice_delivers_an_exact_prefix() {
    let _serial = serial();
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, dst_r) = tcp_pair().await;
            assert_eq!(copy_path(&src_r, &dst_w), CopyPath::Splice);
            let copier = netpoll::spawn(async move {
                let r = copy(&mut src_r, &mut dst_w).await;
                drop(dst_w); // the destination sees EOF after whatever the copy delivered
                r
            });
            // The receiver reads everything that arrives and checks it against what was sent.
            let mut expect = vec![0u8; 16 << 20];
            {
                // send_pattern fills 256 KiB chunks from one pattern stream; do the same.
                let mut p = Pattern::new(21);
                for chunk in expect.chunks_mut(256 * 1024) {
                    p.fill(chunk);
                }
            }
            let receiver = netpoll::spawn(async move {
                let mut buf = vec![0u8; 256 * 1024];
                let mut got = 0usize;
                loop {
                    let n = dst_r.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(got as u64);
                    }
                    let same = got + n <= expect.len() && buf[..n] == expect[got..got + n];
                    assert!(same, "bytes {got}..{} differ from what was sent", got + n);
                    got += n;
                }
            });
            // Send 16 MiB, then reset the source with more still queued behind it.
            let sent = send_pattern(&src_w, 21, 16 << 20)
                .await
                .map(|_| 16u64 << 20);
            src_w.set_linger(Some(Duration::ZERO)).expect("linger");
            drop(src_w);
            let copied = copier.await.expect("copier task");
            let got = receiver.await.expect("receiver task").expect("receiver io");
            // Either the copy saw the reset (an error) or it finished; in both cases the
            // destination got an exact prefix, and everything the copy counted arrived.
            match copied {
                Ok(n) => assert_eq!(n, got, "copy counted {n}, destination got {got}"),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ),
                    "{e:?}"
                ),
            }
            assert!(got <= sent.unwrap_or(16 << 20));
        });
    });
}

#[test]
fn peer_reset_mid_sendfile_is_an_error_not_a_signal() {
    let _serial = serial();
    bounded(LIMIT, || {
        let path = std::env::temp_dir().join(format!("netpoll-faults-{}", std::process::id()));
        {
            let mut f = std::fs::File::create(&path).expect("create");
            let mut p = Pattern::new(5);
            let mut buf = vec![0u8; 1 << 20];
            for _ in 0..32 {
                p.fill(&mut buf);
                std::io::Write::write_all(&mut f, &buf).expect("write");
            }
        }
        let rt = rt(2);
        rt.block_on(async {
            let (mut w, r) = tcp_pair().await;
            let mut file = netpoll::fs::File::open(&path).await.expect("open");
            assert_eq!(copy_path(&file, &w), CopyPath::Sendfile);
            let copier = netpoll::spawn(async move { copy(&mut file, &mut w).await });
            // Read the first MiB, check it, then reset.
            let mut p = Pattern::new(5);
            let mut want = vec![0u8; 1 << 20];
            p.fill(&mut want);
            let mut got = vec![0u8; 1 << 20];
            let mut at = 0;
            while at < got.len() {
                let n = r.read(&mut got[at..]).await.expect("read");
                assert!(n > 0, "early EOF");
                at += n;
            }
            assert!(got == want, "the first MiB differs");
            r.set_linger(Some(Duration::ZERO)).expect("linger");
            drop(r);
            let err = copier
                .await
                .expect("copier task")
                .expect_err("copy to a reset peer");
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
        });
        let _ = std::fs::remove_file(&path);
    });
}

// ---------------------------------------------------------------------------------------------
// EINTR: a storm of signals at every thread while I/O, copies, timers and blocking work run.

#[test]
fn eintr_storm() {
    let _serial = serial();
    let (ok, out) = run_child("eintr_storm_child", Duration::from_secs(120));
    assert!(ok, "{out}");
}

extern "C" fn on_usr1(_: libc::c_int) {}

#[test]
#[ignore = "runs only as the child process of eintr_storm"]
fn eintr_storm_child() {
    if !in_child() {
        return;
    }
    // A handler without SA_RESTART: every blocking syscall a signal lands in returns EINTR.
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler is an
    // async-signal-safe no-op, and this process is a child that runs only this test.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = 0;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let storm = {
        let (stop, sent) = (stop.clone(), sent.clone());
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
        std::thread::spawn(move || {
            // SAFETY: getpid has no preconditions.
            let pid = unsafe { libc::getpid() };
            while !stop.load(SeqCst) {
                for t in std::fs::read_dir("/proc/self/task")
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
                    else {
                        continue;
                    };
                    if tid != me {
                        // SAFETY: tgkill with a tid of this process and a handled signal; a
                        // thread that exited meanwhile makes it fail with ESRCH, which is fine.
                        if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) } == 0
                        {
                            sent.fetch_add(1, SeqCst);
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let path = std::env::temp_dir().join(format!("netpoll-eintr-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&path).expect("create");
        let mut p = Pattern::new(9);
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..64 {
            p.fill(&mut buf);
            std::io::Write::write_all(&mut f, &buf).expect("write");
        }
    }
    let rt = rt(2);
    rt.block_on(async {
        // 1. socket -> socket copies (splice) of 64 MiB each, verified by hash.
        let splices: Vec<_> = (0..4)
            .map(|i| {
                netpoll::spawn(async move {
                    let (a_w, mut a_r) = tcp_pair().await;
                    let (mut b_w, b_r) = tcp_pair().await;
                    let sender =
                        netpoll::spawn(async move { send_pattern(&a_w, 100 + i, 64 << 20).await });
                    let copier = netpoll::spawn(async move {
                        let n = copy(&mut a_r, &mut b_w).await;
                        drop(b_w);
                        n
                    });
                    let got = support::read_to_end_hash(&b_r).await.expect("read");
                    let sent = sender.await.expect("sender").expect("send");
                    assert_eq!(copier.await.expect("copier").expect("copy"), 64 << 20);
                    assert!(got == sent, "splice copy {i}: bytes differ");
                })
            })
            .collect();
        // 2. file -> socket (sendfile), verified.
        let sendfile = {
            let path = path.clone();
            netpoll::spawn(async move {
                let (mut w, r) = tcp_pair().await;
                let mut f = netpoll::fs::File::open(&path).await.expect("open");
                let copier = netpoll::spawn(async move {
                    let n = copy(&mut f, &mut w).await;
                    drop(w);
                    n
                });
                let got = support::read_to_end_hash(&r).await.expect("read");
                let mut want = Hash::new();
                let mut p = Pattern::new(9);
                let mut buf = vec![0u8; 1 << 20];
                for _ in 0..64 {
                    p.fill(&mut buf);
                    want.update(&buf);
                }
                assert_eq!(
                    copier.await.expect("copier").expect("sendfile copy"),
                    64 << 20
                );
                assert!(got == want, "sendfile: bytes differ");
            })
        };
        // 3. many small echo round trips, 4. timers, 5. blocking work.
        let echoes: Vec<_> = (0..16)
            .map(|i| {
                netpoll::spawn(async move {
                    let (a, b) = tcp_pair().await;
                    let echo = netpoll::spawn(async move {
                        let mut buf = [0u8; 512];
                        loop {
                            let n = b.read(&mut buf).await.expect("echo read");
                            if n == 0 {
                                return;
                            }
                            support::write_all(&b, &buf[..n]).await.expect("echo write");
                        }
                    });
                    for k in 0..2_000u32 {
                        let msg = [(i as u32 ^ k) as u8; 100];
                        support::write_all(&a, &msg).await.expect("write");
                        let mut back = [0u8; 100];
                        let mut at = 0;
                        while at < back.len() {
                            let n = a.read(&mut back[at..]).await.expect("read");
                            assert!(n > 0, "echo closed");
                            at += n;
                        }
                        assert_eq!(back, msg);
                    }
                    drop(a);
                    echo.await.expect("echo task");
                })
            })
            .collect();
        let timers: Vec<_> = (0..100)
            .map(|i| {
                netpoll::spawn(async move {
                    for _ in 0..50 {
                        let d = Duration::from_millis(1 + i % 10);
                        let t = Instant::now();
                        netpoll::time::sleep(d).await;
                        assert!(t.elapsed() >= d, "a sleep ended early");
                    }
                })
            })
            .collect();
        let blocking: Vec<_> = (0..8)
            .map(|i| {
                netpoll::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    i
                })
            })
            .collect();
        for h in splices.into_iter().chain(echoes).chain(timers) {
            h.await.expect("task");
        }
        sendfile.await.expect("sendfile task");
        for (i, b) in blocking.into_iter().enumerate() {
            assert_eq!(b.await.expect("blocking"), i);
        }
    });
    stop.store(true, SeqCst);
    storm.join().expect("storm thread");
    let _ = std::fs::remove_file(&path);
    let n = sent.load(SeqCst);
    println!("signals delivered during the run: {n}");
    assert!(n > 100, "the storm sent only {n} signals");
}

// ---------------------------------------------------------------------------------------------
// Kernel errors injected with seccomp: every call of one syscall fails with a chosen errno.

#[cfg(target_arch = "x86_64")]
mod seccomp {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;

    fn stmt(code: u16, k: u32) -> libc::sock_filter {
        libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// Makes every later call of each `(syscall, errno)` in this process (all threads) fail with
    /// that errno. Irreversible: only in a child process.
    pub fn fail(rules: &[(libc::c_long, i32)]) {
        let mut prog = vec![
            stmt(LD_W_ABS, 4), // seccomp_data.arch
            libc::sock_filter {
                code: JEQ_K,
                jt: 1,
                jf: 0,
                k: AUDIT_ARCH_X86_64,
            },
            stmt(RET_K, libc::SECCOMP_RET_ALLOW),
            stmt(LD_W_ABS, 0), // seccomp_data.nr
        ];
        for &(nr, errno) in rules {
            prog.push(libc::sock_filter {
                code: JEQ_K,
                jt: 0,
                jf: 1,
                k: nr as u32,
            });
            prog.push(stmt(
                RET_K,
                libc::SECCOMP_RET_ERRNO | (errno as u32 & 0xffff),
            ));
        }
        prog.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers.
        let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        assert_eq!(
            r,
            0,
            "PR_SET_NO_NEW_PRIVS: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `fprog` points at `prog`, a valid BPF program that outlives the call (the
        // kernel copies it).
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_TSYNC,
                &fprog as *const libc::sock_fprog,
            )
        };
        assert_eq!(r, 0, "seccomp: {}", std::io::Error::last_os_error());
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn injected_kernel_errors_become_io_errors() {
    let _serial = serial();
    for child in [
        "seccomp_epoll_ctl_enomem_child",
        "seccomp_accept_enobufs_child",
        "seccomp_splice_and_sendfile_enomem_child",
        "seccomp_pipe_emfile_child",
    ] {
        let (ok, out) = run_child(child, Duration::from_secs(60));
        assert!(ok, "{child}: {out}");
    }
}

#[cfg(target_arch = "x86_64")]
fn assert_errno<T: std::fmt::Debug>(r: std::io::Result<T>, errno: i32, what: &str) {
    match r {
        Err(e) => assert_eq!(e.raw_os_error(), Some(errno), "{what}: {e:?}"),
        Ok(v) => panic!("{what}: expected errno {errno}, got Ok({v:?})"),
    }
}

/// The runtime still runs timers and tasks after the fault.
#[cfg(target_arch = "x86_64")]
async fn still_alive() {
    let t = Instant::now();
    netpoll::time::sleep(Duration::from_millis(5)).await;
    assert!(t.elapsed() >= Duration::from_millis(5));
    assert_eq!(
        netpoll::spawn(async { 7 })
            .await
            .expect("spawn after fault"),
        7
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "runs only as a child process of injected_kernel_errors_become_io_errors"]
fn seccomp_epoll_ctl_enomem_child() {
    if !in_child() {
        return;
    }
    let rt = rt(2);
    rt.block_on(async {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        seccomp::fail(&[(libc::SYS_epoll_ctl, libc::ENOMEM)]);
        // Registration fails: the socket is handed back as an error, nothing panics.
        assert_errno(
            TcpListener::from_std(std_l),
            libc::ENOMEM,
            "register a listener",
        );
        assert_errno(
            TcpStream::connect("127.0.0.1:9").await,
            libc::ENOMEM,
            "register a connecting socket",
        );
        still_alive().await;
    });
    println!("epoll_ctl ENOMEM: errors, runtime alive");
}

#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "runs only as a child process of injected_kernel_errors_become_io_errors"]
fn seccomp_accept_enobufs_child() {
    if !in_child() {
        return;
    }
    let rt = rt(2);
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let _c = std::net::TcpStream::connect(addr).expect("connect");
        seccomp::fail(&[
            (libc::SYS_accept4, libc::ENOBUFS),
            (libc::SYS_accept, libc::ENOBUFS),
        ]);
        // poll_accept hands the error over as it is...
        let r = std::future::poll_fn(|cx| l.poll_accept(cx)).await;
        assert_errno(r.map(|_| ()), libc::ENOBUFS, "poll_accept");
        // ...and accept() treats it as resource exhaustion: it backs off and retries (as Go's
        // servers do) instead of failing the accept loop; it stays pending, never spins.
        let polls_before = netpoll::runtime::Handle::current()
            .metrics()
            .worker_poll_count(0)
            + netpoll::runtime::Handle::current()
                .metrics()
                .worker_poll_count(1);
        let r = netpoll::time::timeout(Duration::from_millis(300), l.accept()).await;
        assert!(
            r.is_err(),
            "accept under ENOBUFS returned {:?}",
            r.map(|r| r.map(|_| ()))
        );
        let polls = netpoll::runtime::Handle::current()
            .metrics()
            .worker_poll_count(0)
            + netpoll::runtime::Handle::current()
                .metrics()
                .worker_poll_count(1)
            - polls_before;
        assert!(polls < 1_000, "accept spun: {polls} polls in 300 ms");
        still_alive().await;
    });
    println!("accept ENOBUFS: errors, runtime alive");
}

#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "runs only as a child process of injected_kernel_errors_become_io_errors"]
fn seccomp_splice_and_sendfile_enomem_child() {
    if !in_child() {
        return;
    }
    let path = std::env::temp_dir().join(format!("netpoll-seccomp-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 1 << 20]).expect("write file");
    let rt = rt(2);
    rt.block_on(async {
        let (src_w, mut src_r) = tcp_pair().await;
        let (mut dst_w, dst_r) = tcp_pair().await;
        let (mut fw, fr) = tcp_pair().await;
        let mut file = netpoll::fs::File::open(&path).await.expect("open");
        seccomp::fail(&[
            (libc::SYS_splice, libc::ENOMEM),
            (libc::SYS_sendfile, libc::ENOMEM),
        ]);
        let sender = netpoll::spawn(async move {
            let r = send_pattern(&src_w, 3, 1 << 20).await;
            drop(src_w);
            r
        });
        // The copies fail with the kernel's error; nothing was moved, so nothing is lost: the
        // source still holds every byte, readable by a plain read.
        assert_errno(
            copy(&mut src_r, &mut dst_w).await,
            libc::ENOMEM,
            "splice copy",
        );
        assert_errno(
            copy(&mut file, &mut fw).await,
            libc::ENOMEM,
            "sendfile copy",
        );
        drop((dst_w, dst_r, fw, fr));
        let sent = sender.await.expect("sender").expect("send");
        let got = support::read_to_end_hash(&src_r)
            .await
            .expect("read the source");
        assert!(got == sent, "bytes were lost from the source");
        still_alive().await;
    });
    let _ = std::fs::remove_file(&path);
    println!("splice/sendfile ENOMEM: errors, no bytes lost");
}

#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "runs only as a child process of injected_kernel_errors_become_io_errors"]
fn seccomp_pipe_emfile_child() {
    if !in_child() {
        return;
    }
    let rt = rt(2);
    rt.block_on(async {
        let (src_w, mut src_r) = tcp_pair().await;
        let (mut dst_w, dst_r) = tcp_pair().await;
        // No pipe can be made for splice: like Go's io.Copy, the copy falls back to the
        // buffered loop and moves every byte.
        seccomp::fail(&[
            (libc::SYS_pipe2, libc::EMFILE),
            (libc::SYS_pipe, libc::EMFILE),
        ]);
        let sender = netpoll::spawn(async move {
            let r = send_pattern(&src_w, 4, 8 << 20).await;
            drop(src_w);
            r
        });
        let reader = netpoll::spawn(async move { support::read_to_end_hash(&dst_r).await });
        let n = copy(&mut src_r, &mut dst_w)
            .await
            .expect("copy without a pipe");
        drop(dst_w);
        assert_eq!(n, 8 << 20);
        let sent = sender.await.expect("sender").expect("send");
        let got = reader.await.expect("reader").expect("read");
        assert!(got == sent, "bytes differ after the fallback");
        still_alive().await;
    });
    let stats = netpoll::io::copy_stats();
    assert!(stats.fallbacks >= 1, "{stats:?}");
    println!("pipe EMFILE: copied through the buffered fallback");
}

// ---------------------------------------------------------------------------------------------
// A task that panics while it holds a socket.

#[test]
fn a_panicking_task_closes_and_deregisters_its_socket() {
    let _serial = serial();
    bounded(LIMIT, || {
        let rt = rt(2);
        let regs_before = rt.metrics().num_registrations();
        let fds_before = open_fds();
        rt.block_on(async {
            let (a, b) = tcp_pair().await;
            let h = netpoll::spawn(async move {
                let mut buf = [0u8; 4];
                let n = a.read(&mut buf).await.expect("read");
                assert_eq!(n, 4);
                panic!("boom while holding the socket");
            });
            support::write_all(&b, b"ping").await.expect("write");
            let err = h.await.expect_err("the task panicked");
            assert!(err.is_panic());
            // The peer sees the socket closed: EOF (or a reset if bytes were unread).
            let mut buf = [0u8; 1];
            match netpoll::time::timeout(Duration::from_secs(10), b.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {}
                other => panic!("peer still open after the panic: {other:?}"),
            }
        });
        assert!(
            wait_until(Duration::from_secs(5), || rt.metrics().num_registrations()
                == regs_before
                && open_fds() == fds_before),
            "registrations {} -> {}, fds {} -> {}",
            regs_before,
            rt.metrics().num_registrations(),
            fds_before,
            open_fds()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Dropping the runtime while tasks are blocked in every kind of operation.

struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn dropping_the_runtime_with_tasks_blocked_everywhere() {
    let _serial = serial();
    bounded(LIMIT, || {
        let path = std::env::temp_dir().join(format!("netpoll-faults-drop-{}", std::process::id()));
        std::fs::write(&path, vec![1u8; 32 << 20]).expect("file");
        let fds_before = open_fds() - 2 * netpoll::io::copy_stats().pipes_pooled as usize;
        let dropped = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let mut expected = 0;
        {
            let rt = rt(2);
            let (a, b, c, d, e, f, l, u) = rt.block_on(async {
                let (a, b) = tcp_pair().await; // read: b never writes
                let (c, d) = tcp_pair().await; // write: d never reads
                let (e, f) = tcp_pair().await; // sendfile into e, f never reads
                let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let u = netpoll::net::UdpSocket::bind("127.0.0.1:0")
                    .await
                    .expect("udp");
                (a, b, c, d, e, f, l, u)
            });
            let (s1, mut s1r) = rt.block_on(tcp_pair());
            let (mut s2w, s2r) = rt.block_on(tcp_pair());
            macro_rules! blocked {
                ($body:expr) => {{
                    let (g, st) = (Dropped(dropped.clone()), started.clone());
                    expected += 1;
                    rt.spawn(async move {
                        let _g = g;
                        st.fetch_add(1, SeqCst);
                        $body
                    });
                }};
            }
            blocked!({
                let mut buf = [0u8; 16];
                let _ = a.read(&mut buf).await;
            });
            blocked!({
                let chunk = vec![0u8; 1 << 20];
                loop {
                    if c.write(&chunk).await.is_err() {
                        break;
                    }
                }
            });
            let file_path = path.clone();
            blocked!({
                let mut file = netpoll::fs::File::open(&file_path).await.expect("open");
                let mut e = e;
                let _ = copy(&mut file, &mut e).await;
            });
            blocked!({
                // splice: s1 -> s2, the source never sends.
                let _ = copy(&mut s1r, &mut s2w).await;
            });
            blocked!({
                let _ = l.accept().await;
            });
            blocked!({
                let mut buf = [0u8; 16];
                let _ = u.recv_from(&mut buf).await;
            });
            blocked!(netpoll::time::sleep(Duration::from_secs(3600)).await);
            blocked!({
                let (_tx, rx) = netpoll::sync::oneshot::channel::<()>();
                let keep = _tx;
                let _ = rx.await;
                drop(keep);
            });
            blocked!({
                let sem = netpoll::sync::Semaphore::new(0);
                let _ = sem.acquire().await;
            });
            blocked!({
                let n = netpoll::sync::Notify::new();
                n.notified().await;
            });
            blocked!({
                let h = netpoll::spawn(std::future::pending::<()>());
                let _ = h.await;
            });
            blocked!({
                let _ = netpoll::spawn_blocking(|| std::thread::sleep(Duration::from_millis(200)))
                    .await;
            });
            assert!(
                wait_until(Duration::from_secs(10), || started.load(SeqCst) == expected),
                "only {} of {expected} tasks started",
                started.load(SeqCst)
            );
            std::thread::sleep(Duration::from_millis(100)); // let them all block
            let t = Instant::now();
            drop(rt);
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "drop took {:?}",
                t.elapsed()
            );
            drop((b, d, f, s1, s2r));
        }
        assert_eq!(
            dropped.load(SeqCst),
            expected,
            "every blocked task's destructor ran: {} of {expected}",
            dropped.load(SeqCst)
        );
        // Clean pipes a copy returned to the process-wide pool stay open, on purpose.
        let pooled = || 2 * netpoll::io::copy_stats().pipes_pooled as usize;
        assert!(
            wait_until(Duration::from_secs(5), || open_fds()
                == fds_before + pooled()),
            "fds {} -> {} (of which {} are pooled pipes)",
            fds_before,
            open_fds(),
            pooled()
        );
        let _ = std::fs::remove_file(&path);
    });
}

// ---------------------------------------------------------------------------------------------
// Idle splice copies hold no pipe.

#[test]
fn idle_splice_copies_hold_no_pipes() {
    let _serial = serial();
    bounded(LIMIT, || {
        const COPIES: usize = 200;
        let rt = rt(2);
        rt.block_on(async {
            let mut pairs = Vec::new();
            for _ in 0..COPIES {
                let (src_w, src_r) = tcp_pair().await;
                let (dst_w, dst_r) = tcp_pair().await;
                pairs.push((src_w, src_r, dst_w, dst_r));
            }
            let before = open_fds();
            let mut copies = Vec::new();
            let mut keep = Vec::new();
            for (src_w, mut src_r, mut dst_w, dst_r) in pairs {
                copies.push(netpoll::spawn(
                    async move { copy(&mut src_r, &mut dst_w).await },
                ));
                keep.push((src_w, dst_r));
            }
            // Let every copy start and park on its silent source.
            netpoll::time::sleep(Duration::from_millis(200)).await;
            let during = open_fds();
            // Each idle copy would hold a pipe (2 fds) if it kept one while waiting; the pool
            // keeps at most 64 clean pipes.
            assert!(
                during <= before + 2 * 64,
                "{COPIES} idle copies hold {} extra fds",
                during - before
            );
            // They still work: one byte through each, then EOF.
            for (src_w, dst_r) in &keep {
                support::write_all(src_w, b"z").await.expect("write");
                let mut b = [0u8; 1];
                assert_eq!(dst_r.read(&mut b).await.expect("read"), 1);
                assert_eq!(b[0], b'z');
            }
            for (src_w, _) in &keep {
                src_w
                    .shutdown_std(std::net::Shutdown::Write)
                    .expect("shutdown");
            }
            for c in copies {
                assert_eq!(c.await.expect("copy task").expect("copy"), 1);
            }
        });
    });
}
