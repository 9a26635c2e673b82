//! Who owns a worker's queue: the P status word, and the sysmon hand-off (Go's `retake`).
//!
//! A *P* (processor, Go's word) is a worker's local queue, LIFO slot and counters ([`Core`]).
//! An *M* is a thread. Normally one M runs one P for its whole life. When the task an M is
//! polling blocks for longer than a threshold, sysmon takes the P away and gives it to another
//! M, so the queued tasks, the LIFO slot (tokio #4941) and the timers/I/O they wait for keep
//! running (tokio's "hostage driver", #4730, #6315).
//!
//! ## States (one `AtomicU64` per P: `seq << 2 | tag`; `seq` grows with every poll)
//! | tag | meaning | who may touch the `Core` |
//! |---|---|---|
//! | `OWNED` | an M is running scheduler code for this P (or is parked holding it) | that M only |
//! | `IN_POLL` | that M is inside task poll number `seq` and promised not to touch the `Core` until it leaves | nobody |
//! | `IN_SYSCALL` | inside poll `seq`, that M is in a *syscall section* (Go's `_Psyscall`): a call known to block or to run in the kernel, begun at the time in the slot's `syscall_since` | nobody |
//! | `RETAKEN` | sysmon took the P from the M stuck in poll `seq` | nobody, until a new M acquires it |
//!
//! ## Transitions, and who makes them
//! | transition | by | how |
//! |---|---|---|
//! | `OWNED → IN_POLL(seq+1)` | the owner, before each poll | plain `Release` store: nobody else writes in `OWNED` |
//! | `IN_POLL(seq) → OWNED(seq)` | the owner, after the poll | CAS; if it fails the P is gone: the M must not touch the `Core` again, hands what it holds to the injector and becomes a spare |
//! | `IN_POLL(seq) → IN_SYSCALL(seq)` | the owner, entering a section inside its poll (`enter_syscall`), after writing `syscall_since` | CAS; if it fails the P is already gone and the section is a plain call |
//! | `IN_SYSCALL(seq) → IN_POLL(seq)` | the owner, leaving the section; the poll goes on | CAS; if it fails the P was retaken during the section: the poll goes on, and its `end_poll` fails as above |
//! | `IN_SYSCALL(seq) → RETAKEN(seq)` | sysmon, once the section has run past `syscall_handoff_threshold` (20 µs, Go's) and the P has other work; no CPU-time check: the M is known to be in the kernel | CAS |
//! | `IN_POLL(seq) or IN_SYSCALL(seq) → RETAKEN(seq)` | sysmon, after seeing the same `seq` for longer than the long-poll threshold | CAS |
//! | `RETAKEN(seq) → OWNED(seq+1)` | the M sysmon gave the P to | plain store: it is the only one told |
//!
//! Because `seq` grows on every poll and on every acquisition, the stuck M's CAS can never
//! succeed once sysmon has taken the P, even if the P has since gone through many polls; and a
//! retake aimed at a section (or poll) that has ended lands nowhere. Sections do not change
//! `seq`: if one section ends and another begins in the same poll between sysmon's reading of
//! the word and its CAS, the retake lands on the younger section. That is harmless (the M is in
//! a section either way) and only possible within those few instructions.
//!
//! Sysmon must look soon after a section begins, or the delay would be its backoff (up to
//! 10 ms) rather than the threshold: see `sysmon.rs` for how a section wakes a deeply sleeping
//! sysmon (one wake per burst of sections, not one per section).
//!
//! The loom models at the end of this file check the claims: across every interleaving of an
//! owner's polls and a retake, loom's `UnsafeCell` sees the `Core` touched by one thread at a
//! time, the stuck M learns exactly when its P was taken, and a retake aimed at an old poll
//! never lands. (Making `end_poll` ignore a retake makes the model fail with a causality
//! violation, as it should.) A third model does the same for a poll with a syscall section
//! racing sysmon's section retake: one owner at a time, the M learns of the loss at the end of
//! its section and again at the end of its poll, and nothing is retaken once the section ended.

use crate::loom::{AtomicU64, Ordering::*};

use crossbeam_deque::Worker;

use crate::loom::UnsafeCell;
use crate::task::Task;

