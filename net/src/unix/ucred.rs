// As tokio writes them: libc's `uid_t`/`gid_t`/`pid_t` are these types on every platform netpoll
// builds for.

/// A user id (`u32`), as tokio names it.
#[allow(non_camel_case_types)]
pub type uid_t = u32;
/// A group id (`u32`).
#[allow(non_camel_case_types)]
pub type gid_t = u32;
/// A process id (`i32`).
#[allow(non_camel_case_types)]
pub type pid_t = i32;

/// The credentials of the process at the other end of a Unix stream, like
/// `tokio::net::unix::UCred` ([`UnixStream::peer_cred`](super::UnixStream::peer_cred)).
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
pub struct UCred {
    pub(crate) pid: Option<pid_t>,
    pub(crate) uid: uid_t,
    pub(crate) gid: gid_t,
}

impl UCred {
    /// The user id.
    pub fn uid(&self) -> uid_t {
        self.uid
    }

    /// The group id.
    pub fn gid(&self) -> gid_t {
        self.gid
    }

    /// The process id, where the platform reports it (Linux, macOS).
    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }
}
