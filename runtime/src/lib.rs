//! netpoll's runtime core: a work-stealing scheduler, a netpoller (epoll on Linux, kqueue on
//! macOS/FreeBSD) built the way Go's runtime does it, timers, sysmon, and the blocking pool.
//!
//! Most users depend on the `netpoll` facade crate, which re-exports this one.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod blocking;
pub mod io;
pub(crate) mod loom;
pub mod runtime;
pub(crate) mod scheduler;
#[cfg(unix)]
pub mod signal;
mod sys;
pub mod task;
pub mod time;

pub use runtime::{spawn, spawn_blocking};
