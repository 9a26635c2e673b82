//! tokio parity I (io): the io traits for std's types and the forwarding impls, `copy_buf`,
//! `join`, `BufStream`, the standard streams and the `Interest`/`Ready` value types, each
//! checked against what tokio documents.
mod support;

use std::io::{self, Cursor, IoSlice, SeekFrom};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BufReader, BufStream, BufWriter, Interest, ReadBuf, Ready,
};
use support::{bounded, poll_once, rt, rt_current, run};

const LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// std types

#[test]
fn byte_slice_reads_and_buf_reads_advance_the_slice() {
    run(|| async {
        let mut s: &[u8] = b"hello world";
        let mut buf = [0u8; 5];
        assert_eq!(s.read(&mut buf).await.unwrap(), 5);
        assert_eq!(&buf, b"hello");
        assert_eq!(s, b" world");

        assert_eq!(Pin::new(&mut s).poll_fill_buf_now(), b" world");
        Pin::new(&mut s).consume(1);
        assert_eq!(s, b"world");

        let mut word = String::new();
        assert_eq!(s.read_line(&mut word).await.unwrap(), 5);
        assert_eq!(word, "world");
        assert!(s.is_empty());
        // At the end: reads return 0, fill_buf an empty slice.
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
        assert_eq!(s.fill_buf().await.unwrap(), b"");
    });
}

/// `poll_fill_buf` of an always-ready `AsyncBufRead`, without a context from a runtime.
trait FillNow {
    fn poll_fill_buf_now(self) -> Vec<u8>;
}

impl<R: AsyncBufRead + ?Sized> FillNow for Pin<&mut R> {
    fn poll_fill_buf_now(self) -> Vec<u8> {
        let waker = futures_task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        match self.poll_fill_buf(&mut cx) {
            Poll::Ready(Ok(b)) => b.to_vec(),
            other => panic!(
                "fill_buf not ready: {:?}",
                other.map(|r| r.map(<[u8]>::len))
            ),
        }
    }
}

#[test]
fn cursor_reads_from_its_position_and_past_the_end_is_eof() {
    run(|| async {
        let mut c = Cursor::new(b"0123456789".to_vec());
        c.set_position(3);
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"3456");
        assert_eq!(c.position(), 7);

        // Buffered reading moves the position by what is consumed.
        assert_eq!(Pin::new(&mut c).poll_fill_buf_now(), b"789");
        Pin::new(&mut c).consume(2);
        assert_eq!(c.position(), 9);

        // A position past the end reads as end of stream and stays where it is.
        c.set_position(100);
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        assert_eq!(c.position(), 100);
        assert_eq!(Pin::new(&mut c).poll_fill_buf_now(), b"");

        // Any `AsRef<[u8]>` backing works: a borrowed slice, an array, a String.
        let mut s = String::new();
        Cursor::new("line one\nline two")
            .read_line(&mut s)
            .await
            .unwrap();
        assert_eq!(s, "line one\n");
        let mut all = Vec::new();
        Cursor::new([1u8, 2, 3])
            .read_to_end(&mut all)
            .await
            .unwrap();
        assert_eq!(all, [1, 2, 3]);
    });
}

