//! What every example server shares: the command-line contract of `shared/DESIGN.md`.
//!
//! - workers from `NETPOLL_WORKERS` (default: the number of cores);
//! - exactly one line `listening on ADDR` on stdout, flushed, once bound;
//! - SIGINT/SIGTERM: stop accepting, let open connections finish for up to 5 s, exit 0;
//! - a connection's error is logged to stderr and ends that connection only;
//! - at most `NETPOLL_MAX_CONNS` connections at once (default: what the fd limit allows, see
//!   [`max_conns`]); at the limit the server stops accepting until one closes, so a flood of
//!   clients waits in the listen backlog instead of exhausting the server's fds or memory;
//!   if no connection closes for [`SHED_AFTER`], the clients waiting in the backlog are
//!   accepted and closed at once (shed), so none is left hanging.
#![allow(dead_code)]

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpoll::net::{TcpListener, TcpStream};
use netpoll::signal::{signal, SignalKind};

/// How long open connections may run on after SIGINT/SIGTERM.
pub const GRACE: Duration = Duration::from_secs(5);

/// At the connection limit, how long the accept loop waits for a slot before it sheds the
/// clients waiting in the backlog (accepts and closes them: they see EOF at once instead of
/// hanging).
pub const SHED_AFTER: Duration = Duration::from_secs(2);

/// The most backlog clients shed in one round (the backlog is 1024).
const SHED_MAX: usize = 1024;

/// Shared by a server's connections: how many are open, and whether shutdown began.
#[derive(Default)]
pub struct State {
    open: AtomicUsize,
    shutting_down: AtomicBool,
    /// Tasks waiting in `shutdown_started`, by the key their future holds.
    waiters: std::sync::Mutex<(u64, std::collections::HashMap<u64, std::task::Waker>)>,
}

impl State {
    /// True once SIGINT/SIGTERM arrived: long-lived connections should wind down.
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(SeqCst)
    }

    /// Completes when shutdown begins: race it against a read to end an idle keep-alive
    /// connection at once instead of at its next timeout. Dropping it removes its waker.
    pub fn shutdown_started(&self) -> ShutdownStarted<'_> {
        ShutdownStarted {
            state: self,
            key: None,
        }
    }

    fn begin_shutdown(&self) {
        self.shutting_down.store(true, SeqCst);
        let waiters = std::mem::take(&mut self.waiters.lock().unwrap_or_else(|e| e.into_inner()).1);
        waiters.into_values().for_each(std::task::Waker::wake);
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(SeqCst)
    }
}

/// The future of [`State::shutdown_started`].
pub struct ShutdownStarted<'a> {
    state: &'a State,
    key: Option<u64>,
}

impl Future for ShutdownStarted<'_> {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.state.shutting_down() {
            return std::task::Poll::Ready(());
        }
        {
            let mut w = self.state.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let key = match self.key {
                Some(k) => k,
                None => {
                    w.0 += 1;
                    w.0
                }
            };
            w.1.insert(key, cx.waker().clone());
            self.key = Some(key);
        }
        // Re-check after registering: `begin_shutdown` sets the flag before it takes the wakers.
        if self.state.shutting_down() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

impl Drop for ShutdownStarted<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            self.state
                .waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .remove(&k);
        }
    }
}

struct Open(Arc<State>);
impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, SeqCst);
    }
}

/// Prints usage and returns the exit code for bad arguments.
pub fn usage(text: &str) -> ExitCode {
    eprintln!("usage: {text}");
    ExitCode::from(2)
}

/// Builds the runtime (workers from `NETPOLL_WORKERS`), or explains why it could not.
pub fn runtime() -> Result<netpoll::runtime::Runtime, ExitCode> {
    netpoll::runtime::Runtime::new().map_err(|e| {
        eprintln!("cannot start the runtime: {e}");
        ExitCode::FAILURE
    })
}

/// Prints the contract's one stdout line.
pub fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}

/// Waits for SIGINT or SIGTERM.
pub async fn termination() -> io::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    std::future::poll_fn(|cx| {
        if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    Ok(())
}

/// The most connections a server holds at once: `NETPOLL_MAX_CONNS` if set, else what the
/// process's soft fd limit leaves, when each connection costs `fds_per_conn` descriptors, after
/// the fds open now and a reserve for the runtime, the listener, files, splice pipes and the
/// shedding of waiting clients: a sixteenth of the limit, at least 16 and at most 256. At
/// `nofile=64` that is 64 - 3 - 16 = 45 connections; at 20000, 19741.
pub fn max_conns(fds_per_conn: usize) -> Result<usize, String> {
    if let Ok(v) = std::env::var("NETPOLL_MAX_CONNS") {
        return match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "NETPOLL_MAX_CONNS={v:?}: expected a positive number"
            )),
        };
    }
    Ok(conns_for_limit(fd_soft_limit(), open_fds(), fds_per_conn))
}

/// [`max_conns`]'s arithmetic: `soft` fds in all, `in_use` open now.
pub fn conns_for_limit(soft: usize, in_use: usize, fds_per_conn: usize) -> usize {
    let reserve = (soft / 16).clamp(16, 256);
    (soft.saturating_sub(in_use + reserve) / fds_per_conn.max(1)).max(1)
}

