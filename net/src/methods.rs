//! The public methods that several socket types share, written once.
//!
//! tokio gives each socket type its own copy of `readable`, `try_read`, the split halves and
//! so on, so that every item has its own path (`tokio::net::tcp::OwnedReadHalf`,
//! `tokio::net::unix::OwnedReadHalf`, ...). netpoll keeps those paths but writes each method
//! once: the behaviour lives in [`PollEvented`](crate::poll_evented::PollEvented), and these
//! macros stamp the typed fronts: `socket_methods!` (readiness, `try_io`, addresses, std
//! conversions) on every socket, `stream_methods!` on `TcpStream`/`UnixStream`,
//! `stream_halves!` for their halves, `datagram_methods!` on `UdpSocket`/`UnixDatagram`,
//! `std_conversions!` on every socket and listener. Each front only forwards, converting addresses with
//! the `$addr` function it is given.

/// The methods and trait impls every stream socket has. `$std` is the std type of
/// `from_std`/`into_std`; `$addr` converts a `socket2::SockAddr` to the address type `$a`.
macro_rules! stream_methods {
    ($t:ident, $std:ty, $a:ty, $addr:path) => {
        crate::methods::socket_methods!($t, $std, $a, $addr, poll_read_ready, poll_write_ready);

        impl $t {
            /// Reads what is there without waiting. `Ok(0)` is the end of the stream (or an
            /// empty `buf`); `WouldBlock` means nothing is there, and clears read readiness so
            /// that [`readable`](Self::readable) waits for the next data.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_read(buf)
            }

            /// [`try_read`](Self::try_read) into several buffers, filled in order.
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.io.try_read_vectored(bufs)
            }

            /// [`try_read`](Self::try_read) into the spare capacity of a `BufMut`, advancing it.
            pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                self.io.try_read_buf(buf)
            }

            /// Writes what fits without waiting; `WouldBlock` clears write readiness.
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_write(buf)
            }

            /// [`try_write`](Self::try_write) from several buffers, in order.
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                self.io.try_write_vectored(bufs)
            }

            /// Borrowed halves, usable concurrently (no lock: the directions of a socket are
            /// independent).
            pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
                (ReadHalf(self), WriteHalf(self))
            }

            /// Owned halves, for different tasks; `reunite` puts them back together. Dropping
            /// the write half shuts the write direction down (the peer reads end of stream).
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let s = std::sync::Arc::new(self);
                (
                    OwnedReadHalf(s.clone()),
                    OwnedWriteHalf {
                        inner: s,
                        shutdown_on_drop: true,
                    },
                )
            }

            /// Reads some bytes, waiting for them; `Ok(0)` is the end of the stream (netpoll's
            /// addition, the inherent form of `AsyncReadExt::read` on `&self`).
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.read(buf).await
            }

            /// Writes some bytes, waiting for room (netpoll's addition).
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.write(buf).await
            }

            /// Shuts down one or both directions at once (`shutdown(2)`, netpoll's addition;
            /// `AsyncWriteExt::shutdown` is the tokio way for the write side).
            pub fn shutdown_std(&self, how: std::net::Shutdown) -> std::io::Result<()> {
                self.io.sock().shutdown(how)
            }

            /// Sets the read deadline (Go's `SetReadDeadline`, netpoll's addition): reads and
            /// read waits after it fail with `TimedOut` until it is moved or cleared. Costs no
            /// allocation per read.
            pub fn set_read_deadline(&self, at: Option<std::time::Instant>) {
                self.io.set_deadline(netpoll_io::Direction::Read, at)
            }

            /// Sets the write deadline (Go's `SetWriteDeadline`).
            pub fn set_write_deadline(&self, at: Option<std::time::Instant>) {
                self.io.set_deadline(netpoll_io::Direction::Write, at)
            }

            /// Sets both deadlines (Go's `SetDeadline`).
            pub fn set_deadline(&self, at: Option<std::time::Instant>) {
                self.set_read_deadline(at);
                self.set_write_deadline(at);
            }

            /// The read deadline.
            pub fn read_deadline(&self) -> Option<std::time::Instant> {
                self.io.deadline(netpoll_io::Direction::Read)
            }

            /// The write deadline.
            pub fn write_deadline(&self) -> Option<std::time::Instant> {
                self.io.deadline(netpoll_io::Direction::Write)
            }

            /// The readiness of one direction as the netpoller last saw it (netpoll's
            /// addition, for tests and tools).
            pub fn readiness(&self, d: netpoll_io::Direction) -> netpoll_io::ReadyEvent {
                self.io.registration().readiness(d)
            }

            /// The write direction's `shutdown(2)`; already disconnected counts as done.
            pub(crate) fn shutdown_write(&self) -> std::io::Result<()> {
                match self.io.sock().shutdown(std::net::Shutdown::Write) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    r => r,
                }
            }
        }

        impl AsRef<$t> for $t {
            fn as_ref(&self) -> &$t {
                self
            }
        }

        crate::methods::stream_io!($t, s => s);
        crate::methods::stream_io!(&$t, s => *s);
    };
}
pub(crate) use stream_methods;

