//! copy / copy_bidirectional: which path runs (splice, sendfile, buffered), integrity of big
//! transfers, limits and offsets, fallbacks, half-close, dirty pipes. The zero-copy paths are
//! Linux's (splice, sendfile): elsewhere every copy is buffered, and these tests do not apply.
#![cfg(target_os = "linux")]
mod support;

use std::io::{Read, Seek, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll::io::{
    copy, copy_bidirectional, copy_path, copy_stats, AsyncRead, CopyPath, ReadBuf, ZeroCopySource,
};
use support::{bounded, read_to_end_hash, rt, send_pattern, tcp_pair, write_all, Hash, Pattern};

const LIMIT: Duration = Duration::from_secs(120);
const GIB: u64 = 1 << 30;

/// A blocking std file as an AsyncRead that offers sendfile (the async fs::File does the same on
/// the blocking pool); `limit` plays Go's LimitedReader.
struct FileSource {
    file: std::fs::File,
    pos: u64,
    limit: Option<u64>,
}

impl AsyncRead for FileSource {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let max = self
            .limit
            .map_or(buf.remaining() as u64, |l| l.min(buf.remaining() as u64))
            as usize;
        let pos = self.pos;
        self.file.seek(std::io::SeekFrom::Start(pos))?;
        let n = self.file.read(buf.initialize_unfilled_to(max))?;
        buf.advance(n);
        self.pos += n as u64;
        if let Some(l) = &mut self.limit {
            *l -= n as u64;
        }
        Poll::Ready(Ok(()))
    }
    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        Some((
            ZeroCopySource::File {
                fd: self.file.as_raw_fd(),
                offset: self.pos,
            },
            self.limit,
        ))
    }
    fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
        self.pos += n;
        if let Some(l) = &mut self.limit {
            *l -= n;
        }
    }
}

fn pattern_file(len: u64, seed: u64) -> (std::fs::File, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("netpoll-copy-{}-{seed}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let mut p = Pattern::new(seed);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        p.fill(&mut buf[..n]);
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.rewind().unwrap();
    (f, path)
}

fn hash_of_file_range(path: &std::path::Path, offset: u64, len: u64) -> Hash {
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(std::io::SeekFrom::Start(offset)).unwrap();
    let mut h = Hash::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = f.read(&mut buf[..left.min(1 << 20) as usize]).unwrap();
        assert!(n > 0);
        h.update(&buf[..n]);
        left -= n as u64;
    }
    h
}

#[test]
fn one_gib_socket_to_socket_goes_through_splice() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, dst_r) = tcp_pair().await;
            assert_eq!(copy_path(&src_r, &dst_w), CopyPath::Splice);
            let before = copy_stats();
            let sender = netpoll::spawn(async move {
                let h = send_pattern(&src_w, 1, GIB).await.unwrap();
                src_w.shutdown_std(Shutdown::Write).unwrap();
                h
            });
            let receiver = netpoll::spawn(async move { read_to_end_hash(&dst_r).await.unwrap() });
            let n = copy(&mut src_r, &mut dst_w).await.unwrap();
            dst_w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(n, GIB);
            assert_eq!(receiver.await.unwrap(), sender.await.unwrap());
            let after = copy_stats();
            assert!(
                after.splice_bytes - before.splice_bytes >= GIB,
                "{before:?} -> {after:?}"
            );
            assert!(after.splice_copies > before.splice_copies);
        });
    });
}

#[test]
fn one_gib_file_to_socket_goes_through_sendfile_with_offset() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (file, path) = pattern_file(GIB + 4096, 2);
        rt.block_on(async {
            let (mut w, r) = tcp_pair().await;
            let offset = 4096 + 17;
            let mut src = FileSource {
                file,
                pos: offset,
                limit: None,
            };
            assert_eq!(copy_path(&src, &w), CopyPath::Sendfile);
            let before = copy_stats();
            let receiver = netpoll::spawn(async move { read_to_end_hash(&r).await.unwrap() });
            let n = copy(&mut src, &mut w).await.unwrap();
            w.shutdown_std(Shutdown::Write).unwrap();
            let expect_len = GIB + 4096 - offset;
            assert_eq!(n, expect_len);
            assert_eq!(
                src.pos,
                GIB + 4096,
                "the reader's offset advanced by what was sent"
            );
            assert_eq!(
                receiver.await.unwrap(),
                hash_of_file_range(&path, offset, expect_len)
            );
            let after = copy_stats();
            assert!(after.sendfile_bytes - before.sendfile_bytes >= expect_len);
        });
        let _ = std::fs::remove_file(path);
    });
}

