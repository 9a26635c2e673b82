//! `proxy LISTEN UPSTREAM`: per connection, connect to UPSTREAM and
//! `tokio::io::copy_bidirectional`, which propagates each half-close and returns when both
//! directions are done.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpStream;

async fn relay(mut inbound: TcpStream, upstream: Arc<String>) -> std::io::Result<()> {
    let mut outbound = TcpStream::connect(upstream.as_str()).await?;
    inbound.set_nodelay(true)?;
    outbound.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return compare_tokio::usage("proxy LISTEN UPSTREAM");
    }
    let upstream = Arc::new(args[2].clone());
    compare_tokio::serve(&args[1], move |s| relay(s, upstream.clone()))
}
