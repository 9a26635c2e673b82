//! `echo ADDR`: echoes every byte; on the client's half-close it finishes echoing, then closes.
//!
//! The loop a tokio user writes: read into a buffer, `write_all` it back. The buffer is 8 KiB,
//! the size `tokio::io::copy` uses.

use std::process::ExitCode;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
    }
    stream.shutdown().await
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        return compare_tokio::usage("echo ADDR");
    }
    compare_tokio::serve(&args[1], echo)
}
