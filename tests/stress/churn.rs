//! Churn: 50 000 short connections opened and closed against one server, a share of them torn
//! down by RST (`SO_LINGER 0`) from either side; afterwards the process's fd count and the
//! netpoller's registration count are back to where they were.
//!
//! Per connection `i`: the client sends its index (8 bytes), the server echoes it, then
//! - `i % 5 == 1`: the client resets (linger 0, close): the server must see ECONNRESET or EOF;
//! - `i % 7 == 2`: the client acknowledges the echo with one byte and the server resets: the
//!   client must see ECONNRESET or EOF;
//! - otherwise the client closes normally and the server sees EOF.
//!
//! Connections run `IN_FLIGHT` at a time, from 16 source addresses per round (127.R.0.2..=17,
//! R changing per round) so that the clients' TIME_WAIT ports never run short, even in soak mode.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netpoll::net::{TcpSocket, TcpStream};
use netpoll::sync::Semaphore;

use crate::support::{bounded, open_fds, rt, wait_until, write_all};

const CONNS: usize = 50_000;
const IN_FLIGHT: usize = 128;
const SOURCES: usize = 16;
const ROUND_LIMIT: Duration = Duration::from_secs(240);
const STEP_LIMIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Tally {
    served: AtomicUsize,
    server_eof: AtomicUsize,
    server_reset: AtomicUsize,
    client_ok: AtomicUsize,
    client_saw_reset: AtomicUsize,
    errors: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, SeqCst);
        self.first_error.lock().unwrap().get_or_insert(what);
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

async fn read_exact(s: &TcpStream, mut buf: &mut [u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.read(buf).await? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

async fn step<T>(f: impl std::future::Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    netpoll::time::timeout(STEP_LIMIT, f)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(ErrorKind::TimedOut, "step timed out")))
}

