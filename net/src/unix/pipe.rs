//! Unix pipes on the netpoller, like `tokio::net::unix::pipe`: an anonymous [`pipe`], or the
//! ends of a FIFO opened with [`OpenOptions`]. Each end is a [`Sender`] (write end) or a
//! [`Receiver`] (read end), registered once like a socket; their transfers are written once, in
//! `PollEvented` (with `read`/`write` instead of `recv`/`send`).
//!
//! ```
//! use netpoll_io::{AsyncReadExt, AsyncWriteExt};
//! # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
//! let (mut tx, mut rx) = netpoll_net::unix::pipe::pipe()?;
//! tx.write_all(b"through the pipe").await?;
//! drop(tx);
//! let mut got = String::new();
//! rx.read_to_string(&mut got).await?;
//! assert_eq!(got, "through the pipe");
//! # std::io::Result::Ok(()) }).unwrap();
//! ```

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use netpoll_io::{AsyncRead, AsyncWrite, Direction, ReadBuf};

use crate::poll_evented::PollEvented;
use crate::{Interest, Ready};

/// A new anonymous pipe, both ends registered with the current runtime: `(write end, read
/// end)`.
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let (r, w) = crate::sys::pipe()?;
    Ok((
        Sender {
            io: PollEvented::new_pipe(w)?,
        },
        Receiver {
            io: PollEvented::new_pipe(r)?,
        },
    ))
}

/// Options to open a FIFO (named pipe) as a [`Sender`] or a [`Receiver`].
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Default options: the mode of the end asked for, and a check that the file is a FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the FIFO for reading and writing. A sender opened so does not fail with `ENXIO`
    /// when no reader has the FIFO open, and a receiver never sees end of file while it is
    /// open. (tokio offers it on Linux, where POSIX leaves it defined; netpoll everywhere.)
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the file is a FIFO (saves an `fstat`).
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the FIFO at `path` as a [`Receiver`]. Fails with `InvalidInput` if it is not a
    /// FIFO (unless unchecked). Must be called inside a runtime.
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        let fd = self.open(path.as_ref(), Direction::Read)?;
        Ok(Receiver {
            io: PollEvented::new_pipe(fd)?,
        })
    }

    /// Opens the FIFO at `path` as a [`Sender`]. Without `read_write`, fails with `ENXIO` while
    /// no reader has it open. Must be called inside a runtime.
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        let fd = self.open(path.as_ref(), Direction::Write)?;
        Ok(Sender {
            io: PollEvented::new_pipe(fd)?,
        })
    }

    fn open(&self, path: &Path, d: Direction) -> io::Result<OwnedFd> {
        let file = std::fs::OpenOptions::new()
            .read(self.read_write || d == Direction::Read)
            .write(self.read_write || d == Direction::Write)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        if !self.unchecked {
            check_fifo(&file)?;
        }
        Ok(file.into())
    }
}

fn not_a_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a pipe")
}

fn check_fifo(file: &File) -> io::Result<()> {
    match file.metadata()?.file_type().is_fifo() {
        true => Ok(()),
        false => Err(not_a_pipe()),
    }
}

/// Checks that `fd` is a FIFO opened for direction `d` (tokio's `from_owned_fd`), then makes it
/// non-blocking.
fn checked(fd: OwnedFd, d: Direction) -> io::Result<OwnedFd> {
    let file = File::from(fd);
    check_fifo(&file)?;
    let fd = OwnedFd::from(file);
    let mode = crate::sys::access_mode(&fd)?;
    let ok = match d {
        Direction::Read => mode == libc::O_RDONLY || mode == libc::O_RDWR,
        Direction::Write => mode == libc::O_WRONLY || mode == libc::O_RDWR,
    };
    if !ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the pipe end is not open in the mode this end needs",
        ));
    }
    unchecked(fd)
}

fn unchecked(fd: OwnedFd) -> io::Result<OwnedFd> {
    crate::sys::set_nonblocking(&fd, true)?;
    Ok(fd)
}

