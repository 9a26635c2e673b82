//! tokio parity I (io), the rest of the extension traits: the 128-bit and float reads and
//! writes, `read_buf` into any `bytes::BufMut`, `write_buf`/`write_all_buf` from any
//! `bytes::Buf`, `ReadBuf` as a `BufMut` and its `initialized_mut`/`inner_mut`,
//! `copy_bidirectional_with_sizes`, and `Lines`/`Split` as tokio writes them. Each test checks
//! what tokio's docs promise.
mod support;

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use netpoll::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use support::{bounded, poll_once, rt, run};

const LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// 128-bit integers and floats

#[test]
fn wide_and_float_writes_are_the_std_byte_orders_and_read_back() {
    run(|| async {
        let mut out: Vec<u8> = Vec::new();
        out.write_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
            .await
            .unwrap();
        out.write_u128_le(7).await.unwrap();
        out.write_i128(-2).await.unwrap();
        out.write_i128_le(i128::MIN).await.unwrap();
        out.write_f32(1.5).await.unwrap();
        out.write_f32_le(-0.25).await.unwrap();
        out.write_f64(std::f64::consts::PI).await.unwrap();
        out.write_f64_le(f64::NEG_INFINITY).await.unwrap();
        // A NaN's payload survives the round trip bit for bit.
        let nan = f32::from_bits(0x7fc0_1234);
        out.write_f32(nan).await.unwrap();

        let mut want = Vec::new();
        want.extend_from_slice(&0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128.to_be_bytes());
        want.extend_from_slice(&7u128.to_le_bytes());
        want.extend_from_slice(&(-2i128).to_be_bytes());
        want.extend_from_slice(&i128::MIN.to_le_bytes());
        want.extend_from_slice(&1.5f32.to_be_bytes());
        want.extend_from_slice(&(-0.25f32).to_le_bytes());
        want.extend_from_slice(&std::f64::consts::PI.to_be_bytes());
        want.extend_from_slice(&f64::NEG_INFINITY.to_le_bytes());
        want.extend_from_slice(&nan.to_be_bytes());
        assert_eq!(out, want);

        let mut r: &[u8] = &out;
        assert_eq!(
            r.read_u128().await.unwrap(),
            0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10
        );
        assert_eq!(r.read_u128_le().await.unwrap(), 7);
        assert_eq!(r.read_i128().await.unwrap(), -2);
        assert_eq!(r.read_i128_le().await.unwrap(), i128::MIN);
        assert_eq!(r.read_f32().await.unwrap(), 1.5);
        assert_eq!(r.read_f32_le().await.unwrap(), -0.25);
        assert_eq!(r.read_f64().await.unwrap(), std::f64::consts::PI);
        assert_eq!(r.read_f64_le().await.unwrap(), f64::NEG_INFINITY);
        assert_eq!(r.read_f32().await.unwrap().to_bits(), 0x7fc0_1234);
        assert!(r.is_empty());
    });
}

#[test]
fn a_short_stream_is_unexpected_eof_for_every_width() {
    run(|| async {
        let short = [0u8; 15];
        let mut r: &[u8] = &short;
        assert_eq!(
            r.read_u128().await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut r: &[u8] = &short[..7];
        assert_eq!(
            r.read_f64_le().await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut r: &[u8] = &short[..3];
        assert_eq!(
            r.read_f32().await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    });
}

/// Yields its bytes one at a time, `Pending` between them (waking itself), so a read of a
/// wide value is split across many polls.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    ready: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        if self.pos < self.data.len() && buf.remaining() > 0 {
            buf.put_slice(&[self.data[self.pos]]);
            self.pos += 1;
        }
        Poll::Ready(Ok(()))
    }
}

#[test]
fn a_wide_read_assembles_bytes_that_arrive_one_per_poll() {
    run(|| async {
        let v = -123_456_789_012_345_678_901_234_567i128;
        let mut r = Trickle {
            data: v.to_le_bytes().to_vec(),
            pos: 0,
            ready: false,
        };
        assert_eq!(r.read_i128_le().await.unwrap(), v);
    });
}

// ---------------------------------------------------------------------------------------------
// read_buf into a BufMut

