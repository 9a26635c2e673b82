//! `#[netpoll::main]` and `#[netpoll::test]`: run an `async fn` on a netpoll runtime.
//!
//! Use them through the facade crate (`netpoll::main`, `netpoll::test`): the expansion names
//! `::netpoll::runtime::Builder`. A crate that depends on netpoll under another name
//! (`tokio = { package = "netpoll", .. }` in its Cargo.toml, the drop-in for tokio) gets
//! `::tokio::runtime::Builder` instead: the macro finds the name in the manifest of the crate
//! being compiled, as `proc-macro-crate` does. `crate = "path"` overrides it.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod entry;
mod krate;

/// Runs an `async fn` (usually `main`) to completion on a netpoll runtime.
///
/// The function becomes an ordinary `fn` with the same name, visibility, attributes and return
/// type, whose body builds a runtime and `block_on`s the original body (roughly):
///
/// ```text
/// #[netpoll::main]                    fn main() -> R {
/// async fn main() -> R {                  let body = async move { BODY };
///     BODY                     ==>        let rt = ::netpoll::runtime::Builder::new_multi_thread()
/// }                                           .enable_all()
///                                             .build()
///                                             .expect("failed to build the netpoll runtime");
///                                         rt.block_on(body)
///                                     }
/// ```
///
/// # Arguments
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`: which
///   `netpoll::runtime::Builder` constructor to use.
/// - `worker_threads = N` (multi_thread only, `N >= 1`): the number of workers. Without it
///   the runtime uses `NETPOLL_WORKERS`, else the number of cores.
/// - `name = "text"`: the name of the runtime's threads (`Builder::thread_name`).
/// - `crate = "path"`: where the `netpoll` crate is, if it is re-exported (default: `::netpoll`,
///   or the dependency's key if the Cargo.toml renames netpoll, e.g. `::tokio`).
///
/// tokio's `start_paused` and `unhandled_panic` are refused with an error that says so.
///
/// The function may return anything, a `Result` included. `main` itself may not take
/// arguments; any other function keeps its parameters, which the body captures by move.
///
/// # Examples
///
/// ```
/// #[netpoll::main]
/// async fn main() {
///     let task = netpoll::spawn(async {
///         netpoll::time::sleep(std::time::Duration::from_millis(1)).await;
///         1 + 1
///     });
///     assert_eq!(task.await.unwrap(), 2);
/// }
/// ```
///
/// Choosing the flavour, the worker count, and returning a `Result`:
///
/// ```
/// #[netpoll::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let n = netpoll::runtime::Handle::current().metrics().num_workers();
///     assert_eq!(n, 2);
///     let parsed: u32 = "42".parse()?;
///     assert_eq!(parsed, 42);
///     Ok(())
/// }
/// ```
///
/// On a function other than `main`, which can then be called from synchronous code:
///
/// ```
/// #[netpoll::main(flavor = "current_thread")]
/// async fn double(x: u32) -> u32 {
///     netpoll::spawn(async move { x * 2 }).await.unwrap()
/// }
///
/// fn main() {
///     assert_eq!(double(21), 42);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a netpoll runtime.
///
/// Like [`macro@main`], and adds `#[test]`: the function must not take arguments, and the
/// default flavour is `current_thread` (as in tokio), one runtime per test. Other attributes
/// (`#[should_panic]`, `#[ignore]`, ...) are kept. Do not add `#[test]` yourself.
///
/// The expansion (roughly):
///
/// ```text
/// #[netpoll::test]                    #[::core::prelude::v1::test]
/// async fn works() -> R {             fn works() -> R {
///     BODY                     ==>        let body = async move { BODY };
/// }                                       let rt = ::netpoll::runtime::Builder::new_current_thread()
///                                             .enable_all()
///                                             .build()
///                                             .expect("failed to build the netpoll runtime");
///                                         rt.block_on(body)
///                                     }
/// ```
///
/// # Arguments
///
/// - `flavor = "current_thread"` (the default) or `flavor = "multi_thread"`.
/// - `worker_threads = N` (needs `flavor = "multi_thread"`, `N >= 1`).
/// - `name = "text"`: the name of the runtime's threads.
/// - `crate = "path"`: where the `netpoll` crate is (default: found in Cargo.toml as for
///   [`macro@main`]).
///
/// # Examples
///
/// ```
/// #[netpoll::test]
/// async fn sleeps() {
///     netpoll::time::sleep(std::time::Duration::from_millis(1)).await;
/// }
///
/// #[netpoll::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn two_workers() -> Result<(), std::num::ParseIntError> {
///     assert_eq!(netpoll::runtime::Handle::current().metrics().num_workers(), 2);
///     let n: u8 = "7".parse()?;
///     assert_eq!(n, 7);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, args.into(), item.into()).into()
}

/// `select!`'s helper (not for direct use): the pattern without its `mut` and `ref` binding
/// modes, so that it can be tested against a reference to a branch's output before the
/// branch is chosen. The real bindings happen afterwards, with the pattern as written.
#[doc(hidden)]
#[proc_macro]
pub fn select_clean_pattern(input: TokenStream) -> TokenStream {
    clean(input.into()).into()
}

fn clean(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .filter_map(|tt| match tt {
            TokenTree::Ident(ref i) if i == "mut" || i == "ref" => None,
            TokenTree::Group(g) => {
                let mut cleaned = Group::new(g.delimiter(), clean(g.stream()));
                cleaned.set_span(g.span());
                Some(TokenTree::Group(cleaned))
            }
            other => Some(other),
        })
        .collect()
}
