//! Child processes, like `tokio::process`: [`Command`] spawns them, [`Child`] waits for them
//! and kills them, and [`ChildStdin`]/[`ChildStdout`]/[`ChildStderr`] talk to them through
//! non-blocking pipes registered in the netpoller.
//!
//! Waiting never blocks a worker. On Linux each child gets a pidfd (`pidfd_open`) registered
//! in the netpoller, readable once the child exits; where pidfds are unavailable (kernels
//! before 5.3, a seccomp filter) and on the other unix systems, one process-wide `SIGCHLD`
//! listener (netpoll's [signal API](netpoll_runtime::signal::unix)) wakes the waiters, and each
//! checks its own child with `waitpid(WNOHANG)`.
//!
//! ```
//! use netpoll_io::process::Command;
//!
//! let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let output = Command::new("sh").args(["-c", "echo hello; echo oops >&2; exit 3"])
//!         .output()
//!         .await
//!         .unwrap();
//!     assert_eq!(output.stdout, b"hello\n");
//!     assert_eq!(output.stderr, b"oops\n");
//!     assert_eq!(output.status.code(), Some(3));
//! });
//! ```
//!
//! # Dropping a `Child`
//! As with the standard library, and unlike most futures, dropping a [`Child`] does not stop the
//! process: it keeps running unless [`Command::kill_on_drop`] was set. Either way it is reaped
//! when it exits, so no zombie is left behind: a task on the current runtime waits for it. If
//! that is impossible (no runtime, or the runtime shuts down first), the process joins an
//! orphan queue that is swept at every later spawn (and, on the `SIGCHLD` path, at every
//! `SIGCHLD`), as tokio sweeps its orphans when its signal driver runs.

use std::ffi::OsStr;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::task::{ready, Poll};

use netpoll_runtime::runtime::Handle;

mod pipe;
mod reap;
mod sys;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

use reap::Reaper;

