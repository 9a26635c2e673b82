#[netpoll::main]
struct Server;

fn main() {}
