//! The process's standard streams: [`stdin()`], [`stdout()`] and [`stderr()`], like tokio's.
//!
//! They are std's blocking handles driven through the blocking pool (see
//! [`Blocking`](crate::blocking::Blocking)): a terminal or a pipe may be in blocking mode
//! and shared with other processes, so it cannot be switched to non-blocking mode and put on
//! the netpoller.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::blocking::Blocking;
use crate::{AsyncRead, AsyncWrite, ReadBuf};

/// The standard input of the process, like `tokio::io::Stdin`; made by [`stdin()`].
///
/// Reads run as ordinary blocking reads on the blocking pool, one at a time, and **a read
/// that has started cannot be cancelled**: dropping the future (or the `Stdin`) leaves it
/// waiting for input, and shutting the runtime down waits for it (up to the shutdown
/// timeout) too. That suits input piped from a file or another program; for an interactive
/// prompt, read std's stdin on a thread of your own and send the lines to the tasks.
///
/// Bytes a read got beyond what the caller had room for stay in this handle for its next
/// read; different `Stdin` handles share only std's own buffer.
pub struct Stdin {
    std: Blocking<io::Stdin>,
    handle: io::Stdin,
}

/// A handle to the standard input of the process (see [`Stdin`]).
///
/// ```no_run
/// use netpoll_io::{stdin, AsyncBufReadExt, BufReader};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut lines = BufReader::new(stdin()).lines();
///     while let Some(line) = lines.next_line().await.unwrap() {
///         println!("got {line:?}");
///     }
/// });
/// ```
///
/// # Panics
///
/// Reading from it outside a runtime panics (it needs the blocking pool).
pub fn stdin() -> Stdin {
    Stdin {
        std: Blocking::new(io::stdin),
        handle: io::stdin(),
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().std.poll_read(cx, buf)
    }
}

macro_rules! output_stream {
    (
        $(#[$type_doc:meta])* $name:ident,
        $(#[$fn_doc:meta])* $ctor:ident
    ) => {
        $(#[$type_doc])*
        pub struct $name {
            std: Blocking<io::$name>,
            handle: io::$name,
        }

        $(#[$fn_doc])*
        pub fn $ctor() -> $name {
            $name {
                std: Blocking::new(io::$ctor),
                handle: io::$ctor(),
            }
        }

        impl AsyncWrite for $name {
            /// Waits for the write in flight (reporting its error, if it failed), copies (up
            /// to 2 MiB of) `buf` and starts writing it on the blocking pool.
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().std.poll_write(cx, buf)
            }

            /// Waits for the write in flight, then flushes std's handle.
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().std.poll_flush(cx)
            }

            /// The same as [`poll_flush`](Self::poll_flush): the stream itself stays open
            /// (other handles, and std's, may still use it).
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().std.poll_flush(cx)
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.handle.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.handle.as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

output_stream!(
    /// The standard output of the process, like `tokio::io::Stdout`; made by [`stdout()`].
    ///
    /// Each write is copied into the handle's buffer and written by one `write_all` on the
    /// blocking pool, under std's stdout lock, while the task goes on: **one write is kept
    /// whole** against every other write of the process to stdout (through std, `println!`,
    /// or another `Stdout`), but a [`write_all`](crate::AsyncWriteExt::write_all) may take
    /// several writes, and those of different handles may interleave. Write a line (or a
    /// record) in one `write` to keep it whole.
    ///
    /// One write is in flight at a time, so writes through one handle reach stdout in order.
    /// **Writes through different handles are not ordered**: a handle dropped with a write in
    /// flight finishes it in the background, so a new handle made in its place may overtake
    /// it. Make one `Stdout` and keep it; [`flush`](crate::AsyncWriteExt::flush) waits for
    /// the write in flight and flushes std's line buffer, and reports a write's error.
    ///
    /// Unlike std's stdout, each [`stdout()`] call makes a separate handle: flushing one does
    /// not wait for another's writes.
    ///
    /// ```
    /// use netpoll_io::{stdout, AsyncWriteExt};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut out = stdout();
    ///     for word in ["one", "two", "three"] {
    ///         out.write_all(format!("{word}\n").as_bytes()).await.unwrap();
    ///     }
    ///     out.flush().await.unwrap();
    /// });
    /// ```
    Stdout,
    /// A handle to the standard output of the process (see [`Stdout`]).
    ///
    /// # Panics
    ///
    /// Writing to it outside a runtime panics (it needs the blocking pool).
    stdout
);

output_stream!(
    /// The standard error of the process, like `tokio::io::Stderr`; made by [`stderr()`].
    ///
    /// It works as [`Stdout`] does: each write is kept whole, writes through one handle are
    /// in order, [`flush`](crate::AsyncWriteExt::flush) waits for the write in flight and
    /// reports its error, and writes through different handles are not ordered.
    ///
    /// ```
    /// use netpoll_io::{stderr, AsyncWriteExt};
    ///
    /// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut err = stderr();
    ///     err.write_all(b"warning: nothing to do\n").await.unwrap();
    ///     err.flush().await.unwrap();
    /// });
    /// ```
    Stderr,
    /// A handle to the standard error of the process (see [`Stderr`]).
    ///
    /// # Panics
    ///
    /// Writing to it outside a runtime panics (it needs the blocking pool).
    stderr
);

impl AsRawFd for Stdin {
    fn as_raw_fd(&self) -> RawFd {
        self.handle.as_raw_fd()
    }
}

impl AsFd for Stdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.handle.as_fd()
    }
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin").finish_non_exhaustive()
    }
}
