//! Buffered I/O: [`BufReader`], [`BufWriter`], both at once ([`BufStream`]), and the line and
//! segment iterators [`Lines`] and [`Split`].

mod buf_reader;
mod buf_stream;
mod buf_writer;
mod lines;
mod read_until;
mod split;

pub use buf_reader::BufReader;
pub use buf_stream::BufStream;
pub use buf_writer::BufWriter;
pub use lines::Lines;
pub(crate) use read_until::poll_read_until;
pub use split::Split;

/// The default buffer size of [`BufReader`] and [`BufWriter`], like tokio's.
const DEFAULT_BUF_SIZE: usize = 8 * 1024;
