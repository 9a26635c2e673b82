//! `proxy LISTEN UPSTREAM`: a TCP proxy. Each accepted connection gets its own connection to
//! UPSTREAM, and `copy_bidirectional` moves bytes both ways by splice(2); a half-close on either
//! side is passed on, and both connections close when both directions are done. An unreachable
//! upstream (refused, or no answer within 5 s) closes the client at once; the proxy keeps serving.
//!
//! ```sh
//! cargo run --release --example proxy 127.0.0.1:8000 127.0.0.1:7000
//! ```

mod common;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use netpoll::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return common::usage("proxy LISTEN UPSTREAM");
    }
    let upstream: Arc<str> = args[2].as_str().into();
    common::serve_fds(&args[1], 6, move |mut client, peer, _state| {
        let upstream = upstream.clone();
        async move {
            let mut up = match netpoll::time::timeout(
                CONNECT_TIMEOUT,
                TcpStream::connect(&*upstream),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    eprintln!("proxy: {peer}: upstream {upstream}: {e}; closing the client");
                    return Ok(());
                }
                Err(_) => {
                    eprintln!("proxy: {peer}: upstream {upstream}: no answer in {CONNECT_TIMEOUT:?}; closing the client");
                    return Ok(());
                }
            };
            client.set_nodelay(true)?;
            up.set_nodelay(true)?;
            netpoll::io::copy_bidirectional(&mut client, &mut up).await?;
            Ok(())
        }
    })
}
