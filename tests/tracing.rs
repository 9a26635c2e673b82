//! The `tracing` feature: spawn events, a span per task poll, and sysmon's long-poll event,
//! observed by a minimal hand-written `Subscriber` installed as the global default.
mod support;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::bounded;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default)]
struct Seen {
    /// (target, message or span name) -> count
    counts: HashMap<(String, String), u64>,
    /// Fields of the long-poll events.
    long_polls: Vec<HashMap<String, String>>,
    /// task ids of poll spans entered.
    polled_tasks: Vec<u64>,
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

/// A span's target, name and `task_id` field.
type SpanInfo = (String, String, Option<u64>);

struct Recorder {
    next: AtomicU64,
    seen: Arc<Mutex<Seen>>,
    spans: Mutex<HashMap<u64, SpanInfo>>,
}

impl Subscriber for Recorder {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.target().starts_with("netpoll")
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, SeqCst) + 1;
        let mut f = Fields::default();
        attrs.record(&mut f);
        let task = f.0.get("task_id").and_then(|v| v.parse().ok());
        let meta = attrs.metadata();
        self.spans.lock().unwrap().insert(
            id,
            (meta.target().to_string(), meta.name().to_string(), task),
        );
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let msg = f.0.get("message").cloned().unwrap_or_default();
        let mut seen = self.seen.lock().unwrap();
        *seen
            .counts
            .entry((event.metadata().target().to_string(), msg.clone()))
            .or_default() += 1;
        if msg == "long poll" {
            seen.long_polls.push(f.0);
        }
    }
    fn enter(&self, id: &Id) {
        let span = self.spans.lock().unwrap().get(&id.into_u64()).cloned();
        if let Some((target, name, task)) = span {
            let mut seen = self.seen.lock().unwrap();
            *seen.counts.entry((target, name)).or_default() += 1;
            if let Some(t) = task {
                seen.polled_tasks.push(t);
            }
        }
    }
    fn exit(&self, _: &Id) {}
    fn try_close(&self, id: Id) -> bool {
        self.spans.lock().unwrap().remove(&id.into_u64());
        true
    }
}

#[test]
fn spawn_poll_and_sysmon_are_traced() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    tracing::subscriber::set_global_default(Recorder {
        next: AtomicU64::new(0),
        seen: seen.clone(),
        spans: Mutex::new(HashMap::new()),
    })
    .expect("the only global subscriber of this test binary");
    bounded(Duration::from_secs(60), move || {
        let rt = netpoll::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .log_long_polls(false)
            .build()
            .expect("runtime");
        rt.block_on(async {
            let tasks: Vec<_> = (0..100u64)
                .map(|i| netpoll::spawn(async move { i * 2 }))
                .collect();
            for (i, t) in tasks.into_iter().enumerate() {
                assert_eq!(t.await.expect("task"), i as u64 * 2);
            }
            // A task that blocks its worker for 100 ms: sysmon reports a long poll.
            netpoll::spawn(async { std::thread::sleep(Duration::from_millis(100)) })
                .await
                .expect("blocker");
        });
        drop(rt);
        let seen = seen.lock().unwrap();
        let count = |t: &str, m: &str| {
            seen.counts
                .get(&(t.to_string(), m.to_string()))
                .copied()
                .unwrap_or(0)
        };
        assert!(count("netpoll::task", "spawn") >= 101, "{:?}", seen.counts);
        assert!(count("netpoll::task", "poll") >= 101, "{:?}", seen.counts);
        assert!(!seen.polled_tasks.is_empty());
        let lp = seen
            .long_polls
            .first()
            .unwrap_or_else(|| panic!("no long-poll event: {:?}", seen.counts));
        for field in ["task_id", "worker", "ms", "handed_off"] {
            assert!(
                lp.contains_key(field),
                "long poll event without {field}: {lp:?}"
            );
        }
        let ms: u64 = lp["ms"].parse().expect("ms");
        assert!(ms >= 10, "{lp:?}");
    });
}
