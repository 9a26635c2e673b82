//! [`File`]: the async file, a state machine over one operation at a time (inline in a syscall
//! section, or on the blocking pool).

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, Seek as _, SeekFrom};
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::SystemTime;

use netpoll_runtime::task::JoinError;

use super::{asyncify, FileTimes, OpenOptions};
use crate::blocking::{Buf, DEFAULT_MAX_BUF_SIZE};
use crate::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf, ZeroCopySource};

/// An open file, like `tokio::fs::File`: [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`] with
/// every system call inline in a syscall section on a multi-thread worker, else on the
/// blocking pool (see the [module doc](super)).
///
/// One operation is in flight at a time, with a buffer that is reused. A write returns as soon
/// as its bytes are copied to that buffer and handed to the pool, so **call
/// [`flush`](crate::AsyncWriteExt::flush) (or `shutdown`, or [`sync_all`](File::sync_all))
/// to learn whether writes succeeded**; a file dropped with a write in flight finishes it in
/// the background, and its error is lost.
///
/// While no operation is in flight, no read-ahead is buffered and no write error is pending, a
/// regular file offers [`copy`](crate::copy) its zero-copy form
/// ([`ZeroCopySource::File`] at its current position), so copying a file to a socket uses
/// `sendfile(2)`. The bytes `copy` moves that way count as read: later reads continue after
/// them.
///
/// ```
/// use std::io::SeekFrom;
/// use netpoll_io::{fs::File, AsyncReadExt, AsyncWriteExt};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let path = std::env::temp_dir().join(format!("netpoll-file-doc-{}", std::process::id()));
///     let mut file = File::create(&path).await.unwrap();
///     file.write_all(b"hello, file").await.unwrap();
///     file.flush().await.unwrap();
///     drop(file);
///
///     let mut file = File::open(&path).await.unwrap();
///     file.seek(SeekFrom::Start(7)).await.unwrap();
///     let mut rest = String::new();
///     file.read_to_string(&mut rest).await.unwrap();
///     assert_eq!(rest, "file");
///     netpoll_io::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    inner: Mutex<Inner>,
    /// Whether `std` is a regular file (checked once, lazily): only those offer `sendfile`.
    regular: OnceLock<bool>,
    max_buf_size: usize,
}

struct Inner {
    state: State,
    /// The error of a write that completed after `poll_write` returned; reported by the next
    /// write or flush.
    last_write_err: Option<io::Error>,
    /// The result of the last completed seek (what an idle `poll_complete` reports).
    pos: u64,
    /// Bytes moved out by a zero-copy `copy` since the last operation: the logical position is
    /// this far past the descriptor's offset, which the next operation moves first.
    skip: u64,
    /// Wakes every task waiting for the operation in flight (several `&self` methods may wait
    /// at once, and a `JoinHandle` keeps one waker).
    waiters: Arc<Waiters>,
}

/// `Idle` holds the reusable buffer (with read-ahead, if a read returned more than was asked
/// for by the time it completed); `Busy` an operation on the blocking pool, which gives the
/// buffer back.
enum State {
    Idle(Buf),
    Busy(super::Blocking<(Operation, Buf)>),
}

enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    /// `sync_all`, `set_len`...: the result goes to the waiting future directly.
    Other,
}

/// Moves `file`'s offset by `delta` (nothing if 0).
fn seek_by(file: &std::fs::File, delta: i64) -> io::Result<()> {
    if delta != 0 {
        (&*file).seek(SeekFrom::Current(delta))?;
    }
    Ok(())
}

#[derive(Default)]
struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, Vec<Waker>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = mem::take(&mut *self.lock());
        for w in wakers {
            w.wake();
        }
    }
}

