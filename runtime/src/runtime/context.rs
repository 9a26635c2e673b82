//! Thread-local runtime context: the current handle (for `spawn`, `sleep`, sockets), whether the
//! thread is inside a runtime (to refuse nested `block_on`), and, on a worker thread, which
//! scheduler and P it runs (so a wake on this thread goes to that P's `runnext`).

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;

use super::{Handle, TryCurrentError};
use crate::scheduler::Shared;

struct Context {
    handle: RefCell<Option<Handle>>,
    /// The scheduler and P this thread runs now (null if none).
    worker: Cell<(*const Shared, usize)>,
    /// Inside `block_on` or a runtime thread: a nested `block_on` would deadlock.
    entered: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            worker: Cell::new((std::ptr::null(), 0)),
            entered: Cell::new(false),
        }
    };
}

/// Runs `f` with the current handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> Result<R, TryCurrentError> {
    CONTEXT
        .try_with(|c| c.handle.borrow().as_ref().map(f))
        .map_err(|_| TryCurrentError::thread_local_destroyed())?
        .ok_or_else(TryCurrentError::no_context)
}

/// The P of `shared` this thread runs, if any: wakes on this thread go to that P's `runnext`.
pub(crate) fn current_p_of(shared: &Shared) -> Option<usize> {
    CONTEXT
        .try_with(|c| {
            let (s, p) = c.worker.get();
            std::ptr::eq(s, shared).then_some(p)
        })
        .ok()
        .flatten()
}

/// The P this thread runs now, of whichever runtime: `runtime::worker_index`.
pub(crate) fn current_worker_index() -> Option<usize> {
    CONTEXT
        .try_with(|c| {
            let (s, p) = c.worker.get();
            (!s.is_null()).then_some(p)
        })
        .ok()
        .flatten()
}

/// Marks this thread as running P `p` of `shared` until the guard drops.
pub(crate) struct WorkerGuard {
    prev: (*const Shared, usize),
}

pub(crate) fn enter_worker(shared: &Shared, p: usize) -> WorkerGuard {
    let prev = CONTEXT.with(|c| c.worker.replace((shared, p)));
    WorkerGuard { prev }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.worker.set(self.prev));
    }
}

/// Sets the current handle (and optionally the "entered" flag), restoring both on drop.
pub(crate) struct SetGuard {
    prev_handle: Option<Handle>,
    prev_entered: bool,
    _not_send: PhantomData<*const ()>,
}

fn set(handle: Handle, entered: Option<bool>) -> SetGuard {
    CONTEXT.with(|c| {
        let prev_handle = c.handle.borrow_mut().replace(handle);
        let prev_entered = c.entered.get();
        if let Some(e) = entered {
            c.entered.set(e);
        }
        SetGuard {
            prev_handle,
            prev_entered,
            _not_send: PhantomData,
        }
    })
}

impl Drop for SetGuard {
    fn drop(&mut self) {
        let prev = self.prev_handle.take();
        let entered = self.prev_entered;
        let _ = CONTEXT.try_with(|c| {
            *c.handle.borrow_mut() = prev;
            c.entered.set(entered);
        });
    }
}

/// A runtime's own thread (worker or spare M).
pub(crate) fn enter_runtime_thread(shared: &Arc<Shared>) -> SetGuard {
    set(
        Handle {
            shared: shared.clone(),
        },
        Some(true),
    )
}

/// A blocking-pool thread: has a handle, may call `block_on`.
pub(crate) fn enter_blocking_thread(shared: &Arc<Shared>) -> SetGuard {
    set(
        Handle {
            shared: shared.clone(),
        },
        Some(false),
    )
}

/// `block_on`: refuses to nest.
pub(crate) fn enter_block_on(handle: &Handle) -> SetGuard {
    let entered = CONTEXT.try_with(|c| c.entered.get()).unwrap_or(false);
    if entered {
        panic!(
            "Cannot start a runtime from within a runtime. This happens because a function (like \
             `block_on`) attempted to block the current thread while the thread is being used to \
             drive asynchronous tasks. Use `.await` instead, or move the blocking call into \
             `netpoll::spawn_blocking`."
        );
    }
    set(handle.clone(), Some(true))
}

/// `Handle::enter`: sets the current handle only.
pub(crate) fn enter_handle(handle: &Handle) -> SetGuard {
    set(handle.clone(), None)
}
