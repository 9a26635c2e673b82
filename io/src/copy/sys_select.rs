//! Choosing the path, and the zero-copy state machines (Linux). Elsewhere every copy is buffered.

use super::{BufState, CopyPath, State};
use crate::{AsyncRead, AsyncWrite};

#[cfg(target_os = "linux")]
pub(crate) use linux::{pooled_pipes, SendfileState, SpliceState, Stop};

/// No splice elsewhere, so no pipes.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pooled_pipes() -> usize {
    0
}

/// Below this many bytes, splice does not pay: socket -> pipe -> socket costs the same two
/// syscalls as read + write plus the pipe, and the copy it saves is cheap. Measured with the
/// stress tool's echo server (2 workers, 100 connections): with messages of up to 64 B the
/// buffered echo did 9-35 % more messages/s than splice; up to 16 KiB the two were even; for
/// bulk transfers splice moves 1.4-1.5x tokio's buffered copy_bidirectional.
#[cfg(target_os = "linux")]
pub(crate) const SPLICE_MIN: u64 = 16 * 1024;

/// A splice copy whose source delivers less than this per read ...
#[cfg(target_os = "linux")]
const SMALL_READ: usize = 4 * 1024;
/// ... this many times in a row switches to the buffered loop (request/response traffic: a
/// message costs splice in + splice out + a pipe, against recv + send, and the copy splice
/// saves is a few cache lines). Bulk transfers read far more per call and never switch; a
/// switched copy goes back to splice when its reads fill a 16 KiB buffer again.
#[cfg(target_os = "linux")]
const SMALL_READ_STREAK: u32 = 16;

#[cfg(target_os = "linux")]
pub(crate) fn choose<R: AsyncRead + ?Sized, W: AsyncWrite + ?Sized>(r: &R, w: &W) -> CopyPath {
    choose_from(r.zero_copy_source(), w.zero_copy_sink())
}

