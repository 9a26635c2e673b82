//! The socket syscalls netpoll issues itself (the hot ones), each turning `-1` into an
//! `io::Error`. Options and address conversions go through `socket2`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use bytes::BufMut;
use netpoll_io::ReadBuf;

use socket2::SockAddr;

use netpoll_runtime::syscall;

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
// macOS has no MSG_NOSIGNAL; sockets get SO_NOSIGPIPE at creation instead.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) const NOSIGNAL: libc::c_int = 0;

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

/// `recvmsg` into several buffers.
pub(crate) fn recv_vectored(
    fd: RawFd,
    bufs: &mut [io::IoSliceMut<'_>],
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSliceMut is ABI-compatible with iovec on unix; the kernel writes within each one.
    msg.msg_iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(1024) as _;
    syscall!(recvmsg(fd, &mut msg, flags)).map(|n| n as usize)
}

/// Runs `f` (a receive syscall that writes only initialised bytes and returns how many it
/// wrote) on the unfilled part of `buf`, and marks those bytes filled.
fn fill_read_buf<R>(
    buf: &mut ReadBuf<'_>,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<(usize, R)> {
    // SAFETY: `f` is one of this module's receive calls: the kernel only writes initialised
    // bytes into the memory, never de-initialises it.
    let dst = unsafe { buf.unfilled_mut() };
    let (n, r) = f(dst)?;
    // SAFETY: the kernel wrote (initialised) `n` bytes at the start of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok((n, r))
}

/// [`fill_read_buf`] for a `bytes::BufMut` (`try_read_buf`, `recv_buf`).
fn fill_buf_mut<B: BufMut + ?Sized, R>(
    buf: &mut B,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<(usize, R)> {
    let chunk = buf.chunk_mut();
    // SAFETY: as in `fill_read_buf`: only the kernel writes through this slice, and it writes
    // initialised bytes.
    let dst = unsafe { chunk.as_uninit_slice_mut() };
    let (n, r) = f(dst)?;
    // SAFETY: the kernel initialised `n` bytes at the start of `chunk_mut`.
    unsafe { buf.advance_mut(n) };
    Ok((n, r))
}

/// A receive into an initialised buffer, through the uninitialised-memory form.
fn with_uninit<R>(
    buf: &mut [u8],
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<R>,
) -> io::Result<R> {
    // SAFETY: `u8` and `MaybeUninit<u8>` share a layout, and `f` (one of this module's receive
    // calls) only ever writes initialised bytes, so `buf` stays initialised.
    let ubuf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    f(ubuf)
}

/// `recv` with `flags` into the unfilled part of a `ReadBuf`; returns the byte count.
pub(crate) fn recv_read_buf(
    fd: RawFd,
    buf: &mut ReadBuf<'_>,
    flags: libc::c_int,
) -> io::Result<usize> {
    fill_read_buf(buf, |dst| Ok((recv_uninit(fd, dst, flags)?, ()))).map(|(n, ())| n)
}

/// `recv` with `flags` into a `BufMut`; returns the byte count.
pub(crate) fn recv_buf_mut<B: BufMut + ?Sized>(
    fd: RawFd,
    buf: &mut B,
    flags: libc::c_int,
) -> io::Result<usize> {
    fill_buf_mut(buf, |dst| Ok((recv_uninit(fd, dst, flags)?, ()))).map(|(n, ())| n)
}

/// `recvfrom` with `flags` into a slice.
pub(crate) fn recv_from(
    sock: &socket2::SockRef<'_>,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<(usize, SockAddr)> {
    with_uninit(buf, |dst| sock.recv_from_with_flags(dst, flags))
}

/// `recvfrom` with `flags` into the unfilled part of a `ReadBuf`.
pub(crate) fn recv_from_read_buf(
    sock: &socket2::SockRef<'_>,
    buf: &mut ReadBuf<'_>,
    flags: libc::c_int,
) -> io::Result<SockAddr> {
    fill_read_buf(buf, |dst| sock.recv_from_with_flags(dst, flags)).map(|(_, a)| a)
}

/// `recvfrom` with `flags` into a `BufMut`.
pub(crate) fn recv_from_buf_mut<B: BufMut + ?Sized>(
    sock: &socket2::SockRef<'_>,
    buf: &mut B,
    flags: libc::c_int,
) -> io::Result<(usize, SockAddr)> {
    fill_buf_mut(buf, |dst| sock.recv_from_with_flags(dst, flags))
}

/// SO_BINDTODEVICE (Linux): tokio has `bind_device` there only; elsewhere `Unsupported`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn bind_device(sock: &socket2::SockRef<'_>, iface: Option<&[u8]>) -> io::Result<()> {
    sock.bind_device(iface)
}

/// SO_BINDTODEVICE is Linux-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn bind_device(_: &socket2::SockRef<'_>, _: Option<&[u8]>) -> io::Result<()> {
    Err(unsupported("SO_BINDTODEVICE"))
}

