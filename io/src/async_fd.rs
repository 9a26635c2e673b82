//! `io::unix::AsyncFd`: readiness of any fd the caller owns, through the netpoller.
//!
//! Like every netpoll fd, an `AsyncFd`'s fd is registered once, edge-triggered, for both
//! directions (see `Registration`); the [`Interest`] given at construction only says which
//! directions the caller means to wait on. Readiness is per direction, with the protocol of
//! `ScheduledIo`: a wait returns a guard holding the readiness it saw (a snapshot); code that
//! then gets `EAGAIN` clears that snapshot (`clear_ready`, or `try_io` does it), so the next
//! wait parks until the next edge. A snapshot that a newer event has superseded is not
//! cleared, so no edge is lost between the wait and the clear.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use netpoll_runtime::io::{Direction, ReadyEvent, Registration};

use crate::{Interest, Ready};

/// An fd (any `T: AsRawFd` the caller owns) in the netpoller, like
/// `tokio::io::unix::AsyncFd`: wait until it is readable or writable, then do the I/O
/// yourself, non-blocking.
///
/// The fd must be in non-blocking mode. Dropping the `AsyncFd` deregisters the fd before
/// dropping `T` (which usually closes it); [`into_inner`](AsyncFd::into_inner) deregisters and
/// gives `T` back.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use netpoll_io::unix::AsyncFd;
///
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (a, mut b) = UnixStream::pair()?;
/// a.set_nonblocking(true)?;
/// // SAFETY: `a` owns its fd and nothing else closes it.
/// let a = unsafe { AsyncFd::register(a) }?;
/// b.write_all(b"ping")?;
/// let mut buf = [0u8; 4];
/// let n = loop {
///     let mut guard = a.readable().await?;
///     match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///         Ok(result) => break result?,
///         Err(_would_block) => continue,
///     }
/// };
/// assert_eq!(&buf[..n], b"ping");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    // Dropped before `inner`: the fd leaves the netpoller before `T` closes it.
    reg: Option<Registration>,
    interest: Interest,
    inner: Option<T>,
}

/// The error of [`AsyncFd::register`] (and the deprecated `try_new`): the cause, and the value
/// back.
pub struct AsyncFdRegisterError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdRegisterError<T> {
    /// The value that could not be registered, and why.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Display for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cause.fmt(f)
    }
}

impl<T> fmt::Debug for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cause.fmt(f)
    }
}

impl<T> std::error::Error for AsyncFdRegisterError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdRegisterError<T>> for io::Error {
    fn from(e: AsyncFdRegisterError<T>) -> io::Error {
        e.cause
    }
}

/// tokio's older name of [`AsyncFdRegisterError`].
pub type AsyncFdTryNewError<T> = AsyncFdRegisterError<T>;

/// The error of a guard's `try_io` whose closure got `WouldBlock`: the readiness was stale
/// and has been cleared; wait again.
pub struct TryIoError(());

impl fmt::Debug for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryIoError(WouldBlock)")
    }
}

