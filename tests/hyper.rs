//! hyper 1 on netpoll (the `hyper` feature): hyper's own server and client over netpoll sockets
//! through `netpoll::hyper` (`NetpollIo`, `NetpollExecutor`, `NetpollTimer`), and the
//! `hyper_server` example as a child process, driven by hyper's client and by curl.
//!
//! Every test runs under `support::bounded`, so a lost wake-up fails it instead of hanging.
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::rt::{Executor, Timer};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use netpoll::hyper::{NetpollExecutor, NetpollIo, NetpollSleep, NetpollTimer};
use netpoll::io::{AsyncReadExt, AsyncWriteExt};
use netpoll::net::{TcpListener, TcpStream};
use support::{bounded, Example, Pattern};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `test` on a fresh two-worker runtime under the watchdog.
fn run<Fut>(test: impl FnOnce() -> Fut + Send + 'static)
where
    Fut: Future<Output = ()>,
{
    bounded(LIMIT, move || support::rt(2).block_on(test()));
}

/// `len` deterministic bytes.
fn pattern(seed: u64, len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    Pattern::new(seed).fill(&mut v);
    Bytes::from(v)
}

// ---------------------------------------------------------------------------------------------
// The in-process server: hyper's own, on a netpoll listener.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Http1,
    Http2,
}

type Reply = Either<Full<Bytes>, Incoming>;

fn text(status: StatusCode, body: &'static str) -> Response<Reply> {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from_static(body.as_bytes()))));
    *resp.status_mut() = status;
    resp
}

/// `GET /` → hello; `POST /echo` → the body back, streamed; `GET /sleep?MS` → "slept" after MS
/// milliseconds on a netpoll timer; `GET /upgrade` with `Upgrade: echo` → 101, then the upgraded
/// connection echoes its bytes through `netpoll::io::copy`.
async fn service(req: Request<Incoming>) -> Result<Response<Reply>, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, World!"),
        (&Method::POST, "/echo") => Response::new(Either::Right(req.into_body())),
        (&Method::GET, "/sleep") => {
            let ms = req.uri().query().and_then(|q| q.parse().ok()).unwrap_or(0);
            netpoll::time::sleep(Duration::from_millis(ms)).await;
            text(StatusCode::OK, "slept")
        }
        (&Method::GET, "/upgrade") if req.headers().get(UPGRADE).is_some_and(|v| v == "echo") => {
            netpoll::spawn(async move {
                let upgraded = hyper::upgrade::on(req).await.expect("server upgrade");
                // hyper's Upgraded in netpoll's traits, split, and copied onto itself.
                let (mut r, mut w) = netpoll::io::split(NetpollIo::new(upgraded));
                netpoll::io::copy(&mut r, &mut w).await.expect("echo copy");
                w.shutdown().await.expect("shutdown upgraded");
            });
            let mut resp = text(StatusCode::SWITCHING_PROTOCOLS, "");
            resp.headers_mut()
                .insert(UPGRADE, HeaderValue::from_static("echo"));
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("upgrade"));
            resp
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(resp)
}

struct Server {
    addr: SocketAddr,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
}

/// Serves `proto` on 127.0.0.1 from the current runtime; HTTP/1 with the given header read
/// timeout (`NetpollTimer`) and upgrades.
async fn serve(proto: Proto, header_timeout: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    netpoll::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            count.fetch_add(1, SeqCst);
            netpoll::spawn(async move {
                let io = NetpollIo::new(stream);
                // A client that goes away mid-request is not this server's failure.
                let _ = match proto {
                    Proto::Http1 => {
                        http1::Builder::new()
                            .timer(NetpollTimer::new())
                            .header_read_timeout(header_timeout)
                            .serve_connection(io, service_fn(service))
                            .with_upgrades()
                            .await
                    }
                    Proto::Http2 => {
                        http2::Builder::new(NetpollExecutor::new())
                            .timer(NetpollTimer::new())
                            .serve_connection(io, service_fn(service))
                            .await
                    }
                };
            });
        }
    });
    Server { addr, accepted }
}

// ---------------------------------------------------------------------------------------------
// hyper's client on netpoll sockets.

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn h1_client<B>(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Error>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(NetpollIo::new(stream))
        .await
        .expect("http1 handshake");
    netpoll::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    sender
}