/// The device bound with SO_BINDTODEVICE (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn device(sock: &socket2::SockRef<'_>) -> io::Result<Option<Vec<u8>>> {
    sock.device()
}

/// SO_BINDTODEVICE is Linux-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn device(_: &socket2::SockRef<'_>) -> io::Result<Option<Vec<u8>>> {
    Err(unsupported("SO_BINDTODEVICE"))
}

/// TCP_QUICKACK (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_quickack(sock: &socket2::SockRef<'_>, on: bool) -> io::Result<()> {
    sock.set_tcp_quickack(on)
}

/// TCP_QUICKACK is Linux-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn set_quickack(_: &socket2::SockRef<'_>, _: bool) -> io::Result<()> {
    Err(unsupported("TCP_QUICKACK"))
}

/// TCP_QUICKACK (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn quickack(sock: &socket2::SockRef<'_>) -> io::Result<bool> {
    sock.tcp_quickack()
}

/// TCP_QUICKACK is Linux-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn quickack(_: &socket2::SockRef<'_>) -> io::Result<bool> {
    Err(unsupported("TCP_QUICKACK"))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not available on this platform"),
    )
}

/// A `socket2` socket owning `fd` (for the `FromRawFd` impls of `TcpSocket` and `UnixSocket`).
///
/// # Safety
/// `fd` must be an open socket that nothing else owns or closes.
pub(crate) unsafe fn socket_from_raw_fd(fd: RawFd) -> socket2::Socket {
    // SAFETY: the caller passes an open socket fd it gives up ownership of.
    unsafe { socket2::Socket::from_raw_fd(fd) }
}

/// The abstract name of a Unix address (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn as_abstract_name(a: &std::os::unix::net::SocketAddr) -> Option<&[u8]> {
    use std::os::linux::net::SocketAddrExt;
    a.as_abstract_name()
}

/// Abstract names are a Linux feature.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn as_abstract_name(_: &std::os::unix::net::SocketAddr) -> Option<&[u8]> {
    None
}

/// A std Unix address with an abstract name (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn from_abstract_name(name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name)
}

/// Abstract names are a Linux feature.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn from_abstract_name(_: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(unsupported("an abstract Unix socket name"))
}

/// A `socket2` address for an abstract name: socket2 reads a leading NUL that way.
pub(crate) fn abstract_sock_addr(name: &[u8]) -> io::Result<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.push(0);
    bytes.extend_from_slice(name);
    SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
}

/// The peer's credentials, `(pid, uid, gid)`: SO_PEERCRED (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_cred(fd: &OwnedFd) -> io::Result<(Option<i32>, u32, u32)> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero ucred is a valid value of this plain C struct.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    syscall!(getsockopt(
        fd.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_PEERCRED,
        (&mut cred as *mut libc::ucred).cast(),
        &mut len
    ))?;
    Ok((Some(cred.pid), cred.uid, cred.gid))
}

