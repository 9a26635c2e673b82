//! tokio parity (issue 15): io semantics that used to differ from std and tokio, each a
//! regression test.
//! - `read_exact`, `write_all`, `read_to_end`, `read_line`, `copy` retry `Interrupted`.
//! - `read_to_end` honours the `ReadBuf` contract (filled vs initialised) of odd readers.
//! - an always-ready resource inside `timeout` yields its coop budget, so the timer fires.
mod support;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use netpoll::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf,
};
use support::{bounded, rt, rt_current};

const LIMIT: Duration = Duration::from_secs(20);

/// Serves `data` a few bytes at a time, failing with `Interrupted` before every chunk.
struct InterruptingReader {
    data: Vec<u8>,
    pos: usize,
    interrupt_next: bool,
}

impl InterruptingReader {
    fn new(data: &[u8]) -> Self {
        InterruptingReader {
            data: data.to_vec(),
            pos: 0,
            interrupt_next: true,
        }
    }
}

impl AsyncRead for InterruptingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.interrupt_next {
            self.interrupt_next = false;
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        self.interrupt_next = true;
        let n = buf.remaining().min(3).min(self.data.len() - self.pos);
        let start = self.pos;
        buf.put_slice(&self.data[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// Accepts at most 2 bytes per write, failing with `Interrupted` before every write.
#[derive(Default)]
struct InterruptingWriter {
    got: Vec<u8>,
    interrupt_next: bool,
}

impl AsyncWrite for InterruptingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.interrupt_next {
            self.interrupt_next = true;
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        self.interrupt_next = false;
        let n = buf.len().min(2);
        self.got.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const TEXT: &[u8] = b"first line\nsecond line\nthe rest, without a newline";

#[test]
fn interrupted_is_retried_by_read_exact_read_to_end_read_line_write_all_and_copy() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            let mut exact = [0u8; 10];
            InterruptingReader::new(TEXT)
                .read_exact(&mut exact)
                .await
                .expect("read_exact retries Interrupted");
            assert_eq!(&exact, b"first line");

            let mut all = Vec::new();
            let n = InterruptingReader::new(TEXT)
                .read_to_end(&mut all)
                .await
                .expect("read_to_end retries Interrupted");
            assert_eq!((n, all.as_slice()), (TEXT.len(), TEXT));

            let mut s = String::new();
            InterruptingReader::new(TEXT)
                .read_to_string(&mut s)
                .await
                .expect("read_to_string retries Interrupted");
            assert_eq!(s.as_bytes(), TEXT);

            // BufReader passes the reader's Interrupted through fill_buf; read_line retries.
            let mut lines = BufReader::with_capacity(4, InterruptingReader::new(TEXT));
            let mut line = String::new();
            lines.read_line(&mut line).await.expect("read_line retries");
            assert_eq!(line, "first line\n");

            let mut w = InterruptingWriter::default();
            w.write_all(TEXT)
                .await
                .expect("write_all retries Interrupted");
            assert_eq!(w.got, TEXT);

            let mut w = InterruptingWriter::default();
            let copied = netpoll::io::copy(&mut InterruptingReader::new(TEXT), &mut w)
                .await
                .expect("copy retries Interrupted");
            assert_eq!((copied, w.got.as_slice()), (TEXT.len() as u64, TEXT));
        })
    });
}

/// Initialises the whole buffer it is given (zeroing it), but fills only 5 bytes per read,
/// for 3 reads.
struct InitsMoreThanItFills {
    reads: u32,
}