/// Snapshots taken by a wait, one slot per direction.
type Events = [Option<ReadyEvent>; 2];

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd with the current runtime's netpoller, for reading and writing,
    /// giving `inner` back on failure.
    ///
    /// # Safety
    /// `inner.as_raw_fd()` must be an open fd, and stay open and the same fd for as long as the
    /// `AsyncFd` lives (until it is dropped or [`into_inner`](AsyncFd::into_inner) returns):
    /// the `AsyncFd` hands out `BorrowedFd`s of it ([`AsFd`]) and the netpoller keeps it
    /// registered. A `T` that owns its fd (`OwnedFd`, `UnixStream`, ...) and is not closed by
    /// other means satisfies this. Like tokio's, this is the sound form of [`new`](AsyncFd::new).
    ///
    /// # Errors
    /// Outside a runtime, or when the netpoller refuses the fd (`EPERM` for a regular file,
    /// `EEXIST` if it is registered already).
    pub unsafe fn register(inner: T) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { AsyncFd::register_with_interest(inner, Interest::READABLE | Interest::WRITABLE) }
    }

    /// As [`register`](AsyncFd::register), waiting only on the directions of `interest`.
    ///
    /// # Safety
    /// As for [`register`](AsyncFd::register).
    pub unsafe fn register_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        if let Err(cause) = interest.wait_directions() {
            return Err(AsyncFdRegisterError { inner, cause });
        }
        match Registration::new(inner.as_raw_fd()) {
            Ok(reg) => Ok(AsyncFd {
                reg: Some(reg),
                interest,
                inner: Some(inner),
            }),
            Err(cause) => Err(AsyncFdRegisterError { inner, cause }),
        }
    }

    /// Registers `inner`'s fd, for reading and writing.
    ///
    /// Deprecated as in tokio 1.54 (tokio#8587): safe code could wrap a closed or borrowed fd.
    /// Use [`register`](AsyncFd::register).
    #[deprecated(note = "unsound without I/O safety (tokio#8587); use `AsyncFd::register`")]
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        // SAFETY: not guaranteed; this constructor is deprecated for that reason, as tokio's.
        unsafe { Ok(AsyncFd::register(inner)?) }
    }

    /// Registers `inner`'s fd, for the directions of `interest`. Deprecated; see
    /// [`new`](AsyncFd::new).
    #[deprecated(
        note = "unsound without I/O safety (tokio#8587); use `AsyncFd::register_with_interest`"
    )]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        // SAFETY: not guaranteed; deprecated, as tokio's.
        unsafe { Ok(AsyncFd::register_with_interest(inner, interest)?) }
    }

    /// As [`new`](AsyncFd::new), giving `inner` back on failure. Deprecated.
    #[deprecated(note = "unsound without I/O safety (tokio#8587); use `AsyncFd::register`")]
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: not guaranteed; deprecated, as tokio's.
        unsafe { AsyncFd::register(inner) }
    }

    /// As [`with_interest`](AsyncFd::with_interest), giving `inner` back on failure. Deprecated.
    #[deprecated(
        note = "unsound without I/O safety (tokio#8587); use `AsyncFd::register_with_interest`"
    )]
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: not guaranteed; deprecated, as tokio's.
        unsafe { AsyncFd::register_with_interest(inner, interest) }
    }

    fn reg(&self) -> &Registration {
        self.reg.as_ref().expect("AsyncFd used after into_inner")
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("AsyncFd used after into_inner")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("AsyncFd used after into_inner")
    }

    /// The interest given at construction.
    pub fn interest(&self) -> Interest {
        self.interest
    }

    /// Deregisters the fd and returns the value, which keeps it open.
    pub fn into_inner(mut self) -> T {
        if let Some(reg) = self.reg.take() {
            let _ = reg.deregister();
        }
        self.inner.take().expect("AsyncFd used after into_inner")
    }

    /// Polls the wanted directions; ready once any of them is.
    fn poll_events(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Events>> {
        let (read, write) = interest.wait_directions()?;
        let reg = self.reg();
        let mut events: Events = [None, None];
        if read {
            if let Poll::Ready(ev) = reg.poll_ready(Direction::Read, cx) {
                events[0] = Some(ev?);
            }
        }
        if write {
            if let Poll::Ready(ev) = reg.poll_ready(Direction::Write, cx) {
                events[1] = Some(ev?);
            }
        }
        let mut ready = Ready::EMPTY;
        for ev in events.iter().flatten() {
            ready |= Ready::from(*ev);
        }
        let wanted = (interest.is_readable() && (ready.is_readable() || ready.is_read_closed()))
            || (interest.is_writable() && (ready.is_writable() || ready.is_write_closed()))
            || (interest.is_error() && (ready.is_read_closed() || ready.is_write_closed()));
        if wanted {
            Poll::Ready(Ok(events))
        } else {
            Poll::Pending
        }
    }

    /// Polls for read readiness: a guard, or `Pending` with the task's waker stored.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_events(cx, Interest::READABLE)
            .map_ok(|events| AsyncFdReadyGuard { fd: self, events })
    }

    /// [`poll_read_ready`](Self::poll_read_ready) with a guard that gives `&mut T`.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.poll_events(cx, Interest::READABLE) {
            Poll::Ready(Ok(events)) => Poll::Ready(Ok(AsyncFdReadyMutGuard { fd: self, events })),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls for write readiness.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_events(cx, Interest::WRITABLE)
            .map_ok(|events| AsyncFdReadyGuard { fd: self, events })
    }

    /// [`poll_write_ready`](Self::poll_write_ready) with a guard that gives `&mut T`.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        match self.poll_events(cx, Interest::WRITABLE) {
            Poll::Ready(Ok(events)) => Poll::Ready(Ok(AsyncFdReadyMutGuard { fd: self, events })),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits until the fd is ready for any direction of `interest`. Cancel safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let events = poll_fn(|cx| self.poll_events(cx, interest)).await?;
        Ok(AsyncFdReadyGuard { fd: self, events })
    }

    /// [`ready`](Self::ready) with a guard that gives `&mut T`. Cancel safe.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let events = poll_fn(|cx| self.poll_events(cx, interest)).await?;
        Ok(AsyncFdReadyMutGuard { fd: self, events })
    }

    /// Waits until the fd is readable. Cancel safe.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// [`readable`](Self::readable) with a guard that gives `&mut T`.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until the fd is writable. Cancel safe.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// [`writable`](Self::writable) with a guard that gives `&mut T`.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// The snapshot of a direction of `interest` that is ready now, or `WouldBlock`.
    fn ready_now(&self, interest: Interest) -> io::Result<ReadyEvent> {
        let (read, write) = interest.wait_directions()?;
        let reg = self.reg();
        for (wanted, direction) in [(read, Direction::Read), (write, Direction::Write)] {
            if wanted {
                let ev = reg.readiness(direction);
                if ev.is_ready() || ev.is_closed() {
                    return Ok(ev);
                }
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Runs `f` if the fd is ready for `interest` now, without waiting: returns `WouldBlock`
    /// without calling `f` if it is not; if `f` returns `WouldBlock`, clears the readiness it
    /// ran on (so the next wait parks until the next event).
    ///
    /// `f` should do one kind of I/O (one direction) on the fd, and return `WouldBlock` only
    /// when that I/O did. With a combined interest the readable direction is tried first.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let seen = self.ready_now(interest)?;
        let res = f(self.get_ref());
        if is_would_block(&res) {
            self.reg().clear_readiness(seen);
        }
        res
    }

    /// [`try_io`](Self::try_io) with `&mut T`.
    pub fn try_io_mut<R>(
        &mut self,
        interest: Interest,
        f: impl FnOnce(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let seen = self.ready_now(interest)?;
        let res = f(self.get_mut());
        if is_would_block(&res) {
            self.reg().clear_readiness(seen);
        }
        res
    }

    /// Waits for `interest` and runs `f`, again and again while it returns `WouldBlock`
    /// (clearing the readiness each time); returns its first other result.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready(interest).await?;
            match guard.try_io(|fd| f(fd.get_ref())) {
                Ok(result) => return result,
                Err(TryIoError(())) => continue,
            }
        }
    }

    /// [`async_io`](Self::async_io) with `&mut T`.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.ready_mut(interest).await?;
            match guard.try_io(|fd| f(fd.get_mut())) {
                Ok(result) => return result,
                Err(TryIoError(())) => continue,
            }
        }
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd belongs to `T`, which `self` owns and keeps open for the borrow.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .field("interest", &self.interest)
            .finish()
    }
}