/// `AsRawFd` and `AsFd` of a type with an `io: PollEvented` field.
macro_rules! fd_impls {
    ($t:ty) => {
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.fd()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.owned())
            }
        }
    };
}
pub(crate) use fd_impls;

/// `AsyncRead` and `AsyncWrite` for a stream or a reference to one; `$s => $e` names the
/// stream inside `&self`.
macro_rules! stream_io {
    ($t:ty, $s:ident => $e:expr) => {
        crate::methods::read_io!($t, $s => $e);
        crate::methods::write_io!($t, $s => $e, write_shutdown => $s);
    };
}
pub(crate) use stream_io;

/// `AsyncRead` for a stream or a read half; `$s => $e` gives the stream from `&self`.
macro_rules! read_io {
    ($t:ty, $s:ident => $e:expr) => {
        impl netpoll_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut netpoll_io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                $e.io.poll_read(cx, buf)
            }

            fn zero_copy_source(&self) -> Option<(netpoll_io::ZeroCopySource<'_>, Option<u64>)> {
                let $s = self;
                let io = &$e.io;
                Some((
                    netpoll_io::ZeroCopySource::Socket {
                        fd: io.fd(),
                        registration: io.registration(),
                    },
                    None,
                ))
            }
        }
    };
}
pub(crate) use read_io;

/// `AsyncWrite` for a stream or a write half. `poll_shutdown` calls `$shut`'s
/// `shutdown_write()` (the write half records that it is done).
macro_rules! write_io {
    ($t:ty, $s:ident => $e:expr, write_shutdown => $shut:expr) => {
        impl netpoll_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $e.io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $e.io.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                #[allow(unused_mut)]
                let mut $s = self;
                std::task::Poll::Ready($shut.shutdown_write())
            }

            fn zero_copy_sink(&self) -> Option<netpoll_io::ZeroCopySink<'_>> {
                let $s = self;
                let io = &$e.io;
                Some(netpoll_io::ZeroCopySink::Socket {
                    fd: io.fd(),
                    registration: io.registration(),
                })
            }
        }
    };
}
pub(crate) use write_io;

/// `peek`/`poll_peek` (TCP only, as in tokio) for a stream or a read half; `$s => $e` gives the
/// stream from `&self`, `$recv` is `&self` or `&mut self` as tokio has it.
macro_rules! peek_methods {
    ($t:ty, $s:ident => $e:expr, $($mut:tt)?) => {
        impl $t {
            /// Receives data without removing it from the queue: the next read returns the same
            /// bytes. Waits until some data (or the end of the stream) is there.
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn peek(&$($mut)? self, buf: &mut [u8]) -> std::io::Result<usize> {
                let $s = &*self;
                $e.io.recv(buf, libc::MSG_PEEK).await
            }

            /// Polls a [`peek`](Self::peek) into `buf`, returning how many bytes were peeked.
            pub fn poll_peek(
                &$($mut)? self,
                cx: &mut std::task::Context<'_>,
                buf: &mut netpoll_io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $e.io.poll_recv(cx, buf, libc::MSG_PEEK)
            }
        }
    };
}
pub(crate) use peek_methods;