#[test]
fn limits_are_honoured_on_sendfile_and_splice() {
    bounded(LIMIT, || {
        let rt = rt(2);
        let (file, path) = pattern_file(8 << 20, 3);
        rt.block_on(async {
            // sendfile with a limit (Go's LimitedReader), then a plain read continues after it.
            let (mut w, r) = tcp_pair().await;
            let mut src = FileSource {
                file,
                pos: 100,
                limit: Some(3_000_001),
            };
            let receiver = netpoll::spawn(async move { read_to_end_hash(&r).await.unwrap() });
            let n = copy(&mut src, &mut w).await.unwrap();
            w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(n, 3_000_001);
            assert_eq!(src.limit, Some(0));
            assert_eq!(src.pos, 100 + 3_000_001);
            assert_eq!(
                receiver.await.unwrap(),
                hash_of_file_range(&path, 100, 3_000_001)
            );

            // splice with a limit: a wrapper whose zero-copy form carries the limit.
            struct Limited<'a> {
                inner: &'a mut netpoll::net::TcpStream,
                left: u64,
            }
            impl AsyncRead for Limited<'_> {
                fn poll_read(
                    self: Pin<&mut Self>,
                    _cx: &mut Context<'_>,
                    _buf: &mut ReadBuf<'_>,
                ) -> Poll<std::io::Result<()>> {
                    unreachable!("the splice path must not fall back here")
                }
                fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
                    let (s, _) = self.inner.zero_copy_source()?;
                    Some((s, Some(self.left)))
                }
                fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
                    self.left -= n;
                }
            }
            let (src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, dst_r) = tcp_pair().await;
            let sender =
                netpoll::spawn(
                    async move { send_pattern(&src_w, 4, 5 << 20).await.map(|_| src_w) },
                );
            let mut limited = Limited {
                inner: &mut src_r,
                left: 1_234_567,
            };
            let n = copy(&mut limited, &mut dst_w).await.unwrap();
            assert_eq!((n, limited.left), (1_234_567, 0));
            dst_w.shutdown_std(Shutdown::Write).unwrap();
            let mut expect = Hash::new();
            let mut p = Pattern::new(4);
            let mut buf = vec![0u8; 5 << 20];
            p.fill(&mut buf);
            expect.update(&buf[..1_234_567]);
            assert_eq!(read_to_end_hash(&dst_r).await.unwrap(), expect);
            // The rest is still in the source socket, in order.
            let mut next = [0u8; 16];
            let k = src_r.read(&mut next).await.unwrap();
            assert_eq!(&next[..k], &buf[1_234_567..1_234_567 + k]);
            drop(sender);
        });
        let _ = std::fs::remove_file(path);
    });
}

#[test]
fn non_socket_pairs_take_the_buffered_path() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (mut w, r) = tcp_pair().await;
            let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
            let mut reader: &[u8] = &data;
            assert_eq!(copy_path(&reader, &w), CopyPath::Buffered);
            let before = copy_stats();
            let receiver = netpoll::spawn(async move { read_to_end_hash(&r).await.unwrap() });
            let n = copy(&mut reader, &mut w).await.unwrap();
            w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(n, data.len() as u64);
            let mut h = Hash::new();
            h.update(&data);
            assert_eq!(receiver.await.unwrap(), h);
            let after = copy_stats();
            assert!(after.buffered_bytes - before.buffered_bytes >= data.len() as u64);
            // Socket into memory: buffered too.
            let (a, mut b) = tcp_pair().await;
            write_all(&a, b"into a vec").await.unwrap();
            drop(a);
            let mut v = Vec::new();
            assert_eq!(copy_path(&b, &v), CopyPath::Buffered);
            copy(&mut b, &mut v).await.unwrap();
            assert_eq!(v, b"into a vec");
        });
    });
}

