//! A hierarchical timing wheel: the store behind every pending timer of the runtime.
//!
//! # Time
//!
//! The wheel counts time in integer *ticks* (the timer driver maps one tick to one millisecond,
//! but nothing in this file knows that). `elapsed` is the tick the wheel has been advanced to;
//! it never goes backwards.
//!
//! # Structure
//!
//! There are [`LEVELS`] = 6 levels of [`SLOTS`] = 64 slots. A slot of level `L` covers
//! `64^L` consecutive ticks, so level `L` as a whole covers `64^(L + 1)` ticks and the six
//! levels together cover `64^6 = 2^36` ticks (about 795 days at 1 ms per tick). Read as bits,
//! a deadline is six 6-bit digits (plus the bits above 36): digit `L` is the slot index at
//! level `L`.
//!
//! A timer due at `when` is filed, relative to the current `elapsed`, in exactly one list:
//!
//! * `when <= elapsed`: the *due list*; it fires on the next [`Wheel::advance`], whatever its
//!   `now`.
//! * otherwise let `L` be the 6-bit digit holding the highest bit in which `when` and `elapsed`
//!   differ. If `L < 6` the timer goes to level `L`, slot `digit L of when`. Because both
//!   numbers agree above digit `L` and `when > elapsed`, that slot lies strictly ahead of the
//!   level's current position, in the level's current rotation.
//! * if they differ above bit 36 the deadline is beyond the range of the last level and the
//!   timer is clamped into the *overflow list* of the last level: an extra list that comes due
//!   when `elapsed` reaches the start of the next rotation of level 5 (the next multiple of
//!   `2^36`), at which point every timer in it is filed again.
//!
//! Every list is an intrusive doubly-linked list threaded through the entries of a
//! [`slab::Slab`] by slab index (`u32`, with `u32::MAX` as "none"), so unlinking a timer is
//! O(1). Each level keeps a `u64` occupancy bitmap (bit `s` set iff slot `s` is non-empty),
//! so the next non-empty slot of a level is one `trailing_zeros`.
//!
//! # Cascading
//!
//! [`Wheel::advance`] repeatedly takes the earliest non-empty slot. The earliest one is always
//! in the lowest non-empty level: every slot of level `L` starts before the level's rotation
//! ends, which is no later than the start of the next slot of level `L + 1`. If that slot's
//! first tick is `<= now`, `elapsed` moves to that tick and the slot's list is emptied: timers
//! whose `when` equals it fire, the others are filed again relative to the new `elapsed`,
//! which always puts them at a strictly lower level (they now differ from `elapsed` only in
//! the digits below `L`). A timer therefore moves at most five times before it fires, plus once
//! per overflow pass. The overflow list is only taken when every level is empty; then
//! `elapsed` can jump straight to `min(now, earliest deadline in the list)`, so a far jump of
//! `now` costs one pass over the overflow list, not one pass per `2^36` ticks.
//!
//! Slots are visited in increasing start tick, so timers fire in ascending order of `when`,
//! except that timers from the due list (inserted at or before `elapsed`) come first.
//!
//! # Why a wheel and not a heap
//!
//! A runtime can have a million sleeping timers, most of which are cancelled (a timeout that
//! did not expire is dropped with its future). With a wheel, insert and remove are O(1) and
//! cancellation on drop is an unlink, with no lazy deletion leaving dead entries behind; a
//! binary heap needs O(log n) per operation and either an index map or tombstones for removal.
//! The price is granularity: deadlines are whole ticks (1 ms), and [`Wheel::next_expiry`]
//! can only promise the first tick of the earliest non-empty slot, which may be earlier than
//! the true deadline (the driver then wakes early, cascades, and asks again).
//!
//! # Invariants (between calls)
//!
//! 1. Every pending timer is in exactly one list, the one that the placement rule above gives
//!    for its `when` and the current `elapsed`; so that list can be recomputed, and an entry
//!    does not need to store where it is.
//! 2. Bit `s` of `occupied[L]` is set iff the list of level `L`, slot `s` is non-empty.
//! 3. Every non-empty slot starts strictly after `elapsed` (so no slot is ever skipped), and
//!    lies in the current rotation of its level.
//! 4. `overflow_min` is `<=` the deadline of every timer in the overflow list (a lower bound:
//!    removing a timer does not raise it), and `u64::MAX` when that list is empty.
//! 5. A key is live iff the slab holds an entry at its index with the same generation; each
//!    insert uses a fresh generation, so a stale key never matches a reused slab slot.

use std::fmt;
use std::task::Waker;

use slab::Slab;

/// Bits of a deadline consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Mask selecting one level's digit.
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Number of levels.
const LEVELS: usize = 6;
/// Deadlines that differ from `elapsed` at or above this bit go to the overflow list.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Ticks covered by all levels together (`64^6`).
const WHEEL_SPAN: u64 = 1 << WHEEL_BITS;