/// The soft RLIMIT_NOFILE (1024 if it cannot be read).
fn fd_soft_limit() -> usize {
    // "Max open files            20000                20000                files"
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1024)
}

/// Fds open in this process now (3, for the standard streams, if it cannot be read).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count().saturating_sub(1)) // the directory's own fd
        .unwrap_or(3)
}

/// Accepts and closes every client waiting in the backlog now (at most [`SHED_MAX`]); returns
/// how many. Never waits.
async fn shed_backlog(listener: &TcpListener) -> usize {
    let mut shed = 0;
    while shed < SHED_MAX {
        let once = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match listener.poll_accept(cx) {
                std::task::Poll::Ready(r) => Some(r),
                std::task::Poll::Pending => None,
            })
        })
        .await;
        match once {
            Some(Ok((stream, _))) => {
                drop(stream);
                shed += 1;
            }
            // Pending (the backlog is empty) or an error (out of fds even for this): stop.
            Some(Err(_)) | None => break,
        }
    }
    shed
}

/// Runs a TCP server on `addr` until SIGINT/SIGTERM: one task per connection running
/// `handler`, then up to [`GRACE`] for open connections to finish. Returns the exit code.
pub fn serve<F, Fut>(addr: &str, handler: F) -> ExitCode
where
    F: Fn(TcpStream, SocketAddr, Arc<State>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    serve_fds(addr, 1, handler)
}

/// [`serve`] for a server whose connections cost `fds_per_conn` descriptors each (a proxy's
/// connection holds two sockets and up to two splice pipes), which sets the default
/// connection limit.
pub fn serve_fds<F, Fut>(addr: &str, fds_per_conn: usize, handler: F) -> ExitCode
where
    F: Fn(TcpStream, SocketAddr, Arc<State>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let limit = match max_conns(fds_per_conn) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let addr = addr.to_string();
    let code = rt.block_on(async move {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        // Register the signal handlers before announcing, so a signal right after the line is
        // never missed.
        let stop = termination();
        let mut stop = std::pin::pin!(stop);
        if std::future::poll_fn(|cx| std::task::Poll::Ready(stop.as_mut().poll(cx).is_ready()))
            .await
        {
            return ExitCode::SUCCESS;
        }
        match listener.local_addr() {
            Ok(a) => announce(a),
            Err(e) => {
                eprintln!("cannot read the bound address: {e}");
                return ExitCode::FAILURE;
            }
        }
        let state = Arc::new(State::default());
        let handler = Arc::new(handler);
        let slots = Arc::new(netpoll::sync::Semaphore::new(limit));
        {
            let accept_loop = async {
                let mut warned = false;
                loop {
                    // A slot first: at the limit, stop accepting until a connection closes;
                    // if none does for SHED_AFTER, shed the backlog and wait again.
                    let slot = match slots.clone().try_acquire_owned() {
                        Ok(p) => p,
                        Err(_) => {
                            if !warned {
                                warned = true;
                                eprintln!(
                                    "connection limit {limit} reached: new connections wait \
                                     up to {SHED_AFTER:?}, then are closed (NETPOLL_MAX_CONNS)"
                                );
                            }
                            loop {
                                let wait = slots.clone().acquire_owned();
                                match netpoll::time::timeout(SHED_AFTER, wait).await {
                                    Ok(Ok(p)) => break p,
                                    Ok(Err(_)) => return,
                                    Err(_) => {
                                        let n = shed_backlog(&listener).await;
                                        if n > 0 {
                                            eprintln!(
                                                "connection limit {limit}: closed {n} waiting \
                                                 connection(s)"
                                            );
                                        }
                                    }
                                }
                            }
                        }
                    };
                    match listener.accept().await {
                        Ok((stream, peer)) => {
                            state.open.fetch_add(1, SeqCst);
                            let guard = (Open(state.clone()), slot);
                            let fut = handler(stream, peer, state.clone());
                            netpoll::spawn(async move {
                                if let Err(e) = fut.await {
                                    if !quiet(&e) {
                                        eprintln!("connection {peer}: {e}");
                                    }
                                }
                                drop(guard);
                            });
                        }
                        Err(e) => {
                            eprintln!("accept: {e}");
                            netpoll::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            };
            let mut accept_loop = std::pin::pin!(accept_loop);
            std::future::poll_fn(|cx| {
                if let std::task::Poll::Ready(r) = stop.as_mut().poll(cx) {
                    return std::task::Poll::Ready(r);
                }
                let _ = accept_loop.as_mut().poll(cx);
                std::task::Poll::Pending
            })
            .await
            .ok();
        }
        drop(listener);
        state.begin_shutdown();
        let deadline = Instant::now() + GRACE;
        while state.open() > 0 && Instant::now() < deadline {
            netpoll::time::sleep(Duration::from_millis(10)).await;
        }
        if state.open() > 0 {
            eprintln!(
                "closing {} connection(s) still open after {GRACE:?}",
                state.open()
            );
        }
        ExitCode::SUCCESS
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Errors that are the peer's business, not worth a log line.
pub fn quiet(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionAborted
    )
}
