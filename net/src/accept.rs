//! The accept loop shared by every listener: EMFILE back-off and skipping connections that
//! died in the backlog (tokio #3529, #4782: an accept loop must survive fd exhaustion without
//! spinning).

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll_io::Direction;
use socket2::SockAddr;

use crate::poll_evented::PollEvented;

/// Errors that mean "out of fds or memory for now": accept backs off and retries.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Errors about one pending connection (it died in the backlog): skip it.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(libc::EPROTO | libc::EPERM))
}

/// A listening socket: its registration and the "exhaustion was logged" flag.
/// Derefs to its [`PollEvented`], so listeners use the same shared macros as sockets.
pub(crate) struct Acceptor {
    io: PollEvented,
    /// Set once an fd-exhaustion episode was logged, cleared when accept succeeds again.
    exhausted_logged: AtomicBool,
}

impl Acceptor {
    pub(crate) fn new(io: PollEvented) -> Acceptor {
        Acceptor {
            io,
            exhausted_logged: AtomicBool::new(false),
        }
    }

    /// Deregisters and returns the fd (`into_std`).
    pub(crate) fn into_fd(self) -> io::Result<OwnedFd> {
        self.io.into_fd()
    }

    /// One `accept4(NONBLOCK | CLOEXEC)`, waiting for a connection; errors as they are.
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, SockAddr)>> {
        let fd = self.io.fd();
        self.io
            .poll_io(cx, Direction::Read, || crate::sys::accept(fd))
    }

    /// Accepts one connection. Resource exhaustion (EMFILE, ENFILE, ENOBUFS, ENOMEM) does not
    /// end an accept loop: this backs off (5 ms doubling to 500 ms, as Go's `http.Server`
    /// does), logs once per episode, and retries until fds free up. Connections that died in
    /// the backlog are skipped. Cancel safe.
    pub(crate) async fn accept(&self) -> io::Result<(OwnedFd, SockAddr)> {
        let mut delay = Duration::from_millis(5);
        loop {
            match std::future::poll_fn(|cx| self.poll_accept(cx)).await {
                Ok(r) => {
                    if self.exhausted_logged.swap(false, Relaxed) {
                        eprintln!("netpoll: accept on fd {} recovered", self.io.fd());
                    }
                    return Ok(r);
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    if !self.exhausted_logged.swap(true, Relaxed) {
                        eprintln!(
                            "netpoll: accept on fd {}: {e}; backing off until it recovers",
                            self.io.fd()
                        );
                    }
                    netpoll_runtime::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl std::ops::Deref for Acceptor {
    type Target = PollEvented;

    fn deref(&self) -> &PollEvented {
        &self.io
    }
}