#[test]
fn cursor_seeks_like_std_and_rejects_negative_positions() {
    run(|| async {
        let mut c = Cursor::new(&b"abcdefgh"[..]);
        assert_eq!(c.seek(SeekFrom::End(-2)).await.unwrap(), 6);
        assert_eq!(c.read_u8().await.unwrap(), b'g');
        assert_eq!(c.seek(SeekFrom::Current(-3)).await.unwrap(), 4);
        assert_eq!(c.read_u8().await.unwrap(), b'e');
        assert_eq!(c.stream_position().await.unwrap(), 5);
        assert_eq!(c.rewind().await.unwrap(), 0);
        assert_eq!(c.read_u8().await.unwrap(), b'a');
        // Seeking past the end is allowed (reads then return 0).
        assert_eq!(c.seek(SeekFrom::Start(20)).await.unwrap(), 20);
        let err = c.seek(SeekFrom::Current(-21)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(c.position(), 20, "a failed seek does not move the cursor");
    });
}

#[test]
fn fixed_size_cursors_write_what_fits_then_zero() {
    run(|| async {
        let mut backing = [0u8; 5];
        let mut c = Cursor::new(&mut backing[..]);
        assert_eq!(c.write(b"abc").await.unwrap(), 3);
        assert_eq!(c.write(b"defg").await.unwrap(), 2, "only what fits");
        assert_eq!(c.write(b"h").await.unwrap(), 0, "full: 0, as std");
        c.flush().await.unwrap();
        c.shutdown().await.unwrap();
        assert_eq!(&backing, b"abcde");

        let mut c = Cursor::new(vec![0u8; 4].into_boxed_slice());
        c.set_position(1);
        let err = c.write_all(b"xyzw").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(&c.get_ref()[..], b"\0xyz");
    });
}

#[test]
fn vec_cursors_overwrite_from_the_position_and_grow() {
    run(|| async {
        let mut c = Cursor::new(b"hello".to_vec());
        c.set_position(3);
        c.write_all(b"p me").await.unwrap();
        assert_eq!(c.get_ref(), b"help me");
        // Seek back and overwrite in the middle; the length stays.
        c.seek(SeekFrom::Start(1)).await.unwrap();
        c.write_all(b"E").await.unwrap();
        assert_eq!(c.get_ref(), b"hElp me");
        assert_eq!(c.position(), 2);

        let mut v = Vec::new();
        {
            let mut c = Cursor::new(&mut v);
            c.write_all(b"abc").await.unwrap();
            // A position past the end pads with zeros, as std does.
            c.set_position(5);
            c.write_all(b"z").await.unwrap();
            c.flush().await.unwrap();
        }
        assert_eq!(v, b"abc\0\0z");
    });
}

#[test]
fn vectored_writes_go_through_in_one_call() {
    run(|| async {
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];

        let mut v: Vec<u8> = Vec::new();
        assert!(v.is_write_vectored());
        assert_eq!(v.write_vectored(&bufs).await.unwrap(), 5);
        assert_eq!(v, b"abcde");

        let mut c = Cursor::new(Vec::new());
        assert!(c.is_write_vectored());
        assert_eq!(c.write_vectored(&bufs).await.unwrap(), 5);
        assert_eq!(c.get_ref(), b"abcde");

        let mut backing = [0u8; 4];
        let mut c = Cursor::new(&mut backing[..]);
        assert!(c.is_write_vectored());
        assert_eq!(c.write_vectored(&bufs).await.unwrap(), 4, "what fits");
        assert_eq!(&backing, b"abcd");

        let mut backing = Vec::new();
        let mut c = Cursor::new(&mut backing);
        assert_eq!(c.write_vectored(&bufs).await.unwrap(), 5);
        let mut c = Cursor::new(vec![0u8; 8].into_boxed_slice());
        assert!(c.is_write_vectored());
        assert_eq!(c.write_vectored(&bufs).await.unwrap(), 5);
        assert_eq!(&c.get_ref()[..5], b"abcde");
    });
}

// ---------------------------------------------------------------------------------------------
// Forwarding impls: Box<T>, &mut T, Pin<P>

/// A reader/writer/seeker that is `!Unpin`, so it can only be used through `Pin<P>`; it
/// records what reached it.
struct Pinned {
    data: Cursor<Vec<u8>>,
    written: Vec<u8>,
    flushed: usize,
    shut: bool,
    _pin: PhantomPinned,
}

impl Pinned {
    fn new(data: &[u8]) -> Pinned {
        Pinned {
            data: Cursor::new(data.to_vec()),
            written: Vec::new(),
            flushed: 0,
            shut: false,
            _pin: PhantomPinned,
        }
    }
    fn me(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: nothing in `Pinned` relies on its address; the marker only makes it `!Unpin`
        // for the test, and no field is moved out.
        unsafe { self.get_unchecked_mut() }
    }
}

impl AsyncRead for Pinned {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.me().data).poll_read(cx, buf)
    }
}

impl AsyncBufRead for Pinned {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.me().data).poll_fill_buf(cx)
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.me().data).consume(amt)
    }
}

impl AsyncWrite for Pinned {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.me().written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.me();
        let mut n = 0;
        for b in bufs {
            me.written.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.me().flushed += 1;
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.me().shut = true;
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for Pinned {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        Pin::new(&mut self.me().data).start_seek(position)
    }
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.me().data).poll_complete(cx)
    }
}

fn is_all<T: AsyncRead + AsyncBufRead + AsyncWrite + AsyncSeek + Unpin>(_: &T) {}

#[test]
fn pin_of_a_pointer_to_a_non_unpin_value_forwards_everything() {
    run(|| async {
        // `Pin<Box<T>>` and `Pin<&mut T>` with `T: !Unpin`: tokio's `Pin<P>` impls need only
        // `P: DerefMut`.
        let mut boxed: Pin<Box<Pinned>> = Box::pin(Pinned::new(b"0123456789"));
        is_all(&boxed);
        let mut buf = [0u8; 3];
        boxed.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"012");
        assert_eq!(Pin::new(&mut boxed).poll_fill_buf_now(), b"3456789");
        Pin::new(&mut boxed).consume(4);
        assert_eq!(boxed.seek(SeekFrom::Current(-1)).await.unwrap(), 6);
        let mut rest = String::new();
        boxed.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "6789");

        assert!(boxed.is_write_vectored());
        boxed.write_all(b"ab").await.unwrap();
        boxed
            .write_vectored(&[IoSlice::new(b"c"), IoSlice::new(b"d")])
            .await
            .unwrap();
        boxed.flush().await.unwrap();
        boxed.shutdown().await.unwrap();
        assert_eq!(boxed.written, b"abcd");
        assert_eq!(boxed.flushed, 1);
        assert!(boxed.shut);

        let mut on_stack = std::pin::pin!(Pinned::new(b"xyz"));
        let mut by_ref: Pin<&mut Pinned> = on_stack.as_mut();
        let mut s = String::new();
        by_ref.read_line(&mut s).await.unwrap();
        assert_eq!(s, "xyz");
        by_ref.write_all(b"w").await.unwrap();
        assert_eq!(on_stack.written, b"w");
    });
}

