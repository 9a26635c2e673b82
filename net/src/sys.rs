//! The socket syscalls netpoll issues itself (the hot ones), each turning `-1` into an
//! `io::Error`. Options and address conversions go through `socket2`.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use socket2::SockAddr;

macro_rules! syscall {
    ($fn: ident ( $($arg: expr),* $(,)* ) ) => {{
        // SAFETY: each call site passes arguments valid for the named libc function (live fds,
        // buffers with their true lengths); the macro only adds the error check.
        #[allow(unused_unsafe, clippy::macro_metavars_in_unsafe)]
        let res = unsafe { libc::$fn($($arg, )*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
// macOS has no MSG_NOSIGNAL; sockets get SO_NOSIGPIPE at creation instead.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const NOSIGNAL: libc::c_int = 0;

/// `recv` into `buf`.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    transfer(Dir::Recv, fd, buf.as_mut_ptr().cast(), buf.len(), flags)
}

/// `recv` into possibly uninitialised memory (the kernel only writes bytes it returns).
pub(crate) fn recv_uninit(
    fd: RawFd,
    buf: &mut [std::mem::MaybeUninit<u8>],
    flags: libc::c_int,
) -> io::Result<usize> {
    transfer(Dir::Recv, fd, buf.as_mut_ptr().cast(), buf.len(), flags)
}

/// `send` from `buf`, never raising SIGPIPE.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // `send` only reads through the pointer; it is `*mut` to share `transfer` with `recv`.
    transfer(
        Dir::Send,
        fd,
        buf.as_ptr().cast_mut().cast(),
        buf.len(),
        NOSIGNAL,
    )
}

/// Which way [`transfer`] moves bytes.
#[derive(Clone, Copy)]
enum Dir {
    /// `recv`: the kernel writes up to `len` bytes at `ptr`.
    Recv,
    /// `send`: the kernel reads `len` bytes at `ptr`.
    Send,
}

// On Linux the two hottest syscalls go straight to the kernel (`syscall(2)`), as Go's do:
// glibc's `recv` and `send` are thread-cancellation points, so every call enables and then
// disables asynchronous cancellation around the syscall, ~1.2 % of an HTTP server's CPU under
// wrk (perf: `__pthread_enable_asynccancel` / `__pthread_disable_asynccancel`). netpoll never
// cancels threads. Miri knows the libc functions, not these raw syscalls.

/// `recvfrom(fd, ptr, len, flags, NULL, NULL)` or `sendto(fd, ptr, len, flags, NULL, 0)` as a
/// raw syscall on Linux; `recv` or `send` through libc elsewhere and under Miri.
/// `ptr` must be valid for `len` bytes: for writes with `Recv`, for reads with `Send`.
fn transfer(
    dir: Dir,
    fd: RawFd,
    ptr: *mut libc::c_void,
    len: usize,
    flags: libc::c_int,
) -> io::Result<usize> {
    #[cfg(all(target_os = "linux", not(miri)))]
    let res = {
        let nr = match dir {
            Dir::Recv => libc::SYS_recvfrom,
            Dir::Send => libc::SYS_sendto,
        };
        // SAFETY: `ptr` is valid for `len` bytes in the direction `dir` needs (the caller's
        // buffer); the address arguments are NULL / 0, which both syscalls accept; every
        // argument is passed as the `long` the kernel reads.
        let n = unsafe {
            libc::syscall(
                nr,
                fd as libc::c_long,
                ptr,
                len,
                flags as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n)
        }
    };
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let res = match dir {
        Dir::Recv => syscall!(recv(fd, ptr, len, flags)),
        Dir::Send => syscall!(send(fd, ptr, len, flags)),
    };
    res.map(|n| n as usize)
}

/// `sendmsg` of several buffers, never raising SIGPIPE.
pub(crate) fn send_vectored(fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is ABI-compatible with iovec on unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(1024) as _;
    syscall!(sendmsg(fd, &msg, NOSIGNAL)).map(|n| n as usize)
}

/// `accept4(NONBLOCK | CLOEXEC)`: one syscall, no fcntl after it (Go's `accept`).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn accept(fd: RawFd) -> io::Result<(OwnedFd, SockAddr)> {
    // SAFETY: `SockAddr::try_init` hands us storage and its length for accept4 to fill.
    let (res, addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            let s = syscall!(accept4(
                fd,
                storage.cast(),
                len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
            ))?;
            Ok(s)
        })
    }?;
    // SAFETY: accept4 returned a new fd that nobody else owns.
    Ok((unsafe { OwnedFd::from_raw_fd(res) }, addr))
}

/// `accept`, then non-blocking and close-on-exec (macOS has no accept4).
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) fn accept(fd: RawFd) -> io::Result<(OwnedFd, SockAddr)> {
    // SAFETY: as above, with plain accept.
    let (res, addr) =
        unsafe { SockAddr::try_init(|storage, len| syscall!(accept(fd, storage.cast(), len))) }?;
    // SAFETY: accept returned a new fd that nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(res) };
    let sock = socket2::SockRef::from(&fd);
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    sock.set_nosigpipe(true)?;
    Ok((fd, addr))
}

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: socket2::Domain, ty: socket2::Type) -> io::Result<socket2::Socket> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let s = socket2::Socket::new(domain, ty.nonblocking().cloexec(), None)?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let s = {
        let s = socket2::Socket::new(domain, ty, None)?;
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        s.set_nosigpipe(true)?;
        s
    };
    Ok(s)
}
