//! `file_server ADDR ROOT`: serves the files under ROOT over HTTP/1.1 (`GET` and `HEAD`,
//! keep-alive, pipelined requests answered in order).
//!
//! - `200` with `Content-Length`, a `Content-Type` guessed from the extension, `Last-Modified`
//!   and `Accept-Ranges: bytes`; the body goes from a [`netpoll::fs::File`] to the socket by
//!   [`netpoll::io::copy`], which uses `sendfile(2)`;
//! - `Range: bytes=FIRST-LAST`, `FIRST-` or `-SUFFIX` (one range) → `206` with `Content-Range`;
//!   a range past the end → `416` with `Content-Range: bytes */LEN`; several ranges → the whole
//!   file (RFC 9110 lets a server ignore `Range`);
//! - a directory → its `index.html` if it has one, else `404`; a missing file → `404`;
//! - nothing outside ROOT, ever: `..` segments (also percent-encoded) and NUL bytes → `403`;
//!   then, on Linux 5.6+, the file is opened relative to ROOT's directory fd in one
//!   `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` call, which refuses any path or symlink
//!   leading out of ROOT, absolute symlinks included (`403`); where `openat2` is missing the
//!   path is canonicalized and must still be under the canonical ROOT (`403` otherwise), and
//!   the file is opened with `O_NOFOLLOW`. Either way it must be a regular file. The lookup
//!   runs on the worker itself, in a syscall section (`netpoll::task::enter_syscall`): sysmon
//!   hands the worker's queue on if the file system is slow;
//! - other methods → `405`; malformed requests → `400` (or `431`, `501`, `505`) and a close;
//! - the same slow-client limits as `http_hello`: 10 s for a request head, 30 s idle between
//!   requests, 30 s for each 4 MiB of a response to be taken by the client.
//!
//! If ROOT is not a directory the server says so on stderr and exits with status 2.
//!
//! ```sh
//! cargo run --release --example file_server 127.0.0.1:8080 /usr/share/doc
//! curl -v http://127.0.0.1:8080/bash/README
//! ```

mod common;

use std::cell::RefCell;
use std::ffi::OsStr;
use std::io::{self, Write as _};
use std::net::Shutdown;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netpoll::io::{AsyncReadExt, AsyncWriteExt};
use netpoll::net::TcpStream;
use netpoll_proto::http::{self, parse_range, parse_request_into, RangeResult, Request, Version};

/// The largest request head accepted (431 beyond).
const MAX_HEAD: usize = 8 * 1024;
/// The largest request body read and dropped (413 beyond).
const MAX_BODY: u64 = 1024 * 1024;
/// Bytes asked of one read.
const READ_SIZE: usize = 16 * 1024;
/// From the first byte of a request head to its end.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Between requests, and between reads of a request body.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting connection wakes to notice shutdown.
const TICK: Duration = Duration::from_millis(500);
/// How long a write (a response head, or one [`BODY_CHUNK`] of a body) may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// A response body is copied in pieces of this size, each under [`WRITE_TIMEOUT`].
const BODY_CHUNK: u64 = 4 << 20;
/// How long, after our last response, we keep reading (and dropping) what the client still
/// sends, so that a reset does not destroy that response before the client read it.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes dropped while lingering.
const LINGER_MAX: usize = 1024 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return common::usage("file_server ADDR ROOT");
    }
    let root = match std::fs::canonicalize(&args[2]) {
        Ok(root) if root.is_dir() => root,
        Ok(_) => {
            eprintln!("file_server: ROOT {:?} is not a directory", args[2]);
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("file_server: ROOT {:?}: {e}", args[2]);
            return ExitCode::from(2);
        }
    };
    let dir = match std::fs::File::open(&root) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("file_server: ROOT {:?}: {e}", args[2]);
            return ExitCode::from(2);
        }
    };
    let root = Arc::new(Root { path: root, dir });
    common::serve_fds(&args[1], 2, move |stream, _peer, state| {
        connection(stream, state, root.clone())
    })
}

/// The directory served: its canonical path, and an open fd for `openat2`.
struct Root {
    path: PathBuf,
    dir: std::fs::File,
}

/// What to say about the connection in a response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Persist {
    /// Keep it open; HTTP/1.1 says nothing.
    Keep,
    /// Keep it open; an HTTP/1.0 client needs `Connection: keep-alive`.
    KeepOld,
    /// `Connection: close`: this is the last response.
    Close,
}

impl Persist {
    fn header(self) -> &'static str {
        match self {
            Persist::Keep => "",
            Persist::KeepOld => "Connection: keep-alive\r\n",
            Persist::Close => "Connection: close\r\n",
        }
    }
}

