#[netpoll::main(flavor = "current_thread", worker_threads = 2)]
async fn main() {}

#[netpoll::test(worker_threads = 2)]
async fn test_default_flavor() {}