fn clear(reg: &Registration, events: &mut Events, matching: Ready) {
    for slot in events.iter_mut() {
        let Some(ev) = *slot else { continue };
        let wants = match ev.direction() {
            Direction::Read => matching.is_readable(),
            Direction::Write => matching.is_writable(),
        };
        // A hang-up or error is never cleared: EOF stays visible to every later wait.
        if wants && !ev.is_closed() {
            reg.clear_readiness(ev);
            *slot = None;
        }
    }
}

fn is_would_block<R>(res: &io::Result<R>) -> bool {
    matches!(res, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// What a guard's `try_io` returns for `f`'s result; clears the readiness on `WouldBlock`.
fn after_io<R>(
    reg: &Registration,
    events: &mut Events,
    res: io::Result<R>,
) -> Result<io::Result<R>, TryIoError> {
    if is_would_block(&res) {
        clear(reg, events, Ready::ALL);
        Err(TryIoError(()))
    } else {
        Ok(res)
    }
}

fn ready_of_events(events: &Events) -> Ready {
    let mut r = Ready::EMPTY;
    for ev in events.iter().flatten() {
        r |= Ready::from(*ev);
    }
    r
}

/// The methods both guards share: what the wait saw, and clearing it.
macro_rules! readiness_methods {
    () => {
        /// The readiness seen.
        pub fn ready(&self) -> Ready {
            ready_of_events(&self.events)
        }

        /// Forgets the readiness seen: the next wait parks until the next event. (A hang-up
        /// or error is never forgotten: EOF stays visible to every later wait.)
        pub fn clear_ready(&mut self) {
            clear(self.fd.reg(), &mut self.events, Ready::ALL);
        }

        /// Forgets the readiness seen in the directions of `ready` only.
        pub fn clear_ready_matching(&mut self, ready: Ready) {
            clear(self.fd.reg(), &mut self.events, ready);
        }

        /// Keeps the readiness, which is also what dropping the guard does.
        pub fn retain_ready(&mut self) {}
    };
}

macro_rules! guard_debug {
    ($name:ident) => {
        impl<T: AsRawFd + fmt::Debug> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("ready", &self.ready())
                    .finish()
            }
        }
    };
}

/// The readiness an [`AsyncFd`] wait saw. Clear it (`clear_ready`, or `try_io` does) when the
/// I/O gets `WouldBlock`; dropping the guard keeps it.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    events: Events,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    readiness_methods!();

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns `Err(TryIoError)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let res = f(self.fd);
        after_io(self.fd.reg(), &mut self.events, res)
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

guard_debug!(AsyncFdReadyGuard);

/// [`AsyncFdReadyGuard`] over `&mut AsyncFd`: `try_io` and `get_inner_mut` give `&mut T`.
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    fd: &'a mut AsyncFd<T>,
    events: Events,
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    readiness_methods!();

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns `Err(TryIoError)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let res = f(self.fd);
        after_io(self.fd.reg(), &mut self.events, res)
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd`, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The wrapped value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

guard_debug!(AsyncFdReadyMutGuard);
