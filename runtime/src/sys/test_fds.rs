//! Raw fd helpers for the unit tests of the selector and the runtime: `write(2)`/`read(2)` and
//! `fcntl(O_NONBLOCK)`, which Miri supports on socketpairs where std's `send`/`recv` and
//! `set_nonblocking` (an ioctl) are not.

/// `write(2)`/`read(2)`: Miri's socketpairs support these, not std's `send`/`recv`.
pub(crate) fn raw_write(s: &impl std::os::fd::AsRawFd, data: &[u8]) -> std::io::Result<usize> {
    // SAFETY: writing from a live buffer of the given length to an fd we own.
    let n = unsafe { libc::write(s.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub(crate) fn raw_read(s: &impl std::os::fd::AsRawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: reading into a live buffer of the given length from an fd we own.
    let n = unsafe { libc::read(s.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `fcntl(O_NONBLOCK)`: std's `set_nonblocking` uses an ioctl that Miri lacks for sockets.
pub(crate) fn set_nonblocking(s: &impl std::os::fd::AsRawFd) {
    let fd = s.as_raw_fd();
    // SAFETY: fcntl on an fd we own; F_GETFL/F_SETFL take and return plain ints.
    let rc = unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
    assert_eq!(rc, 0);
}
