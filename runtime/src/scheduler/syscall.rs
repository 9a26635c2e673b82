//! Syscall sections (Go's `entersyscall`/`exitsyscall`): a blocking call made inline, on the
//! worker thread, inside the current task poll, whose P sysmon hands to another thread once the
//! call has run past `syscall_handoff_threshold` (20 µs by default, Go's) while the P has other
//! work. The states and transitions are those of the P status word (`IN_SYSCALL`, see
//! `handoff.rs`); this file is the M's side of them:
//!
//! | step | by | what |
//! |---|---|---|
//! | enter | the M, inside a poll | writes the slot's `syscall_since`, CAS `IN_POLL → IN_SYSCALL`, counts the section, and wakes sysmon if it announced a deep sleep (`sysmon.rs`) |
//! | the call | the M | runs the closure; never touches the `Core` |
//! | exit | the M, when the closure returns or unwinds | CAS `IN_SYSCALL → IN_POLL`; if sysmon retook the P meanwhile the CAS fails, the poll goes on, and its `end_poll` fails: the M hands over what it holds and becomes a spare (`worker.rs`, `threads.rs`) |
//!
//! Outside a poll of a multi-thread worker (a plain thread, the blocking pool, a current-thread
//! runtime, the `block_on` future, scheduler code, a section already open) there is nothing to
//! hand off and the closure just runs.

use std::sync::atomic::Ordering::Relaxed;

use super::{Shared, WorkerMetrics};

/// An open syscall section of P `p`; leaving it (drop, also by unwinding) makes the exit
/// transition.
pub(crate) struct Section<'a> {
    shared: &'a Shared,
    p: usize,
    seq: u64,
}

/// Opens a syscall section on P `p`, which this thread runs (`context::current_p_of`).
/// `None` where no section can open: not inside a task poll, a section already open, the P
/// gone, or a current-thread runtime.
pub(crate) fn enter(shared: &Shared, p: usize) -> Option<Section<'_>> {
    if shared.config.current_thread {
        return None;
    }
    let slot = &shared.slots[p];
    // Written before the CAS that publishes the section (`Release` in `SeqCst`): sysmon reads
    // it after seeing `IN_SYSCALL`.
    slot.syscall_since
        .store(shared.start.elapsed().as_nanos() as u64, Relaxed);
    let seq = slot.status.enter_syscall()?;
    WorkerMetrics::bump(&slot.metrics.syscalls, 1);
    if shared.config.sysmon {
        shared.sysmon.section_began();
    }
    Some(Section { shared, p, seq })
}

impl Drop for Section<'_> {
    fn drop(&mut self) {
        // A failed exit needs nothing here: the P was retaken, and the poll's `end_poll`
        // fails the same way, where the M gives up the P.
        let _ = self.shared.slots[self.p].status.exit_syscall(self.seq);
    }
}
