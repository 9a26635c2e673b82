//! `kv ADDR`: a key-value server speaking RESP2, the Redis protocol, so `redis-cli` and
//! `redis-benchmark` can drive it.
//!
//! ```sh
//! cargo run --release --example kv 127.0.0.1:6380
//! redis-cli -p 6380 set greeting hello
//! redis-benchmark -p 6380 -t ping_inline,set,get -n 100000 -q -P 16
//! ```
//!
//! Commands: PING [msg], ECHO msg, SET key value [EX s | PX ms | KEEPTTL] [NX | XX] [GET],
//! GET, MGET, MSET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, TTL, PTTL, DBSIZE, FLUSHALL,
//! FLUSHDB, SELECT 0, QUIT, and the stubs the Redis tools call: COMMAND [COUNT | DOCS | ...],
//! CONFIG GET save | appendonly, CLIENT ..., INFO. Anything else is
//! `-ERR unknown command '<name>'`, and the connection stays open.
//!
//! How it is built:
//! - **Pipelining**: every complete command in the read buffer is run, the replies go into one
//!   output buffer, and that buffer is written once per read (or whenever it passes 64 KiB).
//! - **Store**: 64 shards, each a `Mutex<HashMap>` picked by a hash of the key, so connections
//!   touching different keys do not contend. Multi-key commands (DEL, MSET, ...) lock one shard
//!   at a time and are not atomic across shards. Expiry is lazy (a key found expired is removed)
//!   plus a sweep task that every 100 ms removes keys whose time has come, found through a
//!   per-shard heap of deadlines.
//! - **Bounded memory per connection**: the read buffer starts at 16 KiB and grows only while one
//!   command in progress needs it, never beyond `Limits::max_command` (48 MiB: one 32 MiB
//!   argument plus headers). A declared length over the limits, garbage, or an inline line over
//!   64 KiB gets `-ERR Protocol error: ...` and a close, before anything is allocated for it.
//! - **Timeouts**: the read deadline ticks every second (to notice shutdown); a connection that
//!   sends nothing for 300 s is closed. A write that stalls for 30 s (a client that stopped
//!   reading its replies) ends the connection.

mod common;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::Shutdown;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use netpoll::net::TcpStream;
use netpoll_proto::resp::{self, Command, Limits, Parser};

use common::State;

/// Shards of the store: a power of two.
const SHARDS: usize = 64;
/// The read buffer's starting (and resting) size.
const READ_BUF: usize = 16 << 10;
/// Grow or compact the read buffer when less than this is free.
const MIN_READ: usize = 4 << 10;
/// Write the replies out once they pass this, even mid-batch.
const FLUSH_AT: usize = 64 << 10;
/// How often a connection's read deadline fires to check for shutdown and idleness.
const TICK: Duration = Duration::from_secs(1);
/// Ticks without a byte from the client before the connection is closed (300 s).
const IDLE_TICKS: u32 = 300;
/// Longest a reply write may stall before the connection is dropped.
const WRITE_STALL: Duration = Duration::from_secs(30);
/// After an error reply or QUIT: how long to drain what the client still sends before closing
/// (closing with unread data would send an RST that may destroy the reply in flight).
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 1 << 20;
/// Expiry sweep period, and most keys examined per shard per sweep.
const SWEEP_EVERY: Duration = Duration::from_millis(100);
const SWEEP_BUDGET: usize = 1000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return common::usage("kv ADDR");
    }
    let _ = started();
    let store = Arc::new(Store::new());
    let sweeping = AtomicBool::new(false);
    common::serve(&args[1], move |stream, _peer, state| {
        if !sweeping.swap(true, Ordering::Relaxed) {
            netpoll::spawn(sweep(store.clone(), state.clone()));
        }
        let conn = Conn::new(stream, store.clone(), state);
        conn.run()
    })
}

fn started() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

// ---------------------------------------------------------------------------------------------
// The store

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn expired(&self) -> bool {
        self.expires.is_some_and(|at| at <= Instant::now())
    }
}

#[derive(Default)]
struct Shard {
    map: HashMap<Vec<u8>, Entry>,
    /// Deadlines of keys set with a TTL, soonest first. Entries go stale when the key is
    /// overwritten or deleted; the sweep checks each against the map before removing anything.
    expiries: BinaryHeap<Reverse<(Instant, Vec<u8>)>>,
}

