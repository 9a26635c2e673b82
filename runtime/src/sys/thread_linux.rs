//! What sysmon may ask about another worker thread (Linux): its CPU clock and its scheduler
//! state, so a poll that is slow only because the OS has not given the thread a core is not
//! mistaken for a blocked one.

use std::time::Duration;

/// Identifies a thread for [`cpu_time`] and [`state`]; taken by the thread itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadId {
    clock: libc::clockid_t,
    tid: libc::pid_t,
}

/// The calling thread's id.
pub(crate) fn current() -> Option<ThreadId> {
    if cfg!(miri) {
        return None; // no pthread_getcpuclockid under Miri: sysmon falls back to wall time
    }
    let mut clock: libc::clockid_t = 0;
    // SAFETY: pthread_self() is always valid for the calling thread; `clock` is a valid out-param.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
    if rc != 0 {
        return None;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    Some(ThreadId { clock, tid })
}

/// CPU time the thread has used so far.
pub(crate) fn cpu_time(t: ThreadId) -> Option<Duration> {
    // SAFETY: an all-zero timespec is a valid out-parameter.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `t.clock` came from pthread_getcpuclockid of a thread of this process; if that
    // thread has exited the call fails with EINVAL, which we report as None.
    if unsafe { libc::clock_gettime(t.clock, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The scheduler's view of the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Running or waiting for a CPU.
    Runnable,
    /// Asleep in the kernel (a blocking syscall, a lock, a sleep).
    Blocked,
}

/// The thread's state from `/proc/self/task/<tid>/stat`.
pub(crate) fn state(t: ThreadId) -> Option<State> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{}/stat", t.tid)).ok()?;
    // The state follows the parenthesised command name, which may itself contain spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    match after.split_whitespace().next()? {
        "R" => Some(State::Runnable),
        "S" | "D" | "T" | "t" => Some(State::Blocked),
        _ => None,
    }
}