#[test]
fn splice_einval_on_the_first_call_falls_back_to_buffered() {
    // A reader that offers an fd splice cannot read from (an eventfd): EINVAL, then buffered.
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            // SAFETY: libc::eventfd returns a new fd or -1.
            let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            assert!(efd >= 0);
            let reg = netpoll::io::Registration::new(efd).unwrap();
            struct Odd<'a> {
                reg: &'a netpoll::io::Registration,
                fd: i32,
                data: &'a [u8],
            }
            impl AsyncRead for Odd<'_> {
                fn poll_read(
                    mut self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &mut ReadBuf<'_>,
                ) -> Poll<std::io::Result<()>> {
                    Pin::new(&mut self.data).poll_read(cx, buf)
                }
                fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
                    Some((
                        ZeroCopySource::Socket {
                            fd: self.fd,
                            registration: self.reg,
                        },
                        None,
                    ))
                }
            }
            let (mut w, r) = tcp_pair().await;
            let mut odd = Odd {
                reg: &reg,
                fd: efd,
                data: b"fell back fine",
            };
            assert_eq!(copy_path(&odd, &w), CopyPath::Splice);
            let before = copy_stats();
            let receiver = netpoll::spawn(async move {
                let mut v = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    let n = r.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break v;
                    }
                    v.extend_from_slice(&buf[..n]);
                }
            });
            let n = copy(&mut odd, &mut w).await.unwrap();
            w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(n, 14);
            assert_eq!(receiver.await.unwrap(), b"fell back fine");
            assert!(copy_stats().fallbacks > before.fallbacks);
            drop(reg);
            // SAFETY: closing our own eventfd.
            unsafe { libc::close(efd) };
        });
    });
}

#[test]
fn copy_bidirectional_propagates_half_close_both_ways() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            // client <-> (p1 | proxy | p2) <-> server
            let (client, mut p1) = tcp_pair().await;
            let (mut p2, server) = tcp_pair().await;
            let proxy = netpoll::spawn(async move { copy_bidirectional(&mut p1, &mut p2).await });
            // Client sends and half-closes; server must see EOF, and can still answer.
            let c = netpoll::spawn(async move {
                let h = send_pattern(&client, 5, 10 << 20).await.unwrap();
                client.shutdown_std(Shutdown::Write).unwrap();
                let back = read_to_end_hash(&client).await.unwrap();
                (h, back)
            });
            let got = read_to_end_hash(&server).await.unwrap();
            let sent_back = send_pattern(&server, 6, 3 << 20).await.unwrap();
            server.shutdown_std(Shutdown::Write).unwrap();
            let (sent, back) = c.await.unwrap();
            assert_eq!(got, sent);
            assert_eq!(back, sent_back);
            let (ab, ba) = proxy.await.unwrap().unwrap();
            assert_eq!((ab, ba), (10 << 20, 3 << 20));
        });
    });
}

#[test]
fn destination_closing_with_bytes_in_the_pipe_never_pools_a_dirty_pipe() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, dst_r) = tcp_pair().await;
            let before = copy_stats();
            // The destination never reads, then resets: its buffers fill, bytes sit in the pipe.
            let sender = netpoll::spawn(async move {
                let _ = send_pattern(&src_w, 8, 64 << 20).await;
                src_w
            });
            let copier = netpoll::spawn(async move { copy(&mut src_r, &mut dst_w).await });
            netpoll::time::sleep(Duration::from_millis(100)).await;
            dst_r.set_linger(Some(Duration::ZERO)).unwrap();
            drop(dst_r);
            let err = copier.await.unwrap().unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
            let after = copy_stats();
            assert!(
                after.dirty_pipes_closed > before.dirty_pipes_closed,
                "{before:?} -> {after:?}"
            );
            drop(sender);
        });
    });
}

