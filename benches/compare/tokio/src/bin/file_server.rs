//! `file_server ADDR ROOT`: HTTP/1.1 GET of the files under ROOT.
//!
//! What a tokio user writes without a framework: parse the request head by hand, open the file
//! with `tokio::fs::File`, send a head with `Content-Length`, then read the file in 64 KiB
//! chunks and `write_all` each to the socket (each read runs on tokio's blocking pool). Keep-alive;
//! 404 for a missing file, 403 for `..` or a path that resolves outside ROOT, 405 for methods
//! other than GET and HEAD, 400 for a malformed head, 431 for one over 8 KiB.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use compare_tokio::{head_end, parse_head, push_date};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_HEAD: usize = 8 * 1024;
const CHUNK: usize = 64 * 1024;

fn simple(status: u16, reason: &str, keep_alive: bool, out: &mut Vec<u8>) {
    let body = format!("{status} {reason}\n");
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    push_date(out);
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

fn unhex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The path under ROOT that a target names, or the status to refuse it with.
fn relative_path(target: &str) -> Result<PathBuf, u16> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(400);
    }
    let raw = path.as_bytes();
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hi = raw.get(i + 1).copied().and_then(unhex).ok_or(400u16)?;
            let lo = raw.get(i + 2).copied().and_then(unhex).ok_or(400u16)?;
            decoded.push(hi << 4 | lo);
            i += 3;
        } else {
            decoded.push(raw[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(decoded).map_err(|_| 400u16)?;
    let mut rel = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(403),
            s if s.contains('\0') => return Err(403),
            s => rel.push(s),
        }
    }
    Ok(rel)
}

/// Opens the file `target` names under `root` (canonical): the file and its length.
async fn open(root: &Path, target: &str) -> Result<(File, u64), u16> {
    let rel = relative_path(target)?;
    let path = tokio::fs::canonicalize(root.join(rel))
        .await
        .map_err(|_| 404u16)?;
    if !path.starts_with(root) {
        return Err(403);
    }
    let file = File::open(&path).await.map_err(|_| 404u16)?;
    let meta = file.metadata().await.map_err(|_| 404u16)?;
    if !meta.is_file() {
        return Err(404);
    }
    Ok((file, meta.len()))
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

async fn connection(mut stream: TcpStream, root: Arc<PathBuf>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut out = Vec::with_capacity(512);
    let mut chunk = vec![0u8; CHUNK];
    let mut discard = 0u64;
    loop {
        if discard > 0 {
            let n = discard.min(buf.len() as u64);
            buf.advance(n as usize);
            discard -= n;
        }
        if discard == 0 {
            if let Some(end) = head_end(&buf) {
                let Some(head) = parse_head(&buf[..end.min(MAX_HEAD + 4)]) else {
                    simple(400, reason(400), false, &mut out);
                    stream.write_all(&out).await?;
                    return stream.shutdown().await;
                };
                let keep_alive = head.keep_alive;
                let method = head.method.to_string();
                let target = head.target.to_string();
                discard = head.content_length;
                buf.advance(end);
                out.clear();
                if method != "GET" && method != "HEAD" {
                    simple(405, reason(405), keep_alive, &mut out);
                    stream.write_all(&out).await?;
                } else {
                    match open(&root, &target).await {
                        Err(status) => {
                            simple(status, reason(status), keep_alive, &mut out);
                            stream.write_all(&out).await?;
                        }
                        Ok((mut file, len)) => {
                            out.extend_from_slice(
                                format!(
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                                     Content-Length: {len}\r\n"
                                )
                                .as_bytes(),
                            );
                            push_date(&mut out);
                            if !keep_alive {
                                out.extend_from_slice(b"Connection: close\r\n");
                            }
                            out.extend_from_slice(b"\r\n");
                            stream.write_all(&out).await?;
                            if method == "GET" {
                                let mut left = len;
                                while left > 0 {
                                    let want = left.min(CHUNK as u64) as usize;
                                    let n = file.read(&mut chunk[..want]).await?;
                                    if n == 0 {
                                        return Err(io::Error::new(
                                            io::ErrorKind::UnexpectedEof,
                                            "file shorter than its announced length",
                                        ));
                                    }
                                    stream.write_all(&chunk[..n]).await?;
                                    left -= n as u64;
                                }
                            }
                        }
                    }
                }
                if !keep_alive {
                    return stream.shutdown().await;
                }
                continue;
            }
            if buf.len() > MAX_HEAD {
                out.clear();
                simple(431, reason(431), false, &mut out);
                stream.write_all(&out).await?;
                return stream.shutdown().await;
            }
        }
        buf.reserve(4096);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return compare_tokio::usage("file_server ADDR ROOT");
    }
    let root = match std::fs::canonicalize(&args[2]) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("file_server: {}: {e}", args[2]);
            return ExitCode::from(2);
        }
    };
    compare_tokio::serve(&args[1], move |s| connection(s, root.clone()))
}
