//! `io::copy` with a child's pipes: they are in the netpoller and offer their zero-copy form,
//! so a child's stdout copies to a socket by splice(2) and a file copies into a child's stdin
//! by sendfile(2), with every byte intact. Linux only (elsewhere every copy is buffered).
#![cfg(target_os = "linux")]
mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use netpoll::io::{copy, copy_path, copy_stats, AsyncReadExt, CopyPath};
use netpoll::process::Command;
use support::{bounded, read_to_end_hash, rt, tcp_pair, Hash, Pattern};

const LIMIT: Duration = Duration::from_secs(60);
const LEN: usize = 3 << 20;

/// A temporary file of `LEN` pattern bytes, and their hash.
fn pattern_file(name: &str) -> (std::path::PathBuf, Hash) {
    let path = std::env::temp_dir().join(format!("netpoll-{name}-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    let (mut p, mut h) = (Pattern::new(11), Hash::new());
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..LEN / buf.len() {
        p.fill(&mut buf);
        h.update(&buf);
        f.write_all(&buf).unwrap();
    }
    (path, h)
}

#[test]
fn child_stdout_splices_into_a_socket() {
    let (path, want) = pattern_file("proc-splice");
    let p2 = path.clone();
    bounded(LIMIT, move || {
        rt(2).block_on(async move {
            let mut child = Command::new("cat")
                .arg(&p2)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let (mut a, b) = tcp_pair().await;
            assert_eq!(copy_path(&stdout, &a), CopyPath::Splice);
            let reader = netpoll::spawn(async move { read_to_end_hash(&b).await.unwrap() });
            let before = copy_stats();
            let n = copy(&mut stdout, &mut a).await.unwrap();
            assert_eq!(n, LEN as u64);
            let after = copy_stats();
            // Most bytes went by splice (a copy may switch to buffered for runs of small reads).
            assert!(
                after.splice_bytes - before.splice_bytes > 0,
                "{before:?} {after:?}"
            );
            drop(a);
            assert_eq!(reader.await.unwrap(), want);
            assert!(child.wait().await.unwrap().success());
        })
    });
    let _ = std::fs::remove_file(path);
}

#[test]
fn file_sendfiles_into_child_stdin() {
    let (path, want) = pattern_file("proc-sendfile");
    let p2 = path.clone();
    bounded(LIMIT, move || {
        rt(2).block_on(async move {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let mut file = netpoll::fs::File::open(&p2).await.unwrap();
            assert_eq!(copy_path(&file, &stdin), CopyPath::Sendfile);
            let writer = netpoll::spawn(async move {
                let before = copy_stats().sendfile_bytes;
                let n = copy(&mut file, &mut stdin).await.unwrap();
                drop(stdin);
                (n, copy_stats().sendfile_bytes - before)
            });
            let mut h = Hash::new();
            let mut buf = vec![0u8; 128 * 1024];
            loop {
                let n = stdout.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            let (n, by_sendfile) = writer.await.unwrap();
            assert_eq!(n, LEN as u64);
            assert_eq!(by_sendfile, LEN as u64);
            assert_eq!(h, want);
            assert!(child.wait().await.unwrap().success());
        })
    });
    let _ = std::fs::remove_file(path);
}
