//! The task cell: one allocation holding the state word, the future or its output, and the
//! JoinHandle's waker. The only `unsafe` of the task system lives here: access to the stage is
//! granted by the state machine in [`super::state`] (the `RUNNING` holder owns the future; after
//! `COMPLETE`, the single JoinHandle owns the output).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};

use super::state::{Notify, Run, State, ToIdle};
use super::{Id, JoinError};
use crate::loom::{Mutex, UnsafeCell};
use crate::scheduler::Shared;

/// A type-erased task as the run queues hold it.
pub(crate) type Task = Arc<dyn RawTask>;

/// What the scheduler can do with a task without knowing its future's type.
pub(crate) trait RawTask: Send + Sync + 'static {
    /// Polls the task once (or cancels it). Returns the task if it must be queued again
    /// (it was woken during the poll, e.g. by `yield_now`).
    fn run(self: Arc<Self>) -> Option<Task>;
    /// Drops the future of an idle task during shutdown (no-op if it is running or done).
    fn shutdown(&self);
    /// The task id.
    fn id(&self) -> Id;
}

/// What an [`AbortHandle`](super::AbortHandle) can do with a task of any output type.
pub(crate) trait TaskRef: Send + Sync {
    fn abort(self: Arc<Self>);
    fn is_finished(&self) -> bool;
    fn id(&self) -> Id;
}

/// What a [`JoinHandle`](super::JoinHandle) can do with a task of output `T`.
pub(crate) trait Join<T>: TaskRef {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    /// Registers `waker` to be woken when the task completes (at once if it has), without
    /// taking the output: how a `JoinSet` learns which of its tasks finished.
    fn set_join_waker(&self, waker: &Waker);
    /// The same task, seen without its output type.
    fn task_ref(self: Arc<Self>) -> Arc<dyn TaskRef>;
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

// `repr(C)`: `this` must stay the first field, at offset 0, whatever `F` is (see `into_thin`).
#[repr(C)]
pub(crate) struct Cell<F: Future> {
    /// This cell as a type-erased task: a fat pointer to itself, written once at construction.
    /// It lets a task travel as one machine word (`into_thin`/`from_thin`).
    this: *const dyn RawTask,
    state: State,
    id: Id,
    /// The scheduler that runs this task; wakes go there.
    sched: Arc<Shared>,
    /// Key in the scheduler's owned-task list, or `usize::MAX` (blocking tasks are not owned).
    owned_key: std::sync::atomic::AtomicUsize,
    stage: UnsafeCell<Stage<F>>,
    join_waker: Mutex<Option<Waker>>,
}

// SAFETY: the stage is only touched by the thread holding `RUNNING` (which needs `F: Send` to
// move the future between threads) or, after `COMPLETE`, by the JoinHandle (which needs
// `F::Output: Send`); the state word orders those accesses. Everything else is Sync.
unsafe impl<F: Future + Send> Sync for Cell<F> where F::Output: Send {}

// SAFETY: the only field that is not `Send` by itself is `this`, a pointer to the cell itself
// that is written once before the cell is shared and only read afterwards.
unsafe impl<F: Future + Send> Send for Cell<F> where F::Output: Send {}

/// A task as one machine word, for a slot that must be swapped atomically (the scheduler's
/// `runnext`). The reference is moved into the word: turn it back with [`from_thin`] exactly once.
pub(crate) fn into_thin(task: Task) -> *mut () {
    // Dropping the metadata keeps the data address: the address of the `Cell<F>`, whose first
    // field (`repr(C)`) is `this`.
    Arc::into_raw(task) as *const () as *mut ()
}

/// The task a word from [`into_thin`] holds.
///
/// # Safety
/// `p` must come from `into_thin`, and each such word may be turned back only once.
pub(crate) unsafe fn from_thin(p: *mut ()) -> Task {
    // SAFETY: `p` is the address of a live `Cell<F>` (the word holds a strong reference), whose
    // first field is the immutable fat pointer `this`; that pointer is what `Arc::into_raw`
    // returned for this task, so `from_raw` takes back the reference `into_thin` moved in.
    unsafe {
        let this = *(p as *const *const dyn RawTask);
        Arc::from_raw(this)
    }
}

impl<F> Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    pub(crate) fn new(future: F, id: Id, sched: Arc<Shared>) -> Arc<Cell<F>> {
        Arc::new_cyclic(|me| Cell {
            // The allocation exists already; only its address is taken here.
            this: me.as_ptr() as *const dyn RawTask,
            state: State::new(),
            id,
            sched,
            owned_key: std::sync::atomic::AtomicUsize::new(usize::MAX),
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: Mutex::new(None),
        })
    }

