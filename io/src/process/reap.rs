//! [`Reaper`]: a running child and the watch on its exit; and the orphan queue, which reaps the
//! children whose `Child` was dropped before they were waited for.
//!
//! A `Child` dropped while its process runs hands its `Reaper` to a task on the current runtime
//! that waits for the exit (so no zombie is left). If there is no runtime, or that task is
//! dropped unfinished (the runtime shut down), the process goes to the orphan queue, which is
//! swept (`waitpid(WNOHANG)` each) at every later spawn and every `SIGCHLD` seen.

use std::io;
use std::process::ExitStatus;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use super::sys::ExitWatch;

static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Reaps every orphan that has exited; forgets those that can no longer be waited for.
pub(super) fn reap_orphans() {
    let mut orphans = ORPHANS.lock().unwrap_or_else(PoisonError::into_inner);
    orphans.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

/// A spawned, not yet reaped, process.
pub(super) struct Reaper {
    /// `Some` until dropped. Its stdio has been taken. std caches the status once reaped, so
    /// the process is never waited for twice.
    std: Option<std::process::Child>,
    watch: ExitWatch,
}

impl Reaper {
    pub(super) fn new(
        std: std::process::Child,
    ) -> Result<Reaper, (io::Error, std::process::Child)> {
        match ExitWatch::new(std.id()) {
            Ok(watch) => Ok(Reaper {
                std: Some(std),
                watch,
            }),
            Err(e) => Err((e, std)),
        }
    }

    fn std(&mut self) -> &mut std::process::Child {
        match &mut self.std {
            Some(c) => c,
            None => unreachable!("only Drop takes the child"),
        }
    }

    pub(super) fn id(&self) -> Option<u32> {
        self.std.as_ref().map(std::process::Child::id)
    }

    /// `waitpid(WNOHANG)`.
    pub(super) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.std().try_wait()
    }

    /// `SIGKILL`.
    pub(super) fn kill(&mut self) -> io::Result<()> {
        self.std().kill()
    }

    /// Ready with the exit status once the process has exited (and been reaped).
    pub(super) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let Reaper { std, watch } = self;
        let Some(std) = std else {
            unreachable!("only Drop takes the child");
        };
        watch.poll_exit(cx, || std.try_wait())
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut std) = self.std.take() {
            if let Ok(None) = std.try_wait() {
                ORPHANS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(std);
            }
        }
    }
}
