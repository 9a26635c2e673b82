//! tokio's declarative macros: `select!`, `join!`, `try_join!`, `pin!` and `task_local!`.
//!
//! They are `macro_rules!` macros that name everything through `$crate`, so they work
//! whatever the user calls the crate in Cargo.toml (`tokio = { package = "netpoll" }`
//! included). Branches and futures get their names from a fixed list of 64 identifiers
//! (`_0`..`_63`), which is also tokio's limit on the number of branches.
//!
//! # `select!`, step by step
//!
//! 1. Every precondition (`, if cond`) is evaluated, in order; a false one disables its branch.
//! 2. Every future expression is evaluated, in order, disabled branches' too, and pinned on the
//!    stack.
//! 3. The futures are polled, starting at a random branch (or the first, with `biased;`), each
//!    enabled branch once per wake-up. The first to finish has its output tested against the
//!    branch's pattern: a match ends the polling; a mismatch disables that branch and polling
//!    goes on.
//! 4. All futures are dropped, then the chosen branch's handler runs with the pattern's bindings.
//!    The handler is outside any closure: `return`, `?`, `break` and `continue` act on the
//!    code around `select!`.
//! 5. If every branch is disabled, the `else` handler runs; without `else`, `select!` panics.
//!
//! When the task's coop budget is used up, `select!` and `join!` return `Pending` (after
//! waking the task) before polling anything, as tokio's do.

pub mod support;

/// Waits on several futures at once and runs the handler of the first that completes with a
/// value matching its pattern; the others are dropped (cancelled).
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <async expression> [, if <precondition>] => <handler>,
///     ...
///     [else => <handler>]
/// }
/// ```
///
/// The branches are polled in a random order each time, so one always-ready branch cannot
/// starve the others; `biased;` polls them top to bottom instead. A branch whose output does
/// not match its pattern is disabled for the rest of this `select!`, as is one whose
/// precondition is false. If all branches are disabled, the `else` branch runs; without one,
/// `select!` panics. At most 64 branches.
///
/// Cancel safety is the futures' own: a future that loses the race is dropped, and whatever it
/// had done is lost unless its docs say it is cancel safe (`recv` on a channel, `accept`,
/// `sleep` are; `read_exact` is not).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let quick = async { 7 };
/// let slow = netpoll_runtime::time::sleep(Duration::from_secs(10));
/// let got = netpoll_runtime::select! {
///     v = quick => v,
///     _ = slow => 0,
/// };
/// assert_eq!(got, 7);
/// # });
/// ```
///
/// A loop over a changing set of branches, with a precondition and `else`:
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let mut a = Some(1);
/// let mut b = Some(2);
/// let mut sum = 0;
/// loop {
///     netpoll_runtime::select! {
///         Some(v) = async { a.take() }, if a.is_some() => sum += v,
///         Some(v) = async { b.take() }, if b.is_some() => sum += v,
///         else => break,
///     }
/// }
/// assert_eq!(sum, 3);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($t:tt)*) => {
        $crate::__select_parse!(@biased true; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @branches []; $($t)*)
    };
    ($($t:tt)*) => {
        $crate::__select_parse!(@biased false; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @branches []; $($t)*)
    };
}

