//! `copy` and `copy_bidirectional`: Go's `io.Copy` for Rust.
//!
//! On the first poll, `copy` asks the reader for its zero-copy form
//! ([`AsyncRead::zero_copy_source`]) and the writer for its own ([`AsyncWrite::zero_copy_sink`]),
//! the way Go's `io.Copy` type-asserts `WriterTo`/`ReaderFrom` and `*TCPConn`/`*os.File`:
//!
//! | reader | writer | path |
//! |---|---|---|
//! | stream socket (TCP, Unix) | stream socket | `splice(2)` socket → pipe → socket, pipe from a pool (unless a limit under 16 KiB is known: buffered); switches to the buffered loop while the source delivers small messages, and back for bulk data |
//! | regular file | stream socket | `sendfile(2)` from the file's offset |
//! | anything else | anything | a buffered loop with one reused 64 KiB buffer |
//!
//! A length limit from [`take`](crate::AsyncReadExt::take) (Go's `LimitedReader`) is honoured on
//! every path, and the reader is told how much was consumed, so a file's position and a `take`'s
//! remaining count are right afterwards.
//!
//! splice: every call has `SPLICE_F_NONBLOCK` (Go #63795) and never `SPLICE_F_MORE` (Go #10948);
//! `EAGAIN` on the socket side parks the task on that socket's readiness; bytes already in the
//! pipe are always delivered before more are read, and a pipe that still holds bytes when a copy
//! ends (error, cancellation) is closed, never pooled. `EINVAL` on the first splice (a socket
//! type that cannot splice) falls back to the buffered loop. sendfile asks for the exact
//! remaining length (Go #41513): the limit, or the file's size at the start minus the offset.
//!
//! Which path ran is counted in [`copy_stats`], so tests and tools can check it.

mod sys_select;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{ready, Context, Poll};

use crate::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(target_os = "linux")]
pub(crate) mod sys;

/// Per-path counters of the copies this process has made (all `copy` and `copy_bidirectional`
/// directions together). Counters only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Copies that took the splice path.
    pub splice_copies: u64,
    /// Bytes moved by splice.
    pub splice_bytes: u64,
    /// Copies that took the sendfile path.
    pub sendfile_copies: u64,
    /// Bytes moved by sendfile.
    pub sendfile_bytes: u64,
    /// Copies that took the buffered path (including fallbacks).
    pub buffered_copies: u64,
    /// Bytes moved by the buffered path.
    pub buffered_bytes: u64,
    /// Zero-copy attempts that fell back to the buffered loop (EINVAL/ENOSYS on the first call).
    pub fallbacks: u64,
    /// Pipes created for splice (the pool reuses clean ones).
    pub pipes_created: u64,
    /// Pipes closed because bytes were left in them.
    pub dirty_pipes_closed: u64,
    /// Clean pipes waiting in the pool now (each holds 2 fds; at most 64 are kept). A splice
    /// copy waiting for its source returns its pipe here, so idle copies hold none.
    pub pipes_pooled: u64,
    /// Pooled pipes closed because nobody took them for 500 ms (the pool shrinks back to
    /// nothing within about a second of the load ending).
    pub idle_pipes_closed: u64,
    /// Splice copies that switched to the buffered loop because their source kept delivering
    /// small amounts (request/response traffic, where splice's extra pipe hop costs more than
    /// the copy it saves).
    pub switches_to_buffered: u64,
    /// Such copies that switched back to splice when bulk data came.
    pub switches_to_splice: u64,
}

pub(crate) struct Counters {
    pub(crate) splice_copies: AtomicU64,
    pub(crate) splice_bytes: AtomicU64,
    pub(crate) sendfile_copies: AtomicU64,
    pub(crate) sendfile_bytes: AtomicU64,
    pub(crate) buffered_copies: AtomicU64,
    pub(crate) buffered_bytes: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) pipes_created: AtomicU64,
    pub(crate) dirty_pipes_closed: AtomicU64,
    pub(crate) idle_pipes_closed: AtomicU64,
    pub(crate) switches_to_buffered: AtomicU64,
    pub(crate) switches_to_splice: AtomicU64,
}

pub(crate) static COUNTERS: Counters = Counters {
    splice_copies: AtomicU64::new(0),
    splice_bytes: AtomicU64::new(0),
    sendfile_copies: AtomicU64::new(0),
    sendfile_bytes: AtomicU64::new(0),
    buffered_copies: AtomicU64::new(0),
    buffered_bytes: AtomicU64::new(0),
    fallbacks: AtomicU64::new(0),
    pipes_created: AtomicU64::new(0),
    dirty_pipes_closed: AtomicU64::new(0),
    idle_pipes_closed: AtomicU64::new(0),
    switches_to_buffered: AtomicU64::new(0),
    switches_to_splice: AtomicU64::new(0),
};