impl Shard {
    /// The live entry for `key`, removing it if it has expired.
    fn live(&mut self, key: &[u8]) -> Option<&mut Entry> {
        if self.map.get(key)?.expired() {
            self.map.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    /// Records that `key` expires at `at`.
    fn note_expiry(&mut self, key: &[u8], at: Instant) {
        self.expiries.push(Reverse((at, key.to_vec())));
        // Stale deadlines (keys overwritten with a new TTL again and again) must not pile up:
        // rebuild from the map when they outnumber the keys. Amortised O(1) per push.
        if self.expiries.len() > 2 * self.map.len() + 1024 {
            self.expiries = self
                .map
                .iter()
                .filter_map(|(k, e)| e.expires.map(|at| Reverse((at, k.clone()))))
                .collect();
        }
    }

    /// Removes up to `budget` keys whose deadline has passed.
    fn sweep(&mut self, now: Instant, budget: usize) {
        for _ in 0..budget {
            match self.expiries.peek() {
                Some(Reverse((at, _))) if *at <= now => {}
                _ => return,
            }
            let Some(Reverse((at, key))) = self.expiries.pop() else {
                return;
            };
            if self.map.get(&key).is_some_and(|e| e.expires == Some(at)) {
                self.map.remove(&key);
            }
        }
    }

    fn clear(&mut self) {
        self.map = HashMap::new();
        self.expiries = BinaryHeap::new();
    }
}

struct Store {
    shards: Box<[Mutex<Shard>]>,
}

impl Store {
    fn new() -> Store {
        Store {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Locks the shard that holds `key`.
    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        // FNV-1a: cheap, and only picks the shard (each map hashes with a random SipHash key).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in key {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        lock(&self.shards[((h ^ (h >> 32)) as usize) & (SHARDS - 1)])
    }

    fn each_shard(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards.iter().map(lock)
    }
}

/// Locks a shard; a panic while one was held cannot leave a map half-updated in a way that
/// matters here, so poisoning is ignored.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes expired keys nobody asks for, until shutdown.
async fn sweep(store: Arc<Store>, state: Arc<State>) {
    while !state.shutting_down() {
        netpoll::time::sleep(SWEEP_EVERY).await;
        let now = Instant::now();
        for mut shard in store.each_shard() {
            shard.sweep(now, SWEEP_BUDGET);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

struct Conn {
    stream: TcpStream,
    store: Arc<Store>,
    state: Arc<State>,
    parser: Parser,
    /// `rbuf[start..filled]` is received and not yet consumed; the rest is room for reads.
    rbuf: Vec<u8>,
    start: usize,
    filled: usize,
    out: Vec<u8>,
    session: Session,
}

/// Per-connection state the commands see.
struct Session {
    id: u64,
    name: Option<Vec<u8>>,
}

/// What the connection does after a command.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

impl Conn {
    fn new(stream: TcpStream, store: Arc<Store>, state: Arc<State>) -> Conn {
        static IDS: AtomicU64 = AtomicU64::new(1);
        Conn {
            stream,
            store,
            state,
            parser: Parser::new(Limits::default()),
            rbuf: vec![0; READ_BUF],
            start: 0,
            filled: 0,
            out: Vec::with_capacity(READ_BUF),
            session: Session {
                id: IDS.fetch_add(1, Ordering::Relaxed),
                name: None,
            },
        }
    }

    async fn run(mut self) -> io::Result<()> {
        self.stream.set_nodelay(true)?;
        self.stream.set_read_deadline(Some(Instant::now() + TICK));
        let mut idle_ticks = 0;
        let mut active = false;
        loop {
            self.make_room()?;
            match self.stream.read(&mut self.rbuf[self.filled..]).await {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.filled += n;
                    active = true;
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    if self.state.shutting_down() {
                        return Ok(());
                    }
                    if active {
                        active = false;
                        idle_ticks = 0;
                    } else {
                        idle_ticks += 1;
                        if idle_ticks >= IDLE_TICKS {
                            return Ok(());
                        }
                    }
                    self.stream.set_read_deadline(Some(Instant::now() + TICK));
                    continue;
                }
                Err(e) => return Err(e),
            }
            if self.process().await? == Flow::Close {
                return self.linger_close().await;
            }
            if self.state.shutting_down() && !self.parser.in_progress() && self.start == self.filled
            {
                return Ok(());
            }
        }
    }

    /// Runs every complete command in the read buffer and writes the replies.
    async fn process(&mut self) -> io::Result<Flow> {
        let mut flow = Flow::Continue;
        loop {
            match self.parser.parse_ref(&self.rbuf[self.start..self.filled]) {
                Ok(Some((cmd, used))) => {
                    self.start += used;
                    if !cmd.is_empty() {
                        flow = execute(
                            &self.store,
                            &self.state,
                            &mut self.session,
                            cmd,
                            &mut self.out,
                        );
                        if flow == Flow::Close {
                            break;
                        }
                    }
                    if self.out.len() >= FLUSH_AT {
                        self.flush().await?;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    e.write_reply(&mut self.out);
                    flow = Flow::Close;
                    break;
                }
            }
        }
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
            if self.rbuf.len() > 4 * READ_BUF {
                // A big command has gone: give its memory back.
                self.rbuf.truncate(READ_BUF);
                self.rbuf.shrink_to_fit();
            }
        }
        self.flush().await?;
        Ok(flow)
    }

    /// Makes sure there is room to read into: compacts a partial command to the front, or grows
    /// the buffer (only a command in progress can fill it, and the parser bounds its size).
    fn make_room(&mut self) -> io::Result<()> {
        if self.rbuf.len() - self.filled >= MIN_READ {
            return Ok(());
        }
        if self.start > 0 {
            self.rbuf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            if self.rbuf.len() - self.filled >= MIN_READ {
                return Ok(());
            }
        }
        let cap = self.parser.limits().max_command + 2 * MIN_READ;
        if self.rbuf.len() >= cap {
            // Unreachable while the parser enforces max_command; a guard all the same.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request too large",
            ));
        }
        let len = (self.rbuf.len() * 2).min(cap);
        self.rbuf.resize(len, 0);
        Ok(())
    }

    /// Writes out the pending replies.
    async fn flush(&mut self) -> io::Result<()> {
        let mut off = 0;
        let mut guarded = false;
        while off < self.out.len() {
            let n = self.stream.write(&self.out[off..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            off += n;
            if off < self.out.len() && !guarded {
                // The socket buffer is full: from now on a stalled client costs a deadline.
                self.stream
                    .set_write_deadline(Some(Instant::now() + WRITE_STALL));
                guarded = true;
            }
        }
        if guarded {
            self.stream.set_write_deadline(None);
        }
        self.out.clear();
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out.shrink_to(FLUSH_AT);
        }
        Ok(())
    }

    /// Closes after the last reply: half-close, then drain what the client still sends for a
    /// moment, so the close is a FIN rather than an RST that could discard the reply.
    async fn linger_close(self) -> io::Result<()> {
        let _ = self.stream.shutdown_std(Shutdown::Write);
        self.stream.set_read_deadline(Some(Instant::now() + LINGER));
        let mut drained = 0;
        let mut scratch = [0u8; 4096];
        while drained < LINGER_BYTES {
            match self.stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

const OK: &[u8] = b"+OK\r\n";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// The commands this server knows (for COMMAND COUNT).
const COMMANDS: &[&str] = &[
    "client", "command", "config", "dbsize", "decr", "decrby", "del", "echo", "exists", "flushall",
    "flushdb", "get", "incr", "incrby", "info", "mget", "mset", "ping", "pttl", "quit", "select",
    "set", "ttl",
];

fn execute(
    store: &Store,
    state: &State,
    session: &mut Session,
    cmd: &Command,
    out: &mut Vec<u8>,
) -> Flow {
    let name = &cmd[0];
    let mut upper = [0u8; 16];
    let upper: &[u8] = match upper.get_mut(..name.len()) {
        Some(dst) => {
            dst.copy_from_slice(name);
            dst.make_ascii_uppercase();
            dst
        }
        None => b"",
    };
    let n = cmd.len();
    // Checks the argument count; on a mismatch writes the error and returns from `execute`.
    macro_rules! arity {
        ($ok:expr, $name:expr) => {
            if !$ok {
                resp::write_error(
                    out,
                    &format!("ERR wrong number of arguments for '{}' command", $name),
                );
                return Flow::Continue;
            }
        };
    }
    match upper {
        b"PING" => {
            arity!(n <= 2, "ping");
            match cmd.get(1) {
                None => resp::write_simple(out, "PONG"),
                Some(msg) => resp::write_bulk(out, msg),
            }
        }
        b"ECHO" => {
            arity!(n == 2, "echo");
            resp::write_bulk(out, &cmd[1]);
        }
        b"GET" => {
            arity!(n == 2, "get");
            get(store, &cmd[1], out);
        }
        b"MGET" => {
            arity!(n >= 2, "mget");
            resp::write_array_header(out, n - 1);
            for key in cmd.iter().skip(1) {
                get(store, key, out);
            }
        }
        b"SET" => {
            arity!(n >= 3, "set");
            set(store, cmd, out);
        }
        b"MSET" => {
            arity!(n >= 3 && n % 2 == 1, "mset");
            let mut args = cmd.iter().skip(1);
            while let (Some(key), Some(value)) = (args.next(), args.next()) {
                store.shard(key).map.insert(
                    key.to_vec(),
                    Entry {
                        value: value.to_vec(),
                        expires: None,
                    },
                );
            }
            out.extend_from_slice(OK);
        }
        b"DEL" => {
            arity!(n >= 2, "del");
            let mut removed = 0;
            for key in cmd.iter().skip(1) {
                if let Some(e) = store.shard(key).map.remove(key) {
                    removed += i64::from(!e.expired());
                }
            }
            resp::write_integer(out, removed);
        }
        b"EXISTS" => {
            arity!(n >= 2, "exists");
            let found = cmd
                .iter()
                .skip(1)
                .filter(|key| store.shard(key).live(key).is_some())
                .count();
            resp::write_integer(out, found as i64);
        }
        b"INCR" | b"DECR" => {
            let decr = upper == b"DECR";
            arity!(n == 2, if decr { "decr" } else { "incr" });
            incr_by(store, &cmd[1], if decr { -1 } else { 1 }, out);
        }
        b"INCRBY" | b"DECRBY" => {
            let decr = upper == b"DECRBY";
            arity!(n == 3, if decr { "decrby" } else { "incrby" });
            match parse_i64(&cmd[2]) {
                None => resp::write_error(out, NOT_INTEGER),
                Some(by) if decr => match by.checked_neg() {
                    Some(by) => incr_by(store, &cmd[1], by, out),
                    None => resp::write_error(out, "ERR decrement would overflow"),
                },
                Some(by) => incr_by(store, &cmd[1], by, out),
            }
        }
        b"TTL" | b"PTTL" => {
            let millis = upper == b"PTTL";
            arity!(n == 2, if millis { "pttl" } else { "ttl" });
            let ttl = match store.shard(&cmd[1]).live(&cmd[1]) {
                None => -2,
                Some(Entry { expires: None, .. }) => -1,
                Some(Entry {
                    expires: Some(at), ..
                }) => {
                    let left = at.saturating_duration_since(Instant::now()).as_millis();
                    let left = if millis { left } else { (left + 500) / 1000 };
                    i64::try_from(left).unwrap_or(i64::MAX)
                }
            };
            resp::write_integer(out, ttl);
        }
        b"DBSIZE" => {
            arity!(n == 1, "dbsize");
            let keys: usize = store.each_shard().map(|s| s.map.len()).sum();
            resp::write_integer(out, keys as i64);
        }
        b"FLUSHALL" | b"FLUSHDB" => {
            let db = upper == b"FLUSHDB";
            arity!(n <= 2, if db { "flushdb" } else { "flushall" });
            if let Some(mode) = cmd.get(1) {
                if !mode.eq_ignore_ascii_case(b"ASYNC") && !mode.eq_ignore_ascii_case(b"SYNC") {
                    resp::write_error(out, SYNTAX);
                    return Flow::Continue;
                }
            }
            for mut shard in store.each_shard() {
                shard.clear();
            }
            out.extend_from_slice(OK);
        }
        b"SELECT" => {
            arity!(n == 2, "select");
            match parse_i64(&cmd[1]) {
                Some(0) => out.extend_from_slice(OK),
                Some(_) => resp::write_error(out, "ERR DB index is out of range"),
                None => resp::write_error(out, NOT_INTEGER),
            }
        }
        b"QUIT" => {
            out.extend_from_slice(OK);
            return Flow::Close;
        }
        b"COMMAND" => match cmd.get(1) {
            Some(sub) if sub.eq_ignore_ascii_case(b"COUNT") => {
                resp::write_integer(out, COMMANDS.len() as i64)
            }
            // DOCS, INFO, LIST, none: an empty list is enough for redis-cli's hints.
            _ => resp::write_array_header(out, 0),
        },
        b"CONFIG" => {
            arity!(n >= 2, "config");
            let sub = &cmd[1];
            if sub.eq_ignore_ascii_case(b"GET") {
                arity!(n >= 3, "config|get");
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for param in cmd.iter().skip(2) {
                    for (k, v) in [("save", ""), ("appendonly", "no")] {
                        if param.eq_ignore_ascii_case(k.as_bytes())
                            && !pairs.iter().any(|p| p.0 == k)
                        {
                            pairs.push((k, v));
                        }
                    }
                }
                resp::write_array_header(out, 2 * pairs.len());
                for (k, v) in pairs {
                    resp::write_bulk(out, k.as_bytes());
                    resp::write_bulk(out, v.as_bytes());
                }
            } else if sub.eq_ignore_ascii_case(b"SET") || sub.eq_ignore_ascii_case(b"RESETSTAT") {
                // Accepted and ignored: there is nothing to configure.
                out.extend_from_slice(OK);
            } else {
                unknown_subcommand(sub, "CONFIG", out);
            }
        }
        b"CLIENT" => {
            arity!(n >= 2, "client");
            let sub = &cmd[1];
            if sub.eq_ignore_ascii_case(b"ID") {
                resp::write_integer(out, session.id as i64);
            } else if sub.eq_ignore_ascii_case(b"GETNAME") {
                match &session.name {
                    Some(name) => resp::write_bulk(out, name),
                    None => resp::write_null_bulk(out),
                }
            } else {
                if sub.eq_ignore_ascii_case(b"SETNAME") {
                    arity!(n == 3, "client|setname");
                    session.name = Some(cmd[2].to_vec()).filter(|name| !name.is_empty());
                }
                // SETINFO, REPLY, NO-EVICT, ...: accepted.
                out.extend_from_slice(OK);
            }
        }
        b"INFO" => info(store, state, out),
        _ => {
            let shown = String::from_utf8_lossy(&name[..name.len().min(128)]);
            resp::write_error(out, &format!("ERR unknown command '{shown}'"));
        }
    }
    Flow::Continue
}

fn unknown_subcommand(sub: &[u8], cmd: &str, out: &mut Vec<u8>) {
    let shown = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    resp::write_error(
        out,
        &format!("ERR unknown subcommand '{shown}'. Try {cmd} HELP."),
    );
}

fn get(store: &Store, key: &[u8], out: &mut Vec<u8>) {
    let mut shard = store.shard(key);
    match shard.map.get(key) {
        Some(e) if !e.expired() => return resp::write_bulk(out, &e.value),
        Some(_) => {
            shard.map.remove(key);
        }
        None => {}
    }
    resp::write_null_bulk(out);
}

/// SET key value [EX seconds | PX milliseconds | KEEPTTL] [NX | XX] [GET]
fn set(store: &Store, cmd: &Command, out: &mut Vec<u8>) {
    enum Ttl {
        Clear,
        Keep,
        At(Instant),
    }
    let (mut ttl, mut ttl_given) = (Ttl::Clear, false);
    let (mut nx, mut xx, mut get_old) = (false, false, false);
    let mut i = 3;
    while let Some(opt) = cmd.get(i) {
        let is = |word: &[u8]| opt.eq_ignore_ascii_case(word);
        if is(b"NX") && !xx {
            nx = true;
        } else if is(b"XX") && !nx {
            xx = true;
        } else if is(b"GET") {
            get_old = true;
        } else if is(b"KEEPTTL") && !ttl_given {
            ttl = Ttl::Keep;
            ttl_given = true;
        } else if (is(b"EX") || is(b"PX")) && !ttl_given {
            let Some(amount) = cmd.get(i + 1) else {
                return resp::write_error(out, SYNTAX);
            };
            let Some(amount) = parse_i64(amount) else {
                return resp::write_error(out, NOT_INTEGER);
            };
            let millis = if is(b"EX") {
                amount.checked_mul(1000)
            } else {
                Some(amount)
            };
            let at = millis
                .filter(|&ms| ms > 0)
                .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms as u64)));
            let Some(at) = at else {
                return resp::write_error(out, "ERR invalid expire time in 'set' command");
            };
            ttl = Ttl::At(at);
            ttl_given = true;
            i += 1;
        } else {
            return resp::write_error(out, SYNTAX);
        }
        i += 1;
    }
    let key = &cmd[1];
    let mut shard = store.shard(key);
    let old = shard.live(key);
    let exists = old.is_some();
    if get_old {
        match &old {
            Some(e) => resp::write_bulk(out, &e.value),
            None => resp::write_null_bulk(out),
        }
    }
    if (nx && exists) || (xx && !exists) {
        if !get_old {
            resp::write_null_bulk(out);
        }
        return;
    }
    let expires = match ttl {
        Ttl::Clear => None,
        Ttl::Keep => old.and_then(|e| e.expires),
        Ttl::At(at) => Some(at),
    };
    let value = cmd[2].to_vec();
    match shard.map.get_mut(key) {
        Some(e) => {
            e.value = value;
            e.expires = expires;
        }
        None => {
            shard.map.insert(key.to_vec(), Entry { value, expires });
        }
    }
    if let Ttl::At(at) = ttl {
        shard.note_expiry(key, at);
    }
    if !get_old {
        out.extend_from_slice(OK);
    }
}

/// INCR, DECR, INCRBY, DECRBY: a missing key counts as 0; the TTL is kept.
fn incr_by(store: &Store, key: &[u8], by: i64, out: &mut Vec<u8>) {
    let mut shard = store.shard(key);
    let current = match shard.live(key) {
        None => 0,
        Some(e) => match parse_i64(&e.value) {
            Some(v) => v,
            None => return resp::write_error(out, NOT_INTEGER),
        },
    };
    let Some(next) = current.checked_add(by) else {
        return resp::write_error(out, "ERR increment or decrement would overflow");
    };
    let mut digits = Vec::with_capacity(20);
    resp::write_integer(&mut digits, next);
    // `:<n>\r\n` without its marker and CRLF is the decimal form.
    let text = &digits[1..digits.len() - 2];
    match shard.map.get_mut(key) {
        Some(e) => {
            e.value.clear();
            e.value.extend_from_slice(text);
        }
        None => {
            shard.map.insert(
                key.to_vec(),
                Entry {
                    value: text.to_vec(),
                    expires: None,
                },
            );
        }
    }
    drop(shard);
    out.extend_from_slice(&digits);
}

/// A strict decimal `i64`, as Redis reads one: an optional `-`, no `+`, no spaces, no leading
/// zeros (except `0` itself), no `-0`, no overflow.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        // Accumulate negatively so that i64::MIN parses.
        n = n.checked_mul(10)?.checked_sub(d)?;
    }
    if negative {
        Some(n)
    } else {
        n.checked_neg()
    }
}

fn info(store: &Store, state: &State, out: &mut Vec<u8>) {
    let (mut keys, mut expires) = (0, 0);
    for shard in store.each_shard() {
        keys += shard.map.len();
        expires += shard.map.values().filter(|e| e.expires.is_some()).count();
    }
    let text = format!(
        "# Server\r\n\
         redis_version:7.0.0\r\n\
         server_name:netpoll-kv\r\n\
         redis_mode:standalone\r\n\
         multiplexing_api:netpoll\r\n\
         process_id:{}\r\n\
         uptime_in_seconds:{}\r\n\
         \r\n\
         # Clients\r\n\
         connected_clients:{}\r\n\
         \r\n\
         # Keyspace\r\n\
         db0:keys={keys},expires={expires},avg_ttl=0\r\n",
        std::process::id(),
        started().elapsed().as_secs(),
        state.open(),
    );
    resp::write_bulk(out, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::parse_i64;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
