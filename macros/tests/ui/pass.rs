// Every argument form compiles, and `main` may return a `Result`.

#[netpoll::main(flavor = "current_thread")]
async fn helper(x: u32) -> u32 {
    x + 1
}

#[netpoll::test(flavor = "multi_thread", worker_threads = 2, crate = "::netpoll")]
async fn a_test() {}

#[netpoll::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "1".parse()?;
    assert_eq!(n, 1);
    Ok(())
}