/// Deregisters and hands the fd back in blocking mode.
fn into_blocking(io: PollEvented) -> io::Result<OwnedFd> {
    let fd = io.into_fd()?;
    crate::sys::set_nonblocking(&fd, false)?;
    Ok(fd)
}

/// What both pipe ends have: construction with or without the FIFO and access-mode checks,
/// `ready`, `try_io` for the end's own direction, and the way back to an fd.
macro_rules! pipe_end {
    ($t:ident, $d:expr, $interest:expr, $mode:literal) => {
        impl $t {
            #[doc = concat!("Wraps the ", $mode, " end of a FIFO opened as a `File`; `InvalidInput` if it is")]
            #[doc = concat!("not a FIFO open for ", $mode, "ing. Must be called inside a runtime.")]
            pub fn from_file(file: File) -> io::Result<$t> {
                $t::from_owned_fd(file.into())
            }

            /// [`from_file`](Self::from_file) for an `OwnedFd`.
            pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<$t> {
                $t::new(checked(owned_fd, $d)?)
            }

            /// [`from_file`](Self::from_file) without the checks.
            pub fn from_file_unchecked(file: File) -> io::Result<$t> {
                $t::from_owned_fd_unchecked(file.into())
            }

            /// [`from_owned_fd`](Self::from_owned_fd) without the checks.
            pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<$t> {
                $t::new(unchecked(owned_fd)?)
            }

            fn new(fd: OwnedFd) -> io::Result<$t> {
                Ok($t {
                    io: PollEvented::new_pipe(fd)?,
                })
            }

            /// Waits for the requested readiness and reports it (a read end only ever becomes
            /// readable or read-closed, a write end writable or write-closed).
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                self.io.ready(interest).await
            }

            #[doc = concat!("Runs the caller's ", $mode, " `f` if the end is ready for it now, else")]
            #[doc = concat!("`WouldBlock` without calling it; a `WouldBlock` from `f` clears ", $mode, " readiness.")]
            pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
                self.io.try_io($interest, f)
            }

            /// Deregisters the end and returns its fd in blocking mode.
            pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
                into_blocking(self.io)
            }

            /// Deregisters the end and returns its fd, still non-blocking.
            pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
                self.io.into_fd()
            }
        }

        crate::methods::fd_impls!($t);
    };
}

/// The write end of a pipe, like `tokio::net::unix::pipe::Sender`.
#[derive(Debug)]
pub struct Sender {
    io: PollEvented,
}

pipe_end!(Sender, Direction::Write, Interest::WRITABLE, "write");

impl Sender {
    /// Waits until the pipe has room (or the read end is gone).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// Polls for write readiness. Only the task of the last call is woken.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write)
    }

    /// Writes what fits without waiting; `WouldBlock` clears write readiness. `EPIPE` once the
    /// read end is closed (never a SIGPIPE).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// [`try_write`](Self::try_write) from several buffers.
    pub fn try_write_vectored(&self, buf: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(buf)
    }
}

impl AsyncWrite for Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// A pipe has no half-close: the read end sees end of file when the `Sender` is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The read end of a pipe, like `tokio::net::unix::pipe::Receiver`.
#[derive(Debug)]
pub struct Receiver {
    io: PollEvented,
}

pipe_end!(Receiver, Direction::Read, Interest::READABLE, "read");

impl Receiver {
    /// Waits until there is data (or every write end is closed).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(|_| ())
    }

    /// Polls for read readiness. Only the task of the last call is woken.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read)
    }

    /// Reads what is there without waiting: `Ok(0)` once every write end is closed;
    /// `WouldBlock` clears read readiness.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// [`try_read`](Self::try_read) into several buffers.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// [`try_read`](Self::try_read) into a `BufMut`, advancing it.
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_read_buf(buf)
    }
}

impl AsyncRead for Receiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read(cx, buf)
    }
}
