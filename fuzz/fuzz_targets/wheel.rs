//! Fuzzes the runtime's hierarchical timer wheel (`runtime/src/time/wheel.rs`) against a model.
//!
//! The wheel is `pub(crate)`, so its source file is compiled into this target as a module. The
//! input is a sequence of operations: insert with a deadline (near, far, on level boundaries,
//! past, at the end of time, equal to another timer's), remove a live timer, try stale keys,
//! replace a waker, advance (before `elapsed`, to `next_expiry`, just before the earliest
//! deadline, far ahead). The model is a `BTreeMap` of (deadline, id) -> timer. Checked after every
//! operation:
//!
//! - an advance to `now` fires exactly the timers with `when <= now`, each once, with the waker
//!   most recently set, timers inserted already due first and the rest in ascending `when`;
//!   `elapsed` becomes `max(now, elapsed)` and never goes back;
//! - `remove` of a live key returns that timer's waker; of a stale key (removed, fired, or whose
//!   slab slot has been reused) it returns `None`, `set_waker` returns `Err`, and nothing changes;
//! - `set_waker` with a new waker returns the old one;
//! - `len`/`is_empty` match the model; `next_expiry` is `None` iff empty, `elapsed` if a timer is
//!   already due, else after `elapsed` and never later than the earliest deadline;
//! - at the end, advancing to `u64::MAX` fires everything left.

#![no_main]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use libfuzzer_sys::fuzz_target;
use netpoll_fuzz::Reader;

#[path = "../../runtime/src/time/wheel.rs"]
mod wheel;

use wheel::{TimerKey, Wheel};

/// Tags of the wakers woken, in order.
static WOKEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// A waker that logs its tag in `WOKEN`.
struct Tag(u64);

impl Wake for Tag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        WOKEN.lock().unwrap().push(self.0);
    }
}

/// A pending timer of the model.
struct Live {
    key: TimerKey,
    /// A clone of the waker the wheel holds, and its tag.
    waker: Waker,
    tag: u64,
    /// Inserted with `when <= elapsed`: fires first at the next advance.
    due_at_insert: bool,
}

struct Harness {
    wheel: Wheel,
    /// (deadline, id) -> timer.
    model: BTreeMap<(u64, u64), Live>,
    /// Keys of timers that fired or were removed.
    dead: Vec<TimerKey>,
    next_id: u64,
    next_tag: u64,
    fired: Vec<Waker>,
    last_elapsed: u64,
}

impl Harness {
    fn waker(&mut self) -> (Waker, u64) {
        let tag = self.next_tag;
        self.next_tag += 1;
        (Waker::from(Arc::new(Tag(tag))), tag)
    }

    fn earliest(&self) -> Option<u64> {
        self.model.keys().next().map(|&(when, _)| when)
    }

    fn deadline(&self, r: &mut Reader) -> u64 {
        let elapsed = self.wheel.elapsed();
        match r.u8() % 10 {
            0 => elapsed.saturating_sub(u64::from(r.u8())),
            1 => elapsed.saturating_add(u64::from(r.u8() % 64)),
            2 => elapsed.saturating_add(u64::from(r.u16())),
            3 => elapsed.saturating_add(u64::from(r.u32())),
            4 => elapsed.saturating_add(r.u64() >> (r.u8() % 64)),
            5 => {
                // Around the start of the next slot of some level (or of the overflow).
                let shift = 6 * (1 + u32::from(r.u8() % 7));
                let boundary = (elapsed >> shift << shift).saturating_add(1 << shift);
                boundary
                    .saturating_add(1)
                    .saturating_sub(u64::from(r.u8() % 3))
            }
            6 => u64::MAX - u64::from(r.u8()),
            7 => r.u64(),
            8 => elapsed.saturating_add(1 << (r.u8() % 64)),
            _ => {
                // Another timer's deadline.
                let i = usize::from(r.u16());
                match self.model.len() {
                    0 => elapsed.saturating_add(1),
                    n => self.model.keys().nth(i % n).unwrap().0,
                }
            }
        }
    }

    fn insert(&mut self, r: &mut Reader) {
        let when = self.deadline(r);
        let (waker, tag) = self.waker();
        let due_at_insert = when <= self.wheel.elapsed();
        let key = self.wheel.insert(when, waker.clone());
        let id = self.next_id;
        self.next_id += 1;
        let live = Live {
            key,
            waker,
            tag,
            due_at_insert,
        };
        assert!(self.model.insert((when, id), live).is_none());
    }

    fn remove(&mut self, r: &mut Reader) {
        let i = usize::from(r.u16());
        if self.model.is_empty() {
            return;
        }
        let k = *self.model.keys().nth(i % self.model.len()).unwrap();
        let live = self.model.remove(&k).unwrap();
        let waker = self.wheel.remove(live.key).expect("remove of a live key");
        assert_eq!(
            waker.data(),
            live.waker.data(),
            "remove returned another waker"
        );
        assert!(self.wheel.remove(live.key).is_none(), "second remove");
        self.dead.push(live.key);
    }

    fn stale(&mut self, r: &mut Reader) {
        let i = usize::from(r.u16());
        if self.dead.is_empty() {
            return;
        }
        let key = self.dead[i % self.dead.len()];
        let (len, next) = (self.wheel.len(), self.wheel.next_expiry());
        let (intruder, _) = self.waker();
        assert!(self.wheel.remove(key).is_none(), "remove of a stale key");
        assert!(
            self.wheel.set_waker(key, &intruder).is_err(),
            "set_waker of a stale key"
        );
        assert_eq!((self.wheel.len(), self.wheel.next_expiry()), (len, next));
        let _ = format!("{:?}", self.wheel);
    }

