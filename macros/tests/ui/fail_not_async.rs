#[netpoll::main]
fn main() {}