/// The process-wide copy counters.
pub fn copy_stats() -> CopyStats {
    let c = &COUNTERS;
    CopyStats {
        splice_copies: c.splice_copies.load(Relaxed),
        splice_bytes: c.splice_bytes.load(Relaxed),
        sendfile_copies: c.sendfile_copies.load(Relaxed),
        sendfile_bytes: c.sendfile_bytes.load(Relaxed),
        buffered_copies: c.buffered_copies.load(Relaxed),
        buffered_bytes: c.buffered_bytes.load(Relaxed),
        fallbacks: c.fallbacks.load(Relaxed),
        pipes_created: c.pipes_created.load(Relaxed),
        dirty_pipes_closed: c.dirty_pipes_closed.load(Relaxed),
        pipes_pooled: sys_select::pooled_pipes() as u64,
        idle_pipes_closed: c.idle_pipes_closed.load(Relaxed),
        switches_to_buffered: c.switches_to_buffered.load(Relaxed),
        switches_to_splice: c.switches_to_splice.load(Relaxed),
    }
}

/// The path a copy between `reader` and `writer` would take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPath {
    /// socket → pipe → socket.
    Splice,
    /// file → socket.
    Sendfile,
    /// read into a buffer, write from it.
    Buffered,
}

/// Which path `copy(reader, writer)` would choose (the choice is made on the first poll).
pub fn copy_path<R, W>(reader: &R, writer: &W) -> CopyPath
where
    R: AsyncRead + ?Sized,
    W: AsyncWrite + ?Sized,
{
    sys_select::choose(reader, writer)
}

const BUF_SIZE: usize = 64 * 1024;

/// The buffer of a splice copy that switched to the buffered loop: small messages need no
/// more, and a read that fills it is the sign that bulk data is back.
#[cfg(target_os = "linux")]
const SWITCHED_BUF_SIZE: usize = 16 * 1024;

/// Full buffers in a row after which a switched copy goes back to splice.
#[cfg(target_os = "linux")]
const BACK_TO_SPLICE_STREAK: u32 = 4;

/// One direction of a copy: the state machine shared by `copy` and `copy_bidirectional`.
pub(crate) struct Transfer {
    state: State,
    total: u64,
    /// The buffer size of the buffered path (`BUF_SIZE` unless a caller chose one).
    buf_size: usize,
}

enum State {
    Undecided,
    #[cfg(target_os = "linux")]
    Splice(sys_select::SpliceState),
    #[cfg(target_os = "linux")]
    Sendfile(sys_select::SendfileState),
    Buffered(BufState),
}

struct BufState {
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    eof: bool,
    /// The reader's limit when it came from a zero-copy form (a `take` on a socket that fell
    /// back); plain readers enforce their own limit.
    limit: Option<u64>,
    /// A splice copy that switched here (see [`CopyStats::switches_to_buffered`]): it goes
    /// back to splice after `BACK_TO_SPLICE_STREAK` reads in a row that fill the buffer.
    switched: bool,
    full_streak: u32,
}

/// How the buffered loop stopped.
enum BufEnd {
    /// The copy is complete.
    Finished,
    /// A switched copy sees bulk data again: splice from here (the buffer is empty).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    BackToSplice,
}

impl BufState {
    fn new(size: usize, limit: Option<u64>) -> BufState {
        COUNTERS.buffered_copies.fetch_add(1, Relaxed);
        BufState::with_size(size, limit, false)
    }

    fn with_size(size: usize, limit: Option<u64>, switched: bool) -> BufState {
        BufState {
            buf: vec![0u8; size].into_boxed_slice(),
            pos: 0,
            cap: 0,
            eof: false,
            limit,
            switched,
            full_streak: 0,
        }
    }
}

impl Transfer {
    pub(crate) fn new() -> Transfer {
        Transfer::with_buf_size(BUF_SIZE)
    }

