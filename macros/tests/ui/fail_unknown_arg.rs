#[netpoll::main(flavour = "current_thread")]
async fn typo() {}

#[netpoll::main(threads = 4)]
async fn unknown() {}

#[netpoll::main(current_thread)]
async fn bare_flavor() {}

#[netpoll::test(start_paused = true)]
async fn tokio_only() {}

fn main() {}