    fn set_waker(&mut self, r: &mut Reader) {
        let (i, fresh) = (usize::from(r.u16()), r.u8() & 1 == 0);
        if self.model.is_empty() {
            return;
        }
        let k = *self.model.keys().nth(i % self.model.len()).unwrap();
        if fresh {
            let (waker, tag) = self.waker();
            let live = self.model.get_mut(&k).unwrap();
            let old = self.wheel.set_waker(live.key, &waker);
            let old = old
                .expect("set_waker of a live key")
                .expect("a new waker replaces");
            assert_eq!(
                old.data(),
                live.waker.data(),
                "set_waker returned another waker"
            );
            live.waker = waker;
            live.tag = tag;
        } else {
            // The same task's waker again: nothing to replace (`will_wake` is best effort, so a
            // replacement by an equivalent waker is allowed too).
            let live = &self.model[&k];
            match self.wheel.set_waker(live.key, &live.waker.clone()) {
                Ok(None) => {}
                Ok(Some(old)) => assert_eq!(old.data(), live.waker.data()),
                Err(()) => panic!("set_waker of a live key failed"),
            }
        }
    }

    fn now(&self, r: &mut Reader) -> u64 {
        let elapsed = self.wheel.elapsed();
        let next = self.wheel.next_expiry().unwrap_or(elapsed);
        let earliest = self.earliest().unwrap_or(elapsed);
        match r.u8() % 10 {
            0 => elapsed.saturating_sub(u64::from(r.u8())),
            1 => elapsed.saturating_add(u64::from(r.u8() % 8)),
            2 => next,
            3 => next.saturating_sub(1),
            4 => earliest,
            5 => earliest.saturating_sub(1),
            6 => elapsed.saturating_add(u64::from(r.u16())),
            7 => elapsed.saturating_add(r.u64() >> (r.u8() % 64)),
            8 => r.u64(),
            _ => elapsed.saturating_add(1 << (r.u8() % 64)),
        }
    }

    fn advance(&mut self, now: u64) {
        let effective = now.max(self.wheel.elapsed());
        self.wheel.advance(now, &mut self.fired);
        assert_eq!(
            self.wheel.elapsed(),
            effective,
            "elapsed after advance({now})"
        );
        let count = self.fired.len();
        for waker in self.fired.drain(..) {
            waker.wake();
        }
        let woken = std::mem::take(&mut *WOKEN.lock().unwrap());
        assert_eq!(woken.len(), count);

        // What should have fired: every timer due by `effective`.
        let due: Vec<(u64, u64)> = self
            .model
            .range(..=(effective, u64::MAX))
            .map(|(&k, _)| k)
            .collect();
        let by_tag: HashMap<u64, (u64, u64, bool)> = due
            .iter()
            .map(|k| {
                let live = &self.model[k];
                (live.tag, (k.0, k.1, live.due_at_insert))
            })
            .collect();
        let mut ids = Vec::with_capacity(woken.len());
        let mut last_when = 0;
        let mut in_due_group = true;
        for tag in &woken {
            let Some(&(when, id, due_at_insert)) = by_tag.get(tag) else {
                panic!("advance({now}) woke tag {tag}, not a due timer's current waker");
            };
            ids.push(id);
            if due_at_insert {
                assert!(in_due_group, "a timer inserted due fired after a later one");
            } else {
                in_due_group = false;
                assert!(
                    when >= last_when,
                    "fired out of order: {when} after {last_when}"
                );
                last_when = when;
            }
        }
        ids.sort_unstable();
        let mut expected: Vec<u64> = due.iter().map(|&(_, id)| id).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "advance({now}) to {effective}: fired set");
        for k in due {
            let live = self.model.remove(&k).unwrap();
            self.dead.push(live.key);
        }
    }

    fn check(&mut self) {
        let w = &self.wheel;
        assert_eq!(w.len(), self.model.len());
        assert_eq!(w.is_empty(), self.model.is_empty());
        let elapsed = w.elapsed();
        assert!(elapsed >= self.last_elapsed, "elapsed went back");
        self.last_elapsed = elapsed;
        match (w.next_expiry(), self.earliest()) {
            (None, None) => {}
            (Some(next), Some(earliest)) if earliest <= elapsed => {
                assert_eq!(next, elapsed, "a timer is due: next_expiry must be elapsed")
            }
            (Some(next), Some(earliest)) => {
                assert!(
                    next > elapsed,
                    "next_expiry {next} not after elapsed {elapsed}"
                );
                assert!(
                    next <= earliest,
                    "next_expiry {next} later than deadline {earliest}"
                );
            }
            (next, earliest) => panic!("next_expiry {next:?}, earliest deadline {earliest:?}"),
        }
        if self.dead.len() > 256 {
            self.dead.drain(..128);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    WOKEN.lock().unwrap().clear();
    let mut h = Harness {
        wheel: Wheel::new(),
        model: BTreeMap::new(),
        dead: Vec::new(),
        next_id: 0,
        next_tag: 0,
        fired: Vec::new(),
        last_elapsed: 0,
    };
    assert_eq!(h.wheel.next_expiry(), None);
    let mut r = Reader::new(data);
    while !r.is_empty() {
        match r.u8() % 8 {
            0..=2 => h.insert(&mut r),
            3 => h.remove(&mut r),
            4 => h.stale(&mut r),
            5 => h.set_waker(&mut r),
            _ => {
                let now = h.now(&mut r);
                h.advance(now);
            }
        }
        h.check();
    }
    h.advance(u64::MAX);
    h.check();
    assert!(h.wheel.is_empty() && h.model.is_empty());
    assert_eq!(h.wheel.next_expiry(), None);
    for key in std::mem::take(&mut h.dead) {
        assert!(h.wheel.remove(key).is_none());
    }
});