/// `ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf` and `ReuniteError` of the stream
/// type `$t` (in the module that invokes it), with tokio's methods; `$a` is the address type.
macro_rules! stream_halves {
    ($t:ident, $a:ty) => {
        /// The borrowed read half of [`split`]($t::split).
        #[derive(Debug)]
        pub struct ReadHalf<'a>(pub(crate) &'a $t);

        /// The borrowed write half of [`split`]($t::split). Shutting it down
        /// (`AsyncWriteExt::shutdown`) shuts the stream's write direction down; dropping it
        /// does not.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(pub(crate) &'a $t);

        /// The owned read half of [`into_split`]($t::into_split).
        #[derive(Debug)]
        pub struct OwnedReadHalf(pub(crate) std::sync::Arc<$t>);

        /// The owned write half of [`into_split`]($t::into_split). Dropping it (or
        /// `AsyncWriteExt::shutdown`) shuts the write direction down, so the peer reads end
        /// of stream; [`forget`](Self::forget) drops it without that.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            pub(crate) inner: std::sync::Arc<$t>,
            pub(crate) shutdown_on_drop: bool,
        }

        /// The halves given to `reunite` came from different streams; both are given back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl OwnedReadHalf {
            /// Puts the halves back together into the stream; fails (giving both back) if they
            /// come from different streams.
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$t, ReuniteError> {
                if !std::sync::Arc::ptr_eq(&self.0, &other.inner) {
                    return Err(ReuniteError(self, other));
                }
                let mut other = other;
                other.shutdown_on_drop = false;
                let inner = other.inner.clone();
                drop(other);
                drop(self);
                Ok(std::sync::Arc::into_inner(inner)
                    .expect("both halves of the stream were consumed"))
            }
        }

        impl OwnedWriteHalf {
            /// [`OwnedReadHalf::reunite`] from this side.
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$t, ReuniteError> {
                other.reunite(self)
            }

            /// Drops the half without shutting the write direction down; it closes when the
            /// read half is dropped too.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }

            fn shutdown_write(&mut self) -> std::io::Result<()> {
                let r = self.inner.shutdown_write();
                if r.is_ok() {
                    self.shutdown_on_drop = false;
                }
                r
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown_write();
                }
            }
        }

        impl WriteHalf<'_> {
            fn shutdown_write(&self) -> std::io::Result<()> {
                self.0.shutdown_write()
            }
        }

        crate::methods::half_methods!(ReadHalf<'_>, s => s.0, $t, $a, read);
        crate::methods::half_methods!(OwnedReadHalf, s => s.0, $t, $a, read);
        crate::methods::half_methods!(WriteHalf<'_>, s => s.0, $t, $a, write);
        crate::methods::half_methods!(OwnedWriteHalf, s => s.inner, $t, $a, write);
        crate::methods::read_io!(ReadHalf<'_>, s => s.0);
        crate::methods::read_io!(OwnedReadHalf, s => s.0);
        crate::methods::write_io!(WriteHalf<'_>, s => s.0, write_shutdown => s);
        crate::methods::write_io!(OwnedWriteHalf, s => s.inner, write_shutdown => s.as_mut().get_mut());
    };
}
pub(crate) use stream_halves;

/// The methods of one half: addresses, `ready`, `AsRef` to the stream, and the read or the
/// write family of `readable`/`try_*`.
macro_rules! half_methods {
    ($h:ty, $s:ident => $e:expr, $t:ident, $a:ty, $dir:ident) => {
        impl $h {
            /// The local address of the stream.
            pub fn local_addr(&self) -> std::io::Result<$a> {
                let $s = self;
                $e.local_addr()
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> std::io::Result<$a> {
                let $s = self;
                $e.peer_addr()
            }

            /// Waits for readiness of the stream, as [`ready`]($t::ready) does (either
            /// direction can be asked for, from either half).
            pub async fn ready(&self, interest: crate::Interest) -> std::io::Result<crate::Ready> {
                let $s = self;
                $e.ready(interest).await
            }
        }

        impl AsRef<$t> for $h {
            fn as_ref(&self) -> &$t {
                let $s = self;
                &$e
            }
        }

        crate::methods::half_methods!(@$dir $h, $s => $e, $t);
    };
    (@read $h:ty, $s:ident => $e:expr, $t:ident) => {
        impl $h {
            /// Waits until the stream is readable, as [`readable`]($t::readable).
            pub async fn readable(&self) -> std::io::Result<()> {
                let $s = self;
                $e.readable().await
            }

            /// Reads without waiting, as [`try_read`]($t::try_read).
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                let $s = self;
                $e.try_read(buf)
            }

            /// As [`try_read_vectored`]($t::try_read_vectored).
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                let $s = self;
                $e.try_read_vectored(bufs)
            }

            /// As [`try_read_buf`]($t::try_read_buf).
            pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                let $s = self;
                $e.try_read_buf(buf)
            }
        }
    };
    (@write $h:ty, $s:ident => $e:expr, $t:ident) => {
        impl $h {
            /// Waits until the stream is writable, as [`writable`]($t::writable).
            pub async fn writable(&self) -> std::io::Result<()> {
                let $s = self;
                $e.writable().await
            }

            /// Writes without waiting, as [`try_write`]($t::try_write).
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                let $s = self;
                $e.try_write(buf)
            }

            /// As [`try_write_vectored`]($t::try_write_vectored).
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                let $s = self;
                $e.try_write_vectored(bufs)
            }
        }
    };
}
pub(crate) use half_methods;

