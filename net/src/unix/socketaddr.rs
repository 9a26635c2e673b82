use std::io;
use std::path::Path;

/// The address of a Unix-domain socket, like `tokio::net::unix::SocketAddr`: a path, an
/// abstract name (Linux), or unnamed.
#[derive(Clone)]
pub struct SocketAddr(pub(super) std::os::unix::net::SocketAddr);

impl SocketAddr {
    /// Whether the address is unnamed (a `socketpair` end, an unbound socket).
    pub fn is_unnamed(&self) -> bool {
        self.0.is_unnamed()
    }

    /// The path, if the address is one.
    pub fn as_pathname(&self) -> Option<&Path> {
        self.0.as_pathname()
    }

    /// The abstract name (Linux), if the address is one; without the leading NUL.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        crate::sys::as_abstract_name(&self.0)
    }

    /// From a `socket2` address of the Unix family.
    pub(crate) fn from_sock(a: socket2::SockAddr) -> io::Result<SocketAddr> {
        let std = if let Some(path) = a.as_pathname() {
            std::os::unix::net::SocketAddr::from_pathname(path)?
        } else if let Some(name) = a.as_abstract_namespace() {
            crate::sys::from_abstract_name(name)?
        } else if a.is_unnamed()
            || a.len() == 0
            || a.family() == libc::AF_UNSPEC as libc::sa_family_t
        {
            // (A datagram from an unbound sender comes with no address at all: length 0.)
            // An empty path is how std spells "unnamed" (the address is the family alone).
            std::os::unix::net::SocketAddr::from_pathname("")?
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a Unix socket address",
            ));
        };
        Ok(SocketAddr(std))
    }

    /// To a `socket2` address, to bind or connect to.
    pub(crate) fn to_sock(&self) -> io::Result<socket2::SockAddr> {
        if let Some(path) = self.as_pathname() {
            socket2::SockAddr::unix(path)
        } else if let Some(name) = self.as_abstract_name() {
            crate::sys::abstract_sock_addr(name)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an unnamed address can not be bound or connected to",
            ))
        }
    }
}

impl std::fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<std::os::unix::net::SocketAddr> for SocketAddr {
    fn from(value: std::os::unix::net::SocketAddr) -> SocketAddr {
        SocketAddr(value)
    }
}

impl From<SocketAddr> for std::os::unix::net::SocketAddr {
    fn from(value: SocketAddr) -> std::os::unix::net::SocketAddr {
        value.0
    }
}
