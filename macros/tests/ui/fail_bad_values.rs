#[netpoll::main(worker_threads = "4")]
async fn quoted_count() {}

#[netpoll::main(worker_threads = -1)]
async fn negative() {}

#[netpoll::main(flavor = current_thread)]
async fn unquoted_flavor() {}

#[netpoll::main(worker_threads)]
async fn no_value() {}

#[netpoll::main(crate = "not a path")]
async fn bad_crate() {}

#[netpoll::main(flavor = "multi_thread", flavor = "current_thread")]
async fn twice() {}

fn main() {}