/// `select!`'s parser: one branch per step, each given the next name from the list.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // The end, with or without `else`. The first unused name's number is the branch count.
    (@biased $b:tt; @names [($n:ident $count:tt) $($names:tt)*]; @branches [$($br:tt)*]; else => $else:expr $(,)?) => {
        $crate::__select_gen!($b; $count; [$else]; $($br)*)
    };
    (@biased $b:tt; @names [($n:ident $count:tt) $($names:tt)*]; @branches [$($br:tt)*]; ) => {
        $crate::__select_gen!($b; $count; [::core::panic!("all branches are disabled and there is no else branch")]; $($br)*)
    };
    (@biased $b:tt; @names []; $($rest:tt)*) => {
        ::core::compile_error!("select! takes at most 64 branches")
    };

    // `pat = fut, if cond => handler`
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr, if $c:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [$c] [$h]]]; $($rest)*)
    };
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr, if $c:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [$c] [$h]]]; $($rest)*)
    };
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [$c] [$h]]]; )
    };

    // `pat = fut => handler`
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [true] [$h]]]; $($rest)*)
    };
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [true] [$h]]]; $($rest)*)
    };
    (@biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @branches [$($br:tt)*]; $p:pat = $f:expr => $h:expr) => {
        $crate::__select_parse!(@biased $b; @names [$($names)*]; @branches [$($br)* [$n $i [$p] [$f] [true] [$h]]]; )
    };

    (@biased $b:tt; @names [$($names:tt)*]; @branches [$($br:tt)*]; $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `<pattern> = <future> [, if <condition>] => <handler>,` or `else => <handler>`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };
}

/// `select!`'s expansion, once the branches are parsed.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    ($biased:tt; 0; [$else:expr]; ) => {
        ::core::compile_error!("select! needs at least one branch besides `else`")
    };
    ($biased:tt; $count:tt; [$else:expr]; $([$name:ident $idx:tt [$p:pat] [$f:expr] [$c:expr] [$h:expr]])*) => {{
        #[allow(non_camel_case_types, dead_code, clippy::enum_variant_names)]
        enum __SelectOut<$($name,)*> {
            $($name($name),)*
            __Disabled,
        }
        const __SELECT_COUNT: u32 = $count;
        const __SELECT_ALL: u64 = u64::MAX >> (64 - __SELECT_COUNT);
        let mut __select_disabled: u64 = 0;
        $(
            if !$c {
                __select_disabled |= 1u64 << $idx;
            }
        )*
        let __select_output = {
            $(
                #[allow(unused_mut)]
                let mut $name = ::core::pin::pin!(
                    $crate::macros::support::IntoFuture::into_future($f)
                );
            )*
            $crate::macros::support::poll_fn(|__cx: &mut $crate::macros::support::Context<'_>| {
                if $crate::macros::support::poll_budget_available(__cx).is_pending() {
                    return $crate::macros::support::Poll::Pending;
                }
                #[allow(clippy::modulo_one)]
                let __start: u32 = if $biased {
                    0
                } else {
                    $crate::macros::support::thread_rng_n(__SELECT_COUNT)
                };
                for __i in 0..__SELECT_COUNT {
                    #[allow(clippy::modulo_one)]
                    let __branch = (__start + __i) % __SELECT_COUNT;
                    match __branch {
                        $(
                            $idx => {
                                if __select_disabled & (1u64 << $idx) != 0 {
                                    continue;
                                }
                                let __poll = $crate::macros::support::Future::poll($name.as_mut(), __cx);
                                if let $crate::macros::support::Poll::Ready(__out) = __poll {
                                    #[allow(unused_variables, unreachable_patterns)]
                                    match &__out {
                                        $crate::macros::support::clean_pattern!($p) => {}
                                        _ => {
                                            __select_disabled |= 1u64 << $idx;
                                            continue;
                                        }
                                    }
                                    return $crate::macros::support::Poll::Ready(__SelectOut::$name(__out));
                                }
                            }
                        )*
                        _ => ::core::unreachable!("select!: no branch {}", __branch),
                    }
                }
                if __select_disabled == __SELECT_ALL {
                    $crate::macros::support::Poll::Ready(__SelectOut::__Disabled)
                } else {
                    $crate::macros::support::Poll::Pending
                }
            })
            .await
        };
        #[allow(unreachable_patterns, unused_variables)]
        match __select_output {
            $(__SelectOut::$name($p) => $h,)*
            __SelectOut::__Disabled => $else,
            _ => ::core::unreachable!("select!: the chosen branch's pattern no longer matches"),
        }
    }};
}

