//! `echo ADDR`: echoes every byte; on the client's half-close it finishes echoing, then closes.
//!
//! Each connection is `copy(read half, write half)` of the same socket, so the bytes go
//! socket → pipe → socket by splice(2) and never enter user space (Go's `io.Copy(c, c)`).
//!
//! ```sh
//! cargo run --release --example echo 127.0.0.1:7000
//! ```

mod common;

use std::process::ExitCode;

use netpoll::io::AsyncWriteExt;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return common::usage("echo ADDR");
    }
    common::serve(&args[1], |stream, _peer, _state| async move {
        stream.set_nodelay(true)?;
        let (mut r, mut w) = stream.into_split();
        netpoll::io::copy(&mut r, &mut w).await?;
        // The client half-closed and everything was echoed: close our side too.
        w.shutdown().await?;
        Ok(())
    })
}
