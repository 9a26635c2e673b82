//! Address arguments: anything `ToSocketAddrs`; names are resolved on the blocking pool.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Types that name one or more socket addresses, like `tokio::net::ToSocketAddrs`. Literal
/// addresses resolve at once; host names are looked up on the blocking pool (never on a worker).
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::*;

    /// What resolving an address argument needs.
    pub enum Resolve {
        /// Already known.
        Ready(Vec<SocketAddr>),
        /// A `host:port` string for the system resolver.
        Lookup(String),
    }

    pub trait ToSocketAddrsPriv {
        fn resolve(&self) -> io::Result<Resolve>;
    }
}

use sealed::Resolve;

macro_rules! ready_impl {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::ToSocketAddrsPriv for $t {
            fn resolve(&self) -> io::Result<Resolve> {
                Ok(Resolve::Ready(std::net::ToSocketAddrs::to_socket_addrs(self)?.collect()))
            }
        }
    )*};
}

ready_impl!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for &[SocketAddr] {}
impl sealed::ToSocketAddrsPriv for &[SocketAddr] {
    fn resolve(&self) -> io::Result<Resolve> {
        Ok(Resolve::Ready(self.to_vec()))
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::ToSocketAddrsPriv for [SocketAddr; N] {
    fn resolve(&self) -> io::Result<Resolve> {
        Ok(Resolve::Ready(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl sealed::ToSocketAddrsPriv for str {
    fn resolve(&self) -> io::Result<Resolve> {
        match self.parse::<SocketAddr>() {
            Ok(a) => Ok(Resolve::Ready(vec![a])),
            Err(_) => Ok(Resolve::Lookup(self.to_string())),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToSocketAddrsPriv for String {
    fn resolve(&self) -> io::Result<Resolve> {
        self.as_str().resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn resolve(&self) -> io::Result<Resolve> {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Ok(Resolve::Ready(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Ok(Resolve::Lookup(format!("{}:{}", self.0, self.1))),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn resolve(&self) -> io::Result<Resolve> {
        (self.0.as_str(), self.1).resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn resolve(&self) -> io::Result<Resolve> {
        (**self).resolve()
    }
}

/// An IP address from a `socket2` address (`InvalidInput` for any other family).
pub(crate) fn to_inet(a: socket2::SockAddr) -> io::Result<SocketAddr> {
    a.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
}

/// Resolves an address argument to its addresses.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    match addr.resolve()? {
        Resolve::Ready(v) => Ok(v),
        Resolve::Lookup(host) => {
            netpoll_runtime::spawn_blocking(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&host).map(|i| i.collect())
            })
            .await?
        }
    }
}

/// Looks up `host` (`"name:port"`, or any [`ToSocketAddrs`]) on the blocking pool, like
/// `tokio::net::lookup_host`.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let addrs: Vec<_> = netpoll_net::lookup_host("localhost:80").await.unwrap().collect();
/// assert!(addrs.iter().all(|a| a.port() == 80));
/// # });
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(
    host: A,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(&host).await?.into_iter())
}

/// Tries `f` on each address, returning the first success or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: &A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
