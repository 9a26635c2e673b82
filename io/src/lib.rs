//! Asynchronous I/O for netpoll.
//!
//! For now this crate carries the netpoller's readiness API ([`Registration`]) that sockets are
//! built on; the `AsyncRead`/`AsyncWrite` traits and the zero-copy `copy` come with the sockets
//! issue.

#![warn(missing_docs)]

pub use netpoll_runtime::io::{Direction, ReadyEvent, Registration};
