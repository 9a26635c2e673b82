//! Signals through the netpoller, so servers can shut down gracefully, like `tokio::signal`:
//! [`ctrl_c`], and the Unix signals in [`unix`] (also re-exported here).

use std::io;

pub mod unix;

pub use unix::{signal, Signal, SignalKind};

/// Waits for Ctrl-C (SIGINT), like `tokio::signal::ctrl_c`.
///
/// ```no_run
/// # netpoll_runtime::runtime::Runtime::new().unwrap().block_on(async {
/// netpoll_runtime::signal::ctrl_c().await?;
/// println!("shutting down");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut s = signal(SignalKind::interrupt())?;
    s.recv().await.ok_or_else(crate::runtime::shutdown_error)
}
