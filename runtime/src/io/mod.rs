//! The netpoller: readiness per fd ([`Registration`]) on top of the `sys` selector.

pub(crate) mod driver;
mod registration;
pub(crate) mod scheduled_io;

pub use registration::Registration;
pub use scheduled_io::{Direction, ReadyEvent};
