//! `#[netpoll::test]` and `#[netpoll::main]` as users write them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpoll::runtime::Handle;

#[netpoll::test]
async fn works() {
    let hits = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let hits = hits.clone();
            netpoll::spawn(async move {
                netpoll::time::sleep(Duration::from_millis(i)).await;
                hits.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    assert_eq!(sum, 6);
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[netpoll::test]
async fn test_defaults_to_current_thread() {
    assert_eq!(Handle::current().metrics().num_workers(), 1);
}

#[netpoll::test(flavor = "current_thread")]
async fn explicit_current_thread() {
    assert_eq!(Handle::current().metrics().num_workers(), 1);
    netpoll::time::sleep(Duration::from_millis(1)).await;
}

#[netpoll::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_two_workers() {
    assert_eq!(Handle::current().metrics().num_workers(), 2);
    // Tasks really run off this thread.
    let here = std::thread::current().id();
    let there = netpoll::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_ne!(here, there);
}

#[netpoll::test]
async fn returns_result() -> Result<(), Box<dyn std::error::Error>> {
    // `?` on two different error types, converted by the declared return type.
    let n: u32 = "12".parse()?;
    let s = String::from_utf8(vec![b'o', b'k'])?;
    netpoll::time::sleep(Duration::from_millis(1)).await;
    assert_eq!((n, s.as_str()), (12, "ok"));
    Ok(())
}

#[netpoll::test]
async fn early_return() -> Result<(), String> {
    if Handle::try_current().is_ok() {
        return Ok(());
    }
    Err("no runtime".into())
}

#[netpoll::test]
#[should_panic(expected = "boom")]
async fn attributes_are_kept() {
    netpoll::time::sleep(Duration::from_millis(1)).await;
    panic!("boom");
}

#[netpoll::test]
#[ignore = "checks that #[ignore] is kept; never run"]
async fn ignored() {
    panic!("an ignored test ran");
}

#[netpoll::test]
async fn inner_attributes() {
    #![allow(unused_variables)]
    let unused = 1;
}

// `crate = "..."`: the facade under another name.
extern crate netpoll as renamed_netpoll;

#[netpoll::test(crate = "renamed_netpoll")]
async fn renamed_crate() {
    renamed_netpoll::time::sleep(Duration::from_millis(1)).await;
}

mod reexport {
    pub mod rt {
        pub use netpoll::*;
    }
}

#[netpoll::test(crate = "crate::reexport::rt", flavor = "multi_thread")]
async fn reexported_crate() {
    assert!(Handle::current().metrics().num_workers() >= 1);
}

// `#[netpoll::main]` on a function other than `main`: it keeps its parameters and becomes a
// sync fn that runs its own runtime.
#[netpoll::main(flavor = "current_thread")]
async fn double_on_runtime(x: u64, label: &str) -> (u64, String) {
    let y = netpoll::spawn(async move { x * 2 }).await.unwrap();
    (y, label.to_uppercase())
}

#[netpoll::main(worker_threads = 3)]
async fn workers_of_main() -> usize {
    Handle::current().metrics().num_workers()
}

#[netpoll::main]
pub(crate) async fn default_main_flavor() -> bool {
    // The default is multi_thread: spawned tasks run on a worker, not on this thread.
    let here = std::thread::current().id();
    netpoll::spawn(async move { std::thread::current().id() != here })
        .await
        .unwrap()
}

#[test]
fn main_attribute_on_plain_functions() {
    assert_eq!(double_on_runtime(21, "ok"), (42, "OK".to_string()));
    assert_eq!(workers_of_main(), 3);
    assert!(default_main_flavor());
    // Not inside a runtime any more.
    assert!(Handle::try_current().is_err());
}

// Bodies that never reach their end, and return types that cannot annotate a `let`: these must
// compile without warnings (clippy runs with `-D warnings` on this file).
#[netpoll::main(flavor = "current_thread")]
async fn leaves_through_return() -> u32 {
    let mut n = 0;
    loop {
        netpoll::time::sleep(Duration::from_millis(1)).await;
        n += 1;
        if n == 3 {
            return n;
        }
    }
}

#[netpoll::main(flavor = "current_thread")]
async fn returns_impl_trait() -> impl std::fmt::Debug + PartialEq<&'static str> {
    netpoll::spawn(async { "spawned" }).await.unwrap()
}

#[netpoll::main(flavor = "current_thread")]
async fn borrows(words: &[&str]) -> usize {
    words.iter().map(|w| w.len()).sum()
}

#[allow(dead_code)]
#[netpoll::main]
async fn never_returns() -> ! {
    loop {
        netpoll::time::sleep(Duration::from_secs(60)).await;
    }
}

#[test]
fn unusual_bodies_and_return_types() {
    assert_eq!(leaves_through_return(), 3);
    assert_eq!(returns_impl_trait(), "spawned");
    assert_eq!(borrows(&["ab", "cde"]), 5);
}

#[netpoll::test(flavor = "multi_thread", worker_threads = 1, name = "named-rt")]
async fn name_sets_the_thread_name() {
    let name = netpoll::spawn(async { std::thread::current().name().map(str::to_owned) })
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("named-rt"));
}
