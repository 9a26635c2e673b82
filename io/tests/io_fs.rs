//! `netpoll_io::fs`: File round trips, seeks, metadata, set_len, and the zero-copy offset
//! bookkeeping `copy` relies on.

use std::future::Future;
use std::io::{self, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;

use netpoll_io::fs::{self, File, OpenOptions};
use netpoll_io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader,
    ZeroCopySource,
};
use netpoll_runtime::runtime::Builder;

/// Runs `body` on its own thread with a runtime (current-thread, or 2 workers), failing the
/// test after 20 s instead of hanging.
fn run<F, Fut>(multi: bool, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = if multi {
            Builder::new_multi_thread().worker_threads(2).build()
        } else {
            Builder::new_current_thread().build()
        }
        .expect("runtime");
        rt.block_on(body());
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => thread.join().expect("test thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test timed out: lost wake-up?"),
    }
}

/// A fresh path in the temp directory, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        let p = std::env::temp_dir().join(format!("netpoll-io-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file_source(f: &impl AsyncRead) -> Option<(i32, u64, Option<u64>)> {
    match f.zero_copy_source()? {
        (ZeroCopySource::File { fd, offset }, limit) => Some((fd, offset, limit)),
        (ZeroCopySource::Socket { .. }, _) => panic!("a file offered a socket"),
    }
}

#[test]
fn file_round_trip() {
    run(false, || async {
        let tmp = TempPath::new("round-trip");
        let path = tmp.0.clone();

        let mut f = File::create(&path).await.unwrap();
        f.write_all(b"hello, ").await.unwrap();
        f.write_all(b"world").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 12);
        f.sync_all().await.unwrap();
        drop(f);

        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello, world");

        assert_eq!(f.seek(SeekFrom::Start(7)).await.unwrap(), 7);
        let mut five = [0u8; 5];
        f.read_exact(&mut five).await.unwrap();
        assert_eq!(&five, b"world");

        // Write in the middle, then read it back through the same handle.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.write_all(b"HELLO").await.unwrap();
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 5);
        f.rewind().await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"HELLO, world");

        // set_len waits for writes in flight, and does not move the position.
        f.seek(SeekFrom::End(0)).await.unwrap();
        f.write_all(b"!!!").await.unwrap();
        f.set_len(5).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 5);
        f.set_len(8).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 8);
        f.sync_data().await.unwrap();
        assert_eq!(f.stream_position().await.unwrap(), 15);
        f.rewind().await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"HELLO\0\0\0");
        f.shutdown().await.unwrap();

        let std = f.into_std().await;
        assert_eq!(std.metadata().unwrap().len(), 8);
    });
}

#[test]
fn file_large_write_and_read_back() {
    run(true, || async {
        let tmp = TempPath::new("large");
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut f = File::create(&tmp.0).await.unwrap();
        f.set_max_buf_size(1 << 20);
        f.write_all(&data).await.unwrap();
        f.flush().await.unwrap();
        drop(f);
        let mut f = BufReader::new(File::open(&tmp.0).await.unwrap());
        let mut back = Vec::new();
        f.read_to_end(&mut back).await.unwrap();
        assert!(back == data, "contents differ");
        assert_eq!(fs::read(&tmp.0).await.unwrap().len(), data.len());
    });
}

#[test]
fn free_functions() {
    run(false, || async {
        let tmp = TempPath::new("free");
        fs::write(&tmp.0, "line 1\nline 2\n").await.unwrap();
        assert_eq!(fs::read(&tmp.0).await.unwrap(), b"line 1\nline 2\n");
        assert_eq!(
            fs::read_to_string(&tmp.0).await.unwrap(),
            "line 1\nline 2\n"
        );
        assert_eq!(fs::metadata(&tmp.0).await.unwrap().len(), 14);
        let mut lines = BufReader::new(File::open(&tmp.0).await.unwrap()).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("line 1"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("line 2"));
        assert_eq!(lines.next_line().await.unwrap(), None);
        fs::remove_file(&tmp.0).await.unwrap();
        assert_eq!(
            fs::metadata(&tmp.0).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            File::open(&tmp.0).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::write(&tmp.0, [0xff, 0xfe]).unwrap();
        assert_eq!(
            fs::read_to_string(&tmp.0).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    });
}

#[test]
fn write_errors_surface_on_flush() {
    run(false, || async {
        let tmp = TempPath::new("ro");
        std::fs::write(&tmp.0, b"x").unwrap();
        // Opened read-only: the write is accepted into the buffer, fails on the pool, and the
        // error comes back from flush.
        let mut f = File::open(&tmp.0).await.unwrap();
        assert_eq!(f.write(b"nope").await.unwrap(), 4);
        assert!(f.flush().await.is_err());
        // Reported once.
        f.flush().await.unwrap();
    });
}

#[test]
fn zero_copy_offset_bookkeeping() {
    run(false, || async {
        let tmp = TempPath::new("zero-copy");
        std::fs::write(&tmp.0, b"0123456789abcdef").unwrap();
        let check = std::fs::File::open(&tmp.0).unwrap();
        let at = |offset: u64, n: usize| {
            let mut buf = vec![0u8; n];
            check.read_exact_at(&mut buf, offset).unwrap();
            buf
        };

        let mut f = File::open(&tmp.0).await.unwrap();
        let fd = f.as_raw_fd();
        assert_eq!(file_source(&f), Some((fd, 0, None)));

        let mut two = [0u8; 2];
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"01");
        assert_eq!(file_source(&f), Some((fd, 2, None)));

        // As if copy sent 3 bytes from offset 2 with sendfile.
        let (_, offset, _) = file_source(&f).unwrap();
        assert_eq!(at(offset, 3), b"234");
        Pin::new(&mut f).zero_copy_consumed(3);
        assert_eq!(file_source(&f), Some((fd, 5, None)));
        // Reads continue after the copied bytes.
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"56");

        // Seeks count them too.
        Pin::new(&mut f).zero_copy_consumed(1);
        assert_eq!(f.stream_position().await.unwrap(), 8);
        Pin::new(&mut f).zero_copy_consumed(2);
        assert_eq!(f.seek(SeekFrom::Current(1)).await.unwrap(), 11);
        let mut rest = String::new();
        f.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "bcdef");
        assert_eq!(file_source(&f), Some((fd, 16, None)));

        // A skip still pending when the file becomes a std::fs::File is applied.
        f.seek(SeekFrom::Start(1)).await.unwrap();
        Pin::new(&mut f).zero_copy_consumed(4);
        let mut std = f.into_std().await;
        assert_eq!(io::Seek::stream_position(&mut std).unwrap(), 5);
    });
}