async fn h2_client<B>(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<B>
where
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Error>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::Builder::new(NetpollExecutor::new())
        .timer(NetpollTimer::new())
        .handshake(NetpollIo::new(stream))
        .await
        .expect("http2 handshake");
    netpoll::spawn(async move {
        let _ = conn.await;
    });
    sender
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn post(path: &str, body: Bytes) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(body))
        .expect("request")
}

/// Status and whole body of a response.
async fn collect(resp: Response<Incoming>) -> (StatusCode, Bytes) {
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

/// Sends requests on either protocol's sender, once it is ready for one (an HTTP/1 connection
/// may still be finishing the previous exchange when its response body has been read).
trait Send1 {
    fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> impl Future<Output = hyper::Result<Response<Incoming>>> + Send;
}

impl Send1 for hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    async fn send(&mut self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        self.ready().await?;
        self.send_request(req).await
    }
}

impl Send1 for hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    async fn send(&mut self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        self.ready().await?;
        self.send_request(req).await
    }
}

/// `GET /`, a POST echo of `echo_len` bytes and a 404, all checked.
async fn exercise(sender: &mut impl Send1, seed: u64, echo_len: usize) {
    let (status, body) = collect(sender.send(get("/")).await.expect("GET /")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "Hello, World!");

    let sent = pattern(seed, echo_len);
    let resp = sender
        .send(post("/echo", sent.clone()))
        .await
        .expect("POST /echo");
    let (status, body) = collect(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), sent.len(), "echo length");
    assert!(body == sent, "echoed body differs");

    let (status, _) = collect(sender.send(get("/missing")).await.expect("GET")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// hyper's server and client, in process.

/// 16 HTTP/1.1 connections at once, each with 10 rounds of requests on keep-alive.
#[test]
fn h1_parallel_connections_keep_alive() {
    run(|| async {
        let server = serve(Proto::Http1, Duration::from_secs(10)).await;
        let clients: Vec<_> = (0..16u64)
            .map(|c| {
                netpoll::spawn(async move {
                    let mut sender = h1_client::<Full<Bytes>>(server.addr).await;
                    for round in 0..10 {
                        exercise(&mut sender, c * 100 + round, 1000 + round as usize * 997).await;
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.expect("client task");
        }
        // Keep-alive: each client's 30 requests went over its one connection.
        assert_eq!(server.accepted.load(SeqCst), 16);
    });
}

/// A 6 MiB body through hyper's HTTP/1 reader and writer and back.
#[test]
fn h1_large_body_echo() {
    run(|| async {
        let server = serve(Proto::Http1, Duration::from_secs(10)).await;
        let mut sender = h1_client::<Full<Bytes>>(server.addr).await;
        exercise(&mut sender, 7, 6 << 20).await;
    });
}

/// One HTTP/2 connection carries 100 streams at once: 100 requests that each wait 300 ms on the
/// server finish together, and 100 concurrent echoes come back intact.
#[test]
fn h2_multiplexes_streams_on_one_connection() {
    run(|| async {
        let server = serve(Proto::Http2, Duration::from_secs(10)).await;
        let sender = h2_client::<Full<Bytes>>(server.addr).await;

        let start = Instant::now();
        let sleepers: Vec<_> = (0..100)
            .map(|_| {
                let mut s = sender.clone();
                netpoll::spawn(async move {
                    let (status, body) =
                        collect(s.send(get("/sleep?300")).await.expect("GET")).await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(body, "slept");
                })
            })
            .collect();
        for s in sleepers {
            s.await.expect("sleeper");
        }
        let took = start.elapsed();
        // One after another they would take 30 s.
        assert!(took < Duration::from_secs(10), "100 streams took {took:?}");

        let echoes: Vec<_> = (0..100u64)
            .map(|i| {
                let mut s = sender.clone();
                netpoll::spawn(async move { exercise(&mut s, i, 20_000 + i as usize * 613).await })
            })
            .collect();
        for e in echoes {
            e.await.expect("echo stream");
        }
        assert_eq!(server.accepted.load(SeqCst), 1);
    });
}

/// A 6 MiB body over HTTP/2: past the initial flow-control windows, so the window updates
/// (and the wake-ups behind them) must work both ways.
#[test]
fn h2_large_body_echo() {
    run(|| async {
        let server = serve(Proto::Http2, Duration::from_secs(10)).await;
        let mut sender = h2_client::<Full<Bytes>>(server.addr).await;
        exercise(&mut sender, 11, 6 << 20).await;
    });
}

/// HTTP/1.1 upgrade: after `101 Switching Protocols` both ends turn hyper's `Upgraded` back into
/// netpoll I/O with `NetpollIo` and 2 MiB go through the server's `netpoll::io::copy` and back.
#[test]
fn h1_upgrade_to_raw_echo() {
    run(|| async {
        let server = serve(Proto::Http1, Duration::from_secs(10)).await;
        let mut sender = h1_client::<Full<Bytes>>(server.addr).await;
        let req = Request::get("/upgrade")
            .header("host", "localhost")
            .header(UPGRADE, "echo")
            .header(CONNECTION, "upgrade")
            .body(Full::new(Bytes::new()))
            .expect("request");
        sender.ready().await.expect("ready");
        let resp = sender.send_request(req).await.expect("upgrade request");
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        let upgraded = hyper::upgrade::on(resp).await.expect("client upgrade");
        let (mut r, mut w) = netpoll::io::split(NetpollIo::new(upgraded));

        let sent = pattern(3, 2 << 20);
        let to_send = sent.clone();
        let writer = netpoll::spawn(async move {
            for chunk in to_send.chunks(100_000) {
                w.write_all(chunk).await.expect("write upgraded");
            }
            w.shutdown().await.expect("shutdown upgraded");
        });
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.expect("read upgraded");
        writer.await.expect("writer");
        assert_eq!(back.len(), sent.len());
        assert!(back == sent[..], "upgraded echo differs");
    });
}

/// hyper's HTTP/1 header read timeout runs on `NetpollTimer`: a client that stops in the middle
/// of a request head is cut off after the timeout, not before and not never.
#[test]
fn h1_header_read_timeout() {
    run(|| async {
        let server = serve(Proto::Http1, Duration::from_millis(300)).await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let start = Instant::now();
        support::write_all(&stream, b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {} // a 408, if hyper sends one
            }
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(290), "closed after {took:?}");
        assert!(took < Duration::from_secs(10), "closed after {took:?}");
    });
}

/// HTTP/2 keep-alive pings on `NetpollTimer` (reset after every ping) keep an idle connection
/// usable.
#[test]
fn h2_keep_alive_pings_on_idle_connection() {
    run(|| async {
        let server = serve(Proto::Http2, Duration::from_secs(10)).await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(NetpollExecutor::new())
            .timer(NetpollTimer::new())
            .keep_alive_interval(Duration::from_millis(50))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .handshake::<_, Full<Bytes>>(NetpollIo::new(stream))
            .await
            .expect("handshake");
        netpoll::spawn(conn);
        exercise(&mut sender, 1, 100).await;
        netpoll::time::sleep(Duration::from_millis(400)).await;
        exercise(&mut sender, 2, 100).await;
        assert_eq!(server.accepted.load(SeqCst), 1);
    });
}

/// `NetpollTimer::reset` moves a `NetpollSleep` in place (earlier, and again after it fired) and
/// replaces a sleep that is not its own.
#[test]
fn timer_reset_moves_the_deadline() {
    struct Foreign;
    impl Future for Foreign {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }
    impl hyper::rt::Sleep for Foreign {}

    run(|| async {
        let timer = NetpollTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let start = Instant::now();
        timer.reset(&mut sleep, start + Duration::from_millis(50));
        assert!(sleep.is::<NetpollSleep>());
        sleep.as_mut().await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "fired after {took:?}");
        assert!(took < Duration::from_secs(10), "fired after {took:?}");

        let again = Instant::now();
        timer.reset(&mut sleep, again + Duration::from_millis(30));
        sleep.as_mut().await;
        assert!(again.elapsed() >= Duration::from_millis(30));

        let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
        timer.reset(&mut foreign, Instant::now() + Duration::from_millis(10));
        assert!(foreign.is::<NetpollSleep>());
        foreign.await;
    });
}

/// `NetpollExecutor::with_handle` spawns from a thread outside the runtime; `new()` there panics
/// (as `netpoll::spawn` does), as its docs say.
#[test]
fn executor_inside_and_outside_the_runtime() {
    bounded(LIMIT, || {
        let rt = support::rt(2);
        let exec = NetpollExecutor::with_handle(rt.handle().clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            exec.execute(async move {
                netpoll::time::sleep(Duration::from_millis(1)).await;
                tx.send(()).expect("send");
            })
        })
        .join()
        .expect("outside thread");
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the spawned task ran");

        let outside = std::thread::spawn(|| NetpollExecutor::new().execute(async {})).join();
        assert!(outside.is_err(), "execute outside a runtime should panic");

        // Inside, `new()` spawns on the current runtime.
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async move { NetpollExecutor::new().execute(async move { tx.send(7) }) });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(7));
    });
}