/// The methods and trait impls every datagram socket has. `$std` is the std type;
/// `$addr` converts a `socket2::SockAddr` to the address type `$a`.
macro_rules! datagram_methods {
    ($t:ident, $std:ty, $a:ty, $addr:path) => {
        crate::methods::socket_methods!($t, $std, $a, $addr, poll_recv_ready, poll_send_ready);

        impl $t {
            /// Sends one datagram to the connected peer, waiting for room.
            ///
            /// # Cancel safety
            /// Cancel safe: if cancelled, nothing was sent.
            pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.send(buf).await
            }

            /// Polls sending one datagram to the connected peer.
            pub fn poll_send(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_send(cx, buf)
            }

            /// Sends one datagram to the connected peer without waiting; `WouldBlock` clears
            /// send readiness.
            pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_write(buf)
            }

            /// Receives one datagram from the connected peer, waiting for it. A datagram
            /// longer than `buf` is cut off.
            ///
            /// # Cancel safety
            /// Cancel safe: if cancelled, no datagram was received.
            pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.recv(buf, 0).await
            }

            /// Polls receiving one datagram into `buf`'s unfilled part.
            pub fn poll_recv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut netpoll_io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_recv(cx, buf, 0).map_ok(|_| ())
            }

            /// Receives one datagram without waiting; `WouldBlock` clears receive readiness.
            pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_read(buf)
            }

            /// [`recv`](Self::recv) into the spare capacity of a `BufMut`, advancing it.
            pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                self.io.recv_buf(buf).await
            }

            /// [`try_recv`](Self::try_recv) into a `BufMut`.
            pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
                self.io.try_read_buf(buf)
            }

            /// Receives one datagram and its sender, waiting for it.
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $a)> {
                let (n, a) = self.io.recv_from(buf, 0).await?;
                Ok((n, $addr(a)?))
            }

            /// Polls receiving one datagram into `buf`, returning its sender.
            pub fn poll_recv_from(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut netpoll_io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<$a>> {
                let a = std::task::ready!(self.io.poll_recv_from(cx, buf, 0))?;
                std::task::Poll::Ready($addr(a))
            }

            /// Receives one datagram and its sender without waiting.
            pub fn try_recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $a)> {
                let (n, a) = self.io.try_recv_from(buf, 0)?;
                Ok((n, $addr(a)?))
            }

            /// [`recv_from`](Self::recv_from) into a `BufMut`.
            pub async fn recv_buf_from<B: bytes::BufMut>(
                &self,
                buf: &mut B,
            ) -> std::io::Result<(usize, $a)> {
                let (n, a) = self.io.recv_buf_from(buf).await?;
                Ok((n, $addr(a)?))
            }

            /// [`try_recv_from`](Self::try_recv_from) into a `BufMut`.
            pub fn try_recv_buf_from<B: bytes::BufMut>(
                &self,
                buf: &mut B,
            ) -> std::io::Result<(usize, $a)> {
                let (n, a) = self.io.try_recv_buf_from(buf)?;
                Ok((n, $addr(a)?))
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("fd", &self.io.fd())
                    .field("local", &self.local_addr().ok())
                    .finish()
            }
        }
    };
}
pub(crate) use datagram_methods;