impl Inner {
    /// Polls the operation in flight (there must be one) on behalf of `cx` and any other
    /// waiter. On a `JoinError` the state becomes idle with a fresh buffer.
    fn poll_busy(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Operation, Buf)>> {
        let State::Busy(handle) = &mut self.state else {
            unreachable!("poll_busy called while idle");
        };
        {
            let mut waiters = self.waiters.lock();
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
        let waker = Waker::from(self.waiters.clone());
        let res = ready!(Pin::new(handle).poll(&mut Context::from_waker(&waker)));
        // Done: other waiters were woken by the pool; this one no longer needs to be.
        self.waiters.lock().retain(|w| !w.will_wake(cx.waker()));
        match res {
            Ok(done) => Poll::Ready(Ok(done)),
            Err(e) => {
                self.state = State::Idle(Buf::default());
                Poll::Ready(Err(join_error(e)))
            }
        }
    }

    /// Waits for the operation in flight, if any; a write error is kept for the next write or
    /// flush, a read's bytes are kept as read-ahead.
    fn poll_complete_inflight(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let State::Busy(_) = self.state {
            match ready!(self.poll_busy(cx)) {
                Ok((op, buf)) => {
                    self.state = State::Idle(buf);
                    match op {
                        Operation::Write(Err(e)) => self.last_write_err = Some(e),
                        Operation::Seek(Ok(pos)) => self.pos = pos,
                        _ => {}
                    }
                }
                Err(e) => self.last_write_err = Some(e),
            }
        }
        Poll::Ready(())
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_complete_inflight(cx));
        match self.last_write_err.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// The seek that brings the descriptor's offset to the logical position (dropping the
    /// read-ahead in `buf` and the pending zero-copy skip).
    fn take_fixup(&mut self, buf: &mut Buf) -> i64 {
        let unread = buf.discard_read();
        let skip = i64::try_from(mem::take(&mut self.skip)).unwrap_or(i64::MAX);
        skip.saturating_add(unread)
    }
}

fn join_error(e: JoinError) -> io::Error {
    e.into()
}

impl File {
    /// Opens a file for reading, like `tokio::fs::File::open`.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it, like
    /// `tokio::fs::File::create`.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a file for reading and writing, failing if it exists.
    pub async fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// An [`OpenOptions`] with all options off.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File` (its offset is where reads and writes start).
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            inner: Mutex::new(Inner {
                state: State::Idle(Buf::default()),
                last_write_err: None,
                pos: 0,
                skip: 0,
                waiters: Arc::new(Waiters::default()),
            }),
            regular: OnceLock::new(),
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
        }
    }

    /// Sets the largest read or write handed to the blocking pool at once (default 2 MiB).
    ///
    /// # Panics
    /// If `max_buf_size` is 0.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        assert!(max_buf_size > 0, "max_buf_size must be at least 1");
        self.max_buf_size = max_buf_size;
    }

    /// The largest read or write handed to the blocking pool at once.
    pub fn max_buf_size(&self) -> usize {
        self.max_buf_size
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot leave `Inner` inconsistent (every transition
        // is a single assignment), so a poisoned lock is fine.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn inner_mut(&mut self) -> &mut Inner {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_regular(&self) -> bool {
        *self
            .regular
            .get_or_init(|| self.std.metadata().map(|m| m.is_file()).unwrap_or(false))
    }

    /// Runs `f` on the blocking pool after the operation in flight (if any), as the file's
    /// next operation. With `sync_pos`, the descriptor's offset is first moved to the logical
    /// position (read-ahead dropped, zero-copy skip applied).
    async fn run_exclusive<T, F>(&self, sync_pos: bool, f: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let slot: Arc<Mutex<Option<io::Result<T>>>> = Arc::new(Mutex::new(None));
        let mut f = Some(f);
        poll_fn(|cx| {
            let mut inner = self.lock_inner();
            loop {
                if f.is_none()
                    && slot
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .is_some()
                {
                    return Poll::Ready(());
                }
                ready!(inner.poll_complete_inflight(cx));
                let Some(f) = f.take() else {
                    // Ours completed (or was lost to a `JoinError`, reported below).
                    return Poll::Ready(());
                };
                let State::Idle(buf) = &mut inner.state else {
                    unreachable!("idle after poll_complete_inflight");
                };
                let mut buf = mem::take(buf);
                let delta = if sync_pos {
                    inner.take_fixup(&mut buf)
                } else {
                    0
                };
                let std = self.std.clone();
                let slot = slot.clone();
                inner.state = State::Busy(super::spawn_blocking(move || {
                    let res = seek_by(&std, delta).and_then(|()| f(&std));
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(res);
                    (Operation::Other, buf)
                }));
            }
        })
        .await;
        let res = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        res.unwrap_or_else(|| {
            Err(io::Error::other(
                "the blocking file operation did not complete",
            ))
        })
    }

    /// Flushes file data and metadata to the device (`fsync`), after any write in flight.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.run_exclusive(false, |f| f.sync_all()).await
    }

    /// Flushes file data to the device (`fdatasync`), after any write in flight.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.run_exclusive(false, |f| f.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes, after any write in flight. The position
    /// does not change.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.run_exclusive(false, move |f| f.set_len(size)).await
    }

    /// The file's metadata.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Changes the file's permissions.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// Sets the file's access and modification times (those set in `times`), like
    /// `std::fs::File::set_times`.
    pub async fn set_times(&self, times: FileTimes) -> io::Result<()> {
        let std = self.std.clone();
        let times = times.into_std();
        asyncify(move || std.set_times(times)).await
    }

    /// Sets the file's modification time (`set_times` with only that time).
    pub async fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.set_times(FileTimes::new().set_modified(time)).await
    }

    /// A new `File` for the same open file description (`dup`): it shares the offset, which
    /// is first brought to this file's logical position.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.run_exclusive(true, |f| f.try_clone()).await?;
        Ok(File::from_std(std))
    }

    /// Seeks, like `AsyncSeekExt::seek`: returns the new position from the start of the file.
    /// Any write in flight completes first.
    pub async fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        crate::AsyncSeekExt::seek(self, position).await
    }

    /// The `std::fs::File`, after any operation in flight, with its offset at this file's
    /// logical position. A write error still pending is lost: flush first.
    pub async fn into_std(mut self) -> std::fs::File {
        poll_fn(|cx| self.inner_mut().poll_complete_inflight(cx)).await;
        self.sync_position_now();
        // A cancelled `metadata()` or `set_permissions()` may still hold a reference on the
        // blocking pool for a moment.
        while Arc::strong_count(&self.std) > 1 {
            netpoll_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        match Arc::try_unwrap(self.std) {
            Ok(std) => std,
            Err(_) => unreachable!("the last reference"),
        }
    }

    /// The `std::fs::File` if no operation is in flight (with its offset at this file's
    /// logical position), else `self` back.
    // tokio's signature; `File` holds the result of an inline call until it is taken.
    #[allow(clippy::result_large_err)]
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        if let State::Busy(_) = self.inner_mut().state {
            return Err(self);
        }
        if Arc::strong_count(&self.std) > 1 {
            return Err(self);
        }
        self.sync_position_now();
        match Arc::try_unwrap(self.std) {
            Ok(std) => Ok(std),
            Err(std) => Err(File {
                std,
                inner: self.inner,
                regular: self.regular,
                max_buf_size: self.max_buf_size,
            }),
        }
    }

    /// Moves the descriptor's offset to the logical position right here (`lseek` does not
    /// block). Idle only.
    fn sync_position_now(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let State::Idle(buf) = &mut inner.state else {
            return;
        };
        let mut buf = mem::take(buf);
        let delta = inner.take_fixup(&mut buf);
        inner.state = State::Idle(buf);
        // Only fails for descriptors that cannot seek, which had no read-ahead to drop and no
        // zero-copy skip (only regular files offer it); nothing is lost then.
        let _ = seek_by(&self.std, delta);
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let max = me.max_buf_size;
        let std = &me.std;
        let inner = me.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        loop {
            match &mut inner.state {
                State::Idle(buf) => {
                    if !buf.is_empty() || dst.remaining() == 0 {
                        buf.copy_to(dst);
                        return Poll::Ready(Ok(()));
                    }
                    let mut buf = mem::take(buf);
                    let n = dst.remaining().min(super::chunk(max));
                    let delta = inner.take_fixup(&mut buf);
                    let std = std.clone();
                    inner.state = State::Busy(super::spawn_blocking(move || {
                        let res = seek_by(&std, delta).and_then(|()| buf.read_from(&mut &*std, n));
                        (Operation::Read(res), buf)
                    }));
                }
                State::Busy(_) => {
                    let (op, mut buf) = ready!(inner.poll_busy(cx))?;
                    match op {
                        Operation::Read(Ok(_)) => {
                            buf.copy_to(dst);
                            inner.state = State::Idle(buf);
                            return Poll::Ready(Ok(()));
                        }
                        Operation::Read(Err(e)) => {
                            buf.clear();
                            inner.state = State::Idle(buf);
                            return Poll::Ready(Err(e));
                        }
                        Operation::Write(res) => {
                            buf.clear();
                            inner.state = State::Idle(buf);
                            if let Err(e) = res {
                                inner.last_write_err = Some(e);
                            }
                        }
                        Operation::Seek(res) => {
                            inner.state = State::Idle(buf);
                            if let Ok(pos) = res {
                                inner.pos = pos;
                            }
                        }
                        Operation::Other => inner.state = State::Idle(buf),
                    }
                }
            }
        }
    }

    /// A regular file's descriptor at its logical position, while idle with no read-ahead and
    /// no pending write error; `None` otherwise.
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        let inner = self.inner.try_lock().ok()?;
        match &inner.state {
            State::Idle(buf) if buf.is_empty() => {}
            _ => return None,
        }
        if inner.last_write_err.is_some() || !self.is_regular() {
            return None;
        }
        // `lseek(fd, 0, SEEK_CUR)` only reads the offset: it does not block.
        let offset = (&*self.std)
            .stream_position()
            .ok()?
            .checked_add(inner.skip)?;
        Some((
            ZeroCopySource::File {
                fd: self.std.as_raw_fd(),
                offset,
            },
            None,
        ))
    }

    /// Advances the logical position by `n`: the next operation starts `n` bytes further on.
    fn zero_copy_consumed(self: Pin<&mut Self>, n: u64) {
        let inner = self.get_mut().inner_mut();
        let mut n = n;
        if let State::Idle(buf) = &mut inner.state {
            // Not expected (no zero-copy form is offered with read-ahead), but stay consistent.
            let k = usize::try_from(n).map_or(buf.len(), |n| n.min(buf.len()));
            buf.pos += k;
            n -= k as u64;
        }
        inner.skip = inner.skip.saturating_add(n);
    }
}

