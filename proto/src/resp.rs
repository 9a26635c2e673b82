//! RESP2, the Redis serialization protocol (version 2): an incremental command parser and the
//! reply encoders used by the `kv` example.
//!
//! # Requests
//!
//! A client sends either a *multibulk* command, an array of bulk strings:
//!
//! ```text
//! *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n
//! ```
//!
//! or an *inline* command, one line split on spaces and tabs (what `telnet` users and
//! `redis-benchmark -t ping_inline` send): `SET k hello\r\n`. Quotes in inline commands are not
//! interpreted (Redis does interpret them); every run of non-blank bytes is one argument.
//!
//! [`parse_command`] parses one command from the start of a buffer, or says that more bytes are
//! needed. [`Parser`] does the same but remembers how far it got, so a command that arrives in many
//! small reads is scanned once rather than once per read.
//!
//! # Hostile input
//!
//! Nothing here allocates what a client merely *declares*: memory grows only with bytes that
//! actually arrived. Declared lengths are checked against [`Limits`] as soon as their header line
//! is complete, so `*1\r\n$2000000000\r\n` is an error after 18 bytes. Garbage (a `$` without a
//! number, a negative length, a missing CRLF, a byte other than `$` where a bulk string must
//! start) is an error as soon as it is seen. A server should answer an error with
//! [`RespError::write_reply`] and close the connection, as Redis does.
//!
//! # Replies
//!
//! [`write_simple`], [`write_error`], [`write_integer`], [`write_bulk`], [`write_null_bulk`],
//! [`write_array_header`] and [`write_null_array`] append one RESP2 value to a `Vec<u8>`, so a
//! server can batch the replies to a pipeline into one buffer and write it once.
//!
//! ```
//! use netpoll_proto::resp::{parse_command, write_bulk, Limits};
//!
//! let limits = Limits::default();
//! let input = b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n";
//! let (cmd, used) = parse_command(input, &limits).unwrap().unwrap();
//! assert_eq!(cmd.len(), 2);
//! assert_eq!(&cmd[0], b"ECHO");
//! let (ping, used2) = parse_command(&input[used..], &limits).unwrap().unwrap();
//! assert_eq!(&ping[0], b"PING");
//! assert_eq!(used + used2, input.len());
//!
//! let mut out = Vec::new();
//! write_bulk(&mut out, &cmd[1]);
//! assert_eq!(out, b"$2\r\nhi\r\n");
//! ```

use std::fmt;
use std::ops::Index;

/// Most digits accepted in a `*N` or `$N` length: 18 digits always fit an `i64` (and any sane
/// length has far fewer), so a longer number is rejected without arithmetic overflow.
const MAX_DIGITS: usize = 18;

/// The smallest encoding of one argument of a multibulk command: `$0\r\n\r\n`.
const MIN_ARG_BYTES: usize = 6;

/// Bounds on what one client command may declare or occupy. Anything beyond them is a
/// [`RespError`] as soon as the offending header (or, for inline commands, `max_inline` bytes
/// without a newline) has arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most arguments of one multibulk command (`*N`). Default `1024 * 1024`, as Redis.
    pub max_args: usize,
    /// Longest single argument (`$len`), in bytes. Default 32 MiB. Redis' default
    /// (`proto-max-bulk-len`) is 512 MiB; the example server caps lower so that one connection
    /// can never hold more than a few tens of MiB.
    pub max_bulk: usize,
    /// Longest inline command line, its newline included. Default 64 KiB, as Redis.
    pub max_inline: usize,
    /// Most bytes one multibulk command may occupy on the wire, headers included: what bounds a
    /// server's read buffer while a command is in progress. Default `max_bulk` + 16 MiB, room for
    /// one maximal argument plus the headers of `max_args` short ones. (Redis bounds the same
    /// thing with `client-query-buffer-limit`, 1 GiB by default.)
    pub max_command: usize,
}

