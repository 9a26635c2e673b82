//! Asynchronous I/O for netpoll: the `AsyncRead`/`AsyncWrite` traits with tokio's shapes (and
//! their impls for std's in-memory types), their extension traits, buffering, splitting and
//! joining, in-memory pipes, futures-io interop, async files ([`fs`]), child processes
//! ([`process`]), the standard streams,
//! readiness types ([`Interest`], [`Ready`]), `copy_buf`, and `copy`/`copy_bidirectional`,
//! which use `splice(2)` and `sendfile(2)` where the reader and writer offer a zero-copy form
//! (Go's `io.Copy`), and a buffered loop everywhere else.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod blocking;
mod copy;
mod copy_buf;
mod interest;
mod join;
mod read_buf;
mod ready;
mod stdio;
mod traits;

pub use interest::Interest;
pub use read_buf::ReadBuf;
pub use ready::Ready;

// tokio re-exports these std items from `tokio::io`, so code written as `io::Result<()>` or
// `io::ErrorKind::WouldBlock` after `use tokio::io;` builds here too.
pub use std::io::{Error, ErrorKind, Result, SeekFrom};
pub use traits::{AsyncBufRead, AsyncRead, AsyncWrite, ZeroCopySink, ZeroCopySource};

pub use netpoll_runtime::io::{Direction, ReadyEvent, Registration};

pub use copy::{
    copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_path, copy_stats, poll_copy,
    Copy, CopyPath, CopyStats,
};
pub use copy_buf::copy_buf;
pub use join::{join, Join};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};

mod buffered;
pub mod ext;
mod seek;
mod split;
mod util;

pub use buffered::{BufReader, BufStream, BufWriter, Lines, Split};
pub use ext::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, Chain, Take};
pub use seek::{AsyncSeek, AsyncSeekExt};
pub use split::{split, ReadHalf, WriteHalf};
pub use util::{
    duplex, empty, repeat, simplex, sink, DuplexStream, Empty, Repeat, SimplexStream, Sink,
};

pub mod fs;
pub mod process;

#[cfg(feature = "futures-io")]
mod compat;
#[cfg(feature = "futures-io")]
pub use compat::{
    Compat, FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt, TokioAsyncReadCompatExt,
    TokioAsyncWriteCompatExt,
};

#[cfg(unix)]
mod async_fd;

/// Unix-only I/O at tokio's path: [`AsyncFd`](unix::AsyncFd), readiness of any fd through the
/// netpoller, and its guards.
#[cfg(unix)]
pub mod unix {
    pub use crate::async_fd::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdRegisterError, AsyncFdTryNewError,
        TryIoError,
    };
}