#[test]
fn unix_stream_to_tcp_splices() {
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (ux, mut uy) = netpoll::net::UnixStream::pair().unwrap();
            let (mut w, r) = tcp_pair().await;
            assert_eq!(copy_path(&uy, &w), CopyPath::Splice);
            let sender = netpoll::spawn(async move {
                let mut p = Pattern::new(9);
                let mut h = Hash::new();
                let mut buf = vec![0u8; 1 << 20];
                for _ in 0..16 {
                    p.fill(&mut buf);
                    h.update(&buf);
                    let mut off = 0;
                    while off < buf.len() {
                        off += ux.write(&buf[off..]).await.unwrap();
                    }
                }
                h
            });
            let receiver = netpoll::spawn(async move { read_to_end_hash(&r).await.unwrap() });
            let n = copy(&mut uy, &mut w).await.unwrap();
            w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(n, 16 << 20);
            assert_eq!(receiver.await.unwrap(), sender.await.unwrap());
        });
    });
}

#[test]
fn fs_file_with_seek_and_take_goes_through_sendfile_and_keeps_its_position() {
    use netpoll::io::AsyncReadExt;
    bounded(LIMIT, || {
        let rt = rt(2);
        let (std_file, path) = pattern_file(16 << 20, 12);
        drop(std_file);
        rt.block_on(async {
            let mut f = netpoll::fs::File::open(&path).await.unwrap();
            f.seek(std::io::SeekFrom::Start(1000)).await.unwrap();
            let (mut w, r) = tcp_pair().await;
            let receiver = netpoll::spawn(async move { read_to_end_hash(&r).await.unwrap() });
            let before = copy_stats();
            {
                let mut limited = (&mut f).take(5_000_000);
                assert_eq!(copy_path(&limited, &w), CopyPath::Sendfile);
                let n = copy(&mut limited, &mut w).await.unwrap();
                assert_eq!(n, 5_000_000);
                assert_eq!(limited.limit(), 0);
            }
            w.shutdown_std(Shutdown::Write).unwrap();
            assert_eq!(
                receiver.await.unwrap(),
                hash_of_file_range(&path, 1000, 5_000_000)
            );
            let after = copy_stats();
            assert!(after.sendfile_bytes - before.sendfile_bytes >= 5_000_000);
            // The file's position moved past what sendfile sent: a read continues from there.
            let mut next = [0u8; 64];
            f.read_exact(&mut next).await.unwrap();
            let mut expect = vec![0u8; 16 << 20];
            Pattern::new(12).fill(&mut expect);
            assert_eq!(&next[..], &expect[5_001_000..5_001_064]);
        });
        let _ = std::fs::remove_file(path);
    });
}

#[test]
fn no_sigpipe_even_when_the_host_left_it_at_default() {
    // Re-run this binary with SIGPIPE at SIG_DFL (a C host would leave it so): splice and
    // sendfile into a reset peer must return an error, not kill the process.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigpipe_child", "--ignored", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child died: {:?}\n{stdout}",
        out.status
    );
    assert!(stdout.contains("sigpipe-child-ok"), "{stdout}");
}

#[test]
#[ignore = "child of no_sigpipe_even_when_the_host_left_it_at_default"]
fn sigpipe_child() {
    // SAFETY: restore the default disposition like a C host would have it.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let rt = rt(2);
    let (file, path) = pattern_file(1 << 20, 13);
    rt.block_on(async {
        // splice into a socket whose write side is shut: EPIPE (SIGPIPE unless suppressed).
        let (src_w, mut src_r) = tcp_pair().await;
        let (mut dst_w, _dst_r) = tcp_pair().await;
        dst_w.shutdown_std(Shutdown::Write).unwrap();
        let sender = netpoll::spawn(async move {
            let _ = send_pattern(&src_w, 8, 1 << 20).await;
            src_w
        });
        let e = copy(&mut src_r, &mut dst_w).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e:?}");
        drop(sender);
        // sendfile into the same kind of socket.
        let (mut w, _r) = tcp_pair().await;
        w.shutdown_std(Shutdown::Write).unwrap();
        let mut src = FileSource {
            file,
            pos: 0,
            limit: None,
        };
        let e = copy(&mut src, &mut w).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e:?}");
    });
    let _ = std::fs::remove_file(path);
    println!("sigpipe-child-ok");
}

