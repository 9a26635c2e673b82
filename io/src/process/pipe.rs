//! [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: the parent's ends of a child's pipes, made
//! non-blocking and registered once in the netpoller, like sockets.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{ready, Context, Poll};

use netpoll_runtime::io::{Direction, Registration};

use crate::{AsyncRead, AsyncWrite, ReadBuf, ZeroCopySink, ZeroCopySource};

/// One pipe end in the netpoller. Field order matters: the registration is dropped (the fd
/// leaves the netpoller) before the file closes the fd.
struct Pipe {
    reg: Registration,
    file: File,
}

/// Sets or clears `O_NONBLOCK` on the open file description of `fd`.
fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl(F_GETFL) on a live fd the caller borrows; no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: fcntl(F_SETFL) on the same live fd; no pointers.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, new) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(fd.as_fd(), true)?;
        let reg = Registration::new(fd.as_raw_fd())?;
        Ok(Pipe {
            reg,
            file: File::from(fd),
        })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let want = buf.remaining();
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled();
        let n = ready!(self
            .reg
            .poll_io_stream(cx, Direction::Read, want, || (&self.file).read(dst)))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    fn poll_write(&self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.reg
            .poll_io_stream(cx, Direction::Write, src.len(), || (&self.file).write(src))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let want = bufs.iter().map(|b| b.len()).sum();
        if want == 0 {
            return Poll::Ready(Ok(0));
        }
        self.reg.poll_io_stream(cx, Direction::Write, want, || {
            (&self.file).write_vectored(bufs)
        })
    }

    /// Leaves the netpoller and goes back to blocking mode, for a program (or a next child)
    /// that expects an ordinary pipe.
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let Pipe { reg, file } = self;
        reg.deregister()?;
        let fd = OwnedFd::from(file);
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

macro_rules! child_pipe {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            inner: Pipe,
        }

        impl $name {
            /// Wraps the standard library's pipe end: sets it non-blocking and registers it
            /// in the current runtime's netpoller. Fails (with the pipe closed) outside a
            /// runtime or if either step fails.
            pub fn from_std(inner: $std) -> io::Result<Self> {
                Ok($name {
                    inner: Pipe::new(OwnedFd::from(inner))?,
                })
            }

            /// The pipe end as an [`OwnedFd`], deregistered from the netpoller and back in
            /// blocking mode.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.inner.into_owned_fd()
            }
        }

        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            /// The pipe end (back in blocking mode) as the stdio of another child, to chain
            /// processes as a shell pipeline does.
            fn try_from(pipe: $name) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.file.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.file.as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.inner.file.as_raw_fd())
                    .finish()
            }
        }
    };
}

child_pipe!(
    /// The write end of a child's standard input, like `tokio::process::ChildStdin`:
    /// [`AsyncWrite`], non-blocking, in the netpoller. Dropping it closes the pipe (the child
    /// reads end of file). [`copy`](crate::copy) may `splice(2)` or `sendfile(2)` into it.
    ChildStdin,
    std::process::ChildStdin
);
child_pipe!(
    /// The read end of a child's standard output, like `tokio::process::ChildStdout`:
    /// [`AsyncRead`], non-blocking, in the netpoller. [`copy`](crate::copy) may `splice(2)`
    /// out of it (to a socket, say).
    ChildStdout,
    std::process::ChildStdout
);
child_pipe!(
    /// The read end of a child's standard error, like `tokio::process::ChildStderr`: the same
    /// as [`ChildStdout`].
    ChildStderr,
    std::process::ChildStderr
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Nothing is buffered: always ready.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: a pipe is closed by dropping its end (or taking it out of the `Child`).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The pipe with its registration: `splice(2)` and `sendfile(2)` write into pipes too.
    fn zero_copy_sink(&self) -> Option<ZeroCopySink<'_>> {
        Some(ZeroCopySink::Socket {
            fd: self.inner.file.as_raw_fd(),
            registration: &self.inner.reg,
        })
    }
}

macro_rules! async_read_pipe {
    ($name:ident) => {
        impl AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.inner.poll_read(cx, buf)
            }

            /// The pipe with its registration: `splice(2)` reads from pipes too.
            fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
                Some((
                    ZeroCopySource::Socket {
                        fd: self.inner.file.as_raw_fd(),
                        registration: &self.inner.reg,
                    },
                    None,
                ))
            }
        }
    };
}

async_read_pipe!(ChildStdout);
async_read_pipe!(ChildStderr);
