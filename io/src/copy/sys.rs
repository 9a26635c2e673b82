//! The zero-copy syscalls (Linux): splice(2), sendfile(2), and the pipes splice needs.
//! Elsewhere `copy` always takes the buffered path.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use netpoll_runtime::syscall;

/// The pipe size we ask for (Go's splice uses 1 MiB too); falls back to the default if the
/// system caps it lower (`/proc/sys/fs/pipe-max-size`).
pub(crate) const PIPE_SIZE: usize = 1 << 20;

/// A non-blocking pipe for splice, sized with F_SETPIPE_SZ.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) r: OwnedFd,
    pub(crate) w: OwnedFd,
    pub(crate) size: usize,
}

impl Pipe {
    pub(crate) fn new() -> io::Result<Pipe> {
        let mut fds = [0 as libc::c_int; 2];
        syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC))?;
        // SAFETY: pipe2 returned two new fds that nobody else owns.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let size = match syscall!(fcntl(
            w.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            PIPE_SIZE as libc::c_int
        )) {
            Ok(n) => n as usize,
            // EPERM (over the unprivileged cap) or EBUSY: keep what we have.
            Err(_) => syscall!(fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ))
                .map(|n| n as usize)
                .unwrap_or(64 * 1024),
        };
        Ok(Pipe { r, w, size })
    }
}

/// `splice(from, NULL, to, NULL, len, SPLICE_F_NONBLOCK)`: never SPLICE_F_MORE (Go #10948).
pub(crate) fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    syscall!(splice(
        from,
        std::ptr::null_mut(),
        to,
        std::ptr::null_mut(),
        len,
        libc::SPLICE_F_NONBLOCK
    ))
    .map(|n| n as usize)
}

/// `sendfile(out, in, &offset, len)`; advances `offset`.
pub(crate) fn sendfile(out: RawFd, file: RawFd, offset: &mut u64, len: usize) -> io::Result<usize> {
    let mut off = *offset as libc::off_t;
    let n = syscall!(sendfile(out, file, &mut off, len))? as usize;
    *offset = off as u64;
    Ok(n)
}

/// The size of a regular file.
pub(crate) fn file_size(fd: RawFd) -> io::Result<u64> {
    // SAFETY: an all-zero `stat` is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    syscall!(fstat(fd, &mut st))?;
    Ok(st.st_size as u64)
}
