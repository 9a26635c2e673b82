//! Extension traits, buffering, take/chain, split, duplex/simplex and empty/sink/repeat.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll_io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BufReader, BufWriter, ReadBuf, ZeroCopySource,
};
use netpoll_runtime::runtime::Builder;

/// Runs `body` on its own thread with a current-thread runtime (or a 2-worker one), failing
/// the test if it takes more than 20 s (a lost wake-up) instead of hanging.
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
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Yields `data` in chunks of `chunk`, then an error (if `fail`) or end of stream.
struct Chunks {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
    fail: bool,
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos == self.data.len() {
            if self.fail {
                return Poll::Ready(Err(io::Error::other("boom")));
            }
            return Poll::Ready(Ok(()));
        }
        let n = self
            .chunk
            .min(self.data.len() - self.pos)
            .min(buf.remaining());
        let start = self.pos;
        buf.put_slice(&self.data[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

fn chunks(data: &[u8], chunk: usize, fail: bool) -> Chunks {
    Chunks {
        data: data.to_vec(),
        pos: 0,
        chunk,
        fail,
    }
}

#[test]
fn read_and_read_exact_and_eof() {
    run(false, || async {
        let mut r: &[u8] = b"abcde";
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf).await.unwrap(), 2);
        assert_eq!(&buf, b"ab");
        let mut buf3 = [0u8; 3];
        assert_eq!(r.read_exact(&mut buf3).await.unwrap(), 3);
        assert_eq!(&buf3, b"cde");
        assert_eq!(r.read(&mut buf).await.unwrap(), 0);
        let err = r.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

        // read_exact across many small reads
        let data = pattern(1000);
        let mut r = chunks(&data, 7, false);
        let mut out = vec![0u8; 1000];
        r.read_exact(&mut out).await.unwrap();
        assert_eq!(out, data);

        // EOF in the middle
        let mut r = chunks(b"xy", 1, false);
        let mut out = [0u8; 3];
        assert_eq!(
            r.read_exact(&mut out).await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    });
}

#[test]
fn read_to_end_and_read_buf() {
    run(false, || async {
        let data = pattern(300_000);
        let mut v = b"prefix".to_vec();
        let n = chunks(&data, 4096, false)
            .read_to_end(&mut v)
            .await
            .unwrap();
        assert_eq!(n, data.len());
        assert_eq!(&v[..6], b"prefix");
        assert_eq!(&v[6..], &data[..]);

        // An error keeps the bytes read before it.
        let mut v = Vec::new();
        let err = chunks(b"partial", 3, true)
            .read_to_end(&mut v)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(v, b"partial");

        // read_buf appends into a Vec, growing it.
        let mut v = Vec::new();
        let mut r: &[u8] = b"hello";
        assert_eq!(r.read_buf(&mut v).await.unwrap(), 5);
        assert_eq!(r.read_buf(&mut v).await.unwrap(), 0);
        assert_eq!(v, b"hello");
    });
}

#[test]
fn read_to_string_validates_utf8() {
    run(false, || async {
        let mut s = String::from("keep:");
        let n = chunks("héllo wörld".as_bytes(), 1, false)
            .read_to_string(&mut s)
            .await
            .unwrap();
        assert_eq!(n, "héllo wörld".len());
        assert_eq!(s, "keep:héllo wörld");

        // Invalid UTF-8: InvalidData, the string keeps its original contents only.
        let mut s = String::from("keep");
        let err = (&[b'o', b'k', 0xff, 0xfe][..])
            .read_to_string(&mut s)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(s, "keep");

        // An I/O error: like tokio, the valid bytes read before it are not kept either.
        let mut s = String::from("keep");
        let err = chunks(b"valid", 2, true)
            .read_to_string(&mut s)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(s, "keep");
    });
}

#[test]
fn read_and_write_integers() {
    run(false, || async {
        let mut out = Vec::new();
        out.write_u8(1).await.unwrap();
        out.write_u16(0x0203).await.unwrap();
        out.write_u32(0x0405_0607).await.unwrap();
        out.write_u64(0x0809_0a0b_0c0d_0e0f).await.unwrap();
        out.write_i16_le(-2).await.unwrap();
        out.write_i64(-3).await.unwrap();
        assert_eq!(&out[..15], &(1u8..=15).collect::<Vec<_>>()[..]);
        let mut r = chunks(&out, 1, false);
        assert_eq!(r.read_u8().await.unwrap(), 1);
        assert_eq!(r.read_u16().await.unwrap(), 0x0203);
        assert_eq!(r.read_u32().await.unwrap(), 0x0405_0607);
        assert_eq!(r.read_u64().await.unwrap(), 0x0809_0a0b_0c0d_0e0f);
        assert_eq!(r.read_i16_le().await.unwrap(), -2);
        assert_eq!(r.read_i64().await.unwrap(), -3);
        assert_eq!(
            r.read_u32().await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    });
}

async fn backpressure(total: usize) {
    let (mut a, mut b) = netpoll_io::duplex(8);
    let data = pattern(total);
    let reader = netpoll_runtime::spawn(async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            let n = b.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(n <= 8, "more than the pipe's buffer in one read");
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    a.write_all(&data).await.unwrap();
    a.shutdown().await.unwrap();
    let got = reader.await.unwrap();
    assert_eq!(got, data);
}

#[test]
fn write_all_into_tiny_duplex_current_thread() {
    run(false, || backpressure(100_000));
}

#[test]
fn write_all_into_tiny_duplex_two_workers() {
    run(true, || backpressure(100_000));
}

#[test]
fn write_vectored_and_flush() {
    run(false, || async {
        let (mut a, mut b) = netpoll_io::duplex(4);
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cdef")];
        // Only 4 fit.
        assert_eq!(a.write_vectored(&bufs).await.unwrap(), 4);
        a.flush().await.unwrap();
        let mut got = [0u8; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"abcd");
    });
}

#[test]
fn duplex_eof_on_shutdown_and_on_drop() {
    run(false, || async {
        // Shutdown: the peer reads what was buffered, then end of stream; reading our side
        // still works.
        let (mut a, mut b) = netpoll_io::duplex(64);
        a.write_all(b"last words").await.unwrap();
        a.shutdown().await.unwrap();
        assert_eq!(
            a.write(b"x").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut s = String::new();
        b.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "last words");
        b.write_all(b"reply").await.unwrap();
        let mut r = [0u8; 5];
        a.read_exact(&mut r).await.unwrap();
        assert_eq!(&r, b"reply");

        // Drop: the peer gets end of stream after the buffered bytes, and BrokenPipe on write.
        let (mut a, b) = netpoll_io::duplex(64);
        let mut b = b;
        b.write_all(b"bye").await.unwrap();
        drop(b);
        let mut v = Vec::new();
        a.read_to_end(&mut v).await.unwrap();
        assert_eq!(v, b"bye");
        assert_eq!(
            a.write_all(b"anyone?").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn duplex_drop_wakes_parked_reader_and_writer() {
    run(true, || async {
        // A reader parked on an empty pipe is woken by the peer's drop.
        let (mut a, b) = netpoll_io::duplex(4);
        let reader = netpoll_runtime::spawn(async move {
            let mut v = Vec::new();
            a.read_to_end(&mut v).await.map(|_| v)
        });
        netpoll_runtime::time::sleep(Duration::from_millis(20)).await;
        drop(b);
        assert_eq!(reader.await.unwrap().unwrap(), b"");

        // A writer parked on a full pipe is woken by the peer's drop, with BrokenPipe.
        let (mut a, b) = netpoll_io::duplex(4);
        let writer = netpoll_runtime::spawn(async move { a.write_all(&[0u8; 64]).await });
        netpoll_runtime::time::sleep(Duration::from_millis(20)).await;
        drop(b);
        assert_eq!(
            writer.await.unwrap().unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn simplex_pipe() {
    run(true, || async {
        let (mut rx, mut tx) = netpoll_io::simplex(3);
        let data = pattern(10_000);
        let expected = data.clone();
        let writer = netpoll_runtime::spawn(async move {
            tx.write_all(&data).await.unwrap();
            tx.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, expected);
    });
}

#[test]
fn buf_reader_lines_read_line_read_until() {
    run(false, || async {
        let text = b"first line\nsecond\r\n\nno newline at end";
        let mut r = BufReader::with_capacity(4, chunks(text, 3, false));
        let mut line = String::new();
        assert_eq!(r.read_line(&mut line).await.unwrap(), 11);
        assert_eq!(line, "first line\n");
        let mut seg = Vec::new();
        assert_eq!(r.read_until(b'\r', &mut seg).await.unwrap(), 7);
        assert_eq!(seg, b"second\r");
        let mut lines = r.lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("no newline at end")
        );
        assert_eq!(lines.next_line().await.unwrap(), None);

        // Segments.
        let mut split = BufReader::with_capacity(2, &b"a,bb,,ccc"[..]).split(b',');
        let mut segs = Vec::new();
        while let Some(s) = split.next_segment().await.unwrap() {
            segs.push(String::from_utf8(s).unwrap());
        }
        assert_eq!(segs, ["a", "bb", "", "ccc"]);

        // read_line: invalid UTF-8 leaves the string as it was.
        let mut r = BufReader::new(&[b'o', b'k', 0xff, b'\n', b'z'][..]);
        let mut line = String::from("orig");
        let err = r.read_line(&mut line).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(line, "orig");

        // read_line: an I/O error keeps the valid bytes read before it (tokio's semantics).
        let mut r = BufReader::with_capacity(2, chunks(b"abc", 1, true));
        let mut line = String::new();
        assert!(r.read_line(&mut line).await.is_err());
        assert_eq!(line, "abc");

        // Lines: invalid UTF-8 is InvalidData.
        let mut lines = BufReader::new(&b"\xff\xfe\nok\n"[..]).lines();
        assert_eq!(
            lines.next_line().await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
    });
}

#[test]
fn buf_reader_fill_buf_consume_and_bypass() {
    run(false, || async {
        let mut r = BufReader::with_capacity(4, &b"abcdefgh"[..]);
        assert_eq!(r.fill_buf().await.unwrap(), b"abcd");
        r.consume(1);
        assert_eq!(r.buffer(), b"bcd");
        let mut small = [0u8; 2];
        r.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"bc");
        // A big read with a non-empty buffer drains the buffer first.
        let mut big = [0u8; 16];
        assert_eq!(r.read(&mut big).await.unwrap(), 1);
        assert_eq!(big[0], b'd');
        // Empty buffer and a big read: bypasses the buffer.
        assert_eq!(r.read(&mut big).await.unwrap(), 4);
        assert_eq!(&big[..4], b"efgh");
        assert!(r.buffer().is_empty());
        assert_eq!(r.fill_buf().await.unwrap(), b"");
    });
}

#[test]
fn lines_next_line_is_cancel_safe() {
    run(true, || async {
        let (mut w, r) = netpoll_io::duplex(64);
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"hal").await.unwrap();
        // Times out with half a line read...
        let res =
            netpoll_runtime::time::timeout(Duration::from_millis(30), lines.next_line()).await;
        assert!(res.is_err(), "no full line yet");
        // ...which is not lost.
        w.write_all(b"f a line\nnext\n").await.unwrap();
        assert_eq!(
            lines.next_line().await.unwrap().as_deref(),
            Some("half a line")
        );
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("next"));
    });
}

#[test]
fn buf_writer_buffers_until_flush() {
    run(false, || async {
        let mut w = BufWriter::with_capacity(8, Vec::new());
        w.write_all(b"abc").await.unwrap();
        w.write_all(b"def").await.unwrap();
        assert!(w.get_ref().is_empty());
        assert_eq!(w.buffer(), b"abcdef");
        // Does not fit: the buffer goes out first, then the write is buffered.
        w.write_all(b"ghi").await.unwrap();
        assert_eq!(w.get_ref(), b"abcdef");
        assert_eq!(w.buffer(), b"ghi");
        // Large writes bypass the buffer (after flushing it).
        w.write_all(b"0123456789").await.unwrap();
        assert_eq!(w.get_ref(), b"abcdefghi0123456789");
        w.write_all(b"z").await.unwrap();
        w.flush().await.unwrap();
        assert_eq!(w.get_ref(), b"abcdefghi0123456789z");
        assert!(w.buffer().is_empty());

        // Vectored writes are buffered whole.
        let mut w = BufWriter::with_capacity(16, Vec::new());
        let n = w
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .await
            .unwrap();
        assert_eq!(n, 4);
        w.shutdown().await.unwrap();
        assert_eq!(w.into_inner(), b"abcd");

        // Over a duplex: nothing reaches the peer before the flush.
        let (a, mut b) = netpoll_io::duplex(1024);
        let mut w = BufWriter::new(a);
        w.write_all(b"buffered").await.unwrap();
        let mut buf = [0u8; 8];
        let early =
            netpoll_runtime::time::timeout(Duration::from_millis(20), b.read(&mut buf)).await;
        assert!(early.is_err(), "nothing should arrive before flush");
        w.flush().await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"buffered");
    });
}

/// A reader with a fake zero-copy form: `ZeroCopySource::File { fd, offset }` and a limit; it
/// records what `zero_copy_consumed` told it.
struct FakeFile {
    fd: i32,
    offset: u64,
    limit: Option<u64>,
    consumed: u64,
    data: &'static [u8],
}

impl AsyncRead for FakeFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.data.len().min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }

    fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
        Some((
            ZeroCopySource::File {
                fd: self.fd,
                offset: self.offset + self.consumed,
            },
            self.limit,
        ))
    }

    fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
        self.consumed += n;
    }
}

fn fake(limit: Option<u64>) -> FakeFile {
    FakeFile {
        fd: 42,
        offset: 100,
        limit,
        consumed: 0,
        data: b"0123456789",
    }
}

fn file_source<R: AsyncRead>(r: &R) -> Option<(i32, u64, Option<u64>)> {
    match r.zero_copy_source()? {
        (ZeroCopySource::File { fd, offset }, limit) => Some((fd, offset, limit)),
        (ZeroCopySource::Socket { .. }, _) => panic!("expected a file source"),
    }
}

#[test]
fn take_limits_reads() {
    run(false, || async {
        let mut t = (&b"hello world"[..]).take(5);
        let mut s = String::new();
        t.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello");
        assert_eq!(t.limit(), 0);
        t.set_limit(3);
        let mut v = Vec::new();
        t.read_to_end(&mut v).await.unwrap();
        assert_eq!(v, b" wo");
        let mut rest = Vec::new();
        t.into_inner().read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"rld");

        // Through AsyncBufRead too.
        let mut t = BufReader::new(&b"line one\nline two\n"[..]).take(6);
        let mut line = String::new();
        t.read_line(&mut line).await.unwrap();
        assert_eq!(line, "line o");
    });
}

#[test]
fn take_forwards_zero_copy_with_lowered_limit() {
    // Inner without a limit: take's own.
    let mut t = fake(None).take(30);
    assert_eq!(file_source(&t), Some((42, 100, Some(30))));
    Pin::new(&mut t).zero_copy_consumed(10);
    assert_eq!(t.limit(), 20);
    assert_eq!(t.get_ref().consumed, 10);
    assert_eq!(file_source(&t), Some((42, 110, Some(20))));

    // Inner with a smaller limit: the inner's.
    let t = fake(Some(5)).take(30);
    assert_eq!(file_source(&t), Some((42, 100, Some(5))));
    // Inner with a larger limit: take's.
    let t = fake(Some(500)).take(30);
    assert_eq!(file_source(&t), Some((42, 100, Some(30))));

    // Consuming everything leaves a limit of 0.
    let mut t = fake(None).take(4);
    Pin::new(&mut t).zero_copy_consumed(4);
    assert_eq!(t.limit(), 0);
    assert_eq!(file_source(&t), Some((42, 104, Some(0))));

    // Nested takes: the smallest wins, and consumption reaches the innermost reader.
    let mut t = fake(None).take(30).take(7);
    assert_eq!(file_source(&t), Some((42, 100, Some(7))));
    Pin::new(&mut t).zero_copy_consumed(3);
    assert_eq!(t.limit(), 4);
    assert_eq!(t.get_ref().limit(), 27);
    assert_eq!(t.get_ref().get_ref().consumed, 3);

    // An inner reader without a zero-copy form: none.
    let t = (&b"abc"[..]).take(2);
    assert!(t.zero_copy_source().is_none());
}

#[test]
fn buf_reader_and_chain_forward_zero_copy() {
    run(false, || async {
        let mut r = BufReader::with_capacity(4, fake(None));
        assert_eq!(file_source(&r), Some((42, 100, None)));
        // Bytes in the buffer: no zero-copy form.
        assert_eq!(r.fill_buf().await.unwrap(), b"0123");
        assert!(r.zero_copy_source().is_none());
        r.consume(4);
        assert_eq!(file_source(&r), Some((42, 100, None)));
        Pin::new(&mut r).zero_copy_consumed(8);
        assert_eq!(r.get_ref().consumed, 8);

        // Chain: nothing until the first reader is exhausted, then the second's.
        let mut c = (&b"ab"[..]).chain(fake(Some(9)));
        assert!(c.zero_copy_source().is_none());
        let mut two = [0u8; 2];
        c.read_exact(&mut two).await.unwrap();
        let mut one = [0u8; 1];
        c.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"0");
        assert_eq!(file_source(&c), Some((42, 100, Some(9))));
        Pin::new(&mut c).zero_copy_consumed(2);
        assert_eq!(c.get_ref().1.consumed, 2);

        // BufWriter's read passthrough forwards the reader's form.
        struct Both(FakeFile);
        impl AsyncRead for Both {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.0).poll_read(cx, buf)
            }
            fn zero_copy_source(&self) -> Option<(ZeroCopySource<'_>, Option<u64>)> {
                self.0.zero_copy_source()
            }
            fn zero_copy_consumed(mut self: Pin<&mut Self>, n: u64) {
                Pin::new(&mut self.0).zero_copy_consumed(n)
            }
        }
        impl AsyncWrite for Both {
            fn poll_write(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(Ok(buf.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let w = BufWriter::new(Both(fake(None)));
        assert_eq!(file_source(&w), Some((42, 100, None)));
        assert!(w.zero_copy_sink().is_none()); // Both has none either

        // Split halves never offer one.
        let (rd, _wr) = netpoll_io::split(Both(fake(None)));
        assert!(rd.zero_copy_source().is_none());
    });
}

#[test]
fn chain_reads_both() {
    run(false, || async {
        let mut v = Vec::new();
        chunks(b"abc", 2, false)
            .chain(&b""[..])
            .chain(chunks(b"def", 1, false))
            .read_to_end(&mut v)
            .await
            .unwrap();
        assert_eq!(v, b"abcdef");

        let mut c = BufReader::new(&b"x\ny"[..]).chain(BufReader::new(&b"z\n"[..]));
        let mut s = String::new();
        c.read_line(&mut s).await.unwrap();
        assert_eq!(s, "x\n");
        // A line continues across the boundary, as with std's `Chain`.
        c.read_line(&mut s).await.unwrap();
        assert_eq!(s, "x\nyz\n");
        assert_eq!(c.read_line(&mut s).await.unwrap(), 0);
    });
}

#[test]
fn split_and_unsplit() {
    run(true, || async {
        let (client, mut server) = netpoll_io::duplex(16);
        let (mut rd, mut wr) = netpoll_io::split(client);
        assert!(rd.is_pair_of(&wr));
        assert!(wr.is_pair_of(&rd));

        // The halves work from different tasks at once.
        let data = pattern(50_000);
        let expected = data.clone();
        let writer = netpoll_runtime::spawn(async move {
            wr.write_all(&data).await.unwrap();
            wr.flush().await.unwrap();
            wr
        });
        let echo = netpoll_runtime::spawn(async move {
            let mut buf = [0u8; 1000];
            let mut seen = 0;
            while seen < 50_000 {
                let n = server.read(&mut buf).await.unwrap();
                assert!(n > 0);
                server.write_all(&buf[..n]).await.unwrap();
                seen += n;
            }
            server
        });
        let mut got = vec![0u8; 50_000];
        rd.read_exact(&mut got).await.unwrap();
        assert_eq!(got, expected);
        let wr = writer.await.unwrap();
        let mut server = echo.await.unwrap();

        let mut client = rd.unsplit(wr);
        client.write_all(b"whole again").await.unwrap();
        let mut buf = [0u8; 11];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"whole again");
    });
}

#[test]
#[should_panic(expected = "unrelated")]
fn unsplit_unrelated_halves_panics() {
    run(false, || async {
        let (a, b) = netpoll_io::duplex(4);
        let (rd, _wr) = netpoll_io::split(a);
        let (_rd2, wr2) = netpoll_io::split(b);
        assert!(!rd.is_pair_of(&wr2));
        let _ = rd.unsplit(wr2);
    });
}

#[test]
fn empty_sink_repeat() {
    run(false, || async {
        let mut e = netpoll_io::empty();
        let mut buf = [0u8; 4];
        assert_eq!(e.read(&mut buf).await.unwrap(), 0);
        assert_eq!(e.fill_buf().await.unwrap(), b"");
        assert_eq!(e.write(b"dropped").await.unwrap(), 7);

        let mut s = netpoll_io::sink();
        assert_eq!(s.write(b"dropped").await.unwrap(), 7);
        s.write_all(&[1u8; 100_000]).await.unwrap();
        assert_eq!(
            s.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"c")])
                .await
                .unwrap(),
            3
        );
        s.flush().await.unwrap();
        s.shutdown().await.unwrap();

        let mut r = netpoll_io::repeat(b'q');
        let mut buf = [0u8; 1000];
        r.read_exact(&mut buf).await.unwrap();
        assert!(buf.iter().all(|&b| b == b'q'));
        let mut v = Vec::new();
        netpoll_io::repeat(7)
            .take(10_000)
            .read_to_end(&mut v)
            .await
            .unwrap();
        assert_eq!(v, vec![7u8; 10_000]);
    });
}

#[test]
fn cursor_seek_and_read() {
    run(false, || async {
        let mut c = std::io::Cursor::new(b"0123456789".to_vec());
        assert_eq!(c.seek(std::io::SeekFrom::Start(3)).await.unwrap(), 3);
        assert_eq!(c.read_u8().await.unwrap(), b'3');
        assert_eq!(c.seek(std::io::SeekFrom::Current(2)).await.unwrap(), 6);
        assert_eq!(c.stream_position().await.unwrap(), 6);
        assert_eq!(c.rewind().await.unwrap(), 0);

        // BufReader's Current seek is relative to what it has yielded, not to the inner's.
        let mut r = BufReader::with_capacity(4, std::io::Cursor::new(b"abcdefghij".to_vec()));
        assert_eq!(r.read_u8().await.unwrap(), b'a');
        assert_eq!(r.buffer(), b"bcd");
        assert_eq!(r.seek(std::io::SeekFrom::Current(1)).await.unwrap(), 2);
        assert!(r.buffer().is_empty());
        assert_eq!(r.read_u8().await.unwrap(), b'c');
    });
}

#[test]
fn read_line_drop_restores_string() {
    run(true, || async {
        let (mut w, r) = netpoll_io::duplex(64);
        let mut r = BufReader::new(r);
        let mut line = String::from("orig");
        w.write_all(b"partial").await.unwrap();
        let res =
            netpoll_runtime::time::timeout(Duration::from_millis(20), r.read_line(&mut line)).await;
        assert!(res.is_err());
        // Cancelled: the string has its original contents (the partial bytes are gone, as the
        // documentation says).
        assert_eq!(line, "orig");
    });
}

#[test]
fn mixed_bufread_poll_with_custom_bufread() {
    // `fill_buf` on a type whose `poll_fill_buf` needs several polls.
    struct Slow {
        polls: u32,
        data: &'static [u8],
    }
    impl AsyncRead for Slow {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            unimplemented!()
        }
    }
    impl AsyncBufRead for Slow {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            let me = self.get_mut();
            if me.polls < 3 {
                me.polls += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(me.data))
        }
        fn consume(self: Pin<&mut Self>, amt: usize) {
            let me = self.get_mut();
            me.data = &me.data[amt..];
        }
    }
    run(false, || async {
        let mut s = Slow {
            polls: 0,
            data: b"xyz",
        };
        assert_eq!(s.fill_buf().await.unwrap(), b"xyz");
        s.consume(2);
        assert_eq!(s.fill_buf().await.unwrap(), b"z");
    });
}

/// Compile-time check: the wrappers and futures are `Send` (and `Sync` where tokio's are).
#[allow(dead_code)]
fn types_are_send(d: &mut netpoll_io::DuplexStream, r: &mut BufReader<netpoll_io::DuplexStream>) {
    fn send<T: Send>(_: T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<netpoll_io::DuplexStream>();
    send_sync::<netpoll_io::ReadHalf<netpoll_io::DuplexStream>>();
    send_sync::<netpoll_io::WriteHalf<netpoll_io::DuplexStream>>();
    send_sync::<BufWriter<netpoll_io::DuplexStream>>();
    send_sync::<netpoll_io::Take<netpoll_io::DuplexStream>>();
    send_sync::<netpoll_io::SimplexStream>();
    let mut v = Vec::new();
    let mut s = String::new();
    send(d.read_to_end(&mut v));
    send(d.write_all(b"x"));
    send(r.read_line(&mut s));
}
