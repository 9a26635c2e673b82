//! `kv ADDR`: a RESP2 (Redis protocol) server for redis-cli and redis-benchmark.
//!
//! Commands: PING [msg], ECHO msg, SET key value, GET, DEL, EXISTS, INCR, QUIT, and the ones the
//! Redis tools ask at start (COMMAND, CONFIG GET) answered minimally; inline commands too.
//! The store is one `HashMap` behind a `std::sync::RwLock` shared by all connections (the
//! tokio tutorial's shape). Pipelining: every complete command in the read buffer is run, the
//! replies are collected and written with one `write_all` per read. Memory per connection is
//! bounded: a bulk string over 32 MiB, more than 1M arguments, or an inline line over 64 KiB
//! is a protocol error, answered and then the connection is closed.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Store = Arc<RwLock<HashMap<Vec<u8>, Vec<u8>>>>;

const MAX_BULK: i64 = 32 << 20;
const MAX_ARGS: i64 = 1 << 20;
const MAX_INLINE: usize = 64 << 10;

/// Reads the integer on the line that starts at `from`; returns it and where the next line
/// starts, or `None` if the line has not fully arrived.
fn line_int(buf: &[u8], from: usize) -> Result<Option<(i64, usize)>, &'static str> {
    let Some(nl) = buf[from..].iter().position(|&b| b == b'\n') else {
        return if buf.len() - from > 32 {
            Err("invalid length")
        } else {
            Ok(None)
        };
    };
    let line = &buf[from..from + nl];
    let line = line.strip_suffix(b"\r").ok_or("expected CRLF")?;
    let n = std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or("invalid length")?;
    Ok(Some((n, from + nl + 1)))
}

/// Parses one command at the start of `buf` into `args` (ranges of `buf`). Returns the bytes
/// it used, `None` if it is incomplete, or a protocol error.
fn parse(buf: &[u8], args: &mut Vec<Range<usize>>) -> Result<Option<usize>, &'static str> {
    args.clear();
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'*' {
        let Some((count, mut pos)) = line_int(buf, 1)? else {
            return Ok(None);
        };
        if count > MAX_ARGS {
            return Err("invalid multibulk length");
        }
        for _ in 0..count.max(0) {
            if pos >= buf.len() {
                return Ok(None);
            }
            if buf[pos] != b'$' {
                return Err("expected '$'");
            }
            let Some((len, start)) = line_int(buf, pos + 1)? else {
                return Ok(None);
            };
            if !(0..=MAX_BULK).contains(&len) {
                return Err("invalid bulk length");
            }
            let end = start + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err("expected CRLF");
            }
            args.push(start..end);
            pos = end + 2;
        }
        return Ok(Some(pos));
    }
    // An inline command: one line of space-separated words.
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_INLINE {
            Err("too big inline request")
        } else {
            Ok(None)
        };
    };
    let mut i = 0;
    while i < nl {
        while i < nl && buf[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < nl && !buf[i].is_ascii_whitespace() {
            i += 1;
        }
        if i > start {
            args.push(start..i);
        }
    }
    Ok(Some(nl + 1))
}

fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(v.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

fn int(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn wrong_args(out: &mut Vec<u8>, name: &[u8]) {
    let name = String::from_utf8_lossy(name).to_lowercase();
    error(
        out,
        &format!("ERR wrong number of arguments for '{name}' command"),
    );
}

/// Runs one command; returns false if the connection should close (QUIT).
fn execute(store: &Store, args: &[&[u8]], out: &mut Vec<u8>) -> bool {
    let name = args[0];
    let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
    let n = args.len();
    if is("get") {
        if n != 2 {
            wrong_args(out, name);
        } else {
            match store.read().unwrap().get(args[1]) {
                Some(v) => bulk(out, v),
                None => out.extend_from_slice(b"$-1\r\n"),
            }
        }
    } else if is("set") {
        if n < 3 {
            wrong_args(out, name);
        } else if n > 3 {
            error(out, "ERR syntax error");
        } else {
            store
                .write()
                .unwrap()
                .insert(args[1].to_vec(), args[2].to_vec());
            out.extend_from_slice(b"+OK\r\n");
        }
    } else if is("ping") {
        match n {
            1 => out.extend_from_slice(b"+PONG\r\n"),
            2 => bulk(out, args[1]),
            _ => wrong_args(out, name),
        }
    } else if is("echo") {
        if n != 2 {
            wrong_args(out, name);
        } else {
            bulk(out, args[1]);
        }
    } else if is("del") || is("exists") {
        if n < 2 {
            wrong_args(out, name);
        } else {
            let count = if is("del") {
                let mut map = store.write().unwrap();
                args[1..]
                    .iter()
                    .filter(|k| map.remove(**k).is_some())
                    .count()
            } else {
                let map = store.read().unwrap();
                args[1..].iter().filter(|k| map.contains_key(**k)).count()
            };
            int(out, count as i64);
        }
    } else if is("incr") {
        if n != 2 {
            wrong_args(out, name);
        } else {
            let mut map = store.write().unwrap();
            let current = match map.get(args[1]) {
                None => Some(0),
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok()),
            };
            match current.and_then(|c| c.checked_add(1)) {
                Some(next) => {
                    map.insert(args[1].to_vec(), next.to_string().into_bytes());
                    int(out, next);
                }
                None => error(out, "ERR value is not an integer or out of range"),
            }
        }
    } else if is("config") {
        // redis-benchmark asks for `save` and `appendonly`: answer with empty values.
        if n == 3 && args[1].eq_ignore_ascii_case(b"get") {
            out.extend_from_slice(b"*2\r\n");
            bulk(out, args[2]);
            bulk(out, b"");
        } else {
            out.extend_from_slice(b"*0\r\n");
        }
    } else if is("command") {
        out.extend_from_slice(b"*0\r\n");
    } else if is("quit") {
        out.extend_from_slice(b"+OK\r\n");
        return false;
    } else {
        let name = String::from_utf8_lossy(name);
        error(out, &format!("ERR unknown command '{name}'"));
    }
    true
}

async fn connection(mut stream: TcpStream, store: Store) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    let mut ranges = Vec::new();
    loop {
        let mut open = true;
        loop {
            match parse(&buf, &mut ranges) {
                Ok(Some(used)) => {
                    if !ranges.is_empty() {
                        let args: Vec<&[u8]> = ranges.iter().map(|r| &buf[r.clone()]).collect();
                        open = execute(&store, &args, &mut out);
                    }
                    buf.advance(used);
                    if !open {
                        break;
                    }
                }
                Ok(None) => break,
                Err(msg) => {
                    error(&mut out, &format!("ERR Protocol error: {msg}"));
                    open = false;
                    break;
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if !open {
            return stream.shutdown().await;
        }
        buf.reserve(4096);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return compare_tokio::usage("kv ADDR");
    }
    let store = Store::default();
    compare_tokio::serve(&args[1], move |s| connection(s, store.clone()))
}
