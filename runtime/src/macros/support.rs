//! What the expansions of `select!`, `join!` and `try_join!` call. Public only so that
//! `$crate::macros::support::..` resolves in the user's crate; not part of the API.

pub use std::future::{poll_fn, Future, IntoFuture};
pub use std::pin::Pin;
pub use std::task::{Context, Poll};

use std::cell::Cell;

/// `select!` tests a branch's pattern against a reference to the output before it commits to
/// that branch; `mut`/`ref` bindings would not type-check there, so they are removed first.
pub use netpoll_macros::select_clean_pattern as clean_pattern;

/// A number in `0..n` (`n >= 1`) from a per-thread xorshift generator: which branch
/// `select!` polls first, so that no branch starves the others.
pub fn thread_rng_n(n: u32) -> u32 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    let next = STATE
        .try_with(|s| {
            let mut x = s.get();
            if x == 0 {
                x = seed();
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            x
        })
        .unwrap_or_else(|_| seed());
    // Lemire's multiply-shift: unbiased enough for a fairness choice, and no division.
    (((next >> 32) * u64::from(n)) >> 32) as u32
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(&h as *const _ as usize);
    h.finish() | 1
}

/// Whether the current task may go on: `Pending` (after waking the task) when its coop budget is
/// used up, so a `select!`/`join!` over always-ready branches still yields to the scheduler.
/// It spends nothing: the branches' own resources do.
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if crate::task::coop::has_budget_remaining() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A future in `join!`: still running, finished with its output, or emptied.
pub enum MaybeDone<F: Future> {
    /// Not finished.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output has been taken.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future.
    pub fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Future(future)
    }

    /// Polls the future if it has not finished; true once it has.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future is never moved out of the pinned enum: it is polled in place and
        // dropped in place when it is overwritten by `Done`. Only the output, which is not
        // pinned, ever leaves (in `take_output`).
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Future(f) => {
                // SAFETY: `f` lives inside the pinned `self` and is not moved (see above).
                let f = unsafe { Pin::new_unchecked(f) };
                match f.poll(cx) {
                    Poll::Ready(out) => {
                        *this = MaybeDone::Done(out);
                        true
                    }
                    Poll::Pending => false,
                }
            }
            MaybeDone::Done(_) => true,
            MaybeDone::Gone => true,
        }
    }

    /// The output of a finished future, once.
    ///
    /// # Panics
    /// If the future has not finished or its output was already taken.
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only a `Done` value is replaced, and `Done` holds no pinned data (the
        // future was dropped in place when it finished).
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match std::mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(out) => out,
                _ => unreachable!(),
            },
            _ => panic!("join!: output taken before the future finished"),
        }
    }
}

/// A future in `try_join!`: like [`MaybeDone`], but an `Err` output is reported at once.
pub enum TryMaybeDone<F: Future>
where
    F::Output: TryOutput,
{
    /// Not finished.
    Future(F),
    /// Finished with `Ok`; the value waits to be taken.
    Done(<F::Output as TryOutput>::Ok),
    /// The value has been taken, or the future failed.
    Gone,
}

/// The `Result` shape of a `try_join!` branch's output.
pub trait TryOutput {
    /// The success value.
    type Ok;
    /// The error.
    type Err;
    /// Splits it.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> TryOutput for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

impl<F: Future> TryMaybeDone<F>
where
    F::Output: TryOutput,
{
    /// Wraps a future.
    pub fn new(future: F) -> TryMaybeDone<F> {
        TryMaybeDone::Future(future)
    }

    /// Polls the future if it has not finished: `Ready(Ok(()))` once it has succeeded,
    /// `Ready(Err(e))` when it fails.
    pub fn poll_done(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), <F::Output as TryOutput>::Err>> {
        // SAFETY: as in `MaybeDone::poll_done`: the future is polled and dropped in place.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            TryMaybeDone::Future(f) => {
                // SAFETY: `f` lives inside the pinned `self` and is not moved.
                let f = unsafe { Pin::new_unchecked(f) };
                match f.poll(cx) {
                    Poll::Ready(out) => match out.into_result() {
                        Ok(v) => {
                            *this = TryMaybeDone::Done(v);
                            Poll::Ready(Ok(()))
                        }
                        Err(e) => {
                            *this = TryMaybeDone::Gone;
                            Poll::Ready(Err(e))
                        }
                    },
                    Poll::Pending => Poll::Pending,
                }
            }
            TryMaybeDone::Done(_) => Poll::Ready(Ok(())),
            TryMaybeDone::Gone => panic!("try_join!: polled after it failed"),
        }
    }

    /// The value of a future that succeeded, once.
    ///
    /// # Panics
    /// If the future has not succeeded or its value was already taken.
    pub fn take_output(self: Pin<&mut Self>) -> <F::Output as TryOutput>::Ok {
        // SAFETY: only a `Done` value, which holds no pinned data, is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            TryMaybeDone::Done(_) => match std::mem::replace(this, TryMaybeDone::Gone) {
                TryMaybeDone::Done(v) => v,
                _ => unreachable!(),
            },
            _ => panic!("try_join!: output taken before the future finished"),
        }
    }
}