async fn serve(s: TcpStream, t: Arc<Tally>) {
    let r: std::io::Result<()> = async {
        let mut idx = [0u8; 8];
        step(read_exact(&s, &mut idx)).await?;
        step(write_all(&s, &idx)).await?;
        let i = u64::from_le_bytes(idx) as usize;
        if i % 7 == 2 && i % 5 != 1 {
            // Reset only once the client says it has the echo: an RST may discard data still
            // in flight, and this test is about teardown, not about that race.
            let mut ack = [0u8; 1];
            step(read_exact(&s, &mut ack)).await?;
            s.set_linger(Some(Duration::ZERO))?;
            t.server_reset.fetch_add(1, SeqCst);
            return Ok(());
        }
        let mut b = [0u8; 16];
        match step(s.read(&mut b)).await {
            Ok(0) => {
                t.server_eof.fetch_add(1, SeqCst);
                Ok(())
            }
            Ok(n) => Err(std::io::Error::other(format!(
                "{n} unexpected bytes from client {i}"
            ))),
            Err(e) if is_reset(&e) && i % 5 == 1 => {
                t.server_reset.fetch_add(1, SeqCst);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    .await;
    if let Err(e) = r {
        t.error(format!("server: {e}"));
    }
    drop(s);
    t.served.fetch_add(1, SeqCst);
}

async fn client(i: usize, round: u64, addr: SocketAddr, t: &Tally) -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    let src = Ipv4Addr::new(127, 1 + (round % 250) as u8, 0, 2 + (i % SOURCES) as u8);
    socket.bind(SocketAddr::from((src, 0)))?;
    let s = step(socket.connect(addr)).await?;
    step(write_all(&s, &(i as u64).to_le_bytes())).await?;
    let mut echo = [0u8; 8];
    step(read_exact(&s, &mut echo)).await?;
    if u64::from_le_bytes(echo) != i as u64 {
        return Err(std::io::Error::other(format!(
            "client {i}: wrong echo {echo:?}"
        )));
    }
    if i % 5 == 1 {
        s.set_linger(Some(Duration::ZERO))?;
    } else if i % 7 == 2 {
        step(write_all(&s, b"k")).await?;
        let mut b = [0u8; 1];
        match step(s.read(&mut b)).await {
            Ok(0) => {}
            Err(e) if is_reset(&e) => {
                t.client_saw_reset.fetch_add(1, SeqCst);
            }
            Ok(_) => return Err(std::io::Error::other("bytes after the echo")),
            Err(e) => return Err(e),
        }
    }
    t.client_ok.fetch_add(1, SeqCst);
    Ok(())
}

fn one_round(round: u64) {
    let started = Instant::now();
    let rt = rt(2);
    let listener = rt
        .block_on(async {
            let s = TcpSocket::new_v4()?;
            s.bind("127.0.0.1:0".parse().expect("addr"))?;
            s.listen(1024)
        })
        .expect("listen");
    let addr = listener.local_addr().expect("local_addr");
    // Baselines once the listener and the runtime exist: what the churn must return to.
    let fds_before = open_fds();
    let regs_before = rt.metrics().num_registrations();

    let t = Arc::new(Tally::default());
    let ts = Arc::clone(&t);
    let server = rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => drop(netpoll::spawn(serve(s, Arc::clone(&ts)))),
                Err(e) => ts.error(format!("accept: {e}")),
            }
        }
    });

    let tc = Arc::clone(&t);
    rt.block_on(async move {
        let gate = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut handles = Vec::with_capacity(CONNS);
        for i in 0..CONNS {
            let permit = Arc::clone(&gate).acquire_owned().await.expect("gate");
            let tc = Arc::clone(&tc);
            handles.push(netpoll::spawn(async move {
                if let Err(e) = client(i, round, addr, &tc).await {
                    tc.error(format!("client {i}: {e}"));
                }
                drop(permit);
            }));
        }
        for h in handles {
            h.await.expect("client task");
        }
    });

    let report = |t: &Tally| {
        format!(
            "served={} server_eof={} server_reset={} client_ok={} client_saw_reset={} errors={} \
             first_error={:?} after {:?}",
            t.served.load(SeqCst),
            t.server_eof.load(SeqCst),
            t.server_reset.load(SeqCst),
            t.client_ok.load(SeqCst),
            t.client_saw_reset.load(SeqCst),
            t.errors.load(SeqCst),
            t.first_error.lock().unwrap(),
            started.elapsed()
        )
    };
    assert!(
        wait_until(Duration::from_secs(30), || t.served.load(SeqCst) == CONNS),
        "server tasks did not all finish: {}",
        report(&t)
    );
    assert_eq!(t.errors.load(SeqCst), 0, "{}", report(&t));
    assert_eq!(t.client_ok.load(SeqCst), CONNS, "{}", report(&t));
    assert_eq!(
        t.server_eof.load(SeqCst) + t.server_reset.load(SeqCst),
        CONNS,
        "{}",
        report(&t)
    );
    let client_resets = (0..CONNS).filter(|i| i % 5 == 1).count();
    let server_resets = (0..CONNS).filter(|i| i % 7 == 2 && i % 5 != 1).count();
    assert_eq!(
        t.server_reset.load(SeqCst),
        client_resets + server_resets,
        "{}",
        report(&t)
    );
    // Every connection's fd closed and its registration gone (the slab slot is free again).
    assert!(
        wait_until(Duration::from_secs(10), || open_fds() == fds_before
            && rt.metrics().num_registrations() == regs_before),
        "fds {} -> {}, registrations {} -> {}: {}",
        fds_before,
        open_fds(),
        regs_before,
        rt.metrics().num_registrations(),
        report(&t)
    );
    server.abort();
    eprintln!("churn round {round}: {}", report(&t));
    drop(rt);
}

#[test]
fn fifty_thousand_short_connections_leave_nothing_behind() {
    let _serial = crate::serial();
    crate::soak("churn", |round| {
        bounded(ROUND_LIMIT, move || one_round(round));
    });
}
