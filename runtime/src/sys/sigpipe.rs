//! SIGPIPE: ignored, as Go's runtime does, unless the embedding program set a handler.

/// Writes to a departed peer must fail with EPIPE, never kill the process. send/sendmsg use
/// MSG_NOSIGNAL, but splice(2) and sendfile(2) into a socket cannot, so, as Go's runtime does,
/// SIGPIPE is ignored when its disposition is still the default (Rust binaries already ignore
/// it; a C host embedding netpoll may not). A handler someone installed is left alone.
pub(crate) fn ignore_sigpipe() {
    if cfg!(miri) {
        return; // Miri has no sigaction; the process is the test harness anyway.
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: querying and then setting SIGPIPE's disposition with valid pointers; SIG_IGN
        // is async-signal-safe by definition.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_DFL
            {
                let mut ign: libc::sigaction = std::mem::zeroed();
                ign.sa_sigaction = libc::SIG_IGN;
                libc::sigemptyset(&mut ign.sa_mask);
                libc::sigaction(libc::SIGPIPE, &ign, std::ptr::null_mut());
            }
        }
    });
}
