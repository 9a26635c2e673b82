//! Without per-thread CPU clocks or scheduler states, sysmon judges polls by wall time alone.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ThreadId;

pub(crate) fn current() -> Option<ThreadId> {
    None
}

pub(crate) fn cpu_time(_t: ThreadId) -> Option<Duration> {
    None
}

// Never constructed here (`state` always answers `None`), but sysmon matches on it.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Runnable,
    Blocked,
}

pub(crate) fn state(_t: ThreadId) -> Option<State> {
    None
}