/// Waits on several futures concurrently, on the current task, and returns a tuple of all
/// their outputs once every one has completed.
///
/// The futures are polled on the task that awaits `join!` (no spawning: use `spawn` for
/// parallelism). Each wake-up polls every unfinished future, starting one further along each
/// time so that none is always polled first; `join!(biased; ..)` polls them in order.
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = netpoll_runtime::join!(async { 1 }, async { "two" });
/// assert_eq!((a, b), (1, "two"));
/// # });
/// ```
#[macro_export]
macro_rules! join {
    (biased; $($f:expr),* $(,)?) => {
        $crate::__join_parse!(@kind join; @biased true; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @futs []; $($f,)*)
    };
    ($($f:expr),* $(,)?) => {
        $crate::__join_parse!(@kind join; @biased false; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @futs []; $($f,)*)
    };
}

/// Like [`join!`], for futures that return `Result`: returns `Ok` of a tuple of the values
/// once all have succeeded, or the first `Err` as soon as one fails (the others are dropped).
///
/// ```
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let ok: Result<(u8, &str), String> =
///     netpoll_runtime::try_join!(async { Ok(1) }, async { Ok("two") });
/// assert_eq!(ok, Ok((1, "two")));
///
/// let failed: Result<(u8, u8), &str> = netpoll_runtime::try_join!(
///     async { Err("first failed") },
///     std::future::pending::<Result<u8, &str>>(),
/// );
/// assert_eq!(failed, Err("first failed"));
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    (biased; $($f:expr),* $(,)?) => {
        $crate::__join_parse!(@kind try_join; @biased true; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @futs []; $($f,)*)
    };
    ($($f:expr),* $(,)?) => {
        $crate::__join_parse!(@kind try_join; @biased false; @names [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63) (_64 64)]; @futs []; $($f,)*)
    };
}

/// `join!`/`try_join!`'s parser: names each future.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_parse {
    (@kind $k:ident; @biased $b:tt; @names [($n:ident $count:tt) $($names:tt)*]; @futs [$($fs:tt)*]; ) => {
        $crate::__join_gen!($k; $b; $count; $($fs)*)
    };
    (@kind $k:ident; @biased $b:tt; @names []; @futs [$($fs:tt)*]; $($rest:tt)*) => {
        ::core::compile_error!("join!/try_join! take at most 64 futures")
    };
    (@kind $k:ident; @biased $b:tt; @names [($n:ident $i:tt) $($names:tt)*]; @futs [$($fs:tt)*]; $f:expr, $($rest:tt)*) => {
        $crate::__join_parse!(@kind $k; @biased $b; @names [$($names)*]; @futs [$($fs)* [$n $i [$f]]]; $($rest)*)
    };
}

