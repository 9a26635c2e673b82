#[netpoll::main(flavor = "multi_thred")]
async fn main() {}

#[netpoll::test(flavor = "local")]
async fn no_close_match() {}