#[test]
fn read_buf_appends_to_bytes_mut_and_vec_and_grows_them() {
    run(|| async {
        let data: Vec<u8> = (0..200u8).collect();
        let mut r: &[u8] = &data;
        let mut b = BytesMut::with_capacity(16);
        b.put_slice(b"head");
        let mut total = 0;
        loop {
            let n = r.read_buf(&mut b).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 200);
        assert_eq!(&b[..4], b"head");
        assert_eq!(&b[4..], &data[..]);

        let mut r: &[u8] = &data;
        let mut v: Vec<u8> = Vec::new();
        let n = r.read_buf(&mut v).await.unwrap();
        assert!(n > 0);
        assert_eq!(v, &data[..n]);
    });
}

#[test]
fn read_buf_into_a_full_buffer_returns_zero_and_reads_nothing() {
    run(|| async {
        let mut r: &[u8] = b"untouched";
        let mut storage = [0u8; 4];
        let mut full: &mut [u8] = &mut storage[..];
        full.put_slice(b"abcd");
        assert_eq!(full.remaining_mut(), 0);
        assert_eq!(r.read_buf(&mut full).await.unwrap(), 0);
        assert_eq!(r, b"untouched", "nothing may be consumed from the reader");

        // A bounded BufMut: `limit` caps what one read may append.
        let mut b = BytesMut::with_capacity(64);
        let mut limited = (&mut b).limit(3);
        assert_eq!(r.read_buf(&mut limited).await.unwrap(), 3);
        assert_eq!(&b[..], b"unt");
        assert_eq!(r, b"ouched");
    });
}

/// A reader that reports it initialised more than it filled: `read_buf` must count only the
/// filled bytes.
struct InitMore;

impl AsyncRead for InitMore {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(10);
        buf.initialize_unfilled_to(n)[..2].copy_from_slice(b"ok");
        buf.advance(2);
        Poll::Ready(Ok(()))
    }
}

#[test]
fn read_buf_counts_filled_not_initialised_bytes() {
    run(|| async {
        let mut b = BytesMut::with_capacity(32);
        assert_eq!(InitMore.read_buf(&mut b).await.unwrap(), 2);
        assert_eq!(&b[..], b"ok");
    });
}

// ---------------------------------------------------------------------------------------------
// ReadBuf: BufMut, initialized_mut, inner_mut

#[test]
fn read_buf_is_a_buf_mut_that_fills_and_initialises() {
    let mut storage = [MaybeUninit::<u8>::uninit(); 16];
    let mut rb = ReadBuf::uninit(&mut storage);
    assert_eq!(rb.remaining_mut(), 16);
    rb.put_u16(0x0102);
    rb.put_slice(b"xy");
    assert_eq!(rb.filled(), b"\x01\x02xy");
    assert_eq!(rb.initialized().len(), 4);
    assert_eq!(BufMut::remaining_mut(&rb), 12);

    // Writing through chunk_mut, then advance_mut: the bytes become filled and initialised.
    let chunk = rb.chunk_mut();
    assert_eq!(chunk.len(), 12);
    chunk.write_byte(0, b'!');
    // SAFETY: one byte of the chunk was just written.
    unsafe { rb.advance_mut(1) };
    assert_eq!(rb.filled(), b"\x01\x02xy!");
    assert_eq!(rb.initialized().len(), 5);
}

#[test]
#[should_panic]
fn read_buf_as_buf_mut_panics_rather_than_overflow() {
    let mut storage = [0u8; 2];
    let mut rb = ReadBuf::new(&mut storage);
    rb.put_u32(1);
}

#[test]
fn initialized_mut_covers_filled_and_initialised_unfilled_bytes() {
    let mut storage = [MaybeUninit::<u8>::uninit(); 8];
    let mut rb = ReadBuf::uninit(&mut storage);
    rb.put_slice(b"ab");
    rb.initialize_unfilled_to(3);
    assert_eq!(rb.initialized_mut().len(), 5);
    rb.initialized_mut()[4] = b'z';
    rb.initialized_mut()[0] = b'A';
    assert_eq!(rb.filled(), b"Ab");
    assert_eq!(rb.initialized()[4], b'z');
    // inner_mut is the whole buffer, whatever is filled.
    // SAFETY: we only read its length.
    assert_eq!(unsafe { rb.inner_mut() }.len(), 8);
}