/// `from_std`, `into_std`, `TryFrom` and the fd impls of a socket or listener type `$t` that
/// has `from_poll_evented` and an `io` field; `$std` is the std type it converts from and to.
macro_rules! std_conversions {
    ($t:ident, $std:ty) => {
        impl $t {
            /// Wraps the std type, making it non-blocking (tokio leaves that to the caller;
            /// netpoll does it, so a blocking one works too). Must be called inside a runtime.
            pub fn from_std(std: $std) -> std::io::Result<$t> {
                Ok($t::from_poll_evented(
                    crate::poll_evented::PollEvented::from_std(std)?,
                ))
            }

            /// Deregisters it and returns the std type, still in non-blocking mode
            /// (`set_nonblocking(false)` for blocking use).
            pub fn into_std(self) -> std::io::Result<$std> {
                Ok(<$std>::from(self.io.into_fd()?))
            }
        }

        impl TryFrom<$std> for $t {
            type Error = std::io::Error;

            /// [`from_std`]($t::from_std).
            fn try_from(std: $std) -> std::io::Result<$t> {
                $t::from_std(std)
            }
        }

        crate::methods::fd_impls!($t);
    };
}
pub(crate) use std_conversions;

/// What every socket type has: readiness (with the names of its two poll methods), `try_io`,
/// `async_io`, `take_error`, addresses, `from_std`/`into_std`/`TryFrom`, and the fd impls.
macro_rules! socket_methods {
    ($t:ident, $std:ty, $a:ty, $addr:path, $poll_read_ready:ident, $poll_write_ready:ident) => {
        impl $t {
            /// Waits for any of the requested readiness (`READABLE`, `WRITABLE`, or both) and
            /// reports what is ready. The readiness is a hint: the next I/O call may still get
            /// `WouldBlock`, which clears it (then wait again). Read-closed and write-closed
            /// readiness are reported too.
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn ready(&self, interest: crate::Interest) -> std::io::Result<crate::Ready> {
                self.io.ready(interest).await
            }

            /// Waits until the socket is readable (data, a datagram, the peer closed, or an error):
            /// the next read may then succeed, or return `WouldBlock` for a spurious wake-up.
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.ready(crate::Interest::READABLE).await.map(|_| ())
            }

            /// Waits until the socket is writable: the next write may then succeed, or return
            /// `WouldBlock` for a spurious wake-up.
            ///
            /// # Cancel safety
            /// Cancel safe.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.ready(crate::Interest::WRITABLE).await.map(|_| ())
            }

            /// Polls for read readiness. Only the task of the last call is woken (use
            /// [`readable`](Self::readable) for several waiters).
            pub fn $poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_ready(cx, netpoll_io::Direction::Read)
            }

            /// Polls for write readiness. Only the task of the last call is woken.
            pub fn $poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_ready(cx, netpoll_io::Direction::Write)
            }

            /// Runs the caller's non-blocking I/O `f` on the socket if it is ready for
            /// `interest`; returns `WouldBlock` without calling `f` if it is not. If `f`
            /// returns `WouldBlock`, the readiness is cleared. `f` must do I/O of the kind
            /// `interest` names, and may not return `WouldBlock` for any other reason.
            pub fn try_io<R>(
                &self,
                interest: crate::Interest,
                f: impl FnOnce() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.io.try_io(interest, f)
            }

            /// Waits for `interest` and runs `f`, again while it returns `WouldBlock`; returns
            /// its first other result. The same contract on `f` as [`try_io`](Self::try_io).
            pub async fn async_io<R>(
                &self,
                interest: crate::Interest,
                f: impl FnMut() -> std::io::Result<R>,
            ) -> std::io::Result<R> {
                self.io.async_io(interest, f).await
            }

            /// The pending socket error (`SO_ERROR`), clearing it.
            pub fn take_error(&self) -> std::io::Result<Option<std::io::Error>> {
                self.io.take_error()
            }

            /// The local address.
            pub fn local_addr(&self) -> std::io::Result<$a> {
                $addr(self.io.sock().local_addr()?)
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> std::io::Result<$a> {
                $addr(self.io.sock().peer_addr()?)
            }

            pub(crate) fn from_poll_evented(io: crate::poll_evented::PollEvented) -> $t {
                $t { io }
            }
        }

        crate::methods::std_conversions!($t, $std);
    };
}
pub(crate) use socket_methods;
