//! A tokio program, written against tokio 1.x and nothing else: a line-protocol key-value
//! server, its clients, and a stats task. `tests/tokio_program.rs` builds it twice, once on
//! tokio and once on netpoll through `tokio = { package = "netpoll" }` in Cargo.toml, runs
//! both and compares what they print. It must stay plain tokio code: no netpoll names.
//!
//! What it exercises: `#[tokio::main]`, `select!` (biased, a precondition, patterns),
//! `join!`/`try_join!`, `JoinSet`, `LocalSet` with `spawn_local` and `Rc` state, `interval` with
//! a missed-tick behaviour, `timeout`, `sleep`, TCP listener/stream with `into_split`,
//! `BufReader::lines`, `AsyncWriteExt`, and mpsc/oneshot/broadcast channels and a Mutex.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, Mutex};
use tokio::task::{JoinSet, LocalSet};
use tokio::time::{interval, sleep, timeout, MissedTickBehavior};

type Store = Arc<Mutex<BTreeMap<String, i64>>>;

/// What connection handlers tell the stats task.
#[derive(Debug)]
enum Event {
    Connected,
    Command(&'static str),
    Closed { commands: u32, timed_out: bool },
}

const IDLE_LIMIT: Duration = Duration::from_millis(300);
const CLIENTS: u32 = 8;
const INCRS_PER_CLIENT: u32 = 25;

/// Runs one command line against the store; `None` means the client said QUIT.
async fn execute(store: &Store, line: &str) -> Option<(String, &'static str)> {
    let mut words = line.split_whitespace();
    let reply = match (words.next(), words.next(), words.next()) {
        (Some("SET"), Some(k), Some(v)) => match v.parse::<i64>() {
            Ok(v) => {
                store.lock().await.insert(k.to_string(), v);
                ("OK".to_string(), "set")
            }
            Err(_) => ("ERR value is not an integer".to_string(), "error"),
        },
        (Some("GET"), Some(k), None) => match store.lock().await.get(k) {
            Some(v) => (v.to_string(), "get"),
            None => ("NIL".to_string(), "get"),
        },
        (Some("INCR"), Some(k), None) => {
            let mut map = store.lock().await;
            let v = map.entry(k.to_string()).or_insert(0);
            *v += 1;
            (v.to_string(), "incr")
        }
        (Some("QUIT"), None, None) => return None,
        _ => ("ERR unknown command".to_string(), "error"),
    };
    Some(reply)
}

/// Serves one connection until QUIT, end of stream, an idle timeout or shutdown.
async fn handle(
    stream: TcpStream,
    store: Store,
    events: mpsc::UnboundedSender<Event>,
    mut shutdown: broadcast::Receiver<()>,
) -> std::io::Result<u32> {
    let _ = events.send(Event::Connected);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut commands = 0;
    let mut timed_out = false;
    loop {
        let line = tokio::select! {
            _ = shutdown.recv() => break,
            line = timeout(IDLE_LIMIT, lines.next_line()) => line,
        };
        let line = match line {
            Err(_elapsed) => {
                timed_out = true;
                write.write_all(b"BYE idle\n").await?;
                break;
            }
            Ok(line) => match line? {
                Some(line) => line,
                None => break,
            },
        };
        let Some((reply, kind)) = execute(&store, &line).await else {
            write.write_all(b"BYE\n").await?;
            break;
        };
        commands += 1;
        let _ = events.send(Event::Command(kind));
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\n").await?;
    }
    let _ = events.send(Event::Closed {
        commands,
        timed_out,
    });
    Ok(commands)
}

/// Accepts connections until told to stop, then waits for every handler.
async fn serve(
    listener: TcpListener,
    store: Store,
    events: mpsc::UnboundedSender<Event>,
    mut stop: oneshot::Receiver<()>,
) -> (u32, u32) {
    let (shutdown_tx, _) = broadcast::channel::<()>(1);
    let mut conns: JoinSet<std::io::Result<u32>> = JoinSet::new();
    let mut served = 0;
    let mut total_commands = 0;
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                served += 1;
                total_commands += done.expect("handler panicked").unwrap_or(0);
            }
            accepted = listener.accept() => {
                let (stream, _peer) = accepted.expect("accept");
                conns.spawn(handle(stream, store.clone(), events.clone(), shutdown_tx.subscribe()));
            }
        }
    }
    let _ = shutdown_tx.send(());
    while let Some(done) = conns.join_next().await {
        served += 1;
        total_commands += done.expect("handler panicked").unwrap_or(0);
    }
    (served, total_commands)
}

