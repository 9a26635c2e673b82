//! Linux: a pidfd (`pidfd_open(2)`, Linux 5.3) per child, registered in the netpoller. It turns
//! readable when the child exits, so waiting is an ordinary readiness wait.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{ready, Context, Poll};

use netpoll_runtime::io::Registration;

/// Set once `pidfd_open` turned out not to exist (or to be forbidden): later children go
/// straight to the `SIGCHLD` path.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// A pidfd in the netpoller. The registration is dropped before the fd is closed.
pub(in crate::process) struct PidFd {
    reg: Registration,
    _fd: OwnedFd,
}

impl PidFd {
    /// A pidfd for `pid`, or `None` where the kernel (or a seccomp filter) does not offer
    /// them. `pid` must be our unreaped child, so that it cannot name another process.
    pub(super) fn open(pid: u32) -> io::Result<Option<PidFd>> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // SAFETY: pidfd_open takes a pid and flags, no pointers; the new fd is close-on-exec.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if ret == -1 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::EACCES) => {
                    UNAVAILABLE.store(true, Ordering::Relaxed);
                    Ok(None)
                }
                _ => Err(e),
            };
        }
        // SAFETY: pidfd_open returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(ret as RawFd) };
        let reg = Registration::new(fd.as_raw_fd())?;
        Ok(Some(PidFd { reg, _fd: fd }))
    }

    pub(super) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        mut try_reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            // A fresh registration starts ready, so the first round always tries.
            let seen = ready!(self.reg.poll_read_ready(cx))?;
            if let Some(status) = try_reap()? {
                return Poll::Ready(Ok(status));
            }
            // Still running: forget the readiness we saw, unless the exit has arrived since.
            self.reg.clear_readiness(seen);
        }
    }
}
