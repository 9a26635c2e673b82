//! The `file_server` example as a child process, driven by plain std clients, and an in-process
//! check that a `netpoll::fs::File` copied into a `TcpStream` goes by sendfile(2).
//!
//! Each test makes its own ROOT (with a secret file next to it, outside) and starts its own
//! server; the client part runs under a watchdog on another thread while the server's handle
//! stays on the test's thread, so a timeout panics there and dropping the handle kills the child.
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::{bounded, Example, Pattern};

const NAME: &str = "file_server";
const LIMIT: Duration = Duration::from_secs(60);
const SECRET: &[u8] = b"TOP SECRET: outside the root";

/// Brings the example binary up to date with the profile of this test binary (see
/// `tests/example_http.rs`): `cargo test` builds examples with the `test` profile into
/// `target/debug/examples`, `cargo test --test NAME` does not build them at all.
fn build_example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("current_exe");
            let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
            let target_dir: PathBuf = profile_dir.parent().expect("target dir").into();
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => "test",
                Some(other) => other,
            };
            let mut child = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--example", name, "--profile", profile])
                .arg("--target-dir")
                .arg(&target_dir)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdout(Stdio::null())
                .spawn()
                .expect("run cargo build --example");
            let end = Instant::now() + Duration::from_secs(900);
            loop {
                if let Some(st) = child.try_wait().expect("wait for cargo") {
                    assert!(st.success(), "cargo build --example {name}: {st}");
                    break;
                }
                if Instant::now() > end {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("cargo build --example {name} took more than 15 minutes");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let bin = profile_dir.join("examples").join(name);
            assert!(bin.exists(), "{bin:?}");
            bin
        })
        .clone()
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "netpoll-file-server-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// ROOT's layout: files of several sizes, directories with and without an index, and symlinks
/// that stay inside or lead out to `outside/secret.txt`.
struct Tree {
    base: TempDir,
    files: Vec<(&'static str, Vec<u8>)>,
}

impl Tree {
    fn new() -> Tree {
        let base = TempDir::new("tree");
        let root = base.0.join("root");
        let outside = base.0.join("outside");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(root.join("site")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        let mut files = Vec::new();
        for (name, len) in [
            ("empty.bin", 0usize),
            ("one.bin", 1),
            ("page.bin", 4096),
            ("big.bin", (1 << 20) + 1),
            ("sub/deeper/file name.txt", 100),
        ] {
            let mut data = vec![0u8; len];
            Pattern::new(len as u64 + 7).fill(&mut data);
            std::fs::write(root.join(name), &data).unwrap();
            files.push((name, data));
        }
        std::fs::write(root.join("site/index.html"), b"<h1>index</h1>").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape-dir")).unwrap();
        std::os::unix::fs::symlink("../outside/secret.txt", root.join("relative-escape")).unwrap();
        std::os::unix::fs::symlink("page.bin", root.join("inside-link.bin")).unwrap();
        Tree { base, files }
    }

    fn root(&self) -> PathBuf {
        self.base.0.join("root")
    }

    fn file(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| *n == name).unwrap().1
    }
}

/// A running server over a fresh [`Tree`]; shows the child's stderr if the test fails.
struct Server {
    example: Example,
    tree: Tree,
}

impl Server {
    fn start() -> Server {
        build_example(NAME);
        let tree = Tree::new();
        let root = tree.root();
        let example = Example::start(
            NAME,
            &["127.0.0.1:0", root.to_str().unwrap()],
            &[("NETPOLL_WORKERS", "2")],
        );
        Server { example, tree }
    }

