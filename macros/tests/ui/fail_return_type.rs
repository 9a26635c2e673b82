#[netpoll::main]
async fn answer() -> u32 {
    "forty-two"
}

fn main() {
    answer();
}