/// The current HTTP date, formatted once per second per thread.
fn date_now() -> String {
    thread_local!(static DATE: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) });
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs || d.1.is_empty() {
            *d = (secs, http::http_date(secs));
        }
        d.1.clone()
    })
}

/// Appends a complete response with a short text body (for errors, 405, 404...).
fn simple_response(status: u16, persist: Persist, extra: &str, head_only: bool, out: &mut Vec<u8>) {
    let reason = http::reason_phrase(status);
    let body = format!("{status} {reason}\n");
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\
         Date: {}\r\n{}\r\n",
        body.len(),
        date_now(),
        persist.header(),
    );
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
}

/// Serves one connection until the client or the server ends it.
async fn connection(
    mut stream: TcpStream,
    state: Arc<common::State>,
    root: Arc<Root>,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_SIZE];
    // Unprocessed bytes are `buf[start..end]`.
    let (mut start, mut end) = (0usize, 0usize);
    let mut out = Vec::with_capacity(512);
    let mut req = Request::default();
    // Bytes of the current request's body still to drop.
    let mut discard = 0u64;
    // When the request head being received began: the accept, for the first one.
    let mut head_started = Some(Instant::now());
    // The last time bytes arrived.
    let mut last_read = Instant::now();
    // The read deadline set on the socket (moved as rarely as possible).
    let mut read_armed: Option<Instant> = None;

    loop {
        if discard > 0 {
            let n = discard.min((end - start) as u64);
            start += n as usize;
            discard -= n;
        }
        if discard == 0 && start < end {
            let mut close = false;
            out.clear();
            match parse_request_into(&buf[start..end], MAX_HEAD, &mut req) {
                Ok(None) => {}
                Ok(Some(n)) => {
                    start += n;
                    head_started = None;
                    let body = req.content_length().unwrap_or(0);
                    if body > MAX_BODY {
                        simple_response(413, Persist::Close, "", false, &mut out);
                        close = true;
                    } else {
                        discard = body;
                        // A client that sent `Expect: 100-continue` waits for a `100 Continue`
                        // that never comes, and may skip its body after our answer: close.
                        let expects = body > 0 && req.header("expect").is_some();
                        let persist = if !req.keep_alive() || expects || state.shutting_down() {
                            Persist::Close
                        } else if req.version() == Version::Http10 {
                            Persist::KeepOld
                        } else {
                            Persist::Keep
                        };
                        let persist = respond(&req, persist, &mut stream, &root, &mut out).await?;
                        if persist != Persist::Close {
                            // More requests may be buffered already.
                            continue;
                        }
                        // Already written.
                        out.clear();
                        close = true;
                    }
                }
                Err(e) => {
                    simple_response(e.status(), Persist::Close, "", false, &mut out);
                    close = true;
                }
            }
            if close {
                if !out.is_empty() {
                    write_head(&mut stream, &out).await?;
                }
                linger(&stream, &mut buf).await;
                return Ok(());
            }
        }

        // Keep the unprocessed bytes (part of a head: under MAX_HEAD) at the buffer's start.
        if start == end {
            (start, end) = (0, 0);
        } else if start > 0 {
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        if end > 0 && discard == 0 && head_started.is_none() {
            head_started = Some(last_read);
        }

        let now = Instant::now();
        let deadline = match head_started {
            Some(t) if discard == 0 => t + HEAD_TIMEOUT,
            _ => last_read + IDLE_TIMEOUT,
        };
        // Between requests, shutdown ends the connection; a request under way may finish.
        let between_requests = end == 0 && discard == 0;
        if now >= deadline || (between_requests && state.shutting_down()) {
            return Ok(());
        }
        let want = deadline.min(now + TICK);
        if read_armed.map_or(true, |at| at <= now || at > deadline) {
            read_armed = Some(want);
            stream.set_read_deadline(read_armed);
        }
        match stream.read(&mut buf[end..]).await {
            Ok(0) => return Ok(()),
            Ok(n) => {
                end += n;
                last_read = Instant::now();
            }
            // A tick or the real deadline: the checks above decide.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes a response head (or a whole small response) within [`WRITE_TIMEOUT`].
async fn write_head(stream: &mut TcpStream, out: &[u8]) -> io::Result<()> {
    stream.set_write_deadline(Some(Instant::now() + WRITE_TIMEOUT));
    stream.write_all(out).await
}

/// A file found for a request, open and positioned at the first byte to send.
struct Found {
    file: std::fs::File,
    len: u64,
    modified: Option<SystemTime>,
    content_type: &'static str,
    range: RangeResult,
}

/// Answers one well-formed request, writing the whole response. Returns what it told the client
/// about the connection: a target that cannot be decoded ends it, like any malformed request.
async fn respond(
    req: &Request,
    persist: Persist,
    stream: &mut TcpStream,
    root: &Root,
    out: &mut Vec<u8>,
) -> io::Result<Persist> {
    out.clear();
    let head_only = match req.method() {
        "GET" => false,
        "HEAD" => true,
        _ => {
            simple_response(405, persist, "Allow: GET, HEAD\r\n", false, out);
            return write_head(stream, out).await.map(|()| persist);
        }
    };
    let rel = match request_path(req.target()) {
        Ok(rel) => rel,
        Err(status) => {
            let persist = if status == 400 {
                Persist::Close
            } else {
                persist
            };
            simple_response(status, persist, "", head_only, out);
            return write_head(stream, out).await.map(|()| persist);
        }
    };
    // RFC 9110 §14.2: range requests are defined for GET only.
    let range = if head_only {
        None
    } else {
        req.header("range").map(<[u8]>::to_vec)
    };
    // Inline on this worker, in a syscall section: no thread hop for a lookup that is
    // usually a cache hit, and sysmon's hand-off if it is not.
    let found = netpoll::task::enter_syscall(|| open_under(root, &rel, range.as_deref()));
    let found = match found {
        Ok(found) => found,
        Err(status) => {
            simple_response(status, persist, "", head_only, out);
            return write_head(stream, out).await.map(|()| persist);
        }
    };

    let (status, first, count) = match found.range {
        RangeResult::Full => (200, 0, found.len),
        RangeResult::Partial { start, end } => (206, start, end - start + 1),
        RangeResult::Unsatisfiable => {
            let extra = format!("Content-Range: bytes */{}\r\n", found.len);
            simple_response(416, persist, &extra, head_only, out);
            return write_head(stream, out).await.map(|()| persist);
        }
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: {}\r\nContent-Length: {count}\r\n\
         Accept-Ranges: bytes\r\n",
        http::reason_phrase(status),
        found.content_type,
    );
    if status == 206 {
        let _ = write!(
            out,
            "Content-Range: bytes {first}-{}/{}\r\n",
            first + count - 1,
            found.len
        );
    }
    if let Some(secs) = found
        .modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
    {
        let _ = write!(
            out,
            "Last-Modified: {}\r\n",
            http::http_date(secs.as_secs())
        );
    }
    let _ = write!(out, "Date: {}\r\n{}\r\n", date_now(), persist.header());
    write_head(stream, out).await?;
    if head_only || count == 0 {
        return Ok(persist);
    }

    // The file is at `first` already; copy `count` bytes of it by sendfile, a chunk at a time
    // so that a client that stops reading is given up on. (The zero-copy paths of `copy` wait
    // on the socket's readiness directly, without its deadlines: hence the `timeout`.)
    stream.set_write_deadline(None);
    let mut file = netpoll::fs::File::from(found.file);
    let mut left = count;
    while left > 0 {
        let chunk = left.min(BODY_CHUNK);
        let mut part = (&mut file).take(chunk);
        let copied = netpoll::time::timeout(WRITE_TIMEOUT, netpoll::io::copy(&mut part, stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        if copied != chunk {
            // The file shrank under us: the promised length cannot be kept.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shorter than its announced length",
            ));
        }
        left -= chunk;
    }
    Ok(persist)
}

/// The relative path a request target names, or the status to refuse it with. Only
/// origin-form (`/path?query`) and absolute-form (`http://host/path`) targets are accepted;
/// the path is percent-decoded, then `.` and empty segments are dropped, and `..` or a NUL byte
/// anywhere is refused.
fn request_path(target: &str) -> Result<PathBuf, u16> {
    let lower = |n: usize| target.get(..n).map(str::to_ascii_lowercase);
    let path = if lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
    {
        let rest = &target[target.find("//").map_or(0, |i| i + 2)..];
        rest.find('/').map_or("/", |i| &rest[i..])
    } else {
        target
    };
    if !path.starts_with('/') {
        return Err(400);
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let bytes = http::percent_decode(path).map_err(|e| e.status())?;
    if bytes.contains(&0) {
        return Err(403);
    }
    let mut rel = PathBuf::new();
    for segment in bytes.split(|&c| c == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(403),
            s => rel.push(OsStr::from_bytes(s)),
        }
    }
    Ok(rel)
}

/// The status for a failed lookup.
fn lookup_status(e: &io::Error) -> u16 {
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP) => 404,
        // EXDEV: `openat2(RESOLVE_BENEATH)` found the path leading out of ROOT.
        Some(libc::EACCES | libc::EPERM | libc::EXDEV) => 403,
        _ => 500,
    }
}

/// `path` with symlinks resolved, if it is still under `root` (both canonical).
fn resolve(root: &Path, path: &Path) -> Result<PathBuf, u16> {
    let canon = std::fs::canonicalize(path).map_err(|e| lookup_status(&e))?;
    if canon.starts_with(root) {
        Ok(canon)
    } else {
        Err(403)
    }
}

/// Opens `rel` beneath the directory `dir` in one `openat2(2)` call (Linux 5.6+): no `..`, no
/// absolute path and no symlink may lead out of `dir` (`EXDEV`), and no magic link (`/proc`)
/// is followed. `None` where the kernel has no `openat2` (`ENOSYS`) or a seccomp filter refuses
/// it (`EPERM`): the caller falls back to canonicalizing.
#[cfg(target_os = "linux")]
fn open_beneath(dir: &std::fs::File, rel: &Path) -> Option<io::Result<std::fs::File>> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    // `request_path` refused NUL bytes, so this cannot fail.
    let name = std::ffi::CString::new(rel.as_os_str().as_bytes()).ok()?;
    // SAFETY: `open_how` is a plain C struct for which all-zero is valid (and what the kernel
    // wants in fields we do not set).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 takes a directory fd we hold open, a NUL-terminated path, and a pointer to
    // an `open_how` of the size we pass; it returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            name.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM) => None,
            _ => Some(Err(e)),
        };
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Some(Ok(unsafe { std::fs::File::from_raw_fd(fd as libc::c_int) }))
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(_dir: &std::fs::File, _rel: &Path) -> Option<io::Result<std::fs::File>> {
    None
}