    /// Runs the client part `f` under the watchdog, with the server's address and the files.
    fn run(&self, f: impl FnOnce(SocketAddr, Vec<(&'static str, Vec<u8>)>) + Send + 'static) {
        let addr = self.example.addr;
        let files = self.tree.files.clone();
        bounded(LIMIT, move || f(addr, files));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {NAME} stderr ---\n{}",
                self.example
                    .stderr
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
            );
        }
    }
}

fn file<'a>(files: &'a [(&'static str, Vec<u8>)], name: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| *n == name).unwrap().1
}

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection with a buffer (responses may arrive together).
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        Client { s, buf: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    fn get(&mut self, target: &str, extra: &str) -> Response {
        self.send(format!("GET {target} HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes());
        self.response(false)
    }

    fn fill(&mut self) -> bool {
        let mut chunk = vec![0u8; 256 * 1024];
        match self.s.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read: {e}"),
        }
    }

    fn response(&mut self, head_only: bool) -> Response {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill(), "connection closed inside a response head");
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("ASCII head");
        let mut lines = head[..head_end - 4].split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line:?}");
        let status = status_line[9..12].parse().expect("status");
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap_or_else(|| panic!("header {l:?}"));
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let mut r = Response {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        let len: usize = if head_only {
            0
        } else {
            r.header("content-length")
                .expect("Content-Length")
                .parse()
                .unwrap()
        };
        while self.buf.len() < head_end + len {
            assert!(self.fill(), "connection closed inside a body");
        }
        r.body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        r
    }

    fn expect_close(&mut self) {
        while self.fill() {}
        assert!(
            self.buf.is_empty(),
            "unexpected bytes after the last response"
        );
    }
}

fn ok_body(r: &Response, expected: &[u8]) {
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.header("content-length"),
        Some(&*expected.len().to_string())
    );
    assert!(r.body == expected, "body differs ({} bytes)", r.body.len());
}

#[test]
fn files_of_every_size_are_served_exactly() {
    let server = Server::start();
    server.run(|addr, files| {
        let mut c = Client::connect(addr);
        for (name, data) in &files {
            let target = format!("/{}", name.replace(' ', "%20"));
            let r = c.get(&target, "");
            ok_body(&r, data);
            assert_eq!(r.header("accept-ranges"), Some("bytes"));
            assert!(r
                .header("last-modified")
                .is_some_and(|d| d.ends_with(" GMT")));
        }
        assert_eq!(
            c.get("/page.bin", "").header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(
            c.get("/sub/deeper/file%20name.txt", "")
                .header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        // A symlink that stays inside ROOT is followed; query strings are ignored.
        ok_body(&c.get("/inside-link.bin?v=1", ""), file(&files, "page.bin"));
        // Absolute-form targets name the same files.
        ok_body(&c.get("http://t/one.bin", ""), file(&files, "one.bin"));
    });
}

#[test]
fn head_sends_headers_only() {
    let server = Server::start();
    server.run(|addr, files| {
        let mut c = Client::connect(addr);
        c.send(b"HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.response(true);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("1048577"));
        // No body followed: the next response comes right after the head.
        ok_body(&c.get("/one.bin", ""), file(&files, "one.bin"));
        c.send(b"HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response(true).status, 404);
        ok_body(&c.get("/one.bin", ""), file(&files, "one.bin"));
    });
}

#[test]
fn ranges() {
    let server = Server::start();
    server.run(|addr, files| {
        let page = file(&files, "page.bin");
        let big = file(&files, "big.bin");
        let mut c = Client::connect(addr);
        let partial = |c: &mut Client, target: &str, range: &str, want: &[u8], cr: &str| {
            let r = c.get(target, &format!("Range: {range}\r\n"));
            assert_eq!(r.status, 206, "{range}: {}", r.head);
            assert_eq!(r.header("content-range"), Some(cr), "{range}");
            assert_eq!(r.header("content-length"), Some(&*want.len().to_string()));
            assert!(r.body == want, "{range}: body differs");
        };
        partial(
            &mut c,
            "/page.bin",
            "bytes=0-99",
            &page[..100],
            "bytes 0-99/4096",
        );
        partial(
            &mut c,
            "/page.bin",
            "bytes=1000-1999",
            &page[1000..2000],
            "bytes 1000-1999/4096",
        );
        partial(
            &mut c,
            "/page.bin",
            "bytes=-100",
            &page[3996..],
            "bytes 3996-4095/4096",
        );
        partial(
            &mut c,
            "/page.bin",
            "bytes=4000-",
            &page[4000..],
            "bytes 4000-4095/4096",
        );
        partial(
            &mut c,
            "/page.bin",
            "bytes=4095-99999",
            &page[4095..],
            "bytes 4095-4095/4096",
        );
        partial(
            &mut c,
            "/one.bin",
            "bytes=0-0",
            file(&files, "one.bin"),
            "bytes 0-0/1",
        );
        partial(
            &mut c,
            "/big.bin",
            "bytes=524288-",
            &big[524_288..],
            "bytes 524288-1048576/1048577",
        );
        for (target, range, len) in [
            ("/page.bin", "bytes=4096-", 4096),
            ("/page.bin", "bytes=5000-6000", 4096),
            ("/page.bin", "bytes=-0", 4096),
            ("/empty.bin", "bytes=0-", 0),
        ] {
            let r = c.get(target, &format!("Range: {range}\r\n"));
            assert_eq!(r.status, 416, "{range}");
            assert_eq!(
                r.header("content-range"),
                Some(&*format!("bytes */{len}")),
                "{range}"
            );
        }
        // Several ranges, or nonsense: the whole file.
        ok_body(&c.get("/page.bin", "Range: bytes=0-1,5-6\r\n"), page);
        ok_body(&c.get("/page.bin", "Range: lines=1-2\r\n"), page);
        ok_body(&c.get("/page.bin", "Range: bytes=9-2\r\n"), page);
        // HEAD ignores Range (it is defined for GET only).
        c.send(b"HEAD /page.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n");
        let r = c.response(true);
        assert_eq!((r.status, r.header("content-length")), (200, Some("4096")));
        ok_body(&c.get("/page.bin", ""), page);
    });
}

#[test]
fn missing_files_and_directories_are_404() {
    let server = Server::start();
    server.run(|addr, _files| {
        let mut c = Client::connect(addr);
        for target in [
            "/nope",
            "/sub",
            "/sub/",
            "/sub/deeper",
            "/",
            "/one.bin/child",
            "/sub/missing.txt",
        ] {
            let r = c.get(target, "");
            assert_eq!(r.status, 404, "{target}");
        }
        // A directory with an index.html serves it.
        for target in ["/site", "/site/", "/site/index.html"] {
            let r = c.get(target, "");
            assert_eq!(
                (r.status, &r.body[..]),
                (200, &b"<h1>index</h1>"[..]),
                "{target}"
            );
            assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        }
        // The connection survived all of that.
        assert_eq!(c.get("/one.bin", "").status, 200);
        // Other methods.
        c.send(b"POST /one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        let r = c.response(false);
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
        assert_eq!(c.get("/one.bin", "").status, 200);
    });
}

#[test]
fn nothing_outside_root_is_ever_served() {
    let server = Server::start();
    server.run(|addr, _files| {
        for target in [
            "/../etc/passwd",
            "/../outside/secret.txt",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2E/outside/secret.txt",
            "/%2e%2E/outside/secret.txt",
            "/.%2e/outside/secret.txt",
            "/%2e./outside/secret.txt",
            "/..%2foutside%2fsecret.txt",
            "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/a/../../x",
            "/sub/../../outside/secret.txt",
            "/sub/./../../outside/secret.txt",
            "//etc/passwd",
            "///etc/passwd",
            "/%2fetc%2fpasswd",
            "/escape.txt",
            "/escape-dir/secret.txt",
            "/escape-dir/",
            "/relative-escape",
            "/one.bin%00.txt",
            "/%00",
            "http://t/../outside/secret.txt",
        ] {
            let mut c = Client::connect(addr);
            let r = c.get(target, "");
            assert!(
                r.status == 403 || r.status == 404,
                "{target}: {} {:?}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            let all = [r.head.as_bytes(), &r.body].concat();
            assert!(
                !all.windows(SECRET.len()).any(|w| w == SECRET),
                "{target} leaked the secret"
            );
            assert!(
                !all.windows(5).any(|w| w == b"root:"),
                "{target} leaked /etc/passwd"
            );
        }
        // Malformed encodings are a 400 and a close.
        let mut c = Client::connect(addr);
        let r = c.get("/%zz", "");
        assert_eq!((r.status, r.header("connection")), (400, Some("close")));
        c.expect_close();
        let mut c = Client::connect(addr);
        c.send(b"GET one.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response(false).status, 400);
        c.expect_close();
        let mut c = Client::connect(addr);
        c.send(b"GET /one.bin HTTP/1.1\r\nHost: t\r\nX: a\nY: b\r\n\r\n");
        assert_eq!(c.response(false).status, 400);
        c.expect_close();
    });
}

#[test]
fn keep_alive_and_pipelining() {
    let server = Server::start();
    server.run(|addr, files| {
        let mut c = Client::connect(addr);
        ok_body(&c.get("/page.bin", ""), file(&files, "page.bin"));
        ok_body(&c.get("/big.bin", ""), file(&files, "big.bin"));
        // Several in one write, answered in order.
        c.send(
            b"GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n\
              HEAD /page.bin HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /nope HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /page.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=-10\r\n\r\n\
              GET /empty.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        ok_body(&c.response(false), file(&files, "one.bin"));
        assert_eq!(c.response(true).status, 200);
        assert_eq!(c.response(false).status, 404);
        let r = c.response(false);
        assert_eq!(
            (r.status, &r.body[..]),
            (206, &file(&files, "page.bin")[4086..])
        );
        let r = c.response(false);
        assert_eq!((r.status, r.header("connection")), (200, Some("close")));
        c.expect_close();
    });
}

#[test]
fn bad_root_exits_with_status_2() {
    let bin = build_example(NAME);
    let dir = TempDir::new("badroot");
    let a_file = dir.0.join("plain-file");
    std::fs::write(&a_file, b"x").unwrap();
    for root in [dir.0.join("does-not-exist"), a_file] {
        let mut child = Command::new(&bin)
            .arg("127.0.0.1:0")
            .arg(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("file_server with ROOT {root:?} did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut out = String::new();
        let mut err = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{root:?}");
        assert!(!out.contains("listening on"), "{out:?}");
        assert!(!err.is_empty());
    }
    // Bad usage too.
    let st = Command::new(&bin)
        .arg("127.0.0.1:0")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
}

#[test]
fn sigterm_exits_0() {
    let mut server = Server::start();
    let addr = server.example.addr;
    let idle = bounded(LIMIT, move || {
        let mut c = Client::connect(addr);
        assert_eq!(c.get("/one.bin", "").status, 200);
        c
    });
    let t0 = Instant::now();
    let st = server
        .example
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let mut idle = idle;
    idle.expect_close();
}

/// In-process: a `netpoll::fs::File` (also after a seek, under `take`) copied into a
/// `TcpStream` takes the sendfile path, and the bytes arrive right.
#[test]
fn file_to_socket_copy_uses_sendfile() {
    use netpoll::io::{AsyncReadExt, CopyPath};

    let dir = TempDir::new("sendfile");
    let path = dir.0.join("data.bin");
    let mut data = vec![0u8; 300_000];
    Pattern::new(99).fill(&mut data);
    std::fs::write(&path, &data).unwrap();
    bounded(LIMIT, move || {
        let rt = support::rt(2);
        rt.block_on(async move {
            let (mut tx, rx) = support::tcp_pair().await;
            let reader = netpoll::spawn(async move {
                let mut got = Vec::new();
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = rx.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            });
            let mut file = netpoll::fs::File::open(&path).await.unwrap();
            assert_eq!(netpoll::io::copy_path(&file, &tx), CopyPath::Sendfile);
            let before = netpoll::io::copy_stats();
            // A range, the way the file server sends one: seek, then take.
            file.seek(std::io::SeekFrom::Start(1000)).await.unwrap();
            let mut part = (&mut file).take(5000);
            assert_eq!(netpoll::io::copy_path(&part, &tx), CopyPath::Sendfile);
            assert_eq!(netpoll::io::copy(&mut part, &mut tx).await.unwrap(), 5000);
            // The rest of the file from where the range ended.
            assert_eq!(
                netpoll::io::copy(&mut file, &mut tx).await.unwrap(),
                300_000 - 6000
            );
            let after = netpoll::io::copy_stats();
            assert!(after.sendfile_copies >= before.sendfile_copies + 2);
            assert!(after.sendfile_bytes >= before.sendfile_bytes + 300_000 - 1000);
            tx.shutdown_std(std::net::Shutdown::Write).unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), 300_000 - 1000);
            assert!(got[..5000] == data[1000..6000]);
            assert!(got[5000..] == data[6000..]);
        });
    });
}

/// The child itself calls sendfile(2) for a body (checked with strace, where it can run).
#[test]
fn the_server_sends_bodies_with_sendfile() {
    let have_strace = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_strace {
        eprintln!("strace not available: skipped (see file_to_socket_copy_uses_sendfile)");
        return;
    }
    let bin = build_example(NAME);
    let tree = Tree::new();
    let log = tree.base.0.join("strace.log");
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=sendfile", "-o"])
        .arg(&log)
        .arg(&bin)
        .arg("127.0.0.1:0")
        .arg(tree.root())
        .env("NETPOLL_WORKERS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = strace.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        for _ in lines {}
    });
    let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = strace.kill();
        let _ = strace.wait();
        let mut err = String::new();
        let _ = strace.stderr.take().unwrap().read_to_string(&mut err);
        eprintln!("file_server under strace did not start (ptrace not allowed?): skipped; {err}");
        return;
    };
    // strace's child is the server: stop it with SIGTERM (strace then exits too).
    let server_pid = std::fs::read_to_string(format!(
        "/proc/{pid}/task/{pid}/children",
        pid = strace.id()
    ))
    .ok()
    .and_then(|s| {
        s.split_whitespace()
            .next()
            .and_then(|p| p.parse::<i32>().ok())
    });
    let stop = |strace: &mut std::process::Child| {
        if let Some(pid) = server_pid {
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our grandchild.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let end = Instant::now() + Duration::from_secs(10);
        while strace.try_wait().unwrap().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = strace.kill();
        let _ = strace.wait();
    };
    let addr: SocketAddr = line.strip_prefix("listening on ").unwrap().parse().unwrap();
    let big = tree.file("big.bin").to_vec();
    let page = tree.file("page.bin").to_vec();
    let res = std::panic::catch_unwind(move || {
        bounded(LIMIT, move || {
            let mut c = Client::connect(addr);
            ok_body(&c.get("/big.bin", ""), &big);
            let r = c.get("/page.bin", "Range: bytes=100-199\r\n");
            assert_eq!((r.status, &r.body[..]), (206, &page[100..200]));
        })
    });
    stop(&mut strace);
    if let Err(p) = res {
        std::panic::resume_unwind(p);
    }
    let log = std::fs::read_to_string(&log).unwrap();
    // Lines of other threads may split a call into "<unfinished ...>" and "<... resumed>":
    // count the lines that end with a result.
    let calls: Vec<&str> = log.lines().filter(|l| l.contains("sendfile")).collect();
    let total: u64 = calls
        .iter()
        .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
        .sum();
    assert!(
        total == (1 << 20) + 1 + 100,
        "sendfile moved {total} bytes; calls: {calls:#?}"
    );
    assert!(
        calls.iter().any(|l| l.contains("[100]")),
        "no sendfile from offset 100: {calls:#?}"
    );
}
