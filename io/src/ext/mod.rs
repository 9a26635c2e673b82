//! Extension traits for the I/O traits ([`AsyncReadExt`], [`AsyncWriteExt`],
//! [`AsyncBufReadExt`]) and the named futures their methods return.
//!
//! The traits are re-exported at the crate root; the future types live here so they can be
//! named (stored in a struct, used in a bound) without cluttering the root.

mod buf_read_ext;
mod chain;
mod read_buf;
mod read_ext;
mod take;
mod write_ext;

pub use buf_read_ext::{AsyncBufReadExt, FillBuf, ReadLine, ReadUntil};
pub use chain::Chain;
pub use read_buf::ReadBuf;
pub use read_ext::{
    AsyncReadExt, Read, ReadExact, ReadF32, ReadF32Le, ReadF64, ReadF64Le, ReadI128, ReadI128Le,
    ReadI16, ReadI16Le, ReadI32, ReadI32Le, ReadI64, ReadI64Le, ReadI8, ReadToEnd, ReadToString,
    ReadU128, ReadU128Le, ReadU16, ReadU16Le, ReadU32, ReadU32Le, ReadU64, ReadU64Le, ReadU8,
};
pub use take::Take;
pub use write_ext::{
    AsyncWriteExt, Flush, Shutdown, Write, WriteAll, WriteAllBuf, WriteBuf, WriteF32, WriteF32Le,
    WriteF64, WriteF64Le, WriteI128, WriteI128Le, WriteI16, WriteI16Le, WriteI32, WriteI32Le,
    WriteI64, WriteI64Le, WriteI8, WriteU128, WriteU128Le, WriteU16, WriteU16Le, WriteU32,
    WriteU32Le, WriteU64, WriteU64Le, WriteU8, WriteVectored,
};

pub use crate::seek::Seek;

pub(crate) use read_ext::check_read_buf;

/// The `String` behind `read_to_string`/`read_line`, moved into a `Vec<u8>` while bytes are
/// appended and validated as UTF-8 when the operation ends.
///
/// If the future is dropped before it finishes, the `String` gets its original contents back
/// (the bytes read meanwhile are lost; they have been consumed from the reader).
#[derive(Debug)]
pub(crate) struct StringBytes<'a> {
    out: &'a mut String,
    /// The original contents followed by what was read; empty once finished.
    pub(crate) bytes: Vec<u8>,
    orig_len: usize,
    active: bool,
}

impl<'a> StringBytes<'a> {
    pub(crate) fn new(out: &'a mut String) -> StringBytes<'a> {
        let bytes = std::mem::take(out).into_bytes();
        let orig_len = bytes.len();
        StringBytes {
            out,
            bytes,
            orig_len,
            active: true,
        }
    }

    /// True once [`finish`](Self::finish) ran.
    pub(crate) fn is_finished(&self) -> bool {
        !self.active
    }

    /// Bytes appended so far.
    pub(crate) fn appended(&self) -> usize {
        self.bytes.len() - self.orig_len
    }

    /// Ends the operation: the bytes go back into the `String` if they are valid UTF-8 (and, if
    /// `truncate_on_io_error`, only if the I/O succeeded); otherwise the original contents are
    /// restored. Returns the bytes appended or the error (I/O errors win over UTF-8 errors).
    pub(crate) fn finish(
        &mut self,
        io_res: std::io::Result<()>,
        truncate_on_io_error: bool,
    ) -> std::io::Result<usize> {
        let appended = self.appended();
        let bytes = std::mem::take(&mut self.bytes);
        self.active = false;
        match (io_res, String::from_utf8(bytes)) {
            (Ok(()), Ok(s)) => {
                *self.out = s;
                Ok(appended)
            }
            (Err(e), Ok(s)) => {
                *self.out = s;
                if truncate_on_io_error {
                    self.out.truncate(self.orig_len);
                }
                Err(e)
            }
            (Ok(()), Err(bad)) => {
                let utf8_err = bad.utf8_error();
                self.restore(bad.into_bytes());
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    utf8_err,
                ))
            }
            (Err(e), Err(bad)) => {
                self.restore(bad.into_bytes());
                Err(e)
            }
        }
    }

    fn restore(&mut self, mut bytes: Vec<u8>) {
        bytes.truncate(self.orig_len);
        // The first `orig_len` bytes are the original `String`, so this cannot fail.
        *self.out = String::from_utf8(bytes).expect("the original contents are valid UTF-8");
    }
}

impl Drop for StringBytes<'_> {
    fn drop(&mut self) {
        if self.active {
            let bytes = std::mem::take(&mut self.bytes);
            self.restore(bytes);
        }
    }
}