/// Finds, checks and opens `root/rel` (blocking), and positions it for `range`.
fn open_under(root: &Root, rel: &Path, range: Option<&[u8]>) -> Result<Found, u16> {
    let (file, name, meta) = match open_beneath(&root.dir, rel) {
        Some(opened) => {
            let mut file = opened.map_err(|e| lookup_status(&e))?;
            let mut meta = file.metadata().map_err(|e| lookup_status(&e))?;
            let mut name = rel.to_path_buf();
            if meta.is_dir() {
                name.push("index.html");
                file = open_beneath(&root.dir, &name)
                    .unwrap_or_else(|| Err(io::Error::from_raw_os_error(libc::ENOSYS)))
                    .map_err(|e| lookup_status(&e))?;
                meta = file.metadata().map_err(|e| lookup_status(&e))?;
            }
            (file, name, meta)
        }
        None => {
            let (file, path) = open_canonical(&root.path, rel)?;
            let meta = file.metadata().map_err(|e| lookup_status(&e))?;
            (file, path, meta)
        }
    };
    if !meta.is_file() {
        return Err(404);
    }
    let len = meta.len();
    let range = range.map_or(RangeResult::Full, |r| parse_range(r, len));
    if let RangeResult::Partial { start, .. } = range {
        use std::io::Seek as _;
        (&file)
            .seek(io::SeekFrom::Start(start))
            .map_err(|e| lookup_status(&e))?;
    }
    Ok(Found {
        file,
        len,
        modified: meta.modified().ok(),
        content_type: content_type(&name),
        range,
    })
}