    /// A transfer whose buffered path uses a buffer of `size` bytes (at least 1).
    pub(crate) fn with_buf_size(size: usize) -> Transfer {
        Transfer {
            state: State::Undecided,
            total: 0,
            buf_size: size.max(1),
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Copies until the reader's end (or its limit). Does not shut the writer down.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            match &mut self.state {
                State::Undecided => {
                    self.state = sys_select::start(&*reader, &*writer, self.buf_size);
                }
                #[cfg(target_os = "linux")]
                State::Splice(s) => {
                    match ready!(s.poll(cx, reader.as_mut(), writer.as_mut(), &mut self.total)) {
                        Ok(()) => return Poll::Ready(Ok(self.total)),
                        Err(sys_select::Stop::Io(e)) => return Poll::Ready(Err(e)),
                        Err(sys_select::Stop::Fallback(limit)) => {
                            COUNTERS.fallbacks.fetch_add(1, Relaxed);
                            self.state = State::Buffered(BufState::new(self.buf_size, limit));
                        }
                        Err(sys_select::Stop::Small(limit)) => {
                            COUNTERS.switches_to_buffered.fetch_add(1, Relaxed);
                            self.state = State::Buffered(BufState::with_size(
                                SWITCHED_BUF_SIZE,
                                limit,
                                true,
                            ));
                        }
                    }
                }
                #[cfg(target_os = "linux")]
                State::Sendfile(s) => {
                    match ready!(s.poll(cx, reader.as_mut(), writer.as_mut(), &mut self.total)) {
                        Ok(()) => return Poll::Ready(Ok(self.total)),
                        Err(sys_select::Stop::Io(e)) => return Poll::Ready(Err(e)),
                        Err(sys_select::Stop::Fallback(limit)) => {
                            COUNTERS.fallbacks.fetch_add(1, Relaxed);
                            self.state = State::Buffered(BufState::new(self.buf_size, limit));
                        }
                        Err(sys_select::Stop::Small(_)) => {
                            unreachable!("only splice switches to the buffered loop")
                        }
                    }
                }
                State::Buffered(b) => {
                    match ready!(poll_buffered(
                        b,
                        cx,
                        reader.as_mut(),
                        writer.as_mut(),
                        &mut self.total
                    ))? {
                        BufEnd::Finished => return Poll::Ready(Ok(self.total)),
                        BufEnd::BackToSplice => {
                            #[cfg(target_os = "linux")]
                            {
                                COUNTERS.switches_to_splice.fetch_add(1, Relaxed);
                                self.state =
                                    State::Splice(sys_select::SpliceState::resume(b.limit));
                            }
                        }
                    }
                }
            }
        }
    }
}

fn poll_buffered<R, W>(
    b: &mut BufState,
    cx: &mut Context<'_>,
    mut reader: Pin<&mut R>,
    mut writer: Pin<&mut W>,
    total: &mut u64,
) -> Poll<io::Result<BufEnd>>
where
    R: AsyncRead + ?Sized,
    W: AsyncWrite + ?Sized,
{
    loop {
        // Deliver what is buffered before reading more.
        while b.pos < b.cap {
            let n = match ready!(writer.as_mut().poll_write(cx, &b.buf[b.pos..b.cap])) {
                Ok(n) => n,
                // As std's `io::copy`: an interrupted write is retried, not reported.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write zero byte into writer",
                )));
            }
            b.pos += n;
            *total += n as u64;
            COUNTERS.buffered_bytes.fetch_add(n as u64, Relaxed);
        }
        if b.eof || b.limit == Some(0) {
            ready!(writer.as_mut().poll_flush(cx))?;
            return Poll::Ready(Ok(BufEnd::Finished));
        }
        #[cfg(target_os = "linux")]
        if b.switched && b.full_streak >= BACK_TO_SPLICE_STREAK {
            return Poll::Ready(Ok(BufEnd::BackToSplice));
        }
        let want = match b.limit {
            Some(l) => (l.min(b.buf.len() as u64)) as usize,
            None => b.buf.len(),
        };
        let mut rb = ReadBuf::new(&mut b.buf[..want]);
        match reader.as_mut().poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {
                // Nothing to read now: make sure what was written is on its way.
                ready!(writer.as_mut().poll_flush(cx))?;
                return Poll::Pending;
            }
        }
        let n = rb.filled().len();
        if b.switched {
            b.full_streak = if n == want { b.full_streak + 1 } else { 0 };
        }
        if n == 0 {
            b.eof = true;
        } else {
            if let Some(l) = &mut b.limit {
                *l -= n as u64;
                reader.as_mut().zero_copy_consumed(n as u64);
            }
            b.pos = 0;
            b.cap = n;
        }
    }
}

/// Copies everything from `reader` to `writer` and returns the byte count, like
/// `tokio::io::copy` and Go's `io.Copy`: by `splice(2)` between stream sockets, `sendfile(2)`
/// from a file to a socket, and a buffered loop otherwise (see the table in the crate docs).
/// The writer is flushed, not shut down.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut reader: &[u8] = b"hello";
/// let mut writer: Vec<u8> = Vec::new();
/// let n = netpoll_io::copy(&mut reader, &mut writer).await.unwrap();
/// assert_eq!((n, &writer[..]), (5, &b"hello"[..]));
/// # });
/// ```
///
/// # Cancel safety
/// Not cancel safe: bytes read but not yet written (in a pipe or the buffer) are lost if the
/// future is dropped.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut t = Transfer::new();
    std::future::poll_fn(|cx| t.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))).await
}