const OWNED: u64 = 0;
const IN_POLL: u64 = 1;
const RETAKEN: u64 = 2;
const IN_SYSCALL: u64 = 3;
const TAG: u64 = 3;

/// A worker's private scheduling state.
pub(crate) struct Core {
    pub(crate) local: Worker<Task>,
    /// How many times in a row the P's `runnext` (its LIFO slot) has run.
    pub(crate) lifo_streak: u32,
    pub(crate) tick: u32,
    pub(crate) searching: bool,
    pub(crate) rng: u64,
}

impl Core {
    pub(crate) fn new(local: Worker<Task>, seed: u64) -> Core {
        Core {
            local,
            lifo_streak: 0,
            tick: 0,
            searching: false,
            rng: seed | 1,
        }
    }

    /// xorshift64: cheap randomness for picking steal victims.
    pub(crate) fn next_rand(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x % n as u64) as usize
    }
}

/// The P status word (see the module doc).
pub(crate) struct Status(AtomicU64);

impl Status {
    pub(crate) fn new() -> Status {
        Status(AtomicU64::new(OWNED))
    }

    /// The owner enters poll `seq`; returns `seq`.
    pub(crate) fn begin_poll(&self) -> u64 {
        let seq = (self.0.load(Relaxed) >> 2) + 1;
        self.0.store(seq << 2 | IN_POLL, Release);
        seq
    }

    /// The owner leaves poll `seq`; false if the P was retaken meanwhile.
    pub(crate) fn end_poll(&self, seq: u64) -> bool {
        self.0
            .compare_exchange(seq << 2 | IN_POLL, seq << 2 | OWNED, Acquire, Relaxed)
            .is_ok()
    }

    /// The poll the owner is in (in a syscall section or not), if it is in one.
    pub(crate) fn in_poll(&self) -> Option<u64> {
        self.polling().map(|(seq, _)| seq)
    }

    /// The poll the owner is in, and whether it is inside a syscall section.
    pub(crate) fn polling(&self) -> Option<(u64, bool)> {
        let s = self.0.load(Acquire);
        match s & TAG {
            IN_POLL => Some((s >> 2, false)),
            IN_SYSCALL => Some((s >> 2, true)),
            _ => None,
        }
    }

    /// [`polling`](Self::polling)'s answer from a `SeqCst` load: sysmon, after announcing a
    /// deep sleep, sees any section whose `enter_syscall` the M made before reading that
    /// announcement (see `sysmon.rs`).
    pub(crate) fn polling_seqcst(&self) -> Option<(u64, bool)> {
        let s = self.0.load(SeqCst);
        match s & TAG {
            IN_POLL => Some((s >> 2, false)),
            IN_SYSCALL => Some((s >> 2, true)),
            _ => None,
        }
    }

    /// Sysmon takes the P from the M stuck in poll `seq` (inside a section or not).
    pub(crate) fn try_retake(&self, seq: u64) -> bool {
        [IN_POLL, IN_SYSCALL].into_iter().any(|tag| {
            self.0
                .compare_exchange(seq << 2 | tag, seq << 2 | RETAKEN, AcqRel, Relaxed)
                .is_ok()
        })
    }

    /// Sysmon takes the P from the M inside a syscall section of poll `seq`; false if that
    /// section has ended (or the poll, or the P is gone).
    pub(crate) fn try_retake_syscall(&self, seq: u64) -> bool {
        self.0
            .compare_exchange(seq << 2 | IN_SYSCALL, seq << 2 | RETAKEN, AcqRel, Relaxed)
            .is_ok()
    }

    /// The owner, inside a poll, enters a syscall section; returns the poll's `seq`, or `None`
    /// if it is not in a poll (scheduler code, or already in a section) or the P is gone.
    /// `SeqCst`: sysmon's "is a section open?" check after it announces a deep sleep must see
    /// this, or this thread must see the announcement (see `sysmon.rs`).
    pub(crate) fn enter_syscall(&self) -> Option<u64> {
        let s = self.0.load(Relaxed);
        if s & TAG != IN_POLL {
            return None;
        }
        let seq = s >> 2;
        self.0
            .compare_exchange(s, seq << 2 | IN_SYSCALL, SeqCst, Relaxed)
            .ok()
            .map(|_| seq)
    }