/// A process builder, like `tokio::process::Command`: `std::process::Command` plus
/// [`kill_on_drop`](Command::kill_on_drop), whose `spawn`, `status` and `output` give a
/// [`Child`] that is waited for asynchronously.
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command for the program `program` (looked up in `PATH` if it has no `/`), with no
    /// arguments, the parent's environment and working directory, and inherited stdio.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// The `std::process::Command` inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std::process::Command` inside, to configure what this type does not wrap.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The `std::process::Command` inside; the `kill_on_drop` setting is lost.
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment (then only variables set with `env` are passed).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input (`Stdio::piped()` gives [`Child::stdin`]). Defaults to
    /// inherited for `spawn` and `status`.
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's standard output (`Stdio::piped()` gives [`Child::stdout`]). Defaults to
    /// inherited for `spawn` and `status`.
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's standard error (`Stdio::piped()` gives [`Child::stderr`]). Defaults to
    /// inherited for `spawn` and `status`.
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] (or the future of [`status`](Command::status) or
    /// [`output`](Command::output)) before the process exited kills it with `SIGKILL`. Off
    /// by default, as in the standard library.
    ///
    /// # Caveats
    /// The killed process still has to be reaped, which a destructor cannot wait for: it is
    /// reaped in the background (see the [module docs](self)), on a best-effort basis. Where
    /// that matters, `child.kill().await` instead of dropping the `Child`.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The value set with [`kill_on_drop`](Command::kill_on_drop) (`false` by default).
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Sets the child's user id (`setuid`).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Sets the child's group id (`setgid`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by the child).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Sets the child's `argv[0]` (by default the program name).
    pub fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>,
    {
        self.std.arg0(arg);
        self
    }

    /// Runs `f` in the child after `fork` and before `exec`; an error aborts the spawn.
    ///
    /// # Safety
    /// As for `std::os::unix::process::CommandExt::pre_exec`: `f` runs in a copy of a
    /// multi-threaded process and may only do async-signal-safe things (no allocation, no
    /// locks another thread may hold).
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds `pre_exec`'s contract, which is this function's.
        unsafe { self.std.pre_exec(f) };
        self
    }

    /// Spawns the process now and returns its [`Child`], whose `stdin`/`stdout`/`stderr` are
    /// set for the streams configured as `Stdio::piped()`.
    ///
    /// Must be called inside a netpoll runtime (the pipes and the exit watch register with
    /// its netpoller); outside one it fails before starting anything. If the process started
    /// but cannot be watched, it is killed and the error returned.
    ///
    /// # Errors
    /// Those of `std::process::Command::spawn` (`NotFound` for a missing program, and
    /// `WouldBlock` when the system's process limit is reached), those of registering the
    /// pipes and the exit watch, and an error outside a runtime.
    pub fn spawn(&mut self) -> io::Result<Child> {
        // Checked before the process exists: a process we could not watch would be lost.
        Handle::try_current().map_err(io::Error::other)?;
        reap::reap_orphans();
        let mut std = self.std.spawn()?;
        let stdin = std.stdin.take();
        let stdout = std.stdout.take();
        let stderr = std.stderr.take();
        let reaper = match Reaper::new(std) {
            Ok(r) => r,
            Err((e, mut std)) => {
                let _ = std.kill();
                let _ = std.wait();
                return Err(e);
            }
        };
        // From here a failure drops `child`, which kills (if asked) and reaps the process.
        let mut child = Child {
            state: State::Running(reaper),
            kill_on_drop: true,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        child.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        child.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        child.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        child.kill_on_drop = self.kill_on_drop;
        Ok(child)
    }

    /// Spawns the process (now, not when the future is first polled), closes any pipes
    /// configured for it, and resolves to its exit status. Stdio defaults to inherited.
    ///
    /// Dropping the future kills the process if [`kill_on_drop`](Command::kill_on_drop) is
    /// set. Fails if the process cannot be spawned or waited for.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            // Our ends of any pipes are closed right away, as documented.
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Spawns the process (now) with stdout and stderr **always** piped (whatever was
    /// configured; stdin keeps its setting, inherited by default) and resolves to its status
    /// and everything it wrote, like [`Child::wait_with_output`].
    ///
    /// Dropping the future kills the process if [`kill_on_drop`](Command::kill_on_drop) is
    /// set.
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        let child = self.spawn();
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

enum State {
    Running(Reaper),
    /// Reaped: the pid may belong to another process now.
    Done(ExitStatus),
}

/// A spawned process, like `tokio::process::Child`: wait for it, kill it, and talk to it
/// through the pipes in its public fields.
///
/// See the [module docs](self) for what dropping it does.
pub struct Child {
    state: State,
    kill_on_drop: bool,
    /// The child's stdin, if it was configured as `Stdio::piped()` (take it to own it).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was configured as `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was configured as `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The process id while the child has not been reaped; `None` afterwards (the id may
    /// then name another process).
    pub fn id(&self) -> Option<u32> {
        match &self.state {
            State::Running(r) => r.id(),
            State::Done(_) => None,
        }
    }

    /// Sends `SIGKILL` and returns without waiting. The process still has to be reaped:
    /// call [`wait`](Child::wait) (or `try_wait` until it reports the exit). Fails with
    /// `InvalidInput` once the child has been reaped.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Running(r) => r.kill(),
            State::Done(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid argument: can't kill an exited process",
            )),
        }
    }

    /// Sends `SIGKILL` and waits for the process to exit (unlike std's `Child::kill`, which
    /// does not wait). Fails with `InvalidInput` once the child has been reaped.
    ///
    /// # Cancel safety
    /// Cancel safe: the signal is sent on the first poll; cancelling only stops the waiting.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Waits for the process to exit and returns its status (the same status on every later
    /// call). Closes our end of its stdin first (`self.stdin` becomes `None`), so a child
    /// reading its input sees end of file instead of waiting for us while we wait for it.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing; a later call waits on.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| match &mut self.state {
            State::Running(r) => {
                let status = ready!(r.poll_wait(cx))?;
                self.state = State::Done(status);
                Poll::Ready(Ok(status))
            }
            State::Done(status) => Poll::Ready(Ok(*status)),
        })
        .await
    }

    /// The exit status if the process has exited (reaping it), `None` if it still runs;
    /// never blocks, and does not close stdin or register for a wake-up. Once the child has
    /// been reaped, returns the same status every time.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.state {
            State::Running(r) => {
                let status = r.try_wait()?;
                if let Some(status) = status {
                    self.state = State::Done(status);
                }
                Ok(status)
            }
            State::Done(status) => Ok(Some(*status)),
        }
    }

    /// Closes stdin (as [`wait`](Child::wait) does), then reads all of stdout and stderr
    /// (those that are piped) while waiting for the process to exit, and returns all three.
    /// A stream that was not piped (or was taken) gives an empty `Vec`.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        async fn read_all<R: crate::AsyncRead + Unpin>(r: Option<R>) -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            if let Some(mut r) = r {
                crate::AsyncReadExt::read_to_end(&mut r, &mut out).await?;
            }
            Ok(out)
        }
        drop(self.stdin.take());
        let stdout = read_all(self.stdout.take());
        let stderr = read_all(self.stderr.take());
        let (status, stdout, stderr) = netpoll_runtime::try_join!(self.wait(), stdout, stderr)?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Done(ExitStatus::default()));
        let State::Running(mut reaper) = state else {
            return;
        };
        if self.kill_on_drop {
            let _ = reaper.kill();
        }
        if let Ok(Some(_)) = reaper.try_wait() {
            return;
        }
        // Still running: reap it when it exits. Without a runtime (or when the task never
        // finishes) the reaper's own drop puts the process on the orphan queue.
        if let Ok(handle) = Handle::try_current() {
            drop(handle.spawn(async move {
                let _ = poll_fn(|cx| reaper.poll_wait(cx)).await;
            }));
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match &self.state {
            State::Running(_) => None,
            State::Done(s) => Some(*s),
        };
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &status)
            .field("kill_on_drop", &self.kill_on_drop)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
