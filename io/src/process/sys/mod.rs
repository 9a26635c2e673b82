//! How the parent learns that a child exited, per platform: a pidfd in the netpoller on Linux
//! (`pidfd.rs`), `SIGCHLD` through netpoll's signal API elsewhere and where pidfds are
//! unavailable (`sigchld.rs`). Above this module nothing depends on the platform.
//!
//! Either way the protocol is the same: learn the state of the notification, try to reap
//! (`waitpid(WNOHANG)`), and only if the child is still running park until the notification
//! changes. A notification that arrives between the try and the park is never lost.

use std::io;
use std::process::ExitStatus;
use std::task::{Context, Poll};

#[cfg(target_os = "linux")]
mod pidfd;
mod sigchld;

/// Watches one child for its exit.
pub(super) enum ExitWatch {
    #[cfg(target_os = "linux")]
    Pidfd(pidfd::PidFd),
    Sigchld(sigchld::Listener),
}

impl ExitWatch {
    /// Starts watching `pid` (our unreaped child) from the current runtime.
    pub(super) fn new(pid: u32) -> io::Result<ExitWatch> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = pidfd::PidFd::open(pid)? {
            return Ok(ExitWatch::Pidfd(fd));
        }
        let _ = pid;
        Ok(ExitWatch::Sigchld(sigchld::Listener::new()?))
    }

    /// Calls `try_reap` until it returns a status, parking between tries until the child may
    /// have exited.
    pub(super) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        try_reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            #[cfg(target_os = "linux")]
            ExitWatch::Pidfd(fd) => fd.poll_exit(cx, try_reap),
            ExitWatch::Sigchld(l) => l.poll_exit(cx, try_reap),
        }
    }
}