    /// The owner leaves the section it entered in poll `seq`; false if sysmon retook the P
    /// during the section (the poll goes on; its `end_poll` will fail too).
    pub(crate) fn exit_syscall(&self, seq: u64) -> bool {
        self.0
            .compare_exchange(seq << 2 | IN_SYSCALL, seq << 2 | IN_POLL, Acquire, Relaxed)
            .is_ok()
    }

    /// The M that was handed a retaken P makes it its own.
    pub(crate) fn acquire_retaken(&self) {
        let s = self.0.load(Acquire);
        debug_assert_eq!(s & TAG, RETAKEN);
        self.0.store(((s >> 2) + 1) << 2 | OWNED, Release);
    }
}

/// The `Core` of one P, whose access the status word arbitrates.
pub(crate) struct CoreCell(UnsafeCell<Core>);

// SAFETY: the hand-off protocol above gives exactly one thread at a time the right to touch the
// Core (the M that owns the P in `OWNED` state); ownership moves between threads only through the
// status word's Release/Acquire edges, so the Core (which is `Send`) is never shared.
unsafe impl Sync for CoreCell {}

impl CoreCell {
    pub(crate) fn new(core: Core) -> CoreCell {
        CoreCell(UnsafeCell::new(core))
    }

    /// # Safety
    /// The caller must own the P (status `OWNED` by this thread, per the module doc) and must not
    /// hold another reference obtained from this cell while the returned one is live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get(&self) -> &mut Core {
        // SAFETY: guaranteed by the caller, as documented.
        self.0.with_mut(|p| unsafe { &mut *p })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn retake_beats_a_stuck_poll_and_the_stuck_m_notices() {
        let s = Status::new();
        let seq = s.begin_poll();
        assert_eq!(s.in_poll(), Some(seq));
        assert!(s.try_retake(seq));
        s.acquire_retaken();
        assert!(!s.end_poll(seq), "the stuck M must see its P is gone");
        // The new owner polls on.
        let seq2 = s.begin_poll();
        assert!(seq2 > seq);
        assert!(!s.try_retake(seq), "a stale seq cannot retake");
        assert!(s.end_poll(seq2));
    }

    #[test]
    fn a_syscall_section_is_retaken_only_while_open() {
        let s = Status::new();
        let seq = s.begin_poll();
        assert!(!s.try_retake_syscall(seq), "no section open yet");
        assert_eq!(s.enter_syscall(), Some(seq));
        assert_eq!(s.polling(), Some((seq, true)));
        assert_eq!(s.enter_syscall(), None, "sections do not nest");
        assert!(s.exit_syscall(seq));
        assert_eq!(s.polling(), Some((seq, false)));
        assert!(!s.try_retake_syscall(seq), "the section ended");
        assert_eq!(s.enter_syscall(), Some(seq));
        assert!(s.try_retake_syscall(seq));
        assert!(
            !s.exit_syscall(seq),
            "the M learns at the end of its section"
        );
        assert!(!s.end_poll(seq), "and again at the end of its poll");
        assert_eq!(s.enter_syscall(), None, "a retaken P has no sections");
        s.acquire_retaken();
        let seq2 = s.begin_poll();
        assert!(seq2 > seq);
        assert!(s.end_poll(seq2));
    }

    #[test]
    fn the_long_poll_retake_also_takes_a_section() {
        let s = Status::new();
        let seq = s.begin_poll();
        assert_eq!(s.enter_syscall(), Some(seq));
        assert!(s.try_retake(seq));
        assert!(!s.exit_syscall(seq));
        assert!(!s.end_poll(seq));
    }

