//! Platform code: one selector backend per file, chosen here, so nothing above `sys` needs a
//! `cfg(target_os)`.
//!
//! Every backend offers the same interface:
//! - [`Selector`]: `new()`, `register(fd, token)` (once per fd, edge-triggered, both directions),
//!   `deregister(fd)`, `select(&mut Events, Option<Duration>)` (an interrupted wait returns `Ok`
//!   with no events) and `wake()` (interrupts a `select` from any thread; its event never reaches
//!   the caller).
//! - [`Events`] (`with_capacity`, `set_limit`, `iter`) yielding [`Event`]s that say `token()`, `is_readable()`,
//!   `is_writable()`, `is_read_closed()`, `is_write_closed()`, `is_error()`.

/// Turns a libc call's `-1` into `io::Error::last_os_error()`: `syscall!(close(fd))`. The one
/// such macro of netpoll's crates (netpoll-net and netpoll-io import it); not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! syscall {
    ($fn: ident ( $($arg: expr),* $(,)* ) ) => {{
        // SAFETY: every call site passes arguments valid for the named libc function; the
        // macro only adds the error check.
        #[allow(unused_unsafe, clippy::macro_metavars_in_unsafe)]
        let res = unsafe { libc::$fn($($arg, )*) };
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

mod sigpipe;
#[cfg(all(test, not(loom)))]
pub(crate) mod test_fds;
pub(crate) use sigpipe::ignore_sigpipe;

#[cfg(target_os = "linux")]
#[path = "epoll.rs"]
mod selector;

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
#[path = "kqueue.rs"]
mod selector;

pub(crate) use selector::{Event, Events, Selector};

#[cfg(target_os = "linux")]
#[path = "thread_linux.rs"]
pub(crate) mod thread;

#[cfg(not(target_os = "linux"))]
#[path = "thread_other.rs"]
pub(crate) mod thread;