    pub(crate) fn set_owned_key(&self, key: usize) {
        self.owned_key
            .store(key, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stores the result, publishes `COMPLETE`, wakes the JoinHandle, leaves the owned list.
    fn complete(&self, result: Result<F::Output, JoinError>) {
        // SAFETY: we hold `RUNNING` (see module doc), so no one else touches the stage.
        self.stage
            .with_mut(|stage| unsafe { *stage = Stage::Finished(result) });
        self.state.transition_to_complete();
        if let Some(w) = self.join_waker.lock().take() {
            w.wake();
        }
        let key = self.owned_key.load(std::sync::atomic::Ordering::Relaxed);
        if key != usize::MAX {
            self.sched.owned.remove(self.id, key);
        }
    }

    /// Drops the future (catching a panic from its destructor) and completes as cancelled.
    fn cancel(&self) {
        let err = match self.drop_future() {
            Ok(()) => JoinError::cancelled(self.id),
            Err(p) => JoinError::panic(self.id, p),
        };
        self.complete(Err(err));
    }

    /// Replaces the stage with `Consumed`, dropping the future; a panicking destructor is caught.
    /// Only called by the thread holding `RUNNING`.
    fn drop_future(&self) -> Result<(), Box<dyn Any + Send>> {
        self.stage.with_mut(|stage| {
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: the caller holds `RUNNING` (module doc): nobody else touches the stage.
                unsafe { *stage = Stage::Consumed }
            }))
        })
    }

    fn poll_future(self: &Arc<Self>) -> Result<Poll<F::Output>, Box<dyn Any + Send>> {
        let waker = waker_ref(self);
        let mut cx = Context::from_waker(&waker);
        let _budget = super::coop::start();
        self.stage.with_mut(|stage| {
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: we hold `RUNNING`, so we have exclusive access to the stage; the cell
                // lives in an `Arc` and is never moved, so pinning the future in place is sound.
                let fut = match unsafe { &mut *stage } {
                    Stage::Running(f) => f,
                    _ => unreachable!("a running task has no future"),
                };
                // SAFETY: see above: the future is never moved out of the pinned cell.
                unsafe { Pin::new_unchecked(fut) }.poll(&mut cx)
            }))
        })
    }
}

impl<F> RawTask for Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn run(self: Arc<Self>) -> Option<Task> {
        // `task::id()` answers for this task while it is polled, cancelled or dropped.
        let _id = super::enter_id(self.id);
        match self.state.transition_to_running() {
            Run::Skip => None,
            Run::Cancel => {
                self.cancel();
                None
            }
            Run::Poll => match self.poll_future() {
                Ok(Poll::Pending) => match self.state.transition_to_idle() {
                    ToIdle::Idle => None,
                    ToIdle::Resubmit => Some(self),
                },
                Ok(Poll::Ready(out)) => {
                    // Drop the finished future before storing the output.
                    match self.drop_future() {
                        Ok(()) => self.complete(Ok(out)),
                        Err(p) => self.complete(Err(JoinError::panic(self.id, p))),
                    }
                    None
                }
                Err(panic) => {
                    // The future is in an unknown state: drop it, then report the panic.
                    let _ = self.drop_future();
                    self.complete(Err(JoinError::panic(self.id, panic)));
                    None
                }
            },
        }
    }

    fn shutdown(&self) {
        let _id = super::enter_id(self.id);
        if self.state.transition_to_shutdown() {
            self.cancel();
        }
    }

    fn id(&self) -> Id {
        self.id
    }
}

impl<F> ArcWake for Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn wake(self: Arc<Self>) {
        if self.state.transition_to_notified() != Notify::Submit {
            return;
        }
        let sched: *const Shared = Arc::as_ptr(&self.sched);
        // SAFETY: `sched` points into the `Shared` that `self` keeps alive; it is used while
        // `self` still owns its `Arc` (the `current_p_of` check) and, on a worker thread, after
        // `self` has moved into a run queue: that thread runs `run_p` with an `Arc<Shared>` of
        // its own (its M or `block_on` holds one), so the `Shared` outlives the call.
        let sched = unsafe { &*sched };
        match crate::runtime::context::current_p_of(sched) {
            // The common case (a task woken on a worker) hands over this very reference: no
            // clone and drop of the task's `Arc`, two atomic read-modify-writes per wake.
            Some(p) => sched.schedule_local(p, self),
            None => sched.schedule_remote(self.clone()),
        }
    }

    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.state.transition_to_notified() == Notify::Submit {
            arc_self.sched.schedule(arc_self.clone());
        }
    }
}

impl<F> Join<F::Output> for Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        if !self.state.is_complete() {
            {
                let mut slot = self.join_waker.lock();
                match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            // Re-check after publishing the waker: `complete` takes the waker after setting
            // COMPLETE, so either it saw our waker or we see COMPLETE now.
            if !self.state.is_complete() {
                return Poll::Pending;
            }
        }
        // SAFETY: COMPLETE was observed with Acquire, so the runner is done with the stage and
        // its writes are visible; the JoinHandle is the only reader, and `poll_join` takes `&self`
        // from the one JoinHandle (which is not Clone), so there is no concurrent access.
        let stage = self
            .stage
            .with_mut(|stage| unsafe { std::mem::replace(&mut *stage, Stage::Consumed) });
        match stage {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned Ready"),
        }
    }

    fn set_join_waker(&self, waker: &Waker) {
        {
            let mut slot = self.join_waker.lock();
            match &*slot {
                Some(w) if w.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        // `complete` sets COMPLETE, then takes the waker: if it ran before we stored ours,
        // we see COMPLETE here and wake ourselves.
        if self.state.is_complete() {
            if let Some(w) = self.join_waker.lock().take() {
                w.wake();
            }
        }
    }

    fn task_ref(self: Arc<Self>) -> Arc<dyn TaskRef> {
        self
    }
}

impl<F> TaskRef for Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn abort(self: Arc<Self>) {
        if self.state.set_cancelled() {
            ArcWake::wake(self);
        }
    }

    fn is_finished(&self) -> bool {
        self.state.is_complete()
    }

    fn id(&self) -> Id {
        self.id
    }
}