#[test]
fn box_and_mut_ref_forward_every_trait_including_vectored_writes() {
    run(|| async {
        let mut inner = Cursor::new(b"abcdef".to_vec());
        {
            let mut r: &mut Cursor<Vec<u8>> = &mut inner;
            is_all(&r);
            assert!(r.is_write_vectored());
            let mut two = [0u8; 2];
            r.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"ab");
            assert_eq!(Pin::new(&mut r).poll_fill_buf_now(), b"cdef");
            r.seek(SeekFrom::End(0)).await.unwrap();
            r.write_vectored(&[IoSlice::new(b"g"), IoSlice::new(b"h")])
                .await
                .unwrap();
        }
        assert_eq!(inner.get_ref(), b"abcdefgh");

        let mut boxed: Box<Cursor<Vec<u8>>> = Box::new(inner);
        is_all(&boxed);
        assert!(boxed.is_write_vectored());
        assert_eq!(boxed.rewind().await.unwrap(), 0);
        let mut line = String::new();
        boxed.read_line(&mut line).await.unwrap();
        assert_eq!(line, "abcdefgh");

        // Trait objects, through Box and &mut, as tokio code writes them.
        let mut dyn_reader: Box<dyn AsyncBufRead + Unpin + Send> = Box::new(&b"one\ntwo\n"[..]);
        let mut lines = Vec::new();
        let mut l = String::new();
        while dyn_reader.read_line(&mut l).await.unwrap() > 0 {
            lines.push(std::mem::take(&mut l));
        }
        assert_eq!(lines, ["one\n", "two\n"]);
        let mut sink: Vec<u8> = Vec::new();
        {
            let dyn_writer: &mut (dyn AsyncWrite + Unpin) = &mut sink;
            assert!(dyn_writer.is_write_vectored());
            dyn_writer.write_all(b"via dyn").await.unwrap();
        }
        assert_eq!(sink, b"via dyn");
        let mut dyn_seek: Box<dyn AsyncSeek + Unpin> = Box::new(Cursor::new(vec![0u8; 9]));
        assert_eq!(dyn_seek.seek(SeekFrom::End(-4)).await.unwrap(), 5);
    });
}

// ---------------------------------------------------------------------------------------------
// copy_buf

/// What a [`Recorder`] saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Write(Vec<u8>),
    Flush,
    Shutdown,
}

/// A writer that records its calls; with `interrupt`, every other write fails with
/// `Interrupted` first; `max` caps what one write takes.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<Ev>>>,
    interrupt: bool,
    interrupted_last: bool,
    max: Option<usize>,
    /// Told about every flush.
    on_flush: Option<Arc<netpoll::sync::Notify>>,
}

impl Recorder {
    fn events(&self) -> Vec<Ev> {
        self.events.lock().unwrap().clone()
    }
    fn bytes(&self) -> Vec<u8> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Write(b) => Some(b),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.interrupt && !self.interrupted_last {
            self.interrupted_last = true;
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        self.interrupted_last = false;
        let n = self.max.map_or(buf.len(), |m| m.min(buf.len()));
        self.events
            .lock()
            .unwrap()
            .push(Ev::Write(buf[..n].to_vec()));
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.events.lock().unwrap().push(Ev::Flush);
        if let Some(n) = &self.on_flush {
            n.notify_one();
        }
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.events.lock().unwrap().push(Ev::Shutdown);
        Poll::Ready(Ok(()))
    }
}

/// A buffered reader that offers `chunk`-byte pieces of `data` and fails with `Interrupted`
/// before every piece, and with `fail_at` bytes consumed, fails for good.
struct InterruptingBufReader {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
    interrupt_next: bool,
    fail_at: Option<usize>,
}

impl InterruptingBufReader {
    fn new(data: &[u8], chunk: usize) -> Self {
        InterruptingBufReader {
            data: data.to_vec(),
            pos: 0,
            chunk,
            interrupt_next: true,
            fail_at: None,
        }
    }
}