/// A client: sends its commands one by one, returns the replies.
async fn client(addr: SocketAddr, script: Vec<String>) -> std::io::Result<Vec<String>> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut replies = Vec::new();
    for cmd in script {
        write.write_all(cmd.as_bytes()).await?;
        write.write_all(b"\n").await?;
        match timeout(Duration::from_secs(10), lines.next_line()).await {
            Ok(Ok(Some(reply))) => replies.push(reply),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
    Ok(replies)
}

/// A client that connects and says nothing: the server must close it after `IDLE_LIMIT`.
async fn idle_client(addr: SocketAddr) -> std::io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let mut lines = BufReader::new(stream).lines();
    let first = timeout(Duration::from_secs(10), lines.next_line())
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let after = lines.next_line().await?;
    Ok(format!("{} then {:?}", first.unwrap_or_default(), after))
}

/// Counts events on this thread, in `Rc` state that is not `Send`, while an interval ticks.
#[derive(Default, Debug)]
struct Stats {
    connected: u32,
    closed: u32,
    timed_out: u32,
    by_kind: BTreeMap<&'static str, u32>,
    commands_reported: u32,
    ticks: u32,
}

async fn stats_task(mut events: mpsc::UnboundedReceiver<Event>, stats: Rc<RefCell<Stats>>) {
    let mut tick = interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                let mut s = stats.borrow_mut();
                match event {
                    Event::Connected => s.connected += 1,
                    Event::Command(kind) => *s.by_kind.entry(kind).or_default() += 1,
                    Event::Closed { commands, timed_out } => {
                        s.closed += 1;
                        s.commands_reported += commands;
                        s.timed_out += u32::from(timed_out);
                    }
                }
            }
            _ = tick.tick() => stats.borrow_mut().ticks += 1,
        }
    }
}

fn script_for(id: u32) -> Vec<String> {
    let mut script = vec![
        format!("SET client{id} {}", id * 10),
        format!("GET client{id}"),
        "GET nothing-here".to_string(),
        "FROB".to_string(),
        format!("SET client{id} not-a-number"),
    ];
    for _ in 0..INCRS_PER_CLIENT {
        script.push("INCR hits".to_string());
    }
    script.push(format!("INCR client{id}"));
    script.push("QUIT".to_string());
    script
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let local = LocalSet::new();
    let stats = Rc::new(RefCell::new(Stats::default()));
    let out = local.run_until(run(stats.clone())).await?;
    // The stats task ends once every sender is gone; let the set finish it.
    local.await;

    for line in out {
        println!("{line}");
    }
    let s = stats.borrow();
    println!(
        "stats: connected={} closed={} timed_out={} commands={} kinds={:?} ticked={}",
        s.connected,
        s.closed,
        s.timed_out,
        s.commands_reported,
        s.by_kind,
        s.ticks > 0
    );
    Ok(())
}

async fn run(stats: Rc<RefCell<Stats>>) -> std::io::Result<Vec<String>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let store: Store = Arc::default();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let stats_handle = tokio::task::spawn_local(stats_task(events_rx, stats));
    let (stop_tx, stop_rx) = oneshot::channel();
    let server = tokio::spawn(serve(listener, store.clone(), events_tx, stop_rx));

    // The clients run concurrently, as tasks in a JoinSet; the idle one beside them.
    let mut clients = JoinSet::new();
    for id in 0..CLIENTS {
        clients.spawn(async move { (id, client(addr, script_for(id)).await) });
    }
    let (idle, ()) = tokio::join!(idle_client(addr), sleep(Duration::from_millis(1)));
    let mut results = BTreeMap::new();
    while let Some(joined) = clients.join_next().await {
        let (id, replies) = joined.expect("client task panicked");
        results.insert(id, replies?);
    }

    // Two more lookups at once, through try_join!.
    let (hits, first) = tokio::try_join!(
        client(addr, vec!["GET hits".into(), "QUIT".into()]),
        client(addr, vec!["GET client0".into(), "QUIT".into()]),
    )?;

    stop_tx.send(()).expect("server gone");
    let (served, commands) = server.await.expect("server panicked");
    stats_handle.await.expect("stats task panicked");

    let mut out = Vec::new();
    for (id, replies) in &results {
        out.push(format!(
            "client {id}: {} replies, set={} get={} missing={} unknown={:?} bad={:?} own-incr={} last={:?}",
            replies.len(),
            replies[0],
            replies[1],
            replies[2],
            replies[3],
            replies[4],
            replies[replies.len() - 2],
            replies.last().map(String::as_str),
        ));
    }
    out.push(format!("idle client: {idle:?}"));
    out.push(format!("hits: {:?} client0: {:?}", hits[0], first[0]));
    out.push(format!(
        "served {served} connections, {commands} commands; store has {} keys",
        store.lock().await.len()
    ));
    Ok(out)
}