impl Limits {
    /// The default limits: see each field.
    pub const DEFAULT: Limits = Limits {
        max_args: 1024 * 1024,
        max_bulk: 32 << 20,
        max_inline: 64 << 10,
        max_command: (32 << 20) + (16 << 20),
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Why a request was rejected. The connection it came from is out of sync and should be closed
/// after the reply from [`RespError::write_reply`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RespError {
    /// `*N` with N not a number, negative (other than the null array `*-1`), or over
    /// [`Limits::max_args`].
    InvalidMultibulkLength,
    /// `$N` with N not a number, negative (the null bulk is not allowed in a request), or over
    /// [`Limits::max_bulk`].
    InvalidBulkLength,
    /// Another byte where a type marker (`$`) was required.
    Expected {
        /// The marker the protocol requires here.
        expected: u8,
        /// The byte that came instead.
        got: u8,
    },
    /// A header line or a bulk string not followed by `\r\n`.
    MissingCrlf,
    /// An inline command line longer than [`Limits::max_inline`].
    TooBigInline,
    /// A multibulk command that would occupy more than [`Limits::max_command`] bytes.
    TooBigCommand,
}

impl RespError {
    /// Appends the reply a server sends before closing: `-ERR Protocol error: <reason>\r\n`.
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        write_error(out, &format!("ERR Protocol error: {self}"));
    }
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            RespError::InvalidBulkLength => f.write_str("invalid bulk length"),
            RespError::Expected { expected, got } => write!(
                f,
                "expected '{}', got '{}'",
                char::from(*expected),
                std::ascii::escape_default(*got)
            ),
            RespError::MissingCrlf => f.write_str("missing CRLF"),
            RespError::TooBigInline => f.write_str("too big inline request"),
            RespError::TooBigCommand => f.write_str("too big command"),
        }
    }
}

impl std::error::Error for RespError {}

/// The command buffer a [`Parser`] keeps between commands is dropped above this size.
const KEEP_COMMAND_BYTES: usize = 64 * 1024;

/// One command: its arguments (the first is the command's name), binary-safe.
///
/// The arguments are stored back to back in one buffer, so a command costs two allocations
/// however many arguments it has ([`Parser::parse_ref`] reuses them from command to command).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Command {
    data: Vec<u8>,
    /// `ends[i]` is where argument `i` ends in `data`; it starts where argument `i - 1` ends.
    ends: Vec<usize>,
}

impl Command {
    /// A command with no arguments.
    pub fn new() -> Command {
        Command::default()
    }

    /// A command made of `args` (handy in tests).
    pub fn from_args<I>(args: I) -> Command
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut c = Command::new();
        for a in args {
            c.push(a.as_ref());
        }
        c
    }

    /// Appends an argument.
    pub fn push(&mut self, arg: &[u8]) {
        self.data.extend_from_slice(arg);
        self.ends.push(self.data.len());
    }

    /// The number of arguments, the name included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True for an empty command (`*0\r\n`, or a blank inline line): servers ignore these.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Argument `i` (0 is the command's name), if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    /// The arguments in order.
    pub fn iter(&self) -> Args<'_> {
        Args {
            cmd: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The arguments as separate vectors.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// Removes every argument, keeping the allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// Bytes held by the arguments together.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl Index<usize> for Command {
    type Output = [u8];

    /// Argument `i`; panics if there is none (see [`Command::get`]).
    fn index(&self, i: usize) -> &[u8] {
        match self.get(i) {
            Some(a) => a,
            None => panic!("argument {i} of a {}-argument command", self.len()),
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Command {
    type Item = &'a [u8];
    type IntoIter = Args<'a>;

    fn into_iter(self) -> Args<'a> {
        self.iter()
    }
}

/// Iterator over a [`Command`]'s arguments.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    cmd: &'a Command,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.cmd.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Args<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.cmd.get(self.back)
    }
}

impl ExactSizeIterator for Args<'_> {}

/// Parses one command from the start of `buf`.
///
/// Returns `Ok(Some((command, consumed)))` for a complete command that took the first `consumed`
/// bytes, `Ok(None)` if `buf` holds only the beginning of one (read more and call again with the
/// longer buffer), or an error for input that breaks the protocol or `limits`.
///
/// An empty multibulk command (`*0\r\n`, or the null array `*-1\r\n`) and a blank inline line are
/// returned as an empty [`Command`], which a server skips without replying, as Redis does.
///
/// This starts from scratch on every call; [`Parser::parse`] remembers its progress instead.
pub fn parse_command(buf: &[u8], limits: &Limits) -> Result<Option<(Command, usize)>, RespError> {
    Parser::new(*limits).parse(buf)
}