impl AsyncWrite for File {
    /// Copies (up to the maximum buffer size of) `src` to the file's buffer and starts writing
    /// it on the blocking pool; waits first for the operation in flight. Reports the error of
    /// an earlier write, if one failed.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let max = me.max_buf_size;
        let std = &me.std;
        let inner = me.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        loop {
            match &mut inner.state {
                State::Idle(buf) => {
                    if let Some(e) = inner.last_write_err.take() {
                        return Poll::Ready(Err(e));
                    }
                    if src.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut buf = mem::take(buf);
                    let delta = inner.take_fixup(&mut buf);
                    let n = buf.copy_from(src, super::chunk(max));
                    let std = std.clone();
                    inner.state = State::Busy(super::spawn_blocking(move || {
                        let res = seek_by(&std, delta).and_then(|()| buf.write_to(&mut &*std));
                        (Operation::Write(res), buf)
                    }));
                    return Poll::Ready(Ok(n));
                }
                State::Busy(_) => {
                    let (op, buf) = ready!(inner.poll_busy(cx))?;
                    inner.state = State::Idle(buf);
                    match op {
                        Operation::Write(Err(e)) => return Poll::Ready(Err(e)),
                        Operation::Seek(Ok(pos)) => inner.pos = pos,
                        // A read's bytes are dropped (and the offset moved back) by the write.
                        _ => {}
                    }
                }
            }
        }
    }

    /// Waits for the write in flight; reports its error, or an earlier one.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner_mut().poll_flush(cx)
    }

    /// The same as [`poll_flush`](Self::poll_flush): a file has no write side to shut down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    /// Starts a seek on the blocking pool. `SeekFrom::Current` is relative to the logical
    /// position (read-ahead and zero-copy reads accounted for). Fails if an operation is in
    /// flight: call [`poll_complete`](AsyncSeek::poll_complete) first.
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let me = self.get_mut();
        let std = me.std.clone();
        let inner = me.inner_mut();
        let State::Idle(buf) = &mut inner.state else {
            return Err(io::Error::other(
                "another file operation is in flight; call poll_complete before start_seek",
            ));
        };
        let position = match position {
            SeekFrom::Current(n) => {
                let skip = i64::try_from(inner.skip).ok();
                let unread = buf.len() as i64;
                let off = skip
                    .and_then(|s| n.checked_add(s))
                    .and_then(|v| v.checked_sub(unread));
                match off {
                    Some(off) => SeekFrom::Current(off),
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "seek offset overflows",
                        ))
                    }
                }
            }
            other => other,
        };
        let mut buf = mem::take(buf);
        buf.clear();
        inner.skip = 0;
        inner.state = State::Busy(super::spawn_blocking(move || {
            let res = (&*std).seek(position);
            (Operation::Seek(res), buf)
        }));
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let inner = self.get_mut().inner_mut();
        loop {
            if let State::Idle(_) = inner.state {
                return Poll::Ready(Ok(inner.pos));
            }
            let (op, buf) = ready!(inner.poll_busy(cx))?;
            inner.state = State::Idle(buf);
            match op {
                Operation::Seek(res) => {
                    if let Ok(pos) = res {
                        inner.pos = pos;
                    }
                    return Poll::Ready(res);
                }
                Operation::Write(Err(e)) => inner.last_write_err = Some(e),
                _ => {}
            }
        }
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl From<OwnedFd> for File {
    /// Wraps an open file descriptor (its offset is where reads and writes start).
    fn from(fd: OwnedFd) -> File {
        File::from_std(std::fs::File::from(fd))
    }
}

impl FromRawFd for File {
    /// Takes ownership of `fd`.
    ///
    /// # Safety
    /// `fd` must be an open file descriptor that nothing else owns or closes.
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: the caller passes ownership of an open fd (this function's contract).
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buf_discard_read_reports_the_seek_back() {
        let mut buf = Buf::default();
        assert_eq!(buf.copy_from(b"abcdef", 4), 4);
        buf.pos = 1;
        assert_eq!(buf.discard_read(), -3);
        assert!(buf.is_empty());
    }
}
