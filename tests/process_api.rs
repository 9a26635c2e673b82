//! `netpoll::process` against tokio's documented behaviour: output and status, pipes in both
//! directions at once, kill/try_wait/wait, kill_on_drop and background reaping, waiting that
//! leaves the worker free, stdio chaining and the builder. Children are short-lived programs
//! every Debian has (`sh`, `cat`, `true`, `sleep`).
mod support;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use netpoll::io::{AsyncReadExt, AsyncWriteExt};
use netpoll::process::{Child, Command};
use support::{bounded, rt, rt_current, Hash, Pattern};

const LIMIT: Duration = Duration::from_secs(60);

fn run<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    bounded(LIMIT, move || rt(2).block_on(f));
}

/// Whether `pid` still exists, running or as a zombie (`kill(pid, 0)` fails with `ESRCH` only
/// once the process has been reaped).
fn exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Waits (bounded, without blocking the runtime) until `pid` has been reaped.
async fn reaped(pid: u32) -> bool {
    for _ in 0..2000 {
        if !exists(pid) {
            return true;
        }
        netpoll::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[test]
fn output_captures_stdout_stderr_and_status() {
    run(async {
        let out = Command::new("sh")
            .args(["-c", "printf out; printf err >&2; exit 7"])
            .stdout(Stdio::null()) // output() pipes stdout and stderr whatever was set
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"out");
        assert_eq!(out.stderr, b"err");
        assert_eq!(out.status.code(), Some(7));
        assert!(!out.status.success());

        let st = Command::new("true").status().await.unwrap();
        assert!(st.success());
        // status(): piped streams are closed at once, so `cat` sees end of file and exits.
        let st = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .status()
            .await
            .unwrap();
        assert!(st.success());

        let err = Command::new("/nonexistent/netpoll-no-such-program")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn cat_pipes_megabytes_both_ways_at_once() {
    const LEN: usize = 4 << 20;
    run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Writing all before reading would deadlock once both pipe buffers are full.
        let writer = netpoll::spawn(async move {
            let mut p = Pattern::new(7);
            let mut h = Hash::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut left = LEN;
            while left > 0 {
                let n = left.min(buf.len());
                p.fill(&mut buf[..n]);
                h.update(&buf[..n]);
                stdin.write_all(&buf[..n]).await.unwrap();
                left -= n;
            }
            drop(stdin); // end of file for cat
            h
        });
        let mut h = Hash::new();
        let mut buf = vec![0u8; 50_000];
        loop {
            let n = stdout.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        assert_eq!(writer.await.unwrap(), h);
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn kill_then_wait_reports_the_signal() {
    run(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(child.id().is_some());
        assert!(child.try_wait().unwrap().is_none());
        child.kill().await.unwrap();
        let st = child.wait().await.unwrap();
        assert_eq!(st.signal(), Some(libc::SIGKILL));
        assert_eq!(st.code(), None);
        // Reaped: no id, the same status again, and no second kill.
        assert_eq!(child.id(), None);
        assert_eq!(child.try_wait().unwrap(), Some(st));
        assert_eq!(child.wait().await.unwrap(), st);
        assert_eq!(
            child.start_kill().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        child.start_kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn try_wait_before_and_after_exit() {
    run(async {
        // `read` blocks until stdin says something or closes: certainly running until then.
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 4"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        assert_eq!(child.try_wait().unwrap(), None);
        // wait() closes stdin first, so `read` sees end of file: no deadlock.
        let st = child.wait().await.unwrap();
        assert_eq!(st.code(), Some(4));
        assert!(child.stdin.is_none());
        assert_eq!(child.try_wait().unwrap(), Some(st));
    });
}

#[test]
fn kill_on_drop_kills_and_the_child_is_reaped() {
    run(async {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        assert!(!cmd.get_kill_on_drop());
        cmd.kill_on_drop(true);
        assert!(cmd.get_kill_on_drop());
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        assert!(reaped(pid).await, "kill_on_drop child {pid} still exists");

        // kill_on_drop also applies to the future of status() (and output()).
        let pidfile = std::env::temp_dir().join(format!("netpoll-kod-{}", std::process::id()));
        let _ = std::fs::remove_file(&pidfile);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "echo $$ > {}.tmp; mv {0}.tmp {0}; exec sleep 30",
                pidfile.display()
            ))
            .kill_on_drop(true);
        let mut fut = Box::pin(cmd.status());
        let pid: u32 = loop {
            let r = netpoll::time::timeout(Duration::from_millis(5), &mut fut).await;
            assert!(r.is_err(), "the child exited by itself: {r:?}");
            if let Ok(s) = std::fs::read_to_string(&pidfile) {
                break s.trim().parse().unwrap();
            }
        };
        drop(fut);
        let _ = std::fs::remove_file(&pidfile);
        assert!(
            reaped(pid).await,
            "status() future child {pid} was not killed"
        );
    });
}

#[test]
fn dropped_child_without_kill_on_drop_runs_on_and_is_reaped() {
    run(async {
        let mut child = Command::new("sh")
            .args(["-c", "read line"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        drop(child);
        // Not killed: still there (running) after the drop.
        netpoll::task::yield_now().await;
        assert!(exists(pid));
        stdin.write_all(b"go\n").await.unwrap();
        drop(stdin);
        // It exits by itself and the background reaper leaves no zombie.
        assert!(reaped(pid).await, "dropped child {pid} left a zombie");
    });
}

/// Another task keeps running on the only worker while a child is waited for.
fn wait_leaves_the_worker_free(rt: netpoll::runtime::Runtime) {
    bounded(LIMIT, move || {
        rt.block_on(async {
            let child = Command::new("sleep").arg("30").spawn().unwrap();
            let pid = child.id().unwrap();
            let waiter = netpoll::spawn(async move {
                let mut child: Child = child;
                child.wait().await
            });
            // These run only if the waiter parked instead of blocking the worker.
            for _ in 0..3 {
                netpoll::time::sleep(Duration::from_millis(5)).await;
                let other = netpoll::spawn(async { 1 + 1 });
                assert_eq!(other.await.unwrap(), 2);
            }
            assert!(!waiter.is_finished());
            // SAFETY: kill(2) on our own unreaped child.
            assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
            let st = waiter.await.unwrap().unwrap();
            assert_eq!(st.signal(), Some(libc::SIGTERM));
        })
    });
}

#[test]
fn wait_does_not_block_a_one_worker_runtime() {
    wait_leaves_the_worker_free(rt(1));
}

#[test]
fn wait_does_not_block_a_current_thread_runtime() {
    wait_leaves_the_worker_free(rt_current());
}

#[test]
fn many_children_at_once() {
    run(async {
        let mut tasks = Vec::new();
        for i in 0..40 {
            tasks.push(netpoll::spawn(async move {
                Command::new("sh")
                    .args(["-c", &format!("exit {}", i % 7)])
                    .status()
                    .await
                    .unwrap()
                    .code()
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Some((i % 7) as i32));
        }
    });
}

#[test]
fn child_stdout_chains_into_the_next_child() {
    run(async {
        let mut first = Command::new("sh")
            .args(["-c", "echo hello pipeline"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdio: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let out = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(stdio)
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"HELLO PIPELINE\n");
        assert!(first.wait().await.unwrap().success());

        // into_owned_fd hands back a blocking pipe.
        let mut c = Command::new("sh")
            .args(["-c", "printf abc"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let fd = c.stdout.take().unwrap().into_owned_fd().unwrap();
        // SAFETY: F_GETFL on a live fd we own.
        let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s).unwrap();
        assert_eq!(s, "abc");
        c.wait().await.unwrap();
    });
}

#[test]
fn builder_options_reach_the_child() {
    run(async {
        let dir = std::env::temp_dir();
        let mut std_cmd = std::process::Command::new("sh");
        std_cmd.arg("-c");
        let mut cmd = Command::from(std_cmd);
        cmd.arg(r#"printf '%s|%s|%s|%s|' "$0" "$A" "$B" "$C"; pwd; ps -o pgid= -p $$ 2>/dev/null || echo"#)
            .arg0("myname")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs([("A", "1"), ("B", "2")])
            .env("C", "3")
            .env_remove("C")
            .current_dir(&dir)
            .process_group(0);
        assert_eq!(cmd.as_std().get_program(), "sh");
        cmd.as_std_mut().env("B", "two");
        let out = cmd.output().await.unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert!(
            first == format!("myname|1|two||{}", dir.display())
                || first == format!("myname|1|two||{}", canon.display()),
            "{first}"
        );
        assert!(out.status.success());
        let std_back = cmd.into_std();
        assert_eq!(std_back.get_program(), "sh");
    });
}

#[test]
fn spawn_outside_a_runtime_fails_without_starting_anything() {
    let err = Command::new("true").spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
}

#[test]
fn wait_with_output_reads_both_streams_while_waiting() {
    run(async {
        // More than a pipe buffer on each stream: waiting first and reading after would hang.
        let child = Command::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; exit 2",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.stdout.len(), 300_000);
        assert_eq!(out.stderr.len(), 200_000);
        assert_eq!(out.status.code(), Some(2));
    });
}

#[test]
fn no_zombies_after_many_dropped_children() {
    run(async {
        let mut pids = Vec::new();
        for _ in 0..20 {
            let c = Command::new("true").spawn().unwrap();
            pids.push(c.id().unwrap());
        }
        for pid in pids {
            assert!(reaped(pid).await, "child {pid} left a zombie");
        }
    });
}

#[test]
fn writing_to_an_exited_childs_stdin_is_broken_pipe() {
    run(async {
        let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        assert!(child.wait().await.unwrap().success());
        let err = stdin.write_all(&[0u8; 100_000]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

/// A `Child` dropped outside any runtime cannot be handed to a reaping task: it joins the
/// orphan queue, which the next spawn sweeps. (Reads `/proc` to see the zombie.)
#[cfg(target_os = "linux")]
#[test]
fn orphan_dropped_outside_a_runtime_is_reaped_by_the_next_spawn() {
    bounded(LIMIT, || {
        let rt = rt(1);
        let mut child = rt.block_on(async {
            Command::new("sh")
                .args(["-c", "read line"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap()
        });
        let pid = child.id().unwrap();
        let stdin = child.stdin.take().unwrap();
        drop(child); // outside the runtime: queued
                     // Let it exit, and wait (bounded) until it is a zombie (or already reaped: spawns in
                     // the tests running beside this one sweep the same queue).
        rt.block_on(async move { drop(stdin) });
        let exited = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => true,
        };
        assert!(support::wait_until(Duration::from_secs(10), exited));
        rt.block_on(async move {
            assert!(Command::new("true").status().await.unwrap().success());
            assert!(
                !exists(pid),
                "the orphan {pid} was not reaped by the next spawn"
            );
        });
    });
}

#[test]
fn types_are_send_sync_unpin_like_tokios() {
    fn check<T: Send + Sync + Unpin>() {}
    fn check_send<T: Send>(_: &T) {}
    check::<Command>();
    check::<Child>();
    check::<netpoll::process::ChildStdin>();
    check::<netpoll::process::ChildStdout>();
    check::<netpoll::process::ChildStderr>();
    let mut cmd = Command::new("true");
    bounded(LIMIT, || {
        rt(1).block_on(async move {
            let status = cmd.status();
            check_send(&status);
            status.await.unwrap();
            let mut child = cmd.spawn().unwrap();
            let wait = child.wait();
            check_send(&wait);
            wait.await.unwrap();
        })
    });
}

/// `wait` is cancel safe: cancelled many times, a later call still gets the exit.
#[test]
fn wait_is_cancel_safe() {
    run(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        for _ in 0..5 {
            let r = netpoll::time::timeout(Duration::from_millis(1), child.wait()).await;
            assert!(r.is_err());
        }
        child.start_kill().unwrap();
        let st = netpoll::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("wait after cancellations")
            .unwrap();
        assert_eq!(st.signal(), Some(libc::SIGKILL));
    });
}