/// List id of the overflow list (the lists `0..OVERFLOW` are `level * SLOTS + slot`).
const OVERFLOW: usize = LEVELS * SLOTS;
/// List id of the due list (timers inserted with `when <= elapsed`).
const DUE: usize = OVERFLOW + 1;
/// Number of lists.
const LISTS: usize = DUE + 1;
/// "No entry" in the intrusive links.
const NIL: u32 = u32::MAX;

/// Handle to a timer in a [`Wheel`]: its slab index plus the generation it was inserted with.
///
/// Once the timer fires or is removed the key is stale, and every operation taking it returns
/// `false` and leaves the wheel untouched, even when the slab index has been reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u64,
}

/// One pending timer (40 bytes on 64-bit targets).
struct Entry {
    waker: Waker,
    when: u64,
    generation: u64,
    prev: u32,
    next: u32,
}

/// A hierarchical timing wheel of pending timers keyed by integer ticks.
///
/// See the module documentation for the structure and invariants.
pub(crate) struct Wheel {
    entries: Slab<Entry>,
    /// First entry of every list, indexed by list id.
    heads: [u32; LISTS],
    /// Per level, bit `s` set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    elapsed: u64,
    /// Generation given to the next inserted timer.
    next_generation: u64,
    /// Lower bound of the deadlines in the overflow list (`u64::MAX` when empty).
    overflow_min: u64,
}