/// Where a [`Parser`] is within the command at the start of the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing parsed yet.
    Start,
    /// An inline line of which the first `scanned` bytes hold no newline.
    Inline { scanned: usize },
    /// A multibulk command: `remaining` arguments to go, the next one at `pos`.
    Multibulk { remaining: usize, pos: usize },
}

/// An incremental command parser that remembers its progress through a partly received command,
/// so a large command arriving in many reads costs time linear in its size.
///
/// The caller keeps the command's bytes at the start of the buffer it passes, and only appends
/// to them between calls; once a command is returned (with the bytes it consumed), the next call
/// must pass the bytes that follow it. After an error, or to start over on another buffer, call
/// [`Parser::reset`].
#[derive(Clone, Debug)]
pub struct Parser {
    limits: Limits,
    state: State,
    partial: Command,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            state: State::Start,
            partial: Command::new(),
        }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// True if part of a command has been parsed and the rest is awaited.
    pub fn in_progress(&self) -> bool {
        self.state != State::Start
    }

    /// Forgets any command in progress.
    pub fn reset(&mut self) {
        self.state = State::Start;
        self.begin_command();
    }

    /// Parses one command from the start of `buf`, continuing where the previous call stopped:
    /// see [`parse_command`] for the result. On an error the parser resets itself.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<(Command, usize)>, RespError> {
        Ok(self
            .parse_ref(buf)?
            .map(|(_, used)| used)
            .map(|used| (std::mem::take(&mut self.partial), used)))
    }

    /// Like [`parse`](Self::parse), but lends the command instead of giving it away: the
    /// parser keeps one command buffer for the connection, so a server that handles each
    /// command before parsing the next allocates nothing per command. The command stays valid
    /// until the next call.
    pub fn parse_ref(&mut self, buf: &[u8]) -> Result<Option<(&Command, usize)>, RespError> {
        match self.parse_inner(buf) {
            Ok(Some(used)) => Ok(Some((&self.partial, used))),
            Ok(None) => Ok(None),
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// Empties the command buffer for the next command, keeping its memory unless a big
    /// command left it large (a connection should not hold on to one huge SET forever).
    fn begin_command(&mut self) {
        if self.partial.data.capacity() > KEEP_COMMAND_BYTES {
            self.partial = Command::new();
        } else {
            self.partial.clear();
        }
    }

    /// Parses into `self.partial`; `Some(used)` when it holds a complete command.
    fn parse_inner(&mut self, buf: &[u8]) -> Result<Option<usize>, RespError> {
        // A caller that broke the contract (a shorter buffer than last time) gets a fresh parse
        // rather than out-of-bounds offsets.
        let seen = match self.state {
            State::Start => 0,
            State::Inline { scanned } => scanned,
            State::Multibulk { pos, .. } => pos,
        };
        if buf.len() < seen {
            self.reset();
        }
        let (mut remaining, mut pos) = match self.state {
            State::Start => match buf.first() {
                None => return Ok(None),
                Some(b'*') => match self.start_multibulk(buf)? {
                    Some(Ok(progress)) => progress,
                    Some(Err(used)) => return Ok(Some(used)),
                    None => return Ok(None),
                },
                Some(_) => return self.parse_inline(buf, 0),
            },
            State::Inline { scanned } => return self.parse_inline(buf, scanned),
            State::Multibulk { remaining, pos } => (remaining, pos),
        };
        while remaining > 0 {
            let Some(&marker) = buf.get(pos) else {
                self.state = State::Multibulk { remaining, pos };
                return Ok(None);
            };
            if marker != b'$' {
                return Err(RespError::Expected {
                    expected: b'$',
                    got: marker,
                });
            }
            let Some((len, body)) = parse_length(buf, pos, RespError::InvalidBulkLength)? else {
                self.state = State::Multibulk { remaining, pos };
                return Ok(None);
            };
            let len = usize::try_from(len).map_err(|_| RespError::InvalidBulkLength)?;
            if len > self.limits.max_bulk {
                return Err(RespError::InvalidBulkLength);
            }
            let end = body + len;
            if end + 2 > self.limits.max_command {
                return Err(RespError::TooBigCommand);
            }
            if buf.len() < end + 2 {
                // Reject a wrong terminator as early as its first byte is in.
                if buf.len() > end && buf[end] != b'\r' {
                    return Err(RespError::MissingCrlf);
                }
                self.state = State::Multibulk { remaining, pos };
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(RespError::MissingCrlf);
            }
            self.partial.push(&buf[body..end]);
            pos = end + 2;
            remaining -= 1;
        }
        self.state = State::Start;
        Ok(Some(pos))
    }

    /// Parses `*N\r\n`. `Some(Ok((N, next)))` to go on with N arguments, `Some(Err(used))` for
    /// an empty command (left in `partial`), complete already, `None` if the line is incomplete.
    #[allow(clippy::type_complexity)]
    fn start_multibulk(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<Result<(usize, usize), usize>>, RespError> {
        let Some((n, next)) = parse_length(buf, 0, RespError::InvalidMultibulkLength)? else {
            return Ok(None);
        };
        if n <= 0 {
            // `*0` and the null array `*-1`: nothing to run. Other negatives are garbage.
            if n < -1 {
                return Err(RespError::InvalidMultibulkLength);
            }
            self.begin_command();
            return Ok(Some(Err(next)));
        }
        let n = usize::try_from(n).map_err(|_| RespError::InvalidMultibulkLength)?;
        if n > self.limits.max_args {
            return Err(RespError::InvalidMultibulkLength);
        }
        // Even empty arguments take six bytes each: a count that cannot fit is refused now.
        if n.saturating_mul(MIN_ARG_BYTES).saturating_add(next) > self.limits.max_command {
            return Err(RespError::TooBigCommand);
        }
        self.begin_command();
        Ok(Some(Ok((n, next))))
    }

    /// An inline command: the first `scanned` bytes are known to hold no newline.
    fn parse_inline(&mut self, buf: &[u8], scanned: usize) -> Result<Option<usize>, RespError> {
        let window = &buf[..buf.len().min(self.limits.max_inline)];
        let Some(nl) = window[scanned..].iter().position(|&b| b == b'\n') else {
            if buf.len() >= self.limits.max_inline {
                return Err(RespError::TooBigInline);
            }
            self.state = State::Inline {
                scanned: window.len(),
            };
            return Ok(None);
        };
        let nl = scanned + nl;
        let line = match &buf[..nl] {
            [rest @ .., b'\r'] => rest,
            line => line,
        };
        self.begin_command();
        for arg in line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|a| !a.is_empty())
        {
            if self.partial.len() == self.limits.max_args {
                return Err(RespError::InvalidMultibulkLength);
            }
            self.partial.push(arg);
        }
        self.state = State::Start;
        Ok(Some(nl + 1))
    }
}

/// Parses the length line starting at `buf[at]` (a `*` or `$` marker, already checked):
/// an optional `-`, 1 to [`MAX_DIGITS`] digits, `\r\n`. Returns the number and where the next
/// line starts, `None` if the line is incomplete, or `bad` (or [`RespError::MissingCrlf`]) for
/// anything else.
fn parse_length(buf: &[u8], at: usize, bad: RespError) -> Result<Option<(i64, usize)>, RespError> {
    let mut i = at + 1;
    let negative = buf.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let digits = i;
    let mut n: i64 = 0;
    loop {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        match b {
            b'0'..=b'9' => {
                if i - digits == MAX_DIGITS {
                    return Err(bad);
                }
                n = n * 10 + i64::from(b - b'0');
                i += 1;
            }
            b'\r' if i > digits => {
                return match buf.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some((if negative { -n } else { n }, i + 2))),
                    Some(_) => Err(RespError::MissingCrlf),
                };
            }
            _ => return Err(bad),
        }
    }
}

