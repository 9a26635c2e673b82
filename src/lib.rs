//! # netpoll
//!
//! An async runtime built the way Go's runtime does networking: a work-stealing scheduler, a
//! netpoller (epoll on Linux, kqueue on macOS/FreeBSD) in which every fd is registered once,
//! edge-triggered, for both directions, and a sysmon thread that drains the poller when nobody
//! has and hands the queue of a worker stuck in a long poll to another thread.
//!
//! The API follows tokio's names, so a tokio program ports mostly by changing imports:
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = netpoll::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let task = netpoll::spawn(async {
//!         netpoll::time::sleep(Duration::from_millis(1)).await;
//!         "done"
//!     });
//!     assert_eq!(task.await.unwrap(), "done");
//! });
//! ```
//!
//! Guides: [getting started](guide::getting_started), [porting from
//! tokio](guide::porting_from_tokio), [how the netpoller and sysmon
//! work](guide::netpoller_and_sysmon), [zero-copy copy](guide::zero_copy),
//! [deadlines](guide::deadlines), [tuning](guide::tuning).

#![warn(missing_docs)]

pub use netpoll_runtime::{runtime, signal, spawn, spawn_blocking, task, time};

pub use netpoll_runtime::{join, pin, select, task_local, try_join};

/// An attribute from the `netpoll-macros` crate, re-exported so that it is written
/// `#[netpoll::main]` / `#[netpoll::test]` (like `#[tokio::main]` / `#[tokio::test]`).
pub use netpoll_macros::{main, test};

/// I/O: `AsyncRead`/`AsyncWrite` and their extensions, `copy`/`copy_bidirectional` (splice,
/// sendfile, buffered), and the netpoller's readiness API ([`io::Registration`]).
pub mod io {
    pub use netpoll_io::*;
}

/// Files, like `tokio::fs`: on a multi-thread runtime each call runs inline on the worker in a
/// syscall section (sysmon hands the worker's queue to another thread if the call blocks, as
/// Go's runtime does), elsewhere on the blocking pool; a `File` is a zero-copy source for
/// `io::copy` (sendfile).
pub mod fs {
    pub use netpoll_io::fs::*;
}

/// Child processes, like `tokio::process`: pipes in the netpoller, and waiting for an exit
/// through a pidfd (Linux) or `SIGCHLD`, never by blocking a worker.
pub mod process {
    pub use netpoll_io::process::*;
}

/// Sockets: TCP, UDP, Unix, with Go-style deadlines.
pub mod net {
    pub use netpoll_net::*;
}

pub mod sync;

/// Guides, each with runnable examples (`cargo test --doc` runs every one of them).
pub mod guide {
    #[doc = include_str!("../docs/getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../docs/porting-from-tokio.md")]
    pub mod porting_from_tokio {}
    #[doc = include_str!("../docs/netpoller-and-sysmon.md")]
    pub mod netpoller_and_sysmon {}
    #[doc = include_str!("../docs/zero-copy.md")]
    pub mod zero_copy {}
    #[doc = include_str!("../docs/deadlines.md")]
    pub mod deadlines {}
    #[doc = include_str!("../docs/tuning.md")]
    pub mod tuning {}
}

#[cfg(feature = "hyper")]
pub mod hyper;