// ---------------------------------------------------------------------------------------------
// write_buf / write_all_buf

/// A writer that takes at most `per_call` bytes a call, records each call's slices, and can
/// be told to prefer vectored writes or to go `Pending` after `budget` calls.
#[derive(Default)]
struct Recorder {
    out: Vec<u8>,
    calls: Vec<Vec<Vec<u8>>>,
    per_call: usize,
    vectored: bool,
    budget: Option<usize>,
}

impl Recorder {
    fn take(&mut self, bufs: &[&[u8]]) -> Poll<io::Result<usize>> {
        if let Some(b) = &mut self.budget {
            if *b == 0 {
                return Poll::Pending;
            }
            *b -= 1;
        }
        self.calls
            .push(bufs.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
        let mut left = self.per_call;
        let mut n = 0;
        for b in bufs {
            let k = left.min(b.len());
            self.out.extend_from_slice(&b[..k]);
            n += k;
            left -= k;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().take(&[buf])
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let slices: Vec<&[u8]> = bufs.iter().map(|b| &b[..]).collect();
        self.get_mut().take(&slices)
    }
    fn is_write_vectored(&self) -> bool {
        self.vectored
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn write_buf_writes_once_and_advances_the_buf() {
    run(|| async {
        // A plain writer gets the first chunk only.
        let mut w = Recorder {
            per_call: 100,
            ..Default::default()
        };
        let mut src = Buf::chain(&b"abc"[..], &b"defg"[..]);
        assert_eq!(w.write_buf(&mut src).await.unwrap(), 3);
        assert_eq!(src.remaining(), 4);
        assert_eq!(w.calls, vec![vec![b"abc".to_vec()]]);

        // A vectored writer gets every chunk in one call.
        let mut w = Recorder {
            per_call: 100,
            vectored: true,
            ..Default::default()
        };
        let mut src = Buf::chain(&b"abc"[..], &b"defg"[..]);
        assert_eq!(w.write_buf(&mut src).await.unwrap(), 7);
        assert!(!src.has_remaining());
        assert_eq!(w.calls, vec![vec![b"abc".to_vec(), b"defg".to_vec()]]);

        // An empty buf is Ok(0) without a write.
        let mut empty = &b""[..];
        assert_eq!(w.write_buf(&mut empty).await.unwrap(), 0);
        assert_eq!(w.calls.len(), 1);
    });
}

#[test]
fn write_all_buf_writes_everything_in_as_many_calls_as_needed() {
    run(|| async {
        let mut w = Recorder {
            per_call: 3,
            vectored: true,
            ..Default::default()
        };
        let mut src = BytesMut::from(&b"0123456789"[..]);
        w.write_all_buf(&mut src).await.unwrap();
        assert!(src.is_empty());
        assert_eq!(w.out, b"0123456789");
        assert_eq!(w.calls.len(), 4);

        let mut w = Recorder::default(); // takes 0 bytes a call
        let mut src = &b"x"[..];
        assert_eq!(
            w.write_all_buf(&mut src).await.unwrap_err().kind(),
            io::ErrorKind::WriteZero
        );
    });
}

#[test]
fn write_all_buf_cancelled_leaves_the_buf_advanced_by_what_was_written() {
    run(|| async {
        let mut w = Recorder {
            per_call: 2,
            budget: Some(2),
            ..Default::default()
        };
        let mut src = &b"abcdefgh"[..];
        {
            let mut fut = w.write_all_buf(&mut src);
            assert!(
                poll_once(&mut fut).await.is_none(),
                "the writer went Pending"
            );
        }
        // Cancelled after two calls of two bytes: exactly those four are gone from `src`.
        assert_eq!(src, b"efgh");
        assert_eq!(w.out, b"abcd");
        w.budget = None;
        w.write_all_buf(&mut src).await.unwrap();
        assert_eq!(w.out, b"abcdefgh", "nothing written twice, nothing lost");
    });
}

// ---------------------------------------------------------------------------------------------
// copy_bidirectional_with_sizes

#[test]
fn copy_bidirectional_with_sizes_moves_both_ways_with_tiny_buffers() {
    run(|| async {
        let (mut a, a_peer) = netpoll::io::duplex(1024);
        let (mut b, b_peer) = netpoll::io::duplex(1024);
        let proxy = netpoll::spawn(async move {
            netpoll::io::copy_bidirectional_with_sizes(&mut a, &mut b, 1, 7).await
        });
        let up: Vec<u8> = (0..50_000u32).map(|i| (i * 7) as u8).collect();
        let down: Vec<u8> = (0..30_000u32).map(|i| (i * 13) as u8).collect();
        let up2 = up.clone();
        let down2 = down.clone();
        let a_side = netpoll::spawn(async move {
            let (mut r, mut w) = netpoll::io::split(a_peer);
            let writer = netpoll::spawn(async move {
                w.write_all(&up2).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            writer.await.unwrap();
            got
        });
        let (mut r, mut w) = netpoll::io::split(b_peer);
        let writer = netpoll::spawn(async move {
            w.write_all(&down2).await.unwrap();
            w.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, up);
        assert_eq!(a_side.await.unwrap(), down);
        assert_eq!(
            proxy.await.unwrap().unwrap(),
            (up.len() as u64, down.len() as u64)
        );
    });
}

#[test]
fn copy_bidirectional_with_sizes_between_sockets_still_splices() {
    bounded(LIMIT, || {
        rt(2).block_on(async {
            use netpoll::net::{TcpListener, TcpStream};
            let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let back = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let front_addr = front.local_addr().unwrap();
            let back_addr = back.local_addr().unwrap();
            let before = netpoll::io::copy_stats().splice_copies;
            let proxy = netpoll::spawn(async move {
                let (mut inbound, _) = front.accept().await.unwrap();
                let mut outbound = TcpStream::connect(back_addr).await.unwrap();
                netpoll::io::copy_bidirectional_with_sizes(&mut inbound, &mut outbound, 512, 512)
                    .await
            });
            let server = netpoll::spawn(async move {
                let (mut s, _) = back.accept().await.unwrap();
                let mut got = Vec::new();
                s.read_to_end(&mut got).await.unwrap();
                s.write_all(&got).await.unwrap();
                s.shutdown().await.unwrap();
                got.len()
            });
            let mut c = TcpStream::connect(front_addr).await.unwrap();
            let data = vec![0x5au8; 256 * 1024];
            c.write_all(&data).await.unwrap();
            c.shutdown().await.unwrap();
            let mut echoed = Vec::new();
            c.read_to_end(&mut echoed).await.unwrap();
            assert_eq!(echoed, data);
            assert_eq!(server.await.unwrap(), data.len());
            let (ab, ba) = proxy.await.unwrap().unwrap();
            assert_eq!((ab, ba), (data.len() as u64, data.len() as u64));
            assert!(
                netpoll::io::copy_stats().splice_copies >= before + 2,
                "each direction between sockets is a splice copy"
            );
        })
    });
}

// ---------------------------------------------------------------------------------------------
// Lines / Split as tokio has them

#[test]
fn lines_next_line_is_an_async_fn_and_get_ref_reads_the_reader() {
    run(|| async {
        let mut lines = netpoll::io::BufReader::new(&b"one\r\ntwo\nthree"[..]).lines();
        assert_eq!(lines.get_ref().buffer(), b"");
        let fut = lines.next_line();
        // The future is Send (a tokio user spawns it).
        fn is_send<T: Send>(_: &T) {}
        is_send(&fut);
        assert_eq!(fut.await.unwrap().as_deref(), Some("one"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("three"));
        assert_eq!(lines.next_line().await.unwrap(), None);

        let mut seg = netpoll::io::BufReader::new(&b"a,b,"[..]).split(b',');
        assert_eq!(seg.next_segment().await.unwrap(), Some(b"a".to_vec()));
        assert_eq!(seg.next_segment().await.unwrap(), Some(b"b".to_vec()));
        assert_eq!(seg.next_segment().await.unwrap(), None);
        assert_eq!(seg.get_ref().buffer(), b"");
    });
}