/// Appends a simple string reply, `+<s>\r\n` (e.g. `+OK`). A CR or LF in `s`, which the format
/// cannot carry, becomes a space.
pub fn write_simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    push_line(out, s.as_bytes());
}

/// Appends an error reply, `-<msg>\r\n`. By convention `msg` starts with an upper-case error
/// code: `ERR unknown command 'x'`, `WRONGTYPE ...`. A CR or LF in `msg` becomes a space.
pub fn write_error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    push_line(out, msg.as_bytes());
}

/// Appends an integer reply, `:<n>\r\n`.
pub fn write_integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Appends a bulk string reply, `$<len>\r\n<bytes>\r\n` (binary-safe).
pub fn write_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 16);
    out.push(b'$');
    push_u64(out, bytes.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends the null bulk string, `$-1\r\n` (e.g. GET of a missing key).
pub fn write_null_bulk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// Appends an array header, `*<len>\r\n`; the `len` elements follow as separate replies.
pub fn write_array_header(out: &mut Vec<u8>, len: usize) {
    out.push(b'*');
    push_u64(out, len as u64);
    out.extend_from_slice(b"\r\n");
}

/// Appends the null array, `*-1\r\n`.
pub fn write_null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

fn push_line(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<(Command, usize)>, RespError> {
        parse_command(buf, &Limits::default())
    }

    fn args(cmd: &Command) -> Vec<Vec<u8>> {
        cmd.to_vec()
    }

    fn v(items: &[&[u8]]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.to_vec()).collect()
    }

    /// Every parse of a complete command equals the one-shot result, and every strict prefix
    /// says "need more" (checked with both the stateless function and a fresh parser).
    fn check_prefixes(input: &[u8], expected: &[&[u8]]) {
        for cut in 0..input.len() {
            assert_eq!(parse(&input[..cut]), Ok(None), "prefix of {cut} bytes");
        }
        let (cmd, used) = parse(input).unwrap().unwrap();
        assert_eq!(args(&cmd), v(expected));
        assert_eq!(used, input.len());
    }

    #[test]
    fn multibulk_command() {
        check_prefixes(
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
            &[b"SET", b"key", b"value"],
        );
    }

    #[test]
    fn pipelined_commands_in_one_buffer() {
        let mut buf = Vec::new();
        for i in 0..100 {
            let k = format!("key{i}");
            buf.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
            buf.extend_from_slice(b"PING\r\n");
        }
        buf.extend_from_slice(b"*1\r\n$4\r\nPI"); // an incomplete tail
        let mut at = 0;
        let mut parser = Parser::new(Limits::default());
        for i in 0..100 {
            let (cmd, used) = parser.parse(&buf[at..]).unwrap().unwrap();
            assert_eq!(args(&cmd), v(&[b"GET", format!("key{i}").as_bytes()]));
            at += used;
            let (cmd, used) = parser.parse(&buf[at..]).unwrap().unwrap();
            assert_eq!(args(&cmd), v(&[b"PING"]));
            at += used;
        }
        assert_eq!(parser.parse(&buf[at..]), Ok(None));
        assert!(parser.in_progress());
        buf.extend_from_slice(b"NG\r\n");
        let (cmd, used) = parser.parse(&buf[at..]).unwrap().unwrap();
        assert_eq!(args(&cmd), v(&[b"PING"]));
        assert_eq!(at + used, buf.len());
        assert!(!parser.in_progress());
    }

    #[test]
    fn parse_ref_lends_one_reused_buffer_and_matches_parse() {
        let mut buf = Vec::new();
        for i in 0..50 {
            let k = format!("key{i}");
            buf.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
            buf.extend_from_slice(b"SET  a\tb\r\n*0\r\n");
        }
        let (mut owned, mut lent) = (
            Parser::new(Limits::default()),
            Parser::new(Limits::default()),
        );
        let (mut at, mut n, mut data_ptr) = (0, 0, None);
        while at < buf.len() {
            let (want, used) = owned.parse(&buf[at..]).unwrap().unwrap();
            let (got, used2) = lent.parse_ref(&buf[at..]).unwrap().unwrap();
            assert_eq!((args(got), used2), (args(&want), used));
            if !got.is_empty() {
                // After the first command the same allocation is reused.
                let p = got.get(0).unwrap().as_ptr();
                if n > 0 {
                    assert_eq!(Some(p), data_ptr);
                }
                data_ptr = Some(p);
                n += 1;
            }
            at += used;
        }
        assert_eq!(n, 100);
        // A big command's buffer is not kept for the next one.
        let big = vec![b'x'; 200 * 1024];
        let mut cmd = format!("*2\r\n$3\r\nSET\r\n${}\r\n", big.len()).into_bytes();
        cmd.extend_from_slice(&big);
        cmd.extend_from_slice(b"\r\n*1\r\n$4\r\nPING\r\n");
        let (got, used) = lent.parse_ref(&cmd).unwrap().unwrap();
        assert_eq!(got.get(1).map(<[u8]>::len), Some(big.len()));
        let (got, _) = lent.parse_ref(&cmd[used..]).unwrap().unwrap();
        assert_eq!(args(got), v(&[b"PING"]));
        assert!(lent.partial.data.capacity() <= KEEP_COMMAND_BYTES);
        // An error resets the parser, which then parses the next command from scratch.
        assert!(lent.parse_ref(b"*1\r\n#").is_err());
        let (got, _) = lent.parse_ref(b"*1\r\n$4\r\nPING\r\n").unwrap().unwrap();
        assert_eq!(args(got), v(&[b"PING"]));
    }

    #[test]
    fn fed_byte_by_byte() {
        let input: &[u8] =
            b"*2\r\n$4\r\nECHO\r\n$12\r\nhello\r\nworld\r\nSET  a\tb \r\n*1\r\n$4\r\nPING\r\n";
        let expected: [Vec<Vec<u8>>; 3] = [
            v(&[b"ECHO", b"hello\r\nworld"]),
            v(&[b"SET", b"a", b"b"]),
            v(&[b"PING"]),
        ];
        let mut parser = Parser::new(Limits::default());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for &b in input {
            buf.push(b);
            while let Some((cmd, used)) = parser.parse(&buf).unwrap() {
                got.push(args(&cmd));
                buf.drain(..used);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got, expected);
    }

    #[test]
    fn inline_commands() {
        check_prefixes(b"PING\r\n", &[b"PING"]);
        check_prefixes(b"SET a b\r\n", &[b"SET", b"a", b"b"]);
        check_prefixes(b"  SET\t\ta   b  \n", &[b"SET", b"a", b"b"]);
        // A blank line is an empty command.
        let (cmd, used) = parse(b"\r\nPING\r\n").unwrap().unwrap();
        assert!(cmd.is_empty());
        assert_eq!(used, 2);
        let (cmd, used) = parse(b" \t \nX").unwrap().unwrap();
        assert!(cmd.is_empty());
        assert_eq!(used, 4);
    }

    #[test]
    fn inline_line_limit() {
        let limits = Limits {
            max_inline: 16,
            ..Limits::default()
        };
        // 15 bytes + LF fits exactly.
        let ok = b"GET aaaaaaaaaaa\n";
        assert_eq!(ok.len(), 16);
        assert!(parse_command(ok, &limits).unwrap().is_some());
        assert_eq!(parse_command(&ok[..15], &limits), Ok(None));
        // 16 bytes and still no newline: refused, whatever follows.
        assert_eq!(
            parse_command(b"GET aaaaaaaaaaaa\n", &limits),
            Err(RespError::TooBigInline)
        );
        // Byte by byte through a parser: refused at the 16th byte.
        let mut p = Parser::new(limits);
        let endless = [b'x'; 100];
        for n in 1..16 {
            assert_eq!(p.parse(&endless[..n]), Ok(None));
        }
        assert_eq!(p.parse(&endless[..16]), Err(RespError::TooBigInline));
        // The default: 64 KiB.
        let long = vec![b'a'; 64 << 10];
        assert_eq!(parse(&long), Err(RespError::TooBigInline));
        assert_eq!(parse(&long[..(64 << 10) - 1]), Ok(None));
    }

    #[test]
    fn huge_declared_lengths_are_refused_at_once() {
        assert_eq!(
            parse(b"*1\r\n$2000000000\r\n"),
            Err(RespError::InvalidBulkLength)
        );
        // Without waiting for the CRLF of the header once the number is too long.
        assert_eq!(
            parse(b"*1\r\n$9999999999999999999"),
            Err(RespError::InvalidBulkLength)
        );
        assert_eq!(
            parse(b"*99999999999\r\n"),
            Err(RespError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse(b"*1048577\r\n"),
            Err(RespError::InvalidMultibulkLength)
        );
        let max = Limits::default().max_bulk;
        // The largest allowed bulk is only waited for, never allocated up front.
        assert_eq!(parse(format!("*1\r\n${max}\r\nabc").as_bytes()), Ok(None));
        assert_eq!(
            parse(format!("*1\r\n${}\r\n", max + 1).as_bytes()),
            Err(RespError::InvalidBulkLength)
        );
        // Many arguments that each fit but together exceed max_command.
        let limits = Limits {
            max_bulk: 10,
            max_command: 40,
            ..Limits::default()
        };
        assert_eq!(
            parse_command(
                b"*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n",
                &limits
            ),
            Err(RespError::TooBigCommand)
        );
        assert_eq!(
            parse_command(b"*10\r\n", &limits),
            Err(RespError::TooBigCommand)
        );
    }

    #[test]
    fn garbage() {
        let cases: &[(&[u8], RespError)] = &[
            (b"*\r\n", RespError::InvalidMultibulkLength),
            (b"*x\r\n", RespError::InvalidMultibulkLength),
            (b"*-\r\n", RespError::InvalidMultibulkLength),
            (b"*-2\r\n", RespError::InvalidMultibulkLength),
            (b"*+1\r\n", RespError::InvalidMultibulkLength),
            (b"*1 \r\n", RespError::InvalidMultibulkLength),
            (b"*1\rX", RespError::MissingCrlf),
            (b"*1\r\n$\r\n", RespError::InvalidBulkLength),
            (b"*1\r\n$abc\r\n", RespError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", RespError::InvalidBulkLength),
            (b"*1\r\n$-5\r\n", RespError::InvalidBulkLength),
            (b"*1\r\n$3\nfoo", RespError::InvalidBulkLength),
            (
                b"*1\r\nfoo\r\n",
                RespError::Expected {
                    expected: b'$',
                    got: b'f',
                },
            ),
            (
                b"*2\r\n$1\r\na\r\n:1\r\n",
                RespError::Expected {
                    expected: b'$',
                    got: b':',
                },
            ),
            (b"*1\r\n$3\r\nfooXX", RespError::MissingCrlf),
            (b"*1\r\n$3\r\nfoo\rX", RespError::MissingCrlf),
            (b"*1\r\n$3\r\nfoo\n", RespError::MissingCrlf),
            (b"*1\r\n$3\r\nfoobar\r\n", RespError::MissingCrlf),
        ];
        for (input, err) in cases {
            assert_eq!(
                parse(input).as_ref(),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            // A parser fed byte by byte reports the same error, and no later than the one-shot.
            let mut p = Parser::new(Limits::default());
            let r = (1..=input.len())
                .map(|n| p.parse(&input[..n]))
                .find(|r| r.is_err());
            assert_eq!(r.as_ref(), Some(&Err(err.clone())));
            assert!(!p.in_progress());
        }
        // The error's reply.
        let mut out = Vec::new();
        RespError::InvalidBulkLength.write_reply(&mut out);
        assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
        out.clear();
        RespError::Expected {
            expected: b'$',
            got: b'\n',
        }
        .write_reply(&mut out);
        assert_eq!(out, b"-ERR Protocol error: expected '$', got '\\n'\r\n");
    }

    #[test]
    fn binary_safe_values() {
        let value: Vec<u8> = (0..=255u8)
            .chain(b"\r\n\r\n*1\r\n$".iter().copied())
            .collect();
        let mut input =
            format!("*3\r\n$3\r\nSET\r\n$2\r\n\r\n\r\n${}\r\n", value.len()).into_bytes();
        input.extend_from_slice(&value);
        input.extend_from_slice(b"\r\n");
        check_prefixes(&input, &[b"SET", b"\r\n", &value]);
    }

    #[test]
    fn empty_bulk_and_empty_arrays() {
        check_prefixes(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", &[b"ECHO", b""]);
        check_prefixes(b"*1\r\n$0\r\n\r\n", &[b""]);
        let (cmd, used) = parse(b"*0\r\nPING\r\n").unwrap().unwrap();
        assert!(cmd.is_empty());
        assert_eq!(used, 4);
        let (cmd, used) = parse(b"*-1\r\n").unwrap().unwrap();
        assert!(cmd.is_empty());
        assert_eq!(used, 5);
        assert_eq!(parse(b"*0\r"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn leading_zeros_and_digit_limit() {
        check_prefixes(b"*01\r\n$04\r\nPING\r\n", &[b"PING"]);
        // 18 digits parse (and are then over the limit); 19 are refused as garbage.
        assert_eq!(
            parse(b"*1\r\n$000000000000000004\r\nPING\r\n")
                .unwrap()
                .map(|(c, _)| c.to_vec()),
            Some(v(&[b"PING"]))
        );
        assert_eq!(
            parse(b"*1\r\n$0000000000000000004\r\nPING\r\n"),
            Err(RespError::InvalidBulkLength)
        );
    }

    #[test]
    fn parser_restarts_after_a_shorter_buffer() {
        let mut p = Parser::new(Limits::default());
        assert_eq!(p.parse(b"*2\r\n$3\r\nGET\r\n$1\r"), Ok(None));
        // Contract broken: a different, shorter buffer. The parser starts over.
        let (cmd, used) = p.parse(b"PING\r\n").unwrap().unwrap();
        assert_eq!(args(&cmd), v(&[b"PING"]));
        assert_eq!(used, 6);
    }

    #[test]
    fn large_command_in_chunks_is_linear() {
        // 100k one-byte arguments fed in 1 KiB chunks: each argument is copied once.
        let n = 100_000;
        let mut input = format!("*{}\r\n", n + 1).into_bytes();
        input.extend_from_slice(b"$4\r\nMSET\r\n");
        for _ in 0..n {
            input.extend_from_slice(b"$1\r\nx\r\n");
        }
        let mut p = Parser::new(Limits::default());
        let mut done = None;
        for end in (1024..input.len() + 1024).step_by(1024) {
            if let Some(r) = p.parse(&input[..end.min(input.len())]).unwrap() {
                done = Some(r);
                break;
            }
        }
        let (cmd, used) = done.unwrap();
        assert_eq!(used, input.len());
        assert_eq!(cmd.len(), n + 1);
        assert_eq!(cmd.data_len(), 4 + n);
        assert!(cmd.iter().skip(1).all(|a| a == b"x"));
    }

    #[test]
    fn command_accessors() {
        let c = Command::from_args(["GET", "k"]);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(0), Some(&b"GET"[..]));
        assert_eq!(&c[1], b"k");
        assert_eq!(c.get(2), None);
        assert_eq!(c.iter().rev().collect::<Vec<_>>(), [&b"k"[..], b"GET"]);
        assert_eq!(c.iter().len(), 2);
        assert_eq!(format!("{c:?}"), r#"["GET", "k"]"#);
        let empty = Command::from_args([""; 3]);
        assert_eq!(empty.len(), 3);
        assert_eq!(empty.get(1), Some(&b""[..]));
    }

    #[test]
    fn encoders() {
        let mut out = Vec::new();
        write_simple(&mut out, "OK");
        write_simple(&mut out, "a\r\nb");
        write_error(&mut out, "ERR unknown command 'x\r\n'");
        write_integer(&mut out, 0);
        write_integer(&mut out, -42);
        write_integer(&mut out, i64::MIN);
        write_integer(&mut out, i64::MAX);
        write_bulk(&mut out, b"a\r\nb");
        write_bulk(&mut out, b"");
        write_null_bulk(&mut out);
        write_array_header(&mut out, 3);
        write_array_header(&mut out, 0);
        write_null_array(&mut out);
        let expected: &[u8] = b"+OK\r\n+a  b\r\n-ERR unknown command 'x  '\r\n:0\r\n:-42\r\n\
:-9223372036854775808\r\n:9223372036854775807\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$-1\r\n*3\r\n*0\r\n*-1\r\n";
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn encoded_commands_parse_back() {
        // A client-side encoding of a command (an array of bulks) round-trips.
        let original = Command::from_args([&b"SET"[..], b"k\0\r\n", b"", &[0xff; 300]]);
        let mut wire = Vec::new();
        write_array_header(&mut wire, original.len());
        for a in &original {
            write_bulk(&mut wire, a);
        }
        let (cmd, used) = parse(&wire).unwrap().unwrap();
        assert_eq!(cmd, original);
        assert_eq!(used, wire.len());
    }
}