    #[test]
    fn no_retake_of_an_owned_p() {
        let s = Status::new();
        let seq = s.begin_poll();
        assert!(s.end_poll(seq));
        assert!(!s.try_retake(seq));
        assert_eq!(s.in_poll(), None);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Loom model of the hand-off: whatever the interleaving of the owner's polls and sysmon's
    //! retake, exactly one thread at a time touches the `Core` (loom's `UnsafeCell` checks every
    //! access is ordered after the previous one), and the stuck M learns that its P is gone.
    use super::*;
    use crate::loom::Arc;

    fn touch(cell: &CoreCell) {
        // SAFETY: the model calls this only where the protocol says this thread owns the P;
        // loom's cell reports it if two threads ever get here unordered.
        let core = unsafe { cell.get() };
        core.tick += 1;
    }

    #[test]
    fn exactly_one_thread_owns_the_core_across_a_retake() {
        loom::model(|| {
            let status = Arc::new(Status::new());
            let cell = Arc::new(CoreCell::new(Core::new(Worker::new_lifo(), 1)));
            let (st, c) = (status.clone(), cell.clone());
            // sysmon: sees a poll, retakes it, and hands the P to a new M (this thread), which
            // makes it its own and runs scheduler code on it.
            let sysmon = loom::thread::spawn(move || {
                let Some(seq) = st.in_poll() else {
                    return false;
                };
                if !st.try_retake(seq) {
                    return false;
                }
                st.acquire_retaken();
                touch(&c);
                let seq2 = st.begin_poll();
                assert!(st.end_poll(seq2), "nobody else may retake here");
                touch(&c);
                true
            });
            // The owner: scheduler code, then two polls; after each, it may go on only if the
            // P is still its own.
            touch(&cell);
            let mut lost = false;
            for _ in 0..2 {
                let seq = status.begin_poll();
                if !status.end_poll(seq) {
                    lost = true;
                    break;
                }
                touch(&cell);
            }
            let retaken = sysmon.join().unwrap();
            assert_eq!(
                lost, retaken,
                "the stuck M must learn exactly when its P was taken"
            );
        });
    }

    /// A retake aimed at an old poll never succeeds once the owner has moved on, even when the
    /// owner is in a newer poll at that moment.
    #[test]
    fn a_stale_retake_never_lands() {
        loom::model(|| {
            let status = Arc::new(Status::new());
            let first = status.begin_poll();
            let st = status.clone();
            let sysmon = loom::thread::spawn(move || st.try_retake(first));
            let owner_kept_first = status.end_poll(first);
            let mut owner_kept_second = false;
            if owner_kept_first {
                let second = status.begin_poll();
                owner_kept_second = status.end_poll(second);
            }
            let retaken = sysmon.join().unwrap();
            // Either sysmon took poll `first` (and the owner lost it), or the owner kept both.
            assert_eq!(retaken, !owner_kept_first);
            if !retaken {
                assert!(owner_kept_second, "a stale seq took a newer poll");
            }
        });
    }

    /// A syscall section racing sysmon's section retake: whatever the interleaving, one thread
    /// at a time touches the `Core`; the M learns of the loss when its section ends and again
    /// when its poll ends (never one without the other); and a retake aimed at a section never
    /// lands once that section has ended, even while the same M is in a newer poll's section.
    #[test]
    fn section_end_races_the_syscall_retake() {
        loom::model(|| {
            let status = Arc::new(Status::new());
            let cell = Arc::new(CoreCell::new(Core::new(Worker::new_lifo(), 1)));
            let (st, c) = (status.clone(), cell.clone());
            // sysmon: sees an open section (in whichever poll) and retakes it, then gives the
            // P to a new M (this thread), which runs scheduler code on it.
            let sysmon = loom::thread::spawn(move || {
                let Some((seq, true)) = st.polling() else {
                    return None;
                };
                if !st.try_retake_syscall(seq) {
                    return None;
                }
                st.acquire_retaken();
                touch(&c);
                Some(seq)
            });
            // The owner: two polls, each with a section, touching the Core between polls only
            // while the P is its own.
            touch(&cell);
            let mut lost_in = None;
            for _ in 0..2 {
                let seq = status.begin_poll();
                let entered = status.enter_syscall();
                assert_eq!(
                    entered,
                    Some(seq),
                    "only sysmon competes, and only for sections"
                );
                let kept_section = status.exit_syscall(seq);
                let kept_poll = status.end_poll(seq);
                assert_eq!(
                    kept_section, kept_poll,
                    "section end and poll end must agree"
                );
                if !kept_poll {
                    lost_in = Some(seq);
                    break;
                }
                touch(&cell);
            }
            let retaken = sysmon.join().unwrap();
            assert_eq!(
                retaken, lost_in,
                "the retake landed in exactly the poll that lost"
            );
        });
    }
}