impl Wheel {
    /// An empty wheel whose current time is tick 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Slab::new(),
            heads: [NIL; LISTS],
            occupied: [0; LEVELS],
            elapsed: 0,
            next_generation: 0,
            overflow_min: u64::MAX,
        }
    }

    /// The tick the wheel has advanced to (the `now` of the last [`advance`](Wheel::advance),
    /// or 0).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no timer is pending.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts a timer due at tick `when`, whose `waker` is handed out when it fires.
    ///
    /// If `when <= self.elapsed()` the timer fires at the next [`advance`](Wheel::advance),
    /// whatever its `now`. O(1).
    ///
    /// # Panics
    ///
    /// If `u32::MAX` timers are already pending (slab indices are stored as `u32`).
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> TimerKey {
        let slot = self.entries.vacant_entry();
        let index = match u32::try_from(slot.key()) {
            Ok(index) if index != NIL => index,
            _ => panic!("timer wheel: too many pending timers"),
        };
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        slot.insert(Entry {
            waker,
            when,
            generation,
            prev: NIL,
            next: NIL,
        });
        let list = self.list_for(when);
        self.push_front(list, index);
        TimerKey { index, generation }
    }

    /// Replaces the waker of a pending timer, cloning `waker` only if the stored one would not
    /// wake the same task. Returns `false`, changing nothing, if the key is stale.
    /// Returns `Err(())` for a stale key, else the replaced waker (if it was replaced) for the
    /// caller to drop outside its lock: dropping a waker may drop a task, whose destructor may
    /// touch the timers again.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) -> Result<Option<Waker>, ()> {
        match self.entries.get_mut(key.index as usize) {
            Some(entry) if entry.generation == key.generation => {
                if entry.waker.will_wake(waker) {
                    Ok(None)
                } else {
                    Ok(Some(std::mem::replace(&mut entry.waker, waker.clone())))
                }
            }
            _ => Err(()),
        }
    }

    /// Removes a pending timer and returns its waker, for the caller to drop outside its lock
    /// (see `set_waker`). Returns `None`, changing nothing, if the key is stale (the timer
    /// already fired or was removed). O(1).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        let when = match self.entries.get(key.index as usize) {
            Some(entry) if entry.generation == key.generation => entry.when,
            _ => return None,
        };
        let list = self.list_for(when);
        self.unlink(list, key.index);
        Some(self.entries.remove(key.index as usize).waker)
    }

    /// The earliest tick at which some pending timer is due, or `None` if the wheel is empty.
    ///
    /// Never later than the earliest pending deadline, but possibly earlier: for a timer in a
    /// level above 0 it is the first tick of its slot. If a timer is already due (inserted
    /// with `when <= elapsed`) it is `Some(self.elapsed())`; otherwise it is after `elapsed`.
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        if self.heads[DUE] != NIL {
            return Some(self.elapsed);
        }
        match self.next_list()? {
            (start, OVERFLOW) => Some(start.max(self.overflow_min)),
            (start, _) => Some(start),
        }
    }

    /// Advances to tick `now` (a `now` before `elapsed` counts as `elapsed`).
    ///
    /// Every timer with `when <= now` is removed and its waker pushed onto `fired`, in
    /// ascending order of `when` except that timers inserted at or before `elapsed` come
    /// first. No waker is woken here: the caller wakes them after releasing its lock. No timer
    /// with `when > now` fires. Costs O(1) per fired or cascaded timer plus O(levels) per
    /// visited slot.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) {
        let now = now.max(self.elapsed);
        let due = self.take_list(DUE);
        self.refile(due, fired);

        while let Some((start, list)) = self.next_list() {
            if start > now {
                break;
            }
            if list == OVERFLOW {
                // Every level is empty (otherwise a level slot would come first), so every
                // pending timer is in this list and time may jump to the earliest of them.
                let head = self.take_list(OVERFLOW);
                let mut earliest = u64::MAX;
                let mut index = head;
                while index != NIL {
                    let entry = &self.entries[index as usize];
                    earliest = earliest.min(entry.when);
                    index = entry.next;
                }
                let target = now.min(earliest);
                debug_assert!(target >= start && start > self.elapsed);
                self.elapsed = target;
                self.refile(head, fired);
            } else {
                debug_assert!(start > self.elapsed);
                self.elapsed = start;
                let head = self.take_list(list);
                self.refile(head, fired);
            }
        }
        self.elapsed = now;
    }

    /// The list a timer due at `when` belongs in, given the current `elapsed`.
    fn list_for(&self, when: u64) -> usize {
        if when <= self.elapsed {
            return DUE;
        }
        let differing = when ^ self.elapsed;
        if differing >= WHEEL_SPAN {
            return OVERFLOW;
        }
        let level = (u64::BITS - 1 - differing.leading_zeros()) / SLOT_BITS;
        let slot = (when >> (level * SLOT_BITS)) & SLOT_MASK;
        level as usize * SLOTS + slot as usize
    }

    /// The earliest non-empty wheel list (a level slot or the overflow list) and the first
    /// tick it covers. The due list is not considered.
    fn next_list(&self) -> Option<(u64, usize)> {
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits != 0 {
                let slot = bits.trailing_zeros();
                let shift = level as u32 * SLOT_BITS;
                let rotation_start = self.elapsed & !((1u64 << (shift + SLOT_BITS)) - 1);
                let start = rotation_start + (u64::from(slot) << shift);
                return Some((start, level * SLOTS + slot as usize));
            }
        }
        if self.heads[OVERFLOW] != NIL {
            // The next rotation of the last level. It cannot overflow: an overflow timer is
            // above `elapsed` in some bit at or over `WHEEL_BITS`.
            let start = (self.elapsed | (WHEEL_SPAN - 1)).saturating_add(1);
            return Some((start, OVERFLOW));
        }
        None
    }

    /// Walks a detached list: fires every entry due at `elapsed`, files the others again.
    fn refile(&mut self, head: u32, fired: &mut Vec<Waker>) {
        let mut index = head;
        while index != NIL {
            let entry = &self.entries[index as usize];
            let (when, next) = (entry.when, entry.next);
            if when <= self.elapsed {
                fired.push(self.entries.remove(index as usize).waker);
            } else {
                let list = self.list_for(when);
                self.push_front(list, index);
            }
            index = next;
        }
    }

    /// Links entry `index` at the front of `list` and marks the list non-empty.
    fn push_front(&mut self, list: usize, index: u32) {
        let head = self.heads[list];
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = head;
        let when = entry.when;
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[list] = index;
        if list < OVERFLOW {
            self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
        } else if list == OVERFLOW {
            self.overflow_min = self.overflow_min.min(when);
        }
    }

    /// Unlinks entry `index` from `list` (the list it is in).
    fn unlink(&mut self, list: usize, index: u32) {
        let entry = &self.entries[index as usize];
        let (prev, next) = (entry.prev, entry.next);
        if prev == NIL {
            debug_assert_eq!(
                self.heads[list], index,
                "timer wheel: entry not in its list"
            );
            self.heads[list] = next;
            if next == NIL {
                self.mark_empty(list);
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Detaches the whole of `list`, returning its first entry (the rest follow by `next`).
    fn take_list(&mut self, list: usize) -> u32 {
        let head = self.heads[list];
        self.heads[list] = NIL;
        self.mark_empty(list);
        head
    }

    /// Bookkeeping for a list that has just become empty.
    fn mark_empty(&mut self, list: usize) {
        if list < OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        } else if list == OVERFLOW {
            self.overflow_min = u64::MAX;
        }
    }
}

impl Default for Wheel {
    fn default() -> Wheel {
        Wheel::new()
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len())
            .field("next_expiry", &self.next_expiry())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;
    use std::time::Instant;

    /// Deadlines on both sides of every level boundary, and far beyond the wheel's range.
    const DEADLINES: &[u64] = &[
        0,
        1,
        2,
        63,
        64,
        65,
        127,
        128,
        4095,
        4096,
        4097,
        262_143,
        262_144,
        262_145,
        (1 << 24) - 1,
        1 << 24,
        (1 << 30) - 1,
        1 << 30,
        (1 << 30) + 1,
        (1 << 36) - 1,
        1 << 36,
        (1 << 36) + 17,
        (1 << 42) + 3,
        u64::MAX / 2,
        u64::MAX - 1,
        u64::MAX,
    ];

    struct Counter {
        hits: AtomicUsize,
    }

    impl Counter {
        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.hits.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter {
            hits: AtomicUsize::new(0),
        });
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    /// A waker that logs its id when woken, so fired sets can be compared exactly.
    struct Tagged {
        id: u64,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Wake for Tagged {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn tagged(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(Tagged {
            id,
            log: log.clone(),
        }))
    }

    /// Wakes and drops every fired waker; returns how many there were.
    fn wake_all(fired: &mut Vec<Waker>) -> usize {
        let n = fired.len();
        for waker in fired.drain(..) {
            waker.wake();
        }
        n
    }

    /// Ids logged by tagged wakers since the last call, in wake order.
    fn take_log(log: &Arc<Mutex<Vec<u64>>>) -> Vec<u64> {
        std::mem::take(&mut *log.lock().unwrap())
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A value below `2^b`, with `b` uniform in `0..max_bits` (spreads over all levels).
        fn scaled(&mut self, max_bits: u64) -> u64 {
            let bits = self.below(max_bits);
            self.below(1 << bits)
        }
    }

    impl Wheel {
        /// Checks every invariant of the module documentation by walking all lists.
        fn assert_consistent(&self) {
            let mut seen = 0;
            for list in 0..LISTS {
                let head = self.heads[list];
                if list < OVERFLOW {
                    let bit = (self.occupied[list / SLOTS] >> (list % SLOTS)) & 1;
                    assert_eq!(bit == 1, head != NIL, "occupancy bit of list {list}");
                } else if list == OVERFLOW && head == NIL {
                    assert_eq!(self.overflow_min, u64::MAX);
                }
                let mut prev = NIL;
                let mut index = head;
                while index != NIL {
                    let entry = &self.entries[index as usize];
                    assert_eq!(entry.prev, prev, "back link");
                    assert_eq!(self.list_for(entry.when), list, "entry filed in wrong list");
                    if list < OVERFLOW {
                        let level = list / SLOTS;
                        let shift = level as u32 * SLOT_BITS;
                        let start = entry.when >> shift << shift;
                        assert!(start > self.elapsed, "slot not ahead of elapsed");
                    } else if list == OVERFLOW {
                        assert!(self.overflow_min <= entry.when);
                    }
                    seen += 1;
                    prev = index;
                    index = entry.next;
                }
            }
            assert_eq!(seen, self.entries.len(), "entries outside every list");
        }
    }

    #[test]
    fn entry_is_compact() {
        assert!(std::mem::size_of::<Entry>() <= 40);
        assert!(std::mem::size_of::<TimerKey>() <= 16);
    }

    #[test]
    fn empty_wheel() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.elapsed(), 0);
        assert_eq!(wheel.len(), 0);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiry(), None);
        let mut fired = Vec::new();
        wheel.advance(12_345, &mut fired);
        assert!(fired.is_empty());
        assert_eq!(wheel.elapsed(), 12_345);
        assert_eq!(wheel.next_expiry(), None);
        assert!(format!("{wheel:?}").contains("12345"));
        let default = Wheel::default();
        assert_eq!(default.elapsed(), 0);
    }

    #[test]
    fn fires_exactly_at_deadline_stepping_single_ticks() {
        for &when in DEADLINES {
            let mut wheel = Wheel::new();
            let (counter, waker) = counting_waker();
            let key = wheel.insert(when, waker);
            let mut fired = Vec::new();
            let mut now = when.saturating_sub(3);
            loop {
                wheel.advance(now, &mut fired);
                wheel.assert_consistent();
                if now < when {
                    assert!(fired.is_empty(), "when {when} fired at {now}");
                    assert_eq!(wheel.len(), 1);
                    let next = wheel.next_expiry().unwrap();
                    assert!(next > now && next <= when, "when {when} next {next}");
                    now += 1;
                } else {
                    assert_eq!(fired.len(), 1, "when {when} did not fire at {now}");
                    break;
                }
            }
            assert_eq!(wake_all(&mut fired), 1);
            assert_eq!(counter.hits(), 1);
            assert!(wheel.is_empty());
            assert_eq!(wheel.next_expiry(), None);
            assert!(wheel.remove(key).is_none());
            wheel.advance(u64::MAX, &mut fired);
            assert!(fired.is_empty());
        }
    }

    #[test]
    fn fires_exactly_at_deadline_with_big_jumps() {
        for &when in DEADLINES {
            for parts in [1u64, 2, 3, 7, 64, 1000] {
                let step = (when / parts).max(1);
                let mut wheel = Wheel::new();
                let (counter, waker) = counting_waker();
                wheel.insert(when, waker);
                let mut fired = Vec::new();
                let mut now = 0u64;
                loop {
                    wheel.advance(now, &mut fired);
                    wheel.assert_consistent();
                    if now < when {
                        assert!(fired.is_empty(), "when {when} fired at {now}");
                        assert!(wheel.next_expiry().unwrap() <= when);
                        now = now.saturating_add(step).min(when);
                    } else {
                        assert_eq!(fired.len(), 1, "when {when} did not fire at {now}");
                        break;
                    }
                }
                assert_eq!(wake_all(&mut fired), 1);
                assert_eq!(counter.hits(), 1);
            }

            // Jumping from just before the deadline to far past it.
            let mut wheel = Wheel::new();
            wheel.insert(when, futures_task::noop_waker());
            let mut fired = Vec::new();
            if when > 0 {
                wheel.advance(when - 1, &mut fired);
                assert!(fired.is_empty());
            }
            wheel.advance(when.saturating_add(123_456_789), &mut fired);
            assert_eq!(fired.len(), 1);
            assert!(wheel.is_empty());
        }
    }

    #[test]
    fn next_expiry_driven_loop_lands_on_each_deadline() {
        for &when in DEADLINES {
            for start in [0u64, 1, 4000, 123_456_789_012] {
                if when <= start {
                    continue;
                }
                let mut wheel = Wheel::new();
                let mut fired = Vec::new();
                wheel.advance(start, &mut fired);
                wheel.insert(when, futures_task::noop_waker());
                let mut wakeups = 0;
                while fired.is_empty() {
                    let next = wheel.next_expiry().unwrap();
                    assert!(next > wheel.elapsed() && next <= when);
                    wheel.advance(next, &mut fired);
                    wheel.assert_consistent();
                    wakeups += 1;
                    assert!(wakeups <= LEVELS + 1, "when {when}: too many wake-ups");
                }
                assert_eq!(wheel.elapsed(), when);
                assert_eq!(wheel.next_expiry(), None);
            }
        }
    }

    #[test]
    fn many_timers_fire_in_order_at_their_deadlines() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = 12_345_678_901u64;
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(start, &mut fired);
        let mut deadlines = Vec::new();
        for (id, &offset) in DEADLINES.iter().enumerate() {
            let when = start.saturating_add(offset);
            deadlines.push((when, id as u64));
            wheel.insert(when, tagged(id as u64, &log));
        }
        deadlines.sort_unstable();
        wheel.assert_consistent();

        while let Some(next) = wheel.next_expiry() {
            wheel.advance(next, &mut fired);
            wheel.assert_consistent();
            wake_all(&mut fired);
            for id in take_log(&log) {
                let (when, expected) = deadlines.remove(0);
                assert_eq!(id, expected);
                assert_eq!(when.max(start), next, "timer {id} fired at the wrong tick");
            }
        }
        assert!(deadlines.is_empty());
    }

    #[test]
    fn one_big_advance_fires_in_ascending_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut wheel = Wheel::new();
        let mut whens = Vec::new();
        for id in 0..5000u64 {
            let when = 1 + rng.scaled(40);
            whens.push(when);
            wheel.insert(when, tagged(id, &log));
        }
        let mut fired = Vec::new();
        wheel.advance(1 << 39, &mut fired);
        wake_all(&mut fired);
        let order = take_log(&log);
        let expected = whens.iter().filter(|&&w| w <= 1 << 39).count();
        assert_eq!(order.len(), expected);
        for pair in order.windows(2) {
            assert!(whens[pair[0] as usize] <= whens[pair[1] as usize]);
        }
        wheel.assert_consistent();
    }

    #[test]
    fn past_and_present_deadlines_fire_on_next_advance() {
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(100, &mut fired);
        let (counter, waker) = counting_waker();
        wheel.insert(50, waker.clone());
        wheel.insert(100, waker.clone());
        wheel.insert(0, waker.clone());
        wheel.insert(101, waker);
        wheel.assert_consistent();
        assert_eq!(wheel.next_expiry(), Some(100));
        // A `now` behind `elapsed` still fires the due timers, and time does not go back.
        wheel.advance(7, &mut fired);
        assert_eq!(wheel.elapsed(), 100);
        assert_eq!(wake_all(&mut fired), 3);
        assert_eq!(counter.hits(), 3);
        assert_eq!(wheel.next_expiry(), Some(101));
        wheel.advance(100, &mut fired);
        assert!(fired.is_empty());
        wheel.advance(101, &mut fired);
        assert_eq!(wake_all(&mut fired), 1);
        assert!(wheel.is_empty());

        // Due timers fire even if the advance does not move time.
        wheel.insert(101, futures_task::noop_waker());
        wheel.advance(101, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn backwards_advance_is_clamped() {
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(1000, &mut fired);
        wheel.insert(1001, futures_task::noop_waker());
        wheel.advance(10, &mut fired);
        assert_eq!(wheel.elapsed(), 1000);
        assert!(fired.is_empty());
        wheel.assert_consistent();
        wheel.advance(1001, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn remove_before_fire_prevents_firing() {
        for &when in DEADLINES {
            let mut wheel = Wheel::new();
            let (counter, waker) = counting_waker();
            let key = wheel.insert(when, waker);
            let (other_counter, other) = counting_waker();
            wheel.insert(when, other);
            assert!(wheel.remove(key).is_some());
            wheel.assert_consistent();
            assert!(wheel.remove(key).is_none(), "double remove");
            assert_eq!(wheel.len(), 1);
            let mut fired = Vec::new();
            wheel.advance(u64::MAX, &mut fired);
            assert_eq!(wake_all(&mut fired), 1);
            assert_eq!(counter.hits(), 0);
            assert_eq!(other_counter.hits(), 1);
            // The removed waker was dropped: only the test's handle is left.
            assert_eq!(Arc::strong_count(&counter), 1);
        }
    }

    #[test]
    fn remove_after_fire_returns_false() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(70, futures_task::noop_waker());
        let mut fired = Vec::new();
        wheel.advance(70, &mut fired);
        assert_eq!(fired.len(), 1);
        assert!(wheel.remove(key).is_none());
        assert!(wheel.set_waker(key, &futures_task::noop_waker()).is_err());
        assert!(wheel.is_empty());
    }

    #[test]
    fn stale_key_after_slab_reuse_is_harmless() {
        let mut wheel = Wheel::new();
        let (old_counter, old_waker) = counting_waker();
        let old = wheel.insert(500, old_waker);
        assert!(wheel.remove(old).is_some());
        let (counter, waker) = counting_waker();
        let new = wheel.insert(500, waker);
        assert_eq!(old.index, new.index, "slab slot should be reused");
        assert_ne!(old, new);

        assert!(wheel.remove(old).is_none());
        let (intruder_counter, intruder) = counting_waker();
        assert!(wheel.set_waker(old, &intruder).is_err());
        assert_eq!(
            Arc::strong_count(&intruder_counter),
            2,
            "stale set_waker cloned"
        );
        assert_eq!(wheel.len(), 1);
        wheel.assert_consistent();

        let mut fired = Vec::new();
        wheel.advance(500, &mut fired);
        assert_eq!(wake_all(&mut fired), 1);
        assert_eq!(counter.hits(), 1);
        assert_eq!(old_counter.hits(), 0);
        assert_eq!(intruder_counter.hits(), 0);

        // Reuse after firing, too.
        let again = wheel.insert(600, futures_task::noop_waker());
        assert_eq!(again.index, new.index);
        assert!(wheel.remove(new).is_none());
        assert!(wheel.remove(again).is_some());
    }

    #[test]
    fn set_waker_replaces_only_when_needed() {
        let mut wheel = Wheel::new();
        let (first, first_waker) = counting_waker();
        let key = wheel.insert(3000, first_waker.clone());
        assert_eq!(Arc::strong_count(&first), 3);
        // Same task: nothing cloned.
        assert!(wheel.set_waker(key, &first_waker).is_ok());
        assert_eq!(Arc::strong_count(&first), 3);

        let (second, second_waker) = counting_waker();
        assert!(wheel.set_waker(key, &second_waker).is_ok());
        assert_eq!(Arc::strong_count(&first), 2, "old waker dropped");
        assert_eq!(Arc::strong_count(&second), 3, "new waker cloned");
        wheel.assert_consistent();

        let mut fired = Vec::new();
        wheel.advance(3000, &mut fired);
        assert_eq!(wake_all(&mut fired), 1);
        assert_eq!(first.hits(), 0);
        assert_eq!(second.hits(), 1);
    }

    #[test]
    fn remove_from_every_position_of_a_slot_list() {
        // Five timers in one level-1 slot; remove the head, the tail and a middle one.
        let mut wheel = Wheel::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let keys: Vec<TimerKey> = (0..5u64)
            .map(|id| wheel.insert(200 + id, tagged(id, &log)))
            .collect();
        // Pushed at the front: keys[4] is the head, keys[0] the tail.
        for &i in &[4usize, 0, 2] {
            assert!(wheel.remove(keys[i]).is_some());
            wheel.assert_consistent();
        }
        let mut fired = Vec::new();
        wheel.advance(1000, &mut fired);
        wake_all(&mut fired);
        assert_eq!(take_log(&log), vec![1, 3]);
    }

    #[test]
    fn far_future_timers_are_recascaded() {
        let mut wheel = Wheel::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let whens = [
            (1u64 << 36) + 17,
            (1 << 37) + 5,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        let keys: Vec<TimerKey> = whens
            .iter()
            .enumerate()
            .map(|(id, &when)| wheel.insert(when, tagged(id as u64, &log)))
            .collect();
        wheel.assert_consistent();
        let mut fired = Vec::new();

        // Crossing several 2^36 rotations in one advance costs one overflow pass.
        wheel.advance((1 << 36) + 16, &mut fired);
        assert!(fired.is_empty());
        wheel.assert_consistent();
        assert_eq!(wheel.next_expiry(), Some((1 << 36) + 17));
        wheel.advance((1 << 36) + 17, &mut fired);
        wake_all(&mut fired);
        assert_eq!(take_log(&log), vec![0]);

        // Removing a clamped timer works, wherever it has been re-filed.
        assert!(wheel.remove(keys[3]).is_some());
        wheel.assert_consistent();

        wheel.advance(u64::MAX / 2 - 1, &mut fired);
        wake_all(&mut fired);
        assert_eq!(take_log(&log), vec![1]);
        wheel.advance(u64::MAX / 2, &mut fired);
        wake_all(&mut fired);
        assert_eq!(take_log(&log), vec![2]);
        wheel.advance(u64::MAX - 1, &mut fired);
        assert!(fired.is_empty());
        wheel.advance(u64::MAX, &mut fired);
        wake_all(&mut fired);
        assert_eq!(take_log(&log), vec![4]);
        assert!(wheel.is_empty());

        // At the end of time, every insert is due at once.
        wheel.insert(u64::MAX, futures_task::noop_waker());
        assert_eq!(wheel.next_expiry(), Some(u64::MAX));
        wheel.advance(0, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn overflow_lower_bound_survives_removal() {
        let mut wheel = Wheel::new();
        let early = wheel.insert(1 << 40, futures_task::noop_waker());
        wheel.insert(1 << 41, futures_task::noop_waker());
        assert_eq!(wheel.next_expiry(), Some(1 << 40));
        assert!(wheel.remove(early).is_some());
        // Still a valid (early) bound.
        let next = wheel.next_expiry().unwrap();
        assert!(next <= 1 << 41);
        let mut fired = Vec::new();
        wheel.advance(next, &mut fired);
        assert!(fired.is_empty());
        wheel.assert_consistent();
        assert_eq!(wheel.next_expiry(), Some(1 << 41));
        wheel.advance(1 << 41, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    /// Random deadline relative to `elapsed`, biased towards level boundaries and extremes.
    fn random_when(rng: &mut XorShift, elapsed: u64) -> u64 {
        match rng.below(9) {
            0 => elapsed.saturating_sub(rng.below(100)),
            1 => elapsed.saturating_add(rng.below(64)),
            2 => elapsed.saturating_add(rng.below(4096)),
            3 => elapsed.saturating_add(rng.below(1 << 24)),
            4 => elapsed.saturating_add(rng.below(1 << 40)),
            5 => {
                let shift = SLOT_BITS * (1 + rng.below(7) as u32);
                let boundary = (elapsed >> shift << shift).saturating_add(1 << shift);
                boundary.saturating_add(1).saturating_sub(rng.below(3))
            }
            6 => u64::MAX - rng.below(1000),
            7 => rng.next(),
            _ => elapsed.saturating_add(1 << rng.below(64)),
        }
    }

    /// Random `now` for an advance, relative to the wheel.
    fn random_now(rng: &mut XorShift, wheel: &Wheel) -> u64 {
        let elapsed = wheel.elapsed();
        match rng.below(6) {
            0 => elapsed.saturating_sub(rng.below(10)),
            1 => elapsed.saturating_add(rng.below(8)),
            2 | 3 => wheel.next_expiry().unwrap_or(elapsed),
            4 => elapsed.saturating_add(rng.scaled(30)),
            _ => {
                if rng.below(200) == 0 {
                    elapsed.saturating_add(1 << rng.below(64))
                } else {
                    elapsed.saturating_add(rng.scaled(42))
                }
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow for Miri")]
    fn randomized_against_btreemap_model() {
        for seed in 1..=24u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut wheel = Wheel::new();
            // id -> (when, key)
            let mut model: BTreeMap<u64, (u64, TimerKey)> = BTreeMap::new();
            let mut dead: Vec<TimerKey> = Vec::new();
            let mut fired = Vec::new();
            let mut next_id = 0u64;

            for _ in 0..3000 {
                match rng.below(20) {
                    0..=8 => {
                        let when = random_when(&mut rng, wheel.elapsed());
                        let key = wheel.insert(when, tagged(next_id, &log));
                        model.insert(next_id, (when, key));
                        next_id += 1;
                    }
                    9..=11 => {
                        if let Some(&id) =
                            model.keys().nth(rng.below(model.len() as u64 + 1) as usize)
                        {
                            let (_, key) = model.remove(&id).unwrap();
                            assert!(wheel.remove(key).is_some());
                            dead.push(key);
                        }
                    }
                    12 => {
                        if !dead.is_empty() {
                            let key = dead[rng.below(dead.len() as u64) as usize];
                            assert!(wheel.remove(key).is_none());
                            assert!(wheel.set_waker(key, &futures_task::noop_waker()).is_err());
                        }
                    }
                    13 => {
                        if let Some((&id, &(_, key))) = model.iter().next() {
                            // Same id, new waker object: the fired id is unchanged.
                            assert!(wheel.set_waker(key, &tagged(id, &log)).is_ok());
                        }
                    }
                    _ => {
                        let now = random_now(&mut rng, &wheel);
                        let effective = now.max(wheel.elapsed());
                        wheel.advance(now, &mut fired);
                        assert_eq!(wheel.elapsed(), effective);
                        let fired_count = wake_all(&mut fired);
                        let mut got = take_log(&log);
                        got.sort_unstable();
                        let expected: Vec<u64> = model
                            .iter()
                            .filter(|(_, &(when, _))| when <= effective)
                            .map(|(&id, _)| id)
                            .collect();
                        assert_eq!(got, expected, "seed {seed}: fired set differs at {now}");
                        assert_eq!(fired_count, expected.len());
                        for id in expected {
                            let (_, key) = model.remove(&id).unwrap();
                            dead.push(key);
                        }
                    }
                }
                if dead.len() > 256 {
                    dead.drain(..128);
                }

                wheel.assert_consistent();
                assert_eq!(wheel.len(), model.len());
                let earliest = model.values().map(|&(when, _)| when).min();
                match (wheel.next_expiry(), earliest) {
                    (None, None) => {}
                    (Some(next), Some(earliest)) if earliest <= wheel.elapsed() => {
                        assert_eq!(next, wheel.elapsed(), "seed {seed}: due timer");
                    }
                    (Some(next), Some(earliest)) => {
                        assert!(next > wheel.elapsed(), "seed {seed}: expiry in the past");
                        assert!(
                            next <= earliest,
                            "seed {seed}: expiry {next} late for {earliest}"
                        );
                    }
                    (next, earliest) => panic!("seed {seed}: next_expiry {next:?} vs {earliest:?}"),
                }
            }

            // Drain what is left and check it all fires exactly once.
            wheel.advance(u64::MAX, &mut fired);
            wake_all(&mut fired);
            let mut got = take_log(&log);
            got.sort_unstable();
            assert_eq!(got, model.keys().copied().collect::<Vec<_>>());
            assert!(wheel.is_empty());
        }
    }

    const MILLION: usize = 1_000_000;

    #[test]
    #[cfg_attr(miri, ignore = "too slow for Miri")]
    fn million_timers_inserted_then_removed() {
        let started = Instant::now();
        let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        let keys: Vec<TimerKey> = (0..MILLION)
            .map(|_| wheel.insert(1 + rng.scaled(40), waker.clone()))
            .collect();
        assert_eq!(wheel.len(), MILLION);
        // Remove in a scattered order (7 is coprime with a million).
        for i in 0..MILLION {
            assert!(wheel.remove(keys[(i * 7) % MILLION]).is_some());
        }
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiry(), None);
        wheel.assert_consistent();
        let mut fired = Vec::new();
        wheel.advance(u64::MAX, &mut fired);
        assert!(fired.is_empty());
        eprintln!(
            "million_timers_inserted_then_removed: {:?}",
            started.elapsed()
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow for Miri")]
    fn million_timers_with_random_deadlines_all_fire() {
        let started = Instant::now();
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        // Sorted deadlines (a running sum of random gaps, some zero, reaching past 2^36 so
        // the overflow list is used), inserted in a scattered order (7919 is coprime with a
        // million). Generating them sorted spares a sort, which is slow in debug builds.
        let mut last = 0u64;
        let whens: Vec<u64> = (0..MILLION)
            .map(|_| {
                last += rng.scaled(23);
                last
            })
            .collect();
        assert!(whens[MILLION - 1] > WHEEL_SPAN);
        for i in 0..MILLION {
            wheel.insert(whens[(i * 7919) % MILLION], waker.clone());
        }

        let mut fired = Vec::new();
        let mut fired_total = 0usize;
        let mut advances = 0usize;
        while !wheel.is_empty() {
            let elapsed = wheel.elapsed();
            let now = if rng.below(2) == 0 {
                wheel.next_expiry().unwrap()
            } else {
                elapsed.saturating_add(rng.scaled(30))
            };
            wheel.advance(now, &mut fired);
            advances += 1;
            fired_total += fired.len();
            fired.clear();
            assert_eq!(
                fired_total,
                whens.partition_point(|&when| when <= now.max(elapsed)),
                "wrong number fired at {now}"
            );
        }
        assert_eq!(fired_total, MILLION);
        eprintln!(
            "million_timers_with_random_deadlines_all_fire: {:?} ({advances} advances)",
            started.elapsed()
        );
    }
}