/// The fallback without `openat2`: canonicalize `root/rel` (and its `index.html` for a
/// directory), check it is still under `root`, and open it with `O_NOFOLLOW`.
fn open_canonical(root: &Path, rel: &Path) -> Result<(std::fs::File, PathBuf), u16> {
    let mut path = resolve(root, &root.join(rel))?;
    let meta = std::fs::metadata(&path).map_err(|e| lookup_status(&e))?;
    if meta.is_dir() {
        path = resolve(root, &path.join("index.html"))?;
    }
    // The path is canonical, so no symlink is left in it; O_NOFOLLOW refuses one put there
    // since, and O_NONBLOCK keeps a FIFO from blocking the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| lookup_status(&e))?;
    Ok((file, path))
}

/// A `Content-Type` from the file name's extension.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("txt" | "md" | "rs" | "toml") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("csv") => "text/csv; charset=utf-8",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("wasm") => "application/wasm",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Closes our side after the last response, then drops what the client still sends for up to
/// [`LINGER`], so that the response is not lost to a reset.
async fn linger(stream: &TcpStream, buf: &mut [u8]) {
    if stream.shutdown_std(Shutdown::Write).is_err() {
        return;
    }
    stream.set_read_deadline(Some(Instant::now() + LINGER));
    let mut dropped = 0;
    while dropped < LINGER_MAX {
        match stream.read(buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => dropped += n,
        }
    }
}
