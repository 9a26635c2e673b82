//! futures-io interop, proven with futures-util (a crate nobody here wrote).

#![cfg(feature = "futures-io")]

use std::future::Future;
use std::io::SeekFrom;
use std::sync::mpsc;
use std::time::Duration;

use netpoll_io::{
    Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt,
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

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 + i / 257) as u8).collect()
}

/// Our duplex streams driven entirely by futures-util: its `write_all`/`close` on one end, its
/// `copy` in the middle, its `read_to_end` at the other end.
async fn futures_util_over_duplex() {
    use futures_util::io::{copy, AsyncReadExt, AsyncWriteExt};

    let data = pattern(200_000);
    let expected = data.clone();
    let (a1, b1) = netpoll_io::duplex(1000);
    let (a2, b2) = netpoll_io::duplex(333);

    let producer = netpoll_runtime::spawn(async move {
        let mut w = a1.compat_write();
        w.write_all(&data).await.unwrap();
        w.close().await.unwrap(); // poll_close -> poll_shutdown: EOF for b1
    });
    let pump = netpoll_runtime::spawn(async move {
        let mut r = b1.compat();
        let mut w = a2.compat_write();
        let n = copy(&mut r, &mut w).await.unwrap();
        w.close().await.unwrap();
        n
    });
    let mut out = Vec::new();
    b2.compat().read_to_end(&mut out).await.unwrap();
    producer.await.unwrap();
    assert_eq!(pump.await.unwrap(), expected.len() as u64);
    assert!(out == expected, "data differs");
}

#[test]
fn futures_util_copy_between_compat_duplexes_current_thread() {
    run(false, futures_util_over_duplex);
}

#[test]
fn futures_util_copy_between_compat_duplexes_two_workers() {
    run(true, futures_util_over_duplex);
}

#[test]
fn futures_util_buf_read_over_our_buf_reader() {
    run(false, || async {
        use futures_util::io::{AsyncBufReadExt, AsyncReadExt};

        let (mut a, b) = netpoll_io::duplex(8);
        let writer = netpoll_runtime::spawn(async move {
            netpoll_io::AsyncWriteExt::write_all(&mut a, b"alpha\nbeta\ngamma")
                .await
                .unwrap();
            netpoll_io::AsyncWriteExt::shutdown(&mut a).await.unwrap();
        });
        let mut r = netpoll_io::BufReader::with_capacity(3, b).compat();
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "alpha\n");
        let mut four = [0u8; 4];
        r.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"beta");
        let mut rest = String::new();
        r.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "\ngamma");
        writer.await.unwrap();
    });
}

#[test]
fn futures_cursor_read_through_our_traits() {
    run(false, || async {
        use netpoll_io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt};

        let data = pattern(50_000);
        let mut r = futures_util::io::Cursor::new(data.clone()).compat();
        let mut head = [0u8; 10];
        r.read_exact(&mut head).await.unwrap();
        assert_eq!(&head[..], &data[..10]);
        // Seeking through our AsyncSeek onto futures-io's poll_seek.
        assert_eq!(r.seek(SeekFrom::Start(100)).await.unwrap(), 100);
        assert_eq!(r.stream_position().await.unwrap(), 100);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(&rest[..], &data[100..]);

        // AllowStdIo over a std reader, through our BufReader and lines.
        let std_reader = std::io::Cursor::new(b"one\ntwo\n".to_vec());
        let r = Compat::new(futures_util::io::AllowStdIo::new(std_reader));
        let mut lines = netpoll_io::BufReader::new(r).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("one"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
        assert_eq!(lines.next_line().await.unwrap(), None);

        // futures-io's AsyncBufRead directly as ours.
        let mut r = futures_util::io::Cursor::new(b"x;y".to_vec()).compat();
        let mut seg = Vec::new();
        r.read_until(b';', &mut seg).await.unwrap();
        assert_eq!(seg, b"x;");
    });
}

#[test]
fn futures_writers_through_our_write_ext() {
    run(false, || async {
        use netpoll_io::{AsyncWriteExt, FuturesAsyncWriteCompatExt};

        let mut w = futures_util::io::Cursor::new(Vec::new()).compat_write();
        w.write_all(b"hello ").await.unwrap();
        w.write_u32(0x776f_726c).await.unwrap();
        w.write_u8(b'd').await.unwrap();
        w.flush().await.unwrap();
        w.shutdown().await.unwrap(); // -> poll_close
        assert_eq!(w.into_inner().into_inner(), b"hello world");

        let mut w = Compat::new(futures_util::io::AllowStdIo::new(Vec::new()));
        let mut bw = netpoll_io::BufWriter::with_capacity(4, &mut w);
        bw.write_all(b"buffered bytes").await.unwrap();
        bw.flush().await.unwrap();
        drop(bw);
        assert_eq!(w.into_inner().into_inner(), b"buffered bytes");
    });
}

#[test]
fn our_reader_into_futures_copy_into_futures_writer() {
    run(true, || async {
        use futures_util::io::AsyncWriteExt;

        let data = pattern(123_457);
        let expected = data.clone();
        let (mut a, b) = netpoll_io::duplex(64);
        let writer = netpoll_runtime::spawn(async move {
            netpoll_io::AsyncWriteExt::write_all(&mut a, &data)
                .await
                .unwrap();
            // Dropping the end gives the reader EOF too.
        });
        let mut sink = futures_util::io::Cursor::new(Vec::new());
        let n = futures_util::io::copy(b.compat(), &mut sink).await.unwrap();
        sink.flush().await.unwrap();
        writer.await.unwrap();
        assert_eq!(n as usize, expected.len());
        assert!(sink.into_inner() == expected);
    });
}