enum Dir {
    Running(Transfer),
    ShuttingDown(u64),
    Done(u64),
}

impl Dir {
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        r: Pin<&mut R>,
        mut w: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        match self {
            Dir::Running(t) => {
                let n = ready!(t.poll_copy(cx, r, w.as_mut()))?;
                *self = Dir::ShuttingDown(n);
                self.poll_shutdown(cx, w)
            }
            Dir::ShuttingDown(_) => self.poll_shutdown(cx, w),
            Dir::Done(n) => Poll::Ready(Ok(*n)),
        }
    }

    fn poll_shutdown<W: AsyncWrite + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        w: Pin<&mut W>,
    ) -> Poll<io::Result<u64>> {
        let Dir::ShuttingDown(n) = *self else {
            unreachable!()
        };
        ready!(w.poll_shutdown(cx))?;
        *self = Dir::Done(n);
        Poll::Ready(Ok(n))
    }
}

/// Copies both ways between `a` and `b` until both directions reach end of stream, like
/// `tokio::io::copy_bidirectional`; returns `(a→b bytes, b→a bytes)`. When one side reaches end
/// of stream, the other side's write half is shut down (the half-close is propagated) and the
/// other direction runs on to its own end (tokio #3876). Between sockets, each direction
/// splices through its own pipe.
///
/// # Cancel safety
/// Not cancel safe (see [`copy`]).
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    bidirectional(a, b, Transfer::new(), Transfer::new()).await
}

/// [`copy_bidirectional`] with the buffer sizes of each direction's buffered path chosen:
/// `a_to_b_buf_size` bytes for `a`→`b`, `b_to_a_buf_size` for `b`→`a` (a size of 0 is taken
/// as 1), like `tokio::io::copy_bidirectional_with_sizes`. Between sockets the copy still
/// splices (the pipe, not a user-space buffer, carries the bytes), exactly as
/// `copy_bidirectional` does; the sizes apply where bytes go through user space.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut a_peer) = netpoll_io::duplex(64);
/// let (mut b, mut b_peer) = netpoll_io::duplex(64);
/// use netpoll_io::{AsyncReadExt, AsyncWriteExt};
/// let proxy = netpoll_runtime::spawn(async move {
///     netpoll_io::copy_bidirectional_with_sizes(&mut a, &mut b, 16, 32).await
/// });
/// a_peer.write_all(b"ping").await.unwrap();
/// a_peer.shutdown().await.unwrap();
/// let mut got = Vec::new();
/// b_peer.read_to_end(&mut got).await.unwrap();
/// assert_eq!(got, b"ping");
/// b_peer.shutdown().await.unwrap();
/// assert_eq!(proxy.await.unwrap().unwrap(), (4, 0));
/// # });
/// ```
///
/// # Cancel safety
/// Not cancel safe (see [`copy`]).
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let ab = Transfer::with_buf_size(a_to_b_buf_size);
    let ba = Transfer::with_buf_size(b_to_a_buf_size);
    bidirectional(a, b, ab, ba).await
}

async fn bidirectional<A, B>(
    a: &mut A,
    b: &mut B,
    ab: Transfer,
    ba: Transfer,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut ab = Dir::Running(ab);
    let mut ba = Dir::Running(ba);
    std::future::poll_fn(|cx| {
        let r1 = ab.poll(cx, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let r2 = ba.poll(cx, Pin::new(&mut *b), Pin::new(&mut *a))?;
        match (r1, r2) {
            (Poll::Ready(x), Poll::Ready(y)) => Poll::Ready(Ok((x, y))),
            _ => Poll::Pending,
        }
    })
    .await
}

/// A future that copies: for callers that want to poll a copy by hand.
pub fn poll_copy<R, W>(
    transfer: &mut Copy,
    cx: &mut Context<'_>,
    reader: Pin<&mut R>,
    writer: Pin<&mut W>,
) -> Poll<io::Result<u64>>
where
    R: AsyncRead + ?Sized,
    W: AsyncWrite + ?Sized,
{
    transfer.0.poll_copy(cx, reader, writer)
}

/// The state of a hand-polled copy (see [`poll_copy`]).
pub struct Copy(Transfer);

impl Copy {
    /// A fresh copy state.
    pub fn new() -> Copy {
        Copy(Transfer::new())
    }

    /// Bytes copied so far.
    pub fn total(&self) -> u64 {
        self.0.total()
    }
}

impl Default for Copy {
    fn default() -> Self {
        Copy::new()
    }
}

impl std::fmt::Debug for Copy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copy")
            .field("total", &self.total())
            .finish()
    }
}
