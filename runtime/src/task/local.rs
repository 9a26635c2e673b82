//! [`LocalSet`] and [`spawn_local`]: tasks that are not `Send`, run on the thread that drives
//! their set, like tokio's.
//!
//! # Protocol
//!
//! A `LocalSet` owns its tasks' futures (boxed, in a slab, only ever touched on its thread).
//! Everything another thread may touch is in `Shared`, behind a mutex:
//!
//! - `woken`: keys of tasks to poll. A task's waker (`Send + Sync`, it holds the `Arc<Shared>`
//!   and the key) pushes its key and wakes `waiter`, the waker of whoever drives the set (a
//!   `run_until`, `block_on` or the set awaited as a future).
//! - A task's *header* (id, `cancelled`, `complete`) is shared with its `JoinHandle` and
//!   `AbortHandle`s; `abort` sets `cancelled` and pushes the key, and the next tick drops the
//!   future on the set's thread.
//!
//! A tick takes up to `TICK` keys, and for each takes the future out of its slot (so the poll
//! may `spawn_local` freely), polls it inside the set's context and puts it back, or completes
//! the task. A stale key (a task already finished, or a reused slot) costs one extra poll of
//! whatever is there, which futures tolerate. If keys remain after a tick, the driver wakes
//! itself and yields, so the set shares its thread with other work.
//!
//! Where the output lives: `LocalJoin<T>` (header + output slot) is referenced by the
//! `JoinHandle<T>` and by the set's task. `JoinHandle<T>` is `Send` only if `T: Send`, so a
//! `!Send` output never leaves the set's thread; `AbortHandle` holds the header alone.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::core::{Join, TaskRef};
use super::{Id, JoinError, JoinHandle};

/// Tasks polled per tick before the driver yields.
const TICK: usize = 61;

/// A set of `!Send` tasks that run on the thread that drives it, like `tokio::task::LocalSet`.
///
/// Drive it with [`run_until`](LocalSet::run_until) (inside a runtime),
/// [`block_on`](LocalSet::block_on), or by awaiting the set itself (it completes when all its
/// tasks have). Dropping the set drops the tasks that have not finished.
///
/// ```
/// use std::rc::Rc;
/// use netpoll_runtime::task::{self, LocalSet};
///
/// let rt = netpoll_runtime::runtime::Runtime::new().unwrap();
/// let local = LocalSet::new();
/// let shared = Rc::new(41); // not Send
/// let out = local.block_on(&rt, async move {
///     let s = shared.clone();
///     let handle = task::spawn_local(async move { *s + 1 });
///     handle.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
pub struct LocalSet {
    ctx: Rc<LocalContext>,
    _not_send: PhantomData<*const ()>,
}

/// A slot's task, or `None` while it is being polled (taken out of the slab).
type TaskSlot = Option<Pin<Box<dyn LocalTask>>>;

struct LocalContext {
    tasks: RefCell<Slab<TaskSlot>>,
    shared: Arc<Shared>,
    /// `LocalSet::id`.
    id: crate::runtime::Id,
}

struct Shared {
    inner: Mutex<SharedInner>,
}

struct SharedInner {
    woken: Vec<usize>,
    waiter: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SharedInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake_key(&self, key: usize) {
        let waiter = {
            let mut inner = self.lock();
            inner.woken.push(key);
            inner.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

thread_local! {
    /// The set being driven on this thread (for `spawn_local`).
    static CURRENT: RefCell<Option<Rc<LocalContext>>> = const { RefCell::new(None) };
}

/// Makes `ctx` the current set until dropped.
struct Enter(Option<Rc<LocalContext>>);

fn enter(ctx: &Rc<LocalContext>) -> Enter {
    Enter(CURRENT.with(|c| c.replace(Some(ctx.clone()))))
}

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Spawns a `!Send` future onto the [`LocalSet`] being driven on this thread, or onto the
/// [`LocalRuntime`](crate::runtime::LocalRuntime) whose `block_on` runs on it, like
/// `tokio::task::spawn_local`.
///
/// # Panics
/// Outside a `LocalSet` or `LocalRuntime` (no `run_until`/`block_on` of one on this thread, no
/// [`LocalSet::enter`] or `LocalRuntime::enter` guard).
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let ctx = CURRENT.with(|c| c.borrow().clone()).expect(
        "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`",
    );
    ctx.spawn(future)
}

/// Restores the previous current `LocalSet` when dropped; see [`LocalSet::enter`].
pub struct LocalEnterGuard {
    _enter: Enter,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish()
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            ctx: Rc::new(LocalContext {
                tasks: RefCell::new(Slab::new()),
                shared: Arc::new(Shared {
                    inner: Mutex::new(SharedInner {
                        woken: Vec::new(),
                        waiter: None,
                    }),
                }),
                id: crate::runtime::Id::next(),
            }),
            _not_send: PhantomData,
        }
    }