// ---------------------------------------------------------------------------------------------
// The `hyper_server` example as a child process.

const EXAMPLE: &str = "hyper_server";

/// Brings the example binary up to date with this test binary's profile (`--test hyper` alone
/// does not build examples; a plain `cargo test --features hyper` does, and this is a no-op).
fn build_example() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        // target/<profile dir>/deps/<test binary>
        let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
        let target_dir: PathBuf = profile_dir.parent().expect("target dir").into();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "test",
            Some(other) => other,
        };
        let mut child = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--features",
                "hyper",
                "--example",
                EXAMPLE,
            ])
            .args(["--profile", profile])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .spawn()
            .expect("run cargo build --example");
        let end = Instant::now() + Duration::from_secs(900);
        loop {
            if let Some(st) = child.try_wait().expect("wait for cargo") {
                assert!(st.success(), "cargo build --example {EXAMPLE}: {st}");
                break;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cargo build --example {EXAMPLE} took more than 15 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// The running example; shows its stderr if the test fails.
struct ExampleServer(Example);

impl ExampleServer {
    fn start(env: &[(&str, &str)]) -> ExampleServer {
        build_example();
        let mut all = vec![("NETPOLL_WORKERS", "2")];
        all.extend_from_slice(env);
        ExampleServer(Example::start(EXAMPLE, &["127.0.0.1:0"], &all))
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Waits (bounded) for the child to exit by itself.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.0.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(
                Instant::now() < end,
                "{EXAMPLE} did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{EXAMPLE} stderr:\n{}",
                self.0.stderr.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    }
}

/// hyper's client, HTTP/1.1 and HTTP/2 (prior knowledge), against the example: the example
/// tells the two apart by the preface. Then SIGTERM: exit 0.
#[test]
fn example_serves_http1_and_http2() {
    let mut server = ExampleServer::start(&[]);
    let addr = server.addr();
    run(move || async move {
        let mut h1 = h1_client::<Full<Bytes>>(addr).await;
        for round in 0..3 {
            exercise(&mut h1, round, 3 << 20).await;
        }
        let h2 = h2_client::<Full<Bytes>>(addr).await;
        let streams: Vec<_> = (0..50u64)
            .map(|i| {
                let mut s = h2.clone();
                netpoll::spawn(async move { exercise(&mut s, i, 10_000 + i as usize * 1000).await })
            })
            .collect();
        for s in streams {
            s.await.expect("h2 stream");
        }
        let mut h2 = h2;
        exercise(&mut h2, 99, 3 << 20).await;
    });
    let status = server
        .0
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
}

/// A body streamed by the test, chunk by chunk, through a channel.
struct ChannelBody(netpoll::sync::mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// SIGTERM while a request is half sent: the example stops accepting, lets that request finish
/// (its response comes back whole), and exits 0 once it has.
fn graceful_shutdown(proto: Proto) {
    let mut server = ExampleServer::start(&[]);
    let addr = server.addr();
    let pid = server.0.child.id() as libc::pid_t;
    run(move || async move {
        let (tx, rx) = netpoll::sync::mpsc::channel::<Bytes>(4);
        let req = Request::post("/echo")
            .header("host", "localhost")
            .body(ChannelBody(rx))
            .expect("request");
        // The sender comes back with the response, so that it outlives the exchange.
        type Kept = Box<dyn std::any::Any + Send>;
        let resp = match proto {
            Proto::Http1 => {
                let mut s = h1_client::<ChannelBody>(addr).await;
                s.ready().await.expect("ready");
                netpoll::spawn(async move { (s.send_request(req).await, Box::new(s) as Kept) })
            }
            Proto::Http2 => {
                let mut s = h2_client::<ChannelBody>(addr).await;
                s.ready().await.expect("ready");
                netpoll::spawn(async move { (s.send_request(req).await, Box::new(s) as Kept) })
            }
        };
        tx.send(Bytes::from_static(b"first;")).await.expect("send");
        let (resp, _sender) = resp.await.expect("task");
        let mut body = resp.expect("response").into_body();
        let first = body.frame().await.expect("a frame").expect("frame");
        assert_eq!(first.into_data().ok().as_deref(), Some(&b"first;"[..]));

        // SAFETY: kill(2) on our own child's pid, which it keeps until we reap it.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        // Shutdown has begun once the listener is gone.
        while let Ok(probe) = TcpStream::connect(addr).await {
            drop(probe);
            netpoll::time::sleep(Duration::from_millis(10)).await;
        }

        tx.send(Bytes::from_static(b"second;")).await.expect("send");
        tx.send(Bytes::from_static(b"last")).await.expect("send");
        drop(tx);
        let rest = body.collect().await.expect("rest of the body").to_bytes();
        assert_eq!(rest, "second;last");
    });
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn example_graceful_shutdown_http1() {
    graceful_shutdown(Proto::Http1);
}

#[test]
fn example_graceful_shutdown_http2() {
    graceful_shutdown(Proto::Http2);
}

/// The example's header timeout (`HYPER_SERVER_HEADER_TIMEOUT_MS`): a silent client and one
/// that stops in the middle of a head are both closed after it.
#[test]
fn example_header_timeout() {
    let server = ExampleServer::start(&[("HYPER_SERVER_HEADER_TIMEOUT_MS", "300")]);
    let addr = server.addr();
    bounded(LIMIT, move || {
        for opening in [&b""[..], b"GET / HTTP/1.1\r\nHost: x\r\n"] {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let start = Instant::now();
            s.write_all(opening).expect("write");
            let mut buf = [0u8; 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {} // a 408, if hyper sends one
                    Err(e) => {
                        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "not closed");
                        break;
                    }
                }
            }
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(290), "closed after {took:?}");
            assert!(took < Duration::from_secs(10), "closed after {took:?}");
        }
    });
}

/// curl against the example, if curl is installed: HTTP/1.1 (keep-alive across two URLs),
/// HTTP/2 with prior knowledge (if this curl has HTTP/2), a 3 MiB echo on each, a 404.
#[test]
fn example_with_curl() {
    let version = match Command::new("curl").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            println!(
                "skipping example_with_curl: `curl --version` failed: {}",
                out.status
            );
            return;
        }
        Err(e) => {
            println!("skipping example_with_curl: curl not found ({e})");
            return;
        }
    };
    let h2 = version
        .lines()
        .any(|l| l.starts_with("Features:") && l.split_whitespace().any(|f| f == "HTTP2"));
    let mut server = ExampleServer::start(&[]);
    let addr = server.addr();
    bounded(LIMIT, move || {
        let base = format!("http://{addr}");
        let file = std::env::temp_dir().join(format!("netpoll-hyper-{}.bin", std::process::id()));
        let data = pattern(5, 3 << 20);
        std::fs::write(&file, &data).expect("write body file");
        let curl = |args: &[&str]| -> Vec<u8> {
            let out = Command::new("curl")
                .args(["-sS", "--max-time", "30"])
                .args(args)
                .output()
                .expect("run curl");
            assert!(
                out.status.success(),
                "curl {args:?}: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let body_file = format!("@{}", file.display());
        let mut modes = vec![("--http1.1", "1.1")];
        if h2 {
            modes.push(("--http2-prior-knowledge", "2"));
        } else {
            println!("skipping the HTTP/2 part: this curl has no HTTP2 feature");
        }
        for (mode, version) in modes {
            let hello_url = format!("{base}/");
            // Over HTTP/1.1, two URLs share one keep-alive connection: the second makes no new
            // connect. (Not over h2c: curl before 8.0 fails to reuse a prior-knowledge
            // connection, curl/curl#10634; the hyper client tests cover h2 multiplexing.)
            let urls = if version == "1.1" { 2 } else { 1 };
            let mut args = vec![mode, "-w", "%{http_version} %{http_code} %{num_connects}\n"];
            args.extend(std::iter::repeat(hello_url.as_str()).take(urls));
            let out = curl(&args);
            let want = ["1", "0"][..urls]
                .iter()
                .map(|connects| format!("Hello, World!{version} 200 {connects}\n"))
                .collect::<String>();
            assert_eq!(String::from_utf8_lossy(&out), want, "{mode:?}");
            let echoed = curl(&[mode, "--data-binary", &body_file, &format!("{base}/echo")]);
            assert_eq!(echoed.len(), data.len(), "{mode:?} echo length");
            assert!(echoed == data[..], "{mode:?} echo differs");
            let code = curl(&[
                mode,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{base}/nope"),
            ]);
            assert_eq!(code, b"404", "{mode:?}");
        }
        let _ = std::fs::remove_file(&file);
    });
    let status = server
        .0
        .signal_and_wait(libc::SIGINT, Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
}