/// The peer's credentials, `(pid, uid, gid)`: `getpeereid` (BSDs, macOS); the pid is not
/// reported there.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_cred(fd: &OwnedFd) -> io::Result<(Option<i32>, u32, u32)> {
    use std::os::fd::AsRawFd;
    let mut uid: libc::uid_t = 0;
    let mut gid: libc::gid_t = 0;
    syscall!(getpeereid(fd.as_raw_fd(), &mut uid, &mut gid))?;
    Ok((None, uid, gid))
}

/// How an fd moves bytes: sockets with `recv`/`send` (never SIGPIPE), pipes with
/// `read`/`write` (`recv` on a pipe is `ENOTSOCK`; the runtime ignores SIGPIPE, so a write to a
/// pipe whose reader is gone is `EPIPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Socket,
    Pipe,
}

impl Kind {
    fn read_uninit(self, fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        match self {
            Kind::Socket => recv_uninit(fd, buf, 0),
            Kind::Pipe => {
                syscall!(read(fd, buf.as_mut_ptr().cast(), buf.len())).map(|n| n as usize)
            }
        }
    }

    /// Reads into `buf`.
    pub(crate) fn read(self, fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
        with_uninit(buf, |dst| self.read_uninit(fd, dst))
    }

    /// Reads into the unfilled part of a `ReadBuf`; returns the byte count.
    pub(crate) fn read_read_buf(self, fd: RawFd, buf: &mut ReadBuf<'_>) -> io::Result<usize> {
        fill_read_buf(buf, |dst| Ok((self.read_uninit(fd, dst)?, ()))).map(|(n, ())| n)
    }

    /// Reads into a `BufMut`; returns the byte count.
    pub(crate) fn read_buf_mut<B: BufMut + ?Sized>(
        self,
        fd: RawFd,
        buf: &mut B,
    ) -> io::Result<usize> {
        fill_buf_mut(buf, |dst| Ok((self.read_uninit(fd, dst)?, ()))).map(|(n, ())| n)
    }

    /// Reads into several buffers.
    pub(crate) fn read_vectored(
        self,
        fd: RawFd,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> io::Result<usize> {
        match self {
            Kind::Socket => recv_vectored(fd, bufs, 0),
            // IoSliceMut is ABI-compatible with iovec; the kernel writes within each one.
            Kind::Pipe => syscall!(readv(
                fd,
                bufs.as_mut_ptr().cast::<libc::iovec>(),
                bufs.len().min(1024) as libc::c_int
            ))
            .map(|n| n as usize),
        }
    }

    /// Writes from `buf`.
    pub(crate) fn write(self, fd: RawFd, buf: &[u8]) -> io::Result<usize> {
        match self {
            Kind::Socket => send(fd, buf),
            Kind::Pipe => syscall!(write(fd, buf.as_ptr().cast(), buf.len())).map(|n| n as usize),
        }
    }

    /// Writes from several buffers.
    pub(crate) fn write_vectored(self, fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Kind::Socket => send_vectored(fd, bufs),
            // IoSlice is ABI-compatible with iovec; the kernel only reads them.
            Kind::Pipe => syscall!(writev(
                fd,
                bufs.as_ptr().cast::<libc::iovec>(),
                bufs.len().min(1024) as libc::c_int
            ))
            .map(|n| n as usize),
        }
    }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC))?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    syscall!(pipe(fds.as_mut_ptr()))?;
    // SAFETY: pipe2/pipe returned two new fds that nobody else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    for fd in [&r, &w] {
        use std::os::fd::AsRawFd;
        set_nonblocking(fd, true)?;
        syscall!(fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC))?;
    }
    Ok((r, w))
}

/// Sets or clears O_NONBLOCK on any fd.
pub(crate) fn set_nonblocking(fd: &OwnedFd, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        syscall!(fcntl(fd.as_raw_fd(), libc::F_SETFL, new))?;
    }
    Ok(())
}

/// The access mode the fd was opened with (`O_RDONLY`, `O_WRONLY` or `O_RDWR`).
pub(crate) fn access_mode(fd: &OwnedFd) -> io::Result<libc::c_int> {
    use std::os::fd::AsRawFd;
    Ok(syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL))? & libc::O_ACCMODE)
}