impl AsyncRead for InterruptingBufReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        unreachable!("copy_buf reads through fill_buf")
    }
}

impl AsyncBufRead for InterruptingBufReader {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        if me.fail_at == Some(me.pos) {
            return Poll::Ready(Err(io::Error::other("reader broke")));
        }
        if me.interrupt_next {
            me.interrupt_next = false;
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        let end = (me.pos + me.chunk).min(me.data.len());
        Poll::Ready(Ok(&me.data[me.pos..end]))
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.get_mut();
        me.pos += amt;
        me.interrupt_next = true;
    }
}

#[test]
fn copy_buf_copies_everything_and_flushes_once_at_the_end() {
    run(|| async {
        let mut reader = BufReader::with_capacity(4, &b"abcdefghij"[..]);
        let mut writer = Recorder::default();
        let n = netpoll::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(n, 10);
        let ev = writer.events();
        assert_eq!(
            ev,
            [
                Ev::Write(b"abcd".to_vec()),
                Ev::Write(b"efgh".to_vec()),
                Ev::Write(b"ij".to_vec()),
                Ev::Flush
            ],
            "chunks written as the reader buffered them, then one flush; no shutdown"
        );

        // The std impls work directly, unsized operands too.
        let mut src: &[u8] = b"plain slice";
        let mut dst: Vec<u8> = Vec::new();
        let r: &mut (dyn AsyncBufRead + Unpin) = &mut src;
        let w: &mut (dyn AsyncWrite + Unpin) = &mut dst;
        assert_eq!(netpoll::io::copy_buf(r, w).await.unwrap(), 11);
        assert_eq!(dst, b"plain slice");
        assert!(src.is_empty());
    });
}

#[test]
fn copy_buf_consumes_only_what_the_writer_took_and_retries_interrupted() {
    run(|| async {
        let data: Vec<u8> = (0..100u8).collect();
        let mut reader = InterruptingBufReader::new(&data, 7);
        let mut writer = Recorder {
            interrupt: true,
            max: Some(3),
            ..Recorder::default()
        };
        let n = netpoll::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(n, 100);
        assert_eq!(writer.bytes(), data, "every byte once, in order");
        assert_eq!(writer.events().last(), Some(&Ev::Flush));
    });
}

#[test]
fn copy_buf_reports_errors_and_write_zero() {
    run(|| async {
        let mut reader = InterruptingBufReader::new(b"0123456789", 4);
        reader.fail_at = Some(4);
        let mut writer = Recorder::default();
        let err = netpoll::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "reader broke");
        assert_eq!(
            writer.bytes(),
            b"0123",
            "what came before the error was written"
        );

        let mut reader: &[u8] = b"data";
        let mut full = [0u8; 0];
        let mut writer = Cursor::new(&mut full[..]);
        let err = netpoll::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(reader, b"data", "nothing consumed that was not written");
    });
}

#[test]
fn copy_buf_flushes_when_the_reader_has_nothing_yet() {
    run(|| async {
        let (client, mut server) = netpoll::io::duplex(64);
        let on_flush = Arc::new(netpoll::sync::Notify::new());
        let writer = Recorder {
            on_flush: Some(on_flush.clone()),
            ..Recorder::default()
        };
        let seen = writer.clone();
        let copy = netpoll::spawn(async move {
            let mut reader = BufReader::new(client);
            let mut writer = writer;
            netpoll::io::copy_buf(&mut reader, &mut writer).await
        });
        server.write_all(b"request").await.unwrap();
        // The copier writes the bytes, finds the reader empty and must flush before it waits:
        // a peer waiting on a buffered writer would otherwise never get them.
        on_flush.notified().await;
        assert_eq!(
            seen.events(),
            [Ev::Write(b"request".to_vec()), Ev::Flush],
            "written, then flushed, while the copy is still running"
        );
        assert!(!copy.is_finished());
        drop(server);
        assert_eq!(copy.await.unwrap().unwrap(), 7);
        assert_eq!(seen.events().last(), Some(&Ev::Flush));
    });
}

/// A buffered reader that is always ready with the same bytes and spends no coop budget.
struct Endless;