/// `join!`/`try_join!`'s expansion.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_gen {
    (join; $biased:tt; 0; ) => {
        async {}.await
    };
    (try_join; $biased:tt; 0; ) => {
        async { ::core::result::Result::Ok(()) }.await
    };
    (join; $biased:tt; $count:tt; $([$name:ident $idx:tt [$f:expr]])*) => {{
        $(
            let mut $name = ::core::pin::pin!($crate::macros::support::MaybeDone::new(
                $crate::macros::support::IntoFuture::into_future($f)
            ));
        )*
        const __JOIN_COUNT: u32 = $count;
        let mut __join_next: u32 = 0;
        $crate::macros::support::poll_fn(|__cx: &mut $crate::macros::support::Context<'_>| {
            if $crate::macros::support::poll_budget_available(__cx).is_pending() {
                return $crate::macros::support::Poll::Pending;
            }
            let __start = __join_next;
            if !$biased {
                __join_next = if __join_next + 1 == __JOIN_COUNT { 0 } else { __join_next + 1 };
            }
            let mut __all_done = true;
            for __i in 0..__JOIN_COUNT {
                #[allow(clippy::modulo_one)]
                let __which = (__start + __i) % __JOIN_COUNT;
                match __which {
                    $(
                        $idx => {
                            if !$crate::macros::support::MaybeDone::poll_done($name.as_mut(), __cx) {
                                __all_done = false;
                            }
                        }
                    )*
                    _ => ::core::unreachable!("join!: no future {}", __which),
                }
            }
            if __all_done {
                $crate::macros::support::Poll::Ready(($(
                    $crate::macros::support::MaybeDone::take_output($name.as_mut()),
                )*))
            } else {
                $crate::macros::support::Poll::Pending
            }
        })
        .await
    }};
    (try_join; $biased:tt; $count:tt; $([$name:ident $idx:tt [$f:expr]])*) => {{
        $(
            let mut $name = ::core::pin::pin!($crate::macros::support::TryMaybeDone::new(
                $crate::macros::support::IntoFuture::into_future($f)
            ));
        )*
        const __JOIN_COUNT: u32 = $count;
        let mut __join_next: u32 = 0;
        $crate::macros::support::poll_fn(|__cx: &mut $crate::macros::support::Context<'_>| {
            if $crate::macros::support::poll_budget_available(__cx).is_pending() {
                return $crate::macros::support::Poll::Pending;
            }
            let __start = __join_next;
            if !$biased {
                __join_next = if __join_next + 1 == __JOIN_COUNT { 0 } else { __join_next + 1 };
            }
            let mut __all_done = true;
            for __i in 0..__JOIN_COUNT {
                #[allow(clippy::modulo_one)]
                let __which = (__start + __i) % __JOIN_COUNT;
                match __which {
                    $(
                        $idx => {
                            match $crate::macros::support::TryMaybeDone::poll_done($name.as_mut(), __cx) {
                                $crate::macros::support::Poll::Ready(::core::result::Result::Ok(())) => {}
                                $crate::macros::support::Poll::Ready(::core::result::Result::Err(__e)) => {
                                    return $crate::macros::support::Poll::Ready(::core::result::Result::Err(__e));
                                }
                                $crate::macros::support::Poll::Pending => __all_done = false,
                            }
                        }
                    )*
                    _ => ::core::unreachable!("try_join!: no future {}", __which),
                }
            }
            if __all_done {
                $crate::macros::support::Poll::Ready(::core::result::Result::Ok(($(
                    $crate::macros::support::TryMaybeDone::take_output($name.as_mut()),
                )*)))
            } else {
                $crate::macros::support::Poll::Pending
            }
        })
        .await
    }};
}

/// Pins values on the stack: each `x` becomes a `Pin<&mut T>` of the same name, so a
/// `!Unpin` future can be polled by reference (`(&mut x).await`, `select!` in a loop,
/// `x.as_mut().reset(..)` on a `Sleep`).
///
/// ```
/// use std::time::Duration;
/// use netpoll_runtime::time::Instant;
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// let sleep = netpoll_runtime::time::sleep(Duration::from_secs(60));
/// netpoll_runtime::pin!(sleep);
/// sleep.as_mut().reset(Instant::now() + Duration::from_millis(1));
/// (&mut sleep).await;
///
/// // The declaration form.
/// netpoll_runtime::pin! {
///     let quick = async { 5 };
/// }
/// assert_eq!((&mut quick).await, 5);
/// # });
/// ```
#[macro_export]
macro_rules! pin {
    ($(let $x:ident = $init:expr;)*) => {
        $(
            let $x = $init;
            $crate::pin!($x);
        )*
    };
    ($($x:ident),* $(,)?) => {
        $(
            #[allow(unused_mut)]
            let mut $x = ::core::pin::pin!($x);
        )*
    };
}

/// Declares task-local keys: values that a future sees while it runs inside
/// [`LocalKey::scope`](crate::task::LocalKey::scope), whichever thread polls it.
///
/// ```
/// netpoll_runtime::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// REQUEST_ID
///     .scope(7, async {
///         assert_eq!(REQUEST_ID.get(), 7);
///         netpoll_runtime::task::yield_now().await;
///         assert_eq!(REQUEST_ID.get(), 7);
///     })
///     .await;
/// assert!(REQUEST_ID.try_with(|_| ()).is_err());
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __KEY: ::core::cell::RefCell<::core::option::Option<$t>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            $crate::task::LocalKey::__new(__KEY)
        };
    };
}