/// The path for a source and sink's zero-copy forms (asked for once: a file's form costs an
/// `lseek`).
#[cfg(target_os = "linux")]
fn choose_from(
    src: Option<(crate::ZeroCopySource<'_>, Option<u64>)>,
    sink: Option<crate::ZeroCopySink<'_>>,
) -> CopyPath {
    use crate::{ZeroCopySink, ZeroCopySource};
    match (src, sink) {
        // A copy known to be small (a `take` under the threshold) is cheaper buffered.
        (Some((ZeroCopySource::Socket { .. }, Some(limit))), Some(ZeroCopySink::Socket { .. }))
            if limit < SPLICE_MIN =>
        {
            CopyPath::Buffered
        }
        (Some((ZeroCopySource::Socket { .. }, _)), Some(ZeroCopySink::Socket { .. })) => {
            CopyPath::Splice
        }
        (Some((ZeroCopySource::File { .. }, _)), Some(ZeroCopySink::Socket { .. })) => {
            CopyPath::Sendfile
        }
        _ => CopyPath::Buffered,
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn choose<R: AsyncRead + ?Sized, W: AsyncWrite + ?Sized>(_r: &R, _w: &W) -> CopyPath {
    CopyPath::Buffered
}

/// Picks the path on a copy's first poll; the buffered path gets a buffer of `buf_size` bytes.
pub(crate) fn start<R: AsyncRead + ?Sized, W: AsyncWrite + ?Sized>(
    r: &R,
    w: &W,
    buf_size: usize,
) -> State {
    #[cfg(target_os = "linux")]
    {
        let src = r.zero_copy_source();
        let limit = src.as_ref().and_then(|(_, l)| *l);
        match choose_from(src, w.zero_copy_sink()) {
            CopyPath::Splice => return State::Splice(SpliceState::new(limit)),
            CopyPath::Sendfile => return State::Sendfile(SendfileState::new(limit)),
            CopyPath::Buffered => {}
        }
    }
    let _ = (r, w);
    // A plain reader enforces its own limit (e.g. `Take` reads no more than it may).
    State::Buffered(BufState::new(buf_size, None))
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};
    use std::pin::Pin;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Mutex;
    use std::task::{ready, Context, Poll};
    use std::time::{Duration, Instant};

    use netpoll_runtime::io::{Direction, Registration};

    use super::super::sys::{self, Pipe};
    use super::super::COUNTERS;
    use super::{SMALL_READ, SMALL_READ_STREAK};
    use crate::{AsyncRead, AsyncWrite, ZeroCopySink, ZeroCopySource};

    /// Bytes asked of one sendfile call (Go uses 4 MiB too): big enough to amortise the
    /// syscall, small enough to let other tasks in between.
    const SENDFILE_CHUNK: u64 = 4 << 20;

    /// How many clean pipes the pool keeps (each is 2 fds).
    const POOL_MAX: usize = 64;
    /// A pooled pipe unused for this long is closed: the pool holds the working set of a busy
    /// server, and gives its fds back within about a second once the load ends (Go empties its
    /// pipe pool at every GC cycle; a pool that never shrinks looks like a leak to every fd
    /// monitor and costs 2 fds per pipe forever).
    const POOL_IDLE: Duration = Duration::from_millis(500);
    /// How often the sweeper looks for idle pipes while the pool is not empty.
    const SWEEP_EVERY: Duration = Duration::from_millis(250);

    /// The pool of clean pipes, and whether a sweeper task runs for it.
    ///
    /// Protocol (all under the mutex): `put_pipe` pushes a pipe with the time it was returned;
    /// if `sweeping` is false it sets it and spawns the sweeper on the current runtime (with no
    /// runtime to time it, the pipe is closed instead of pooled). The sweeper wakes every
    /// `SWEEP_EVERY`, closes the pipes idle for `POOL_IDLE` (the oldest are at the bottom:
    /// `get_pipe` pops the newest), and when the pool is empty clears `sweeping` and ends. If
    /// its runtime drops it first (shutdown), it clears `sweeping` and closes every pooled
    /// pipe, so no fd outlives the runtime that could have timed it.
    struct Pool {
        pipes: Vec<(Pipe, Instant)>,
        sweeping: bool,
    }

    static POOL: Mutex<Pool> = Mutex::new(Pool {
        pipes: Vec::new(),
        sweeping: false,
    });

    fn pool() -> std::sync::MutexGuard<'static, Pool> {
        POOL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get_pipe() -> io::Result<Pipe> {
        if let Some((p, _)) = pool().pipes.pop() {
            return Ok(p);
        }
        COUNTERS.pipes_created.fetch_add(1, Relaxed);
        Pipe::new()
    }

    /// Clean pipes in the pool now.
    pub(crate) fn pooled_pipes() -> usize {
        pool().pipes.len()
    }

    /// Returns a pipe to the pool; only an empty pipe may be pooled. A splice copy that waits
    /// for its source returns its pipe each time, so this is on the per-message path: one lock,
    /// and the runtime is looked up only when a sweeper must be started.
    fn put_pipe(p: Pipe) {
        let mut pool = pool();
        if pool.pipes.len() >= POOL_MAX {
            drop(pool);
            return; // `p` is closed here, outside the lock
        }
        if pool.sweeping {
            pool.pipes.push((p, Instant::now()));
            return;
        }
        let Ok(handle) = netpoll_runtime::runtime::Handle::try_current() else {
            drop(pool);
            return; // no runtime to time it: nothing could close it later, so close it now
        };
        pool.pipes.push((p, Instant::now()));
        pool.sweeping = true;
        drop(pool);
        drop(handle.spawn(sweep()));
    }

    /// Closes idle pooled pipes until the pool is empty (see [`Pool`]).
    async fn sweep() {
        /// Armed while the sweeper runs: dropped armed (the runtime shut down), it empties
        /// the pool and lets the next `put_pipe` start a sweeper again.
        struct Armed(bool);
        impl Drop for Armed {
            fn drop(&mut self) {
                if self.0 {
                    let closed = {
                        let mut pool = pool();
                        pool.sweeping = false;
                        std::mem::take(&mut pool.pipes)
                    };
                    drop(closed);
                }
            }
        }
        let mut armed = Armed(true);
        loop {
            netpoll_runtime::time::sleep(SWEEP_EVERY).await;
            let now = Instant::now();
            let (closed, empty) = {
                let mut pool = pool();
                let keep = pool
                    .pipes
                    .iter()
                    .position(|(_, at)| now.duration_since(*at) < POOL_IDLE)
                    .unwrap_or(pool.pipes.len());
                let closed: Vec<_> = pool.pipes.drain(..keep).collect();
                let empty = pool.pipes.is_empty();
                if empty {
                    pool.sweeping = false;
                }
                (closed, empty)
            };
            COUNTERS
                .idle_pipes_closed
                .fetch_add(closed.len() as u64, Relaxed);
            drop(closed);
            if empty {
                armed.0 = false;
                return;
            }
        }
    }

    /// Why a zero-copy state machine stopped without finishing.
    pub(crate) enum Stop {
        /// This pair cannot use the path (EINVAL/ENOSYS on the first call): carry on with the
        /// buffered loop, honouring this limit (the reader's zero-copy limit, if any).
        Fallback(Option<u64>),
        /// The source keeps delivering small reads: the buffered loop is cheaper (the pipe is
        /// empty; honour this limit).
        Small(Option<u64>),
        /// A real error.
        Io(io::Error),
    }

    impl From<io::Error> for Stop {
        fn from(e: io::Error) -> Stop {
            Stop::Io(e)
        }
    }

    fn src_socket<R: AsyncRead + ?Sized>(r: &R) -> io::Result<(RawFd, &Registration)> {
        match r.zero_copy_source() {
            Some((ZeroCopySource::Socket { fd, registration }, _)) => Ok((fd, registration)),
            _ => Err(io::Error::other(
                "copy: the reader stopped offering its socket",
            )),
        }
    }

    fn src_file<R: AsyncRead + ?Sized>(r: &R) -> io::Result<(RawFd, u64)> {
        match r.zero_copy_source() {
            Some((ZeroCopySource::File { fd, offset }, _)) => Ok((fd, offset)),
            _ => Err(io::Error::other(
                "copy: the reader stopped offering its file",
            )),
        }
    }

    fn dst_socket<W: AsyncWrite + ?Sized>(w: &W) -> io::Result<(RawFd, &Registration)> {
        match w.zero_copy_sink() {
            Some(ZeroCopySink::Socket { fd, registration }) => Ok((fd, registration)),
            None => Err(io::Error::other(
                "copy: the writer stopped offering its socket",
            )),
        }
    }

    /// After `EAGAIN`: forget the readiness seen before the syscall and wait for the next event.
    fn park(
        reg: &Registration,
        d: Direction,
        seen: netpoll_runtime::io::ReadyEvent,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        reg.clear_readiness(seen);
        reg.poll_ready(d, cx).map_ok(|_| ())
    }

    fn is_unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
        )
    }

    /// socket → pipe → socket.
    pub(crate) struct SpliceState {
        pipe: Option<Pipe>,
        /// Bytes in the pipe, read from the source and not yet written.
        in_pipe: usize,
        eof: bool,
        limit: Option<u64>,
        /// No byte has moved yet: EINVAL now means "this pair cannot splice".
        first: bool,
        /// No pipe could be made (EMFILE, ENFILE, ENOMEM): like Go, copy without one.
        no_pipe: bool,
        /// Reads in a row that moved less than `SMALL_READ`.
        small_streak: u32,
    }

    /// How `poll_inner` stopped without an error.
    enum SpliceEnd {
        Finished,
        Small,
    }

    impl SpliceState {
        pub(crate) fn new(limit: Option<u64>) -> SpliceState {
            COUNTERS.splice_copies.fetch_add(1, Relaxed);
            SpliceState::resume(limit)
        }

        /// A copy that switched to the buffered loop comes back (not counted as a new copy).
        pub(crate) fn resume(limit: Option<u64>) -> SpliceState {
            SpliceState {
                pipe: None,
                in_pipe: 0,
                eof: false,
                limit,
                first: true,
                no_pipe: false,
                small_streak: 0,
            }
        }

        pub(crate) fn poll<R, W>(
            &mut self,
            cx: &mut Context<'_>,
            mut reader: Pin<&mut R>,
            writer: Pin<&mut W>,
            total: &mut u64,
        ) -> Poll<Result<(), Stop>>
        where
            R: AsyncRead + ?Sized,
            W: AsyncWrite + ?Sized,
        {
            let res = ready!(self.poll_inner(cx, reader.as_mut(), writer, total));
            // Only an empty pipe goes back to the pool; one with bytes in it is closed.
            if let Some(p) = self.pipe.take() {
                if self.in_pipe == 0 {
                    put_pipe(p);
                } else {
                    COUNTERS.dirty_pipes_closed.fetch_add(1, Relaxed);
                }
            }
            match res {
                Err(e) if self.first && is_unsupported(&e) => {
                    COUNTERS.splice_copies.fetch_sub(1, Relaxed);
                    Poll::Ready(Err(Stop::Fallback(self.limit)))
                }
                // No pipe could be had (at the start, or when taking one back after a wait):
                // the pipe was empty, so the buffered loop carries on from here.
                Err(_) if self.no_pipe => {
                    if self.first {
                        COUNTERS.splice_copies.fetch_sub(1, Relaxed);
                    }
                    Poll::Ready(Err(Stop::Fallback(self.limit)))
                }
                Err(e) => Poll::Ready(Err(Stop::Io(e))),
                Ok(SpliceEnd::Finished) => Poll::Ready(Ok(())),
                Ok(SpliceEnd::Small) => Poll::Ready(Err(Stop::Small(self.limit))),
            }
        }

        fn poll_inner<R, W>(
            &mut self,
            cx: &mut Context<'_>,
            mut reader: Pin<&mut R>,
            writer: Pin<&mut W>,
            total: &mut u64,
        ) -> Poll<io::Result<SpliceEnd>>
        where
            R: AsyncRead + ?Sized,
            W: AsyncWrite + ?Sized,
        {
            if self.pipe.is_none() {
                match get_pipe() {
                    Ok(p) => self.pipe = Some(p),
                    Err(e) => {
                        // Out of fds or memory for a pipe: the pipe is empty (nothing is in
                        // flight), so the buffered loop (which needs no fd) takes over, as Go's
                        // io.Copy does.
                        self.no_pipe = true;
                        return Poll::Ready(Err(e));
                    }
                }
            }
            loop {
                ready!(netpoll_runtime::task::coop::poll_proceed(cx)).made_progress();
                let pipe = self.pipe.as_ref().expect("pipe taken above");
                // 1. Deliver what is in the pipe before reading more.
                while self.in_pipe > 0 {
                    let (dst, dreg) = dst_socket(&*writer)?;
                    dreg.check_deadline(Direction::Write)?;
                    let seen = dreg.readiness(Direction::Write);
                    match sys::splice(pipe.r.as_raw_fd(), dst, self.in_pipe) {
                        Ok(n) => {
                            self.in_pipe -= n;
                            *total += n as u64;
                            self.first = false;
                            COUNTERS.splice_bytes.fetch_add(n as u64, Relaxed);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            ready!(park(dreg, Direction::Write, seen, cx))?;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                if self.eof || self.limit == Some(0) {
                    return Poll::Ready(Ok(SpliceEnd::Finished));
                }
                if self.small_streak >= SMALL_READ_STREAK {
                    // The pipe is empty: the buffered loop takes over from here.
                    return Poll::Ready(Ok(SpliceEnd::Small));
                }
                // 2. Refill the (empty) pipe from the source.
                let want = match self.limit {
                    Some(l) => l.min(pipe.size as u64) as usize,
                    None => pipe.size,
                };
                let (src, sreg) = src_socket(&*reader)?;
                sreg.check_deadline(Direction::Read)?;
                let seen = sreg.readiness(Direction::Read);
                match sys::splice(src, pipe.w.as_raw_fd(), want) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        self.in_pipe = n;
                        self.small_streak = if n < SMALL_READ {
                            self.small_streak + 1
                        } else {
                            0
                        };
                        if let Some(l) = &mut self.limit {
                            *l -= n as u64;
                        }
                        reader.as_mut().zero_copy_consumed(n as u64);
                    }
                    // The pipe is empty, so EAGAIN means the socket has nothing for us. While
                    // we wait, the empty pipe goes back to the pool: an idle connection holds
                    // no pipe (2 fds), so a server's idle connections cost one fd each.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match park(sreg, Direction::Read, seen, cx) {
                            Poll::Pending => {
                                if let Some(p) = self.pipe.take() {
                                    put_pipe(p);
                                }
                                return Poll::Pending;
                            }
                            Poll::Ready(r) => r?,
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }
    }

    /// file → socket.
    pub(crate) struct SendfileState {
        /// Bytes left to send (the limit, or the file's size at the start minus the offset).
        remain: Option<u64>,
        limit: Option<u64>,
        first: bool,
    }

    impl SendfileState {
        pub(crate) fn new(limit: Option<u64>) -> SendfileState {
            COUNTERS.sendfile_copies.fetch_add(1, Relaxed);
            SendfileState {
                remain: None,
                limit,
                first: true,
            }
        }

        pub(crate) fn poll<R, W>(
            &mut self,
            cx: &mut Context<'_>,
            mut reader: Pin<&mut R>,
            writer: Pin<&mut W>,
            total: &mut u64,
        ) -> Poll<Result<(), Stop>>
        where
            R: AsyncRead + ?Sized,
            W: AsyncWrite + ?Sized,
        {
            loop {
                ready!(netpoll_runtime::task::coop::poll_proceed(cx)).made_progress();
                if self.remain == Some(0) {
                    // Done: no need to ask the file for its position again.
                    return Poll::Ready(Ok(()));
                }
                let (file, offset) = src_file(&*reader)?;
                let remain = match self.remain {
                    Some(r) => r,
                    None => {
                        let size = sys::file_size(file)?;
                        let left = size.saturating_sub(offset);
                        let r = self.limit.map_or(left, |l| l.min(left));
                        self.remain = Some(r);
                        r
                    }
                };
                if remain == 0 {
                    return Poll::Ready(Ok(()));
                }
                let (dst, dreg) = dst_socket(&*writer)?;
                dreg.check_deadline(Direction::Write)?;
                let seen = dreg.readiness(Direction::Write);
                let mut off = offset;
                match sys::sendfile(dst, file, &mut off, remain.min(SENDFILE_CHUNK) as usize) {
                    // The file shrank under us: stop at its new end.
                    Ok(0) => return Poll::Ready(Ok(())),
                    Ok(n) => {
                        self.first = false;
                        self.remain = Some(remain - n as u64);
                        *total += n as u64;
                        COUNTERS.sendfile_bytes.fetch_add(n as u64, Relaxed);
                        reader.as_mut().zero_copy_consumed(n as u64);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        ready!(park(dreg, Direction::Write, seen, cx))?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if self.first && is_unsupported(&e) => {
                        COUNTERS.sendfile_copies.fetch_sub(1, Relaxed);
                        return Poll::Ready(Err(Stop::Fallback(self.limit)));
                    }
                    Err(e) => return Poll::Ready(Err(Stop::Io(e))),
                }
            }
        }
    }
}