#[test]
fn deadlines_stop_the_zero_copy_paths_too() {
    // Regression: splice and sendfile parked on the bare registration and ignored deadlines.
    bounded(LIMIT, || {
        let rt = rt(2);
        let (file, path) = pattern_file(64 << 20, 14);
        rt.block_on(async {
            // sendfile into a peer that never reads, with a write deadline.
            let (mut w, _r) = tcp_pair().await;
            w.set_write_deadline(Some(std::time::Instant::now() + Duration::from_millis(200)));
            let mut src = FileSource {
                file,
                pos: 0,
                limit: None,
            };
            let t = std::time::Instant::now();
            let e = copy(&mut src, &mut w).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e:?}");
            assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
            // splice from a source that never sends, with a read deadline.
            let (_src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, _dst_r) = tcp_pair().await;
            src_r.set_read_deadline(Some(std::time::Instant::now() + Duration::from_millis(200)));
            let e = copy(&mut src_r, &mut dst_w).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e:?}");
        });
        let _ = std::fs::remove_file(path);
    });
}

#[test]
fn a_small_known_limit_between_sockets_is_copied_buffered() {
    use netpoll::io::AsyncReadExt;
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (src_w, mut src_r) = tcp_pair().await;
            let (mut dst_w, dst_r) = tcp_pair().await;
            write_all(&src_w, &[7u8; 20_000]).await.unwrap();
            // Under the splice threshold: buffered, and exactly the limit moves.
            let mut small = (&mut src_r).take(1000);
            assert_eq!(copy_path(&small, &dst_w), CopyPath::Buffered);
            assert_eq!(copy(&mut small, &mut dst_w).await.unwrap(), 1000);
            // At or above it: splice.
            let mut big = (&mut src_r).take(16 * 1024);
            assert_eq!(copy_path(&big, &dst_w), CopyPath::Splice);
            assert_eq!(copy(&mut big, &mut dst_w).await.unwrap(), 16 * 1024);
            dst_w.shutdown_std(Shutdown::Write).unwrap();
            let mut h = Hash::new();
            h.update(&[7u8; 1000 + 16 * 1024]);
            assert_eq!(read_to_end_hash(&dst_r).await.unwrap(), h);
        });
    });
}

/// Request/response traffic (small reads) makes a splice copy switch to the buffered loop, and
/// bulk data afterwards switches it back to splice; every byte arrives in order either way.
#[test]
fn small_messages_switch_splice_to_buffered_and_bulk_switches_back() {
    use netpoll::io::{AsyncReadExt, AsyncWriteExt};
    bounded(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (mut client, mut src_r) = tcp_pair().await;
            let (mut dst_w, mut dst_r) = tcp_pair().await;
            client.set_nodelay(true).unwrap();
            let before = copy_stats();
            let copier = netpoll::spawn(async move { copy(&mut src_r, &mut dst_w).await });
            // 1. 200 messages of 100 bytes, each waited for: every splice read is small.
            let mut got = [0u8; 100];
            for i in 0..200u32 {
                let msg = [i as u8; 100];
                client.write_all(&msg).await.unwrap();
                dst_r.read_exact(&mut got).await.unwrap();
                assert_eq!(got, msg, "message {i}");
            }
            let mid = copy_stats();
            assert!(
                mid.switches_to_buffered > before.switches_to_buffered,
                "no switch to buffered: {before:?} -> {mid:?}"
            );
            // 2. 64 MiB in one go: the reads fill the buffer, the copy goes back to splice.
            const BULK: u64 = 64 << 20;
            let sender = netpoll::spawn(async move {
                let h = send_pattern(&client, 9, BULK).await.unwrap();
                client.shutdown_std(Shutdown::Write).unwrap();
                h
            });
            let received = read_to_end_hash(&dst_r).await.unwrap();
            assert_eq!(received, sender.await.unwrap());
            assert_eq!(copier.await.unwrap().unwrap(), 200 * 100 + BULK);
            let after = copy_stats();
            assert!(
                after.switches_to_splice > mid.switches_to_splice,
                "no switch back to splice: {mid:?} -> {after:?}"
            );
            assert!(after.splice_bytes > mid.splice_bytes);
        });
    });
}
