//! Unix signals through the netpoller (tokio's `signal::unix`).
//!
//! Each [`Signal`] owns a non-blocking pipe whose read end is registered with the runtime's
//! netpoller. A process-wide handler, installed once per signal number with `sigaction`, writes
//! one byte to the write end of every listener of that signal. The handler only does
//! async-signal-safe things: atomic loads/stores and `write(2)`.
//!
//! Listener slots (a fixed table): `signum` (0 = free), `fd` (-1 = none), `busy` (handlers
//! inside a `write` to this slot). Dropping a `Signal` clears `fd`, waits until `busy` is 0, and
//! only then closes the pipe, so a handler never writes to a closed (or reused) fd number.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};

use crate::io::{Direction, Registration};

const SLOTS: usize = 128;
const MAX_SIGNUM: usize = 65;

struct Slot {
    signum: AtomicI32,
    fd: AtomicI32,
    busy: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    signum: AtomicI32::new(0),
    fd: AtomicI32::new(-1),
    busy: AtomicUsize::new(0),
};
static TABLE: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
#[allow(clippy::declare_interior_mutable_const)]
const NOT_INSTALLED: AtomicBool = AtomicBool::new(false);
static INSTALLED: [AtomicBool; MAX_SIGNUM] = [NOT_INSTALLED; MAX_SIGNUM];
static INSTALL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

extern "C" fn handler(signum: libc::c_int) {
    let errno = io::Error::last_os_error().raw_os_error();
    for slot in TABLE.iter() {
        if slot.signum.load(SeqCst) != signum {
            continue;
        }
        slot.busy.fetch_add(1, SeqCst);
        let fd = slot.fd.load(SeqCst);
        if fd >= 0 {
            let b = 1u8;
            // SAFETY: `fd` is the write end of a live pipe: its owner clears `fd` and waits for
            // `busy == 0` before closing it. write(2) is async-signal-safe. A full pipe just
            // means a wake-up is pending already.
            let _ = unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
        }
        slot.busy.fetch_sub(1, SeqCst);
    }
    // Restore errno for the interrupted code.
    if let Some(e) = errno {
        // SAFETY: writing the thread's errno location is what the interrupted code expects.
        unsafe { *libc_errno() = e };
    }
}

#[cfg(target_os = "linux")]
fn libc_errno() -> *mut libc::c_int {
    // SAFETY: returns the calling thread's errno location.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn libc_errno() -> *mut libc::c_int {
    // SAFETY: returns the calling thread's errno location.
    unsafe { libc::__error() }
}

fn install(signum: libc::c_int) -> io::Result<()> {
    let idx = usize::try_from(signum)
        .ok()
        .filter(|&i| i > 0 && i < MAX_SIGNUM);
    let Some(idx) = idx else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for"),
        ));
    };
    if matches!(
        signum,
        libc::SIGKILL | libc::SIGSTOP | libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE
    ) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for"),
        ));
    }
    let _g = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if INSTALLED[idx].load(SeqCst) {
        return Ok(());
    }
    // SAFETY: an all-zero sigaction is a valid starting point; we set the handler, an empty
    // mask and SA_RESTART, and pass valid pointers.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(signum, &sa, std::ptr::null_mut()) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    INSTALLED[idx].store(true, SeqCst);
    Ok(())
}

/// A kind of Unix signal, like `tokio::signal::unix::SignalKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// SIGALRM.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
    /// SIGCHLD.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }
    /// SIGHUP.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }
    /// SIGINT (Ctrl-C).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }
    /// SIGIO.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }
    /// SIGPIPE.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }
    /// SIGQUIT.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }
    /// SIGTERM.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }
    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }
    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }
    /// SIGWINCH.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
    /// SIGINFO (BSD and macOS).
    #[cfg(any(
        target_os = "freebsd",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    pub const fn info() -> SignalKind {
        SignalKind(libc::SIGINFO)
    }
    /// Any signal number.
    pub const fn from_raw(signum: std::os::raw::c_int) -> SignalKind {
        SignalKind(signum)
    }
    /// The signal number.
    pub const fn as_raw_value(&self) -> std::os::raw::c_int {
        self.0
    }
}

impl From<std::os::raw::c_int> for SignalKind {
    fn from(signum: std::os::raw::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for std::os::raw::c_int {
    fn from(kind: SignalKind) -> std::os::raw::c_int {
        kind.0
    }
}

/// A stream of deliveries of one signal. Deliveries that arrive while nobody awaits are
/// coalesced into one.
///
/// ```no_run
/// use netpoll_runtime::signal::unix::{signal, SignalKind};
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut term = signal(SignalKind::terminate())?;
/// term.recv().await;
/// println!("shutting down");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Signal {
    reg: Registration,
    slot: usize,
    read: OwnedFd,
    write: OwnedFd,
}

/// Listens for `kind` from now on (in the current runtime).
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    install(kind.0)?;
    let mut fds = [0 as libc::c_int; 2];
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `fds` has room for the two fds pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: `fds` has room for the two fds pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: plain fcntl calls on the fds just created.
            unsafe {
                libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
    // SAFETY: the pipe's fds are new and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let reg = Registration::new(read.as_raw_fd())?;
    let slot = claim(kind.0, write.as_raw_fd())?;
    Ok(Signal {
        reg,
        slot,
        read,
        write,
    })
}

fn claim(signum: libc::c_int, fd: RawFd) -> io::Result<usize> {
    for (i, slot) in TABLE.iter().enumerate() {
        if slot.signum.compare_exchange(0, -1, SeqCst, SeqCst).is_ok() {
            slot.fd.store(fd, SeqCst);
            slot.signum.store(signum, SeqCst);
            return Ok(i);
        }
    }
    Err(io::Error::other("too many signal listeners"))
}

impl Signal {
    /// Waits for the next delivery. Never returns `None` while the runtime runs (the stream
    /// does not end); `None` means the runtime is gone.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for a delivery.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let fd = self.read.as_raw_fd();
        let drained = self.reg.poll_io(cx, Direction::Read, || {
            let mut buf = [0u8; 64];
            // SAFETY: reading into a local buffer of the given length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match drained {
            Poll::Ready(Ok(n)) if n > 0 => {
                // Drain any further bytes: deliveries coalesce.
                loop {
                    let mut buf = [0u8; 64];
                    // SAFETY: as above.
                    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                    if n <= 0 {
                        break;
                    }
                }
                Poll::Ready(Some(()))
            }
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        let slot = &TABLE[self.slot];
        slot.fd.store(-1, SeqCst);
        while slot.busy.load(SeqCst) != 0 {
            std::hint::spin_loop();
        }
        slot.signum.store(0, SeqCst);
        let _ = self.write.as_raw_fd();
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal").field("slot", &self.slot).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "Miri does not support sigaction")]
    fn a_raised_signal_wakes_the_listener() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut s = signal(SignalKind::user_defined1()).unwrap();
            let mut s2 = signal(SignalKind::user_defined1()).unwrap();
            // SAFETY: raising a signal we installed a handler for.
            unsafe { libc::raise(libc::SIGUSR1) };
            crate::time::timeout(std::time::Duration::from_secs(5), s.recv())
                .await
                .unwrap()
                .unwrap();
            crate::time::timeout(std::time::Duration::from_secs(5), s2.recv())
                .await
                .unwrap()
                .unwrap();
        });
    }
}