impl AsyncRead for Endless {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(8);
        buf.put_slice(&b"xxxxxxxx"[..n]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Endless {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(b"xxxxxxxx"))
    }
    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

/// A writer that takes everything, spending no coop budget and keeping nothing.
struct Drop0(u64);

impl AsyncWrite for Drop0 {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0 += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn copy_buf_between_always_ready_ends_spends_budget_so_timeout_fires() {
    bounded(LIMIT, || {
        for runtime in [rt_current(), rt(2)] {
            let r = runtime.block_on(netpoll::time::timeout(Duration::from_millis(1), async {
                netpoll::io::copy_buf(&mut Endless, &mut Drop0(0)).await
            }));
            assert!(r.is_err(), "block_on: the timer must fire");
            let r = runtime.block_on(async {
                netpoll::spawn(netpoll::time::timeout(Duration::from_millis(1), async {
                    netpoll::io::copy_buf(&mut Endless, &mut Drop0(0)).await
                }))
                .await
                .unwrap()
            });
            assert!(r.is_err(), "spawned: the timer must fire");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// join

#[test]
fn join_reads_from_the_reader_and_writes_to_the_writer() {
    run(|| async {
        let rec = Recorder::default();
        let mut j = netpoll::io::join(BufReader::new(&b"line 1\nline 2\n"[..]), rec.clone());
        let mut l = String::new();
        j.read_line(&mut l).await.unwrap();
        assert_eq!(l, "line 1\n");
        assert_eq!(
            j.reader().buffer(),
            b"line 2\n",
            "buffered through AsyncBufRead"
        );
        j.write_all(b"reply").await.unwrap();
        j.flush().await.unwrap();
        j.shutdown().await.unwrap();
        assert_eq!(
            rec.events(),
            [Ev::Write(b"reply".to_vec()), Ev::Flush, Ev::Shutdown]
        );
        assert!(!j.is_write_vectored(), "the writer's answer");
        j.writer_mut().max = Some(1);
        assert_eq!(j.write(b"xy").await.unwrap(), 1, "writes go to the writer");
        j.reader_mut().consume(5);
        let (reader, writer) = j.into_inner();
        assert_eq!(reader.buffer(), b"2\n");
        assert_eq!(writer.bytes(), b"replyx");

        let j = netpoll::io::join(&b""[..], Vec::<u8>::new());
        assert!(j.is_write_vectored());
        assert!(j.writer().is_empty());
    });
}

#[test]
fn join_of_two_simplex_pipes_is_a_stream() {
    run(|| async {
        // Two one-way pipes, joined at each end into a two-way stream.
        let (up_r, up_w) = netpoll::io::simplex(16);
        let (down_r, down_w) = netpoll::io::simplex(16);
        let mut client = netpoll::io::join(down_r, up_w);
        let server = netpoll::spawn(async move {
            let mut s = netpoll::io::join(up_r, down_w);
            let mut req = Vec::new();
            s.read_to_end(&mut req).await.unwrap();
            req.reverse();
            s.write_all(&req).await.unwrap();
            s.shutdown().await.unwrap();
        });
        client.write_all(b"stressed").await.unwrap();
        client.shutdown().await.unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, "desserts");
        server.await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// BufStream

#[test]
fn buf_stream_holds_writes_until_flush_and_reads_ahead() {
    run(|| async {
        let (a, mut peer) = netpoll::io::duplex(1024);
        let mut s = BufStream::with_capacity(8, 16, a);

        s.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 16];
        {
            let mut read = std::pin::pin!(peer.read(&mut buf));
            assert!(
                poll_once(&mut read).await.is_none(),
                "nothing reaches the peer before flush"
            );
        }
        s.flush().await.unwrap();
        assert_eq!(peer.read(&mut buf).await.unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");

        // Reads are buffered: one read of the stream fills the 8-byte buffer.
        peer.write_all(b"0123456789").await.unwrap();
        assert_eq!(s.read_u8().await.unwrap(), b'0');
        assert_eq!(s.fill_buf().await.unwrap(), b"1234567");
        s.consume(7);
        let mut rest = [0u8; 2];
        s.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"89");

        // shutdown writes the buffer out first, then closes the write side.
        s.write_all(b"bye").await.unwrap();
        s.shutdown().await.unwrap();
        let mut tail = Vec::new();
        peer.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, b"bye");
        // Accessors reach the stream.
        let _: &netpoll::io::DuplexStream = s.get_ref();
        let _: &mut netpoll::io::DuplexStream = s.get_mut();
        let _: netpoll::io::DuplexStream = s.into_inner();
    });
}

#[test]
fn buf_stream_seeks_from_its_logical_position() {
    run(|| async {
        let mut s = BufStream::with_capacity(4, 4, Cursor::new(b"abcdefghij".to_vec()));
        assert_eq!(s.read_u8().await.unwrap(), b'a'); // the read buffer holds "bcd"
        assert_eq!(s.stream_position().await.unwrap(), 1);
        assert_eq!(s.seek(SeekFrom::Current(2)).await.unwrap(), 3);
        assert_eq!(s.read_u8().await.unwrap(), b'd');
        // A buffered write reaches the stream before the seek happens.
        s.seek(SeekFrom::Start(0)).await.unwrap();
        s.write_all(b"AB").await.unwrap();
        assert_eq!(s.seek(SeekFrom::End(-1)).await.unwrap(), 9);
        assert_eq!(s.get_ref().get_ref(), b"ABcdefghij");
        assert_eq!(s.read_u8().await.unwrap(), b'j');
        let c = s.into_inner();
        assert_eq!(c.position(), 10);
    });
}

#[test]
fn buf_stream_from_either_layering_keeps_the_buffered_bytes() {
    run(|| async {
        // BufWriter<BufReader<RW>> with read-ahead and unwritten bytes, turned inside out.
        let mut outer = BufWriter::with_capacity(
            16,
            BufReader::with_capacity(4, Cursor::new(b"0123456789".to_vec())),
        );
        assert_eq!(outer.read_u8().await.unwrap(), b'0'); // "123" stay read ahead
        outer.write_all(b"xy").await.unwrap(); // buffered in the BufWriter
        assert_eq!(outer.get_ref().buffer(), b"123");
        assert_eq!(outer.buffer(), b"xy");

        let mut s = BufStream::from(outer);
        let mut three = [0u8; 3];
        s.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"123", "the read-ahead moved over");
        s.flush().await.unwrap();
        // The write lands where the cursor was (after the 4 bytes the reader took).
        assert_eq!(s.get_ref().get_ref(), b"0123xy6789");

        // BufReader<BufWriter<RW>> is taken as it is.
        let mut inner =
            BufReader::with_capacity(4, BufWriter::new(Cursor::new(b"abcdef".to_vec())));
        assert_eq!(inner.read_u8().await.unwrap(), b'a');
        let mut s = BufStream::from(inner);
        let mut rest = String::new();
        s.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "bcdef");
    });
}

#[test]
#[should_panic]
fn buf_stream_with_a_zero_read_capacity_panics() {
    let _ = BufStream::with_capacity(0, 8, Cursor::new(Vec::<u8>::new()));
}

// ---------------------------------------------------------------------------------------------
// Interest and Ready

#[test]
fn interest_algebra() {
    const RW: Interest = Interest::READABLE.add(Interest::WRITABLE);
    assert!(RW.is_readable() && RW.is_writable() && !RW.is_error());
    assert_eq!(RW, Interest::READABLE | Interest::WRITABLE);
    assert_eq!(Interest::WRITABLE | Interest::READABLE, RW, "commutative");
    let mut i = Interest::READABLE;
    i |= Interest::ERROR;
    assert!(i.is_readable() && i.is_error() && !i.is_writable());
    assert_eq!(i | i, i, "idempotent");

    assert_eq!(RW.remove(Interest::READABLE), Some(Interest::WRITABLE));
    assert_eq!(
        RW.remove(Interest::ERROR),
        Some(RW),
        "absent kinds are ignored"
    );
    assert_eq!(RW.remove(RW), None);
    assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);

    #[cfg(target_os = "linux")]
    {
        let p = Interest::PRIORITY;
        assert!(p.is_priority() && !p.is_readable());
        assert!(!RW.is_priority());
        assert_eq!(
            format!("{:?}", RW | p | Interest::ERROR),
            "READABLE | WRITABLE | PRIORITY | ERROR"
        );
    }
    assert_eq!(format!("{:?}", Interest::WRITABLE), "WRITABLE");
    assert_eq!(
        format!("{:?}", Interest::ERROR | Interest::READABLE),
        "READABLE | ERROR"
    );
    // Copy + Eq.
    let copy = RW;
    assert_eq!(copy, RW);
}

#[test]
fn ready_algebra() {
    let all = [
        Ready::READABLE,
        Ready::WRITABLE,
        Ready::READ_CLOSED,
        Ready::WRITE_CLOSED,
        Ready::ERROR,
        #[cfg(target_os = "linux")]
        Ready::PRIORITY,
    ];
    let mut union = Ready::EMPTY;
    for (i, a) in all.iter().enumerate() {
        assert!(!a.is_empty());
        for (j, b) in all.iter().enumerate() {
            // Distinct bits: two different states share nothing.
            assert_eq!((*a & *b).is_empty(), i != j);
        }
        union |= *a;
    }
    assert_eq!(union, Ready::ALL);
    assert!(Ready::EMPTY.is_empty());
    assert_eq!(Ready::ALL - Ready::ALL, Ready::EMPTY);
    assert_eq!(Ready::ALL & Ready::EMPTY, Ready::EMPTY);

    // Closed sides count as readiness of their direction.
    assert!(Ready::READ_CLOSED.is_readable() && !Ready::READ_CLOSED.is_writable());
    assert!(Ready::WRITE_CLOSED.is_writable() && !Ready::WRITE_CLOSED.is_readable());
    assert!(!Ready::READABLE.is_read_closed());
    assert!(Ready::ERROR.is_error() && !Ready::ERROR.is_readable());

    let r = Ready::READABLE | Ready::WRITABLE | Ready::READ_CLOSED;
    assert_eq!(r - Ready::READABLE, Ready::WRITABLE | Ready::READ_CLOSED);
    assert!(
        (r - Ready::READABLE).is_readable(),
        "still readable: read-closed"
    );
    assert!(!(r - Ready::READABLE - Ready::READ_CLOSED).is_readable());
    assert_eq!(r & (Ready::WRITABLE | Ready::ERROR), Ready::WRITABLE);
    assert_eq!(
        r - Ready::ERROR,
        r,
        "removing an absent state changes nothing"
    );
    #[cfg(target_os = "linux")]
    {
        assert!(Ready::PRIORITY.is_priority() && !Ready::PRIORITY.is_readable());
        assert!(Ready::ALL.is_priority());
    }

    // Ordered and comparable, as tokio's.
    assert!(Ready::EMPTY < Ready::READABLE);
    let dbg = format!("{:?}", Ready::WRITABLE);
    assert!(dbg.starts_with("Ready {"), "{dbg}");
    assert!(
        dbg.contains("is_writable: true") && dbg.contains("is_readable: false"),
        "{dbg}"
    );
}

// ---------------------------------------------------------------------------------------------
// The standard streams (in a child process: they are the process's own fds 0, 1 and 2)

fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}

#[test]
fn standard_stream_types_are_send_sync_unpin_and_expose_their_fds() {
    use std::os::fd::{AsFd, AsRawFd};
    assert_send_sync_unpin::<netpoll::io::Stdin>();
    assert_send_sync_unpin::<netpoll::io::Stdout>();
    assert_send_sync_unpin::<netpoll::io::Stderr>();
    assert_send_sync_unpin::<netpoll::io::Join<netpoll::io::Empty, netpoll::io::Sink>>();
    assert_send_sync_unpin::<BufStream<netpoll::io::DuplexStream>>();
    // Making a handle needs no runtime; only I/O does.
    let (i, o, e) = (
        netpoll::io::stdin(),
        netpoll::io::stdout(),
        netpoll::io::stderr(),
    );
    assert_eq!((i.as_raw_fd(), o.as_raw_fd(), e.as_raw_fd()), (0, 1, 2));
    assert_eq!(o.as_fd().as_raw_fd(), 1);
    assert_eq!(i.as_fd().as_raw_fd(), 0);
    assert_eq!(e.as_fd().as_raw_fd(), 2);
    assert!(format!("{o:?}").starts_with("Stdout"));
}

const CHILD_ENV: &str = "NETPOLL_IO_STDIO_CHILD";
const BEGIN: &str = "<<<begin>>>";
const END: &str = "<<<end>>>";

/// Starts this test binary again, running only [`stdio_child`] in `mode`.
fn spawn_child(mode: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stdio_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the test binary")
}

/// The text between the markers (the test harness writes its own lines around them).
fn between_markers(out: &str) -> &str {
    let start = out
        .find(BEGIN)
        .unwrap_or_else(|| panic!("no begin marker in {out:?}"))
        + BEGIN.len();
    let end = out[start..]
        .find(END)
        .unwrap_or_else(|| panic!("no end marker in {out:?}"));
    &out[start..start + end]
}

/// The child side of the standard-stream tests: does nothing unless started by them.
#[test]
fn stdio_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    match mode.as_str() {
        // Reads stdin to its end in small reads; writes it upper-cased to stdout and its
        // length to stderr.
        "echo" => rt_current().block_on(async {
            let mut input = netpoll::io::stdin();
            let mut all = Vec::new();
            let mut small = [0u8; 61];
            loop {
                let n = input.read(&mut small).await.unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&small[..n]);
            }
            let mut out = netpoll::io::stdout();
            out.write_all(BEGIN.as_bytes()).await.unwrap();
            out.write_all(&all.to_ascii_uppercase()).await.unwrap();
            out.write_all(END.as_bytes()).await.unwrap();
            out.flush().await.unwrap();
            let mut err = netpoll::io::stderr();
            err.write_all(format!("{BEGIN}{} bytes{END}", all.len()).as_bytes())
                .await
                .unwrap();
            err.shutdown().await.unwrap();
        }),
        // Many tasks, each with its own handle, each line one write.
        "lines" => rt(2).block_on(async {
            let mut out = netpoll::io::stdout();
            out.write_all(format!("{BEGIN}\n").as_bytes())
                .await
                .unwrap();
            out.flush().await.unwrap();
            let tasks: Vec<_> = (0..8)
                .map(|t| {
                    netpoll::spawn(async move {
                        let mut out = netpoll::io::stdout();
                        for i in 0..50 {
                            let line = format!("task {t} line {i} {}\n", "=".repeat(100 + t * 10));
                            out.write_all(line.as_bytes()).await.unwrap();
                        }
                        out.flush().await.unwrap();
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            out.write_all(END.as_bytes()).await.unwrap();
            out.flush().await.unwrap();
        }),
        // A partial line, flushed, must reach the parent while the child still runs; the
        // parent answers on stdin.
        "flush" => rt_current().block_on(async {
            let mut out = netpoll::io::stdout();
            out.write_all(BEGIN.as_bytes()).await.unwrap();
            for i in 0..100 {
                out.write_all(format!("{i},").as_bytes()).await.unwrap();
            }
            out.write_all(b"partial").await.unwrap();
            out.flush().await.unwrap();
            let mut go = String::new();
            BufReader::new(netpoll::io::stdin())
                .read_line(&mut go)
                .await
                .unwrap();
            out.write_all(format!(" then {}{END}", go.trim()).as_bytes())
                .await
                .unwrap();
            out.flush().await.unwrap();
        }),
        // fd 1 becomes a pipe with no reader: the write is accepted, its error comes from
        // flush.
        "broken" => {
            // Nothing of the harness's may be left in std's buffer for fd 1.
            std::io::Write::flush(&mut std::io::stdout()).unwrap();
            let mut fds = [0; 2];
            // SAFETY: pipe(2) into a two-int array; the read end is closed at once and the
            // write end replaces fd 1, which nothing in this process holds a borrow of.
            unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                assert_eq!(libc::dup2(fds[1], 1), 1);
                libc::close(fds[1]);
            }
            let (write, flush) = rt_current().block_on(async {
                let mut out = netpoll::io::stdout();
                let write = out.write(b"lost\n").await;
                let flush = out.flush().await;
                let again = out.flush().await;
                assert!(again.is_ok(), "the error is reported once");
                (write, flush)
            });
            eprintln!(
                "{BEGIN}write={:?} flush={:?}{END}",
                write.map_err(|e| e.kind()),
                flush.map_err(|e| e.kind())
            );
            // The harness would fail writing its result to the broken stdout.
            std::process::exit(0);
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn wait_output(child: std::process::Child) -> (String, String) {
    let out = child.wait_with_output().expect("wait for the child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn stdin_reads_to_eof_and_stdout_stderr_write_everything() {
    bounded(LIMIT, || {
        use std::io::Write;
        let mut child = spawn_child("echo");
        let input: String = (0..2000).map(|i| format!("word{i} ")).collect();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin); // EOF
        let (out, err) = wait_output(child);
        assert_eq!(between_markers(&out), input.to_uppercase());
        assert_eq!(between_markers(&err), format!("{} bytes", input.len()));
    });
}

#[test]
fn stdout_keeps_each_write_whole_across_handles_and_tasks() {
    bounded(LIMIT, || {
        let (out, _) = wait_output(spawn_child("lines"));
        let body = between_markers(&out);
        let mut seen = std::collections::HashSet::new();
        for line in body.lines().filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 5, "a mangled line: {line:?}");
            let t: usize = parts[1].parse().unwrap();
            let i: usize = parts[3].parse().unwrap();
            assert_eq!(
                parts[4],
                "=".repeat(100 + t * 10),
                "a mangled line: {line:?}"
            );
            assert!(seen.insert((t, i)), "line {t}/{i} twice");
        }
        assert_eq!(seen.len(), 8 * 50, "every line once");
        // Per task, its lines are in order (one handle: one write at a time).
        let mut next = [0usize; 8];
        for line in body.lines().filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(' ').collect();
            let (t, i): (usize, usize) = (parts[1].parse().unwrap(), parts[3].parse().unwrap());
            assert_eq!(i, next[t], "task {t}'s lines out of order");
            next[t] += 1;
        }
    });
}

#[test]
fn stdout_flush_pushes_a_partial_line_out_while_the_program_runs() {
    bounded(LIMIT, || {
        use std::io::{Read, Write};
        let mut child = spawn_child("flush");
        let mut stdout = child.stdout.take().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Without the flush, "partial" would wait in std's line buffer and this would hang
        // (and `bounded` fail the test).
        while !String::from_utf8_lossy(&got).contains("partial") {
            let n = stdout.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "the child closed stdout early: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        drop(stdin);
        stdout.read_to_end(&mut got).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success());
        let text = String::from_utf8_lossy(&got).into_owned();
        let expected: String =
            (0..100).map(|i| format!("{i},")).collect::<String>() + "partial then go";
        assert_eq!(between_markers(&text), expected, "every write, in order");
    });
}

#[test]
fn stdout_reports_a_failed_write_on_flush() {
    bounded(LIMIT, || {
        let (_, err) = wait_output(spawn_child("broken"));
        assert_eq!(
            between_markers(&err),
            "write=Ok(5) flush=Err(BrokenPipe)",
            "the write is accepted at once; its error comes with the flush"
        );
    });
}
