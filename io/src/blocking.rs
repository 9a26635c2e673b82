//! Blocking std I/O driven through the blocking pool: the reusable buffer that
//! [`fs::File`](crate::fs::File) and the standard streams hand to the pool, and [`Blocking`],
//! the one-operation-at-a-time adapter behind [`Stdin`](crate::Stdin),
//! [`Stdout`](crate::Stdout) and [`Stderr`](crate::Stderr).

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use netpoll_runtime::task::JoinHandle;

use crate::ReadBuf;

/// The largest read or write handed to the blocking pool at once (tokio's default too).
pub(crate) const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// A buffer that travels to the blocking pool with each operation and comes back with its
/// result. `data` is always initialised; the live bytes are `data[pos..end]`.
#[derive(Default)]
pub(crate) struct Buf {
    pub(crate) data: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) end: usize,
}

impl Buf {
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    pub(crate) fn len(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    fn ensure(&mut self, n: usize) {
        if self.data.len() < n {
            self.data.resize(n, 0);
        }
    }

    /// Moves as many live bytes as fit into `dst`.
    pub(crate) fn copy_to(&mut self, dst: &mut ReadBuf<'_>) {
        let n = self.len().min(dst.remaining());
        dst.put_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
    }

    /// Replaces the contents with (up to `max` bytes of) `src`; returns how many.
    pub(crate) fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        let n = src.len().min(max);
        self.ensure(n);
        self.data[..n].copy_from_slice(&src[..n]);
        self.pos = 0;
        self.end = n;
        n
    }

    /// Drops the unread bytes; returns the (non-positive) seek that puts a descriptor back
    /// where the reader is.
    pub(crate) fn discard_read(&mut self) -> i64 {
        let unread = self.len() as i64;
        self.clear();
        -unread
    }

    /// Replaces the contents with one read of up to `n` bytes from `src` (retrying
    /// `Interrupted`). Blocks: for the blocking pool.
    pub(crate) fn read_from<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
        n: usize,
    ) -> io::Result<usize> {
        self.ensure(n);
        self.clear();
        loop {
            match src.read(&mut self.data[..n]) {
                Ok(got) => {
                    self.end = got.min(n);
                    return Ok(self.end);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes all live bytes to `dst` and empties the buffer, whatever the outcome. Blocks:
    /// for the blocking pool.
    pub(crate) fn write_to<W: Write + ?Sized>(&mut self, dst: &mut W) -> io::Result<()> {
        let res = dst.write_all(&self.data[self.pos..self.end]);
        self.clear();
        res
    }
}

/// What an operation on the pool did.
enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Flush(io::Result<()>),
}

enum State<T> {
    /// No operation in flight: the handle and the buffer (holding read-ahead, if a read got
    /// more than the caller could take).
    Idle(T, Buf),
    /// An operation on the blocking pool, which hands the handle and the buffer back.
    Busy(JoinHandle<(T, Buf, Op)>),
    /// Only while a transition is being made.
    Empty,
}

/// Async reads and writes over a blocking std handle, one operation at a time on the blocking
/// pool, the way tokio drives its standard streams:
///
/// - a read returns buffered bytes if there are any, else reads once (at most the caller's
///   space, at most [`DEFAULT_MAX_BUF_SIZE`]) on the pool and waits;
/// - a write waits for the operation in flight, copies (at most `DEFAULT_MAX_BUF_SIZE` of) the
///   bytes into the buffer, starts `write_all` of them on the pool and returns at once, so an
///   error of that write is reported by the next write or flush;
/// - a flush waits for the write in flight and then flushes the handle on the pool.
///
/// Dropped with an operation in flight, that operation still runs to its end.
pub(crate) struct Blocking<T> {
    state: State<T>,
    /// A write finished after its `poll_write` returned, with this error: reported next.
    write_err: Option<io::Error>,
    /// Bytes were written since the handle was last flushed.
    need_flush: bool,
    /// A fresh handle, for when the pool loses one (it was shut down before running the
    /// operation that held it).
    reopen: fn() -> T,
}

impl<T: Send + 'static> Blocking<T> {
    pub(crate) fn new(reopen: fn() -> T) -> Blocking<T> {
        Blocking {
            state: State::Idle(reopen(), Buf::default()),
            write_err: None,
            need_flush: false,
            reopen,
        }
    }

    fn start(&mut self, f: impl FnOnce(&mut T, &mut Buf) -> Op + Send + 'static) {
        let State::Idle(mut handle, mut buf) = std::mem::replace(&mut self.state, State::Empty)
        else {
            unreachable!("an operation started while another is in flight");
        };
        self.state = State::Busy(netpoll_runtime::spawn_blocking(move || {
            let op = f(&mut handle, &mut buf);
            (handle, buf, op)
        }));
    }

    /// Waits for the operation in flight (there must be one); the state is idle afterwards.
    fn poll_busy(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Buf, Op)>> {
        let State::Busy(job) = &mut self.state else {
            unreachable!("no operation in flight");
        };
        match ready!(Pin::new(job).poll(cx)) {
            Ok((handle, buf, op)) => {
                self.state = State::Idle(handle, Buf::default());
                Poll::Ready(Ok((buf, op)))
            }
            Err(e) => {
                self.state = State::Idle((self.reopen)(), Buf::default());
                Poll::Ready(Err(e.into()))
            }
        }
    }

    fn put_buf(&mut self, buf: Buf) {
        if let State::Idle(_, slot) = &mut self.state {
            *slot = buf;
        }
    }

    fn buf_mut(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(_, buf) => buf,
            _ => unreachable!("the buffer is on the blocking pool"),
        }
    }
}

impl<T: Read + Send + 'static> Blocking<T> {
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if let State::Idle(_, buf) = &mut self.state {
                if !buf.is_empty() || dst.remaining() == 0 {
                    buf.copy_to(dst);
                    return Poll::Ready(Ok(()));
                }
                let n = dst.remaining().min(DEFAULT_MAX_BUF_SIZE);
                self.start(move |handle, buf| Op::Read(buf.read_from(handle, n)));
            }
            let (mut buf, op) = ready!(self.poll_busy(cx))?;
            match op {
                Op::Read(Ok(_)) => {
                    buf.copy_to(dst);
                    self.put_buf(buf);
                    return Poll::Ready(Ok(()));
                }
                Op::Read(Err(e)) => {
                    buf.clear();
                    self.put_buf(buf);
                    return Poll::Ready(Err(e));
                }
                Op::Write(res) | Op::Flush(res) => {
                    buf.clear();
                    self.put_buf(buf);
                    if let Err(e) = res {
                        self.write_err = Some(e);
                    }
                }
            }
        }
    }
}

impl<T: Write + Send + 'static> Blocking<T> {
    /// Waits for the operation in flight, if any; its write or flush error is returned.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(_) = self.state {
            let (mut buf, op) = ready!(self.poll_busy(cx))?;
            // What a write leaves is nothing; a read's read-ahead is dropped by a write.
            buf.clear();
            self.put_buf(buf);
            if let Op::Write(Err(e)) | Op::Flush(Err(e)) = op {
                return Poll::Ready(Err(e));
            }
        }
        match self.write_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_idle(cx))?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = self.buf_mut().copy_from(src, DEFAULT_MAX_BUF_SIZE);
        self.start(|handle, buf| Op::Write(buf.write_to(handle)));
        self.need_flush = true;
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_idle(cx))?;
            if !self.need_flush {
                return Poll::Ready(Ok(()));
            }
            self.need_flush = false;
            self.start(|handle, _| Op::Flush(handle.flush()));
        }
    }
}
