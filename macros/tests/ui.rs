//! Compile-fail cases for the attributes' error messages, and one that must compile.
//!
//! The `.stderr` files hold rustc's output for the toolchain in use; after a compiler upgrade
//! changes its formatting, regenerate them with `TRYBUILD=overwrite cargo test -p netpoll-macros
//! --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