impl AsyncRead for InitsMoreThanItFills {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.reads == 3 {
            return Poll::Ready(Ok(()));
        }
        self.reads += 1;
        let unfilled = buf.initialize_unfilled();
        let n = unfilled.len().min(5);
        for b in &mut unfilled[..n] {
            *b = b'a' + self.reads as u8;
        }
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[test]
fn read_to_end_counts_filled_bytes_not_initialised_ones() {
    bounded(LIMIT, || {
        rt_current().block_on(async {
            for cap in [0, 3, 32, 4096] {
                let mut v = Vec::with_capacity(cap);
                v.extend_from_slice(b"xy");
                let n = InitsMoreThanItFills { reads: 0 }
                    .read_to_end(&mut v)
                    .await
                    .unwrap();
                assert_eq!(n, 15, "capacity {cap}");
                assert_eq!(v, b"xybbbbbcccccddddd", "capacity {cap}");
            }
        })
    });
}

/// `timeout(1 ms, loop over an always-ready resource)`: must end with `Elapsed`, on a
/// `block_on` future and in a spawned task, on both flavours.
fn times_out<F, Fut>(make: F)
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for runtime in [rt_current(), rt(2)] {
        let m = make.clone();
        let r = runtime.block_on(netpoll::time::timeout(Duration::from_millis(1), m()));
        assert!(r.is_err(), "block_on: the timer must fire");
        let m = make.clone();
        let r = runtime.block_on(async move {
            netpoll::spawn(netpoll::time::timeout(Duration::from_millis(1), m()))
                .await
                .unwrap()
        });
        assert!(r.is_err(), "spawned: the timer must fire");
    }
}

#[test]
fn timeout_fires_around_always_ready_io_empty_repeat_sink() {
    bounded(LIMIT, || {
        times_out(|| async {
            let mut buf = [0u8; 8];
            loop {
                let _ = netpoll::io::empty().read(&mut buf).await;
            }
        });
        times_out(|| async {
            let mut buf = [0u8; 8];
            let mut r = netpoll::io::repeat(7);
            loop {
                let _ = r.read(&mut buf).await;
            }
        });
        times_out(|| async {
            let mut s = netpoll::io::sink();
            loop {
                let _ = s.write(b"x").await;
            }
        });
    });
}

#[test]
fn timeout_fires_around_always_ready_duplex_and_channels() {
    bounded(LIMIT, || {
        times_out(|| async {
            let (mut a, mut b) = netpoll::io::duplex(64);
            let mut buf = [0u8; 1];
            loop {
                a.write_all(b"x").await.unwrap();
                b.read_exact(&mut buf).await.unwrap();
            }
        });
        times_out(|| async {
            let (tx, mut rx) = netpoll::sync::mpsc::channel(4);
            loop {
                tx.send(1u8).await.unwrap();
                rx.recv().await.unwrap();
            }
        });
        times_out(|| async {
            let (tx, mut rx) = netpoll::sync::broadcast::channel(4);
            loop {
                tx.send(1u8).unwrap();
                rx.recv().await.unwrap();
            }
        });
        times_out(|| async {
            loop {
                let (tx, rx) = netpoll::sync::oneshot::channel();
                tx.send(1u8).unwrap();
                rx.await.unwrap();
            }
        });
    });
}

#[test]
fn unconstrained_lifts_the_budget_and_consume_budget_spends_it() {
    bounded(LIMIT, || {
        rt(1).block_on(async {
            // Inside `unconstrained` the budget never runs out: 10k always-ready reads finish
            // in one poll.
            let polls = netpoll::spawn(async {
                let mut polls = 0u32;
                let counted = CountPolls {
                    polls: &mut polls,
                    inner: Box::pin(netpoll::task::unconstrained(async {
                        let mut buf = [0u8; 1];
                        for _ in 0..10_000 {
                            netpoll::io::repeat(1).read(&mut buf).await.unwrap();
                        }
                    })),
                };
                counted.await;
                polls
            })
            .await
            .unwrap();
            assert_eq!(polls, 1);

            // `consume_budget` yields after the task's budget (128) is spent.
            let polls = netpoll::spawn(async {
                let mut polls = 0u32;
                let counted = CountPolls {
                    polls: &mut polls,
                    inner: Box::pin(async {
                        for _ in 0..1000 {
                            netpoll::task::consume_budget().await;
                        }
                    }),
                };
                counted.await;
                polls
            })
            .await
            .unwrap();
            assert!(polls >= 1000 / 128, "{polls} polls");
        })
    });
}

struct CountPolls<'a, F> {
    polls: &'a mut u32,
    inner: Pin<Box<F>>,
}

impl<F: std::future::Future> std::future::Future for CountPolls<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        *self.polls += 1;
        self.inner.as_mut().poll(cx)
    }
}