#[test]
fn zero_copy_source_only_when_idle_and_unbuffered() {
    run(false, || async {
        let tmp = TempPath::new("zc-idle");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp.0)
            .await
            .unwrap();
        let fd = f.as_raw_fd();
        // A write in flight: no zero-copy form until it completes.
        f.write_all(b"abcdefgh").await.unwrap();
        assert!(f.zero_copy_source().is_none());
        f.flush().await.unwrap();
        assert_eq!(file_source(&f), Some((fd, 8, None)));

        // A failed write still to be reported: none either.
        // (Covered in write_errors_surface_on_flush for the error path itself.)

        // Read-ahead held by a BufReader: none until it is consumed.
        f.rewind().await.unwrap();
        let mut r = BufReader::with_capacity(4, f);
        assert_eq!(file_source(&r), Some((fd, 0, None)));
        assert_eq!(r.read_u8().await.unwrap(), b'a');
        assert!(r.zero_copy_source().is_none());
        let mut three = [0u8; 3];
        r.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"bcd");
        assert_eq!(file_source(&r), Some((fd, 4, None)));
        Pin::new(&mut r).zero_copy_consumed(2);
        assert_eq!(r.read_u8().await.unwrap(), b'g');

        // Take over a file: the limit is lowered, consumption reaches the file.
        let mut f = r.into_inner();
        f.rewind().await.unwrap();
        let mut t = f.take(3);
        assert_eq!(file_source(&t), Some((fd, 0, Some(3))));
        Pin::new(&mut t).zero_copy_consumed(2);
        assert_eq!(t.limit(), 1);
        let mut rest = Vec::new();
        t.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"c");
        let mut f = t.into_inner();
        assert_eq!(f.read_u8().await.unwrap(), b'd');

        // Not a regular file: no zero-copy form.
        let null = File::open("/dev/null").await.unwrap();
        assert!(null.zero_copy_source().is_none());
    });
}

#[test]
fn concurrent_shared_operations_all_complete() {
    run(true, || async {
        let tmp = TempPath::new("shared");
        let mut f = File::create(&tmp.0).await.unwrap();
        f.write_all(&[1u8; 100_000]).await.unwrap();
        // Several &self operations at once on one file: each waits for the write in flight and
        // for each other without losing a wake-up.
        let f = &f;
        let (a, b, c, d) =
            futures_join4(f.sync_all(), f.set_len(10), f.sync_data(), f.metadata()).await;
        a.unwrap();
        b.unwrap();
        c.unwrap();
        d.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 10);
        let clone = f.try_clone().await.unwrap();
        assert_eq!(clone.metadata().await.unwrap().len(), 10);
    });
}

async fn futures_join4<A, B, C, D>(
    a: A,
    b: B,
    c: C,
    d: D,
) -> (A::Output, B::Output, C::Output, D::Output)
where
    A: Future,
    B: Future,
    C: Future,
    D: Future,
{
    futures_util::future::join4(a, b, c, d).await
}

#[test]
fn try_clone_shares_the_logical_position() {
    run(false, || async {
        let tmp = TempPath::new("clone");
        std::fs::write(&tmp.0, b"0123456789").unwrap();
        let mut f = File::open(&tmp.0).await.unwrap();
        let mut two = [0u8; 2];
        f.read_exact(&mut two).await.unwrap();
        Pin::new(&mut f).zero_copy_consumed(3);
        let mut g = f.try_clone().await.unwrap();
        assert_eq!(g.read_u8().await.unwrap(), b'5');
        // Same open file description: f continues after g's read.
        assert_eq!(f.read_u8().await.unwrap(), b'6');
        let std = g.try_into_std().expect("idle");
        drop(std);
    });
}

/// Compile-time check: the file's futures can be spawned on a multi-thread runtime.
#[allow(dead_code)]
fn file_futures_are_send(f: &mut File, s: &File) {
    fn send<T: Send>(_: T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<File>();
    send(f.seek(SeekFrom::Start(0)));
    send(f.read_u8());
    send(f.write_all(b""));
    send(s.sync_all());
    send(s.set_len(0));
    send(s.metadata());
    send(s.try_clone());
    send(File::open("x"));
    send(fs::read("x"));
    send(fs::write("x", b"y"));
}