    /// The set's id, like tokio's `LocalSet::id`: a [`runtime::Id`](crate::runtime::Id)
    /// that no other `LocalSet` (nor any runtime) of this process has.
    ///
    /// ```
    /// use netpoll_runtime::task::LocalSet;
    /// let (a, b) = (LocalSet::new(), LocalSet::new());
    /// assert_ne!(a.id(), b.id());
    /// assert_eq!(a.id(), a.id());
    /// ```
    pub fn id(&self) -> crate::runtime::Id {
        self.ctx.id
    }

    /// Makes this the current set, so [`spawn_local`] outside `run_until` adds tasks to it;
    /// they run once the set is driven.
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard {
            _enter: enter(&self.ctx),
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` future onto this set. It runs when the set is driven.
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.ctx.spawn(future)
    }

    /// Runs `future` on `rt`'s `block_on` while driving this set's tasks on the same thread.
    ///
    /// # Panics
    /// As `Runtime::block_on` (inside a runtime).
    pub fn block_on<F: Future>(&self, rt: &crate::runtime::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Drives this set's tasks until `future` completes, and returns its output. Tasks left
    /// unfinished stay in the set for the next time it is driven.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            let _enter = enter(&self.ctx);
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if self.ctx.tick(cx) {
                cx.waker().wake_by_ref();
            }
            // The tasks may have woken the future.
            Poll::Pending
        })
        .await
    }
}

impl Future for LocalSet {
    type Output = ();

    /// Completes when every task of the set has finished.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _enter = enter(&self.ctx);
        if self.ctx.tick(cx) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.ctx.tasks.borrow().is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.ctx.tasks.borrow().len())
            .finish()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Drop the futures inside the set's context (their destructors may `spawn_local`,
        // which then lands here and is dropped in a later round), and tell their handles.
        let _enter = enter(&self.ctx);
        loop {
            let drained: Vec<_> = self.ctx.tasks.borrow_mut().drain().collect();
            if drained.is_empty() {
                break;
            }
            for task in drained.into_iter().flatten() {
                task.cancel_and_drop();
            }
        }
    }
}

impl LocalContext {
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = Id::next();
        let mut tasks = self.tasks.borrow_mut();
        let slot = tasks.vacant_entry();
        let key = slot.key();
        let header = Arc::new(Header {
            id,
            key,
            cancelled: AtomicBool::new(false),
            complete: AtomicBool::new(false),
            shared: self.shared.clone(),
        });
        let join = Arc::new(LocalJoin {
            header: header.clone(),
            output: Mutex::new(Output {
                result: None,
                waker: None,
                taken: false,
            }),
        });
        let waker = Waker::from(Arc::new(TaskWaker {
            key,
            shared: self.shared.clone(),
        }));
        slot.insert(Some(Box::pin(LocalCell {
            future: Some(future),
            join: join.clone(),
            waker,
        })));
        drop(tasks);
        // Its first poll.
        self.shared.wake_key(key);
        JoinHandle::new(join)
    }

    /// Polls up to `TICK` woken tasks; true if more are waiting. Registers `cx`'s waker for
    /// later wakes first, so none is lost.
    fn tick(&self, cx: &mut Context<'_>) -> bool {
        let batch: Vec<usize> = {
            let mut inner = self.shared.lock();
            match &inner.waiter {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => inner.waiter = Some(cx.waker().clone()),
            }
            let n = inner.woken.len().min(TICK);
            let at = inner.woken.len() - n;
            inner.woken.drain(at..).collect()
        };
        for key in batch {
            let task = match self.tasks.borrow_mut().get_mut(key) {
                Some(slot) => slot.take(),
                None => None,
            };
            // `None`: a stale key, or the task is being polled further up this stack.
            let Some(mut task) = task else { continue };
            let done = task.as_mut().run();
            let mut tasks = self.tasks.borrow_mut();
            if done {
                if tasks.contains(key) {
                    tasks.remove(key);
                }
            } else if let Some(slot) = tasks.get_mut(key) {
                *slot = Some(task);
            }
        }
        !self.shared.lock().woken.is_empty()
    }
}

/// A local task with its future type erased.
trait LocalTask {
    /// Polls (or cancels) the task; true once it is finished.
    fn run(self: Pin<&mut Self>) -> bool;
    /// Drops the future and completes the task as cancelled.
    fn cancel_and_drop(self: Pin<Box<Self>>);
}

struct LocalCell<F: Future> {
    future: Option<F>,
    join: Arc<LocalJoin<F::Output>>,
    waker: Waker,
}

impl<F: Future> LocalTask for LocalCell<F> {
    fn run(self: Pin<&mut Self>) -> bool {
        // SAFETY: `future` is structurally pinned (the cell is boxed and pinned; the future is
        // polled in place and only dropped in place, by assigning `None`); the other fields
        // are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let _id = super::enter_id(this.join.header.id);
        if this.future.is_none() {
            return true;
        }
        if this.join.header.cancelled.load(Acquire) {
            let res = catch_unwind(AssertUnwindSafe(|| this.future = None));
            this.join.complete(Err(match res {
                Ok(()) => JoinError::cancelled(this.join.header.id),
                Err(p) => JoinError::panic(this.join.header.id, p),
            }));
            return true;
        }
        let mut cx = Context::from_waker(&this.waker);
        let _budget = super::coop::start();
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let fut = this.future.as_mut().expect("checked above");
            // SAFETY: see above: the future is never moved out of the pinned cell.
            unsafe { Pin::new_unchecked(fut) }.poll(&mut cx)
        }));
        let result: Result<F::Output, Box<dyn Any + Send>> = match polled {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(out)) => Ok(out),
            Err(p) => Err(p),
        };
        // Drop the future before publishing the output, as spawned tasks do.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.future = None));
        let id = this.join.header.id;
        this.join.complete(match (result, dropped) {
            (Ok(out), Ok(())) => Ok(out),
            (Err(p), _) | (Ok(_), Err(p)) => Err(JoinError::panic(id, p)),
        });
        true
    }

    fn cancel_and_drop(self: Pin<Box<Self>>) {
        // SAFETY: the box is dropped right here; the future is dropped in place first.
        let mut this = unsafe { Pin::into_inner_unchecked(self) };
        let id = this.join.header.id;
        let _id = super::enter_id(id);
        if this.future.is_some() {
            let res = catch_unwind(AssertUnwindSafe(|| this.future = None));
            this.join.complete(Err(match res {
                Ok(()) => JoinError::cancelled(id),
                Err(p) => JoinError::panic(id, p),
            }));
        }
    }
}

/// Wakes a local task from any thread.
struct TaskWaker {
    key: usize,
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.shared.wake_key(self.key);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.wake_key(self.key);
    }
}

/// What handles share with the set about a task: no output, so it may go anywhere.
struct Header {
    id: Id,
    key: usize,
    cancelled: AtomicBool,
    complete: AtomicBool,
    shared: Arc<Shared>,
}

impl TaskRef for Header {
    fn abort(self: Arc<Self>) {
        if !self.complete.load(Acquire) && !self.cancelled.swap(true, AcqRel) {
            self.shared.wake_key(self.key);
        }
    }
    fn is_finished(&self) -> bool {
        self.complete.load(Acquire)
    }
    fn id(&self) -> Id {
        self.id
    }
}

struct Output<T> {
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
    taken: bool,
}

/// The header and the output slot: what a `JoinHandle` of a local task holds.
struct LocalJoin<T> {
    header: Arc<Header>,
    output: Mutex<Output<T>>,
}

// SAFETY: the output `T` is written on the set's thread and read by the `JoinHandle<T>`. When
// `T: Send` that is an ordinary hand-over through a mutex. When it is not, `JoinHandle<T>` is
// not `Send` (see `JoinHandle`'s impls), so the handle never leaves the set's thread; the only
// other holder is the set's task, on that thread too. `AbortHandle`s hold the `Header` alone.
unsafe impl<T> Send for LocalJoin<T> {}
// SAFETY: as above: every access to `output` goes through its mutex, from the set's thread
// or from the handle's, which is the same thread unless `T: Send`.
unsafe impl<T> Sync for LocalJoin<T> {}

impl<T> LocalJoin<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Output<T>> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn complete(&self, result: Result<T, JoinError>) {
        let waker = {
            let mut out = self.lock();
            out.result = Some(result);
            self.header.complete.store(true, Release);
            out.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> TaskRef for LocalJoin<T> {
    fn abort(self: Arc<Self>) {
        self.header.clone().abort();
    }
    fn is_finished(&self) -> bool {
        self.header.is_finished()
    }
    fn id(&self) -> Id {
        self.header.id
    }
}

impl<T> Join<T> for LocalJoin<T> {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut out = self.lock();
        if let Some(result) = out.result.take() {
            out.taken = true;
            return Poll::Ready(result);
        }
        if out.taken {
            panic!("JoinHandle polled after it returned Ready");
        }
        match &out.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => out.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn set_join_waker(&self, waker: &Waker) {
        let mut out = self.lock();
        if out.result.is_some() {
            drop(out);
            waker.wake_by_ref();
            return;
        }
        out.waker = Some(waker.clone());
    }

    fn task_ref(self: Arc<Self>) -> Arc<dyn TaskRef> {
        self.header.clone()
    }
}
