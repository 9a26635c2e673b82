//! HTTP/1.1 request heads (RFC 9112), incrementally: [`parse_request`] takes whatever bytes have
//! arrived and answers "need more" (`Ok(None)`), a complete [`Request`] with the number of bytes
//! its head used, or an [`HttpError`] that says which status to answer with.
//!
//! The grammar accepted, strictly:
//!
//! - any number of empty lines (`CRLF`) before the request line (RFC 9112 §2.2 lets a server
//!   skip them; they count towards the head's size);
//! - the request line `method SP request-target SP HTTP/D.D CRLF`: the method a token, the target
//!   visible ASCII (`0x21..=0x7E`), exactly one space between the parts;
//! - header lines `name ":" OWS value OWS CRLF`: the name a token with nothing between it and
//!   the colon, the value visible ASCII, `obs-text` (`0x80..=0xFF`), spaces and tabs;
//! - an empty line ending the head.
//!
//! Every line must end in `CRLF`: **a bare LF is rejected** (400), as is a CR anywhere else, and
//! so is `obs-fold` (a header line starting with a space or tab). HTTP/1.0 and HTTP/1.1 are
//! served; a later 1.x minor version is treated as 1.1 (RFC 9110 §2.5), any other major version
//! is answered with 505. An HTTP/1.1 request must carry exactly one `Host` header (RFC 9112
//! §3.2). At most [`MAX_HEADERS`] header lines are accepted (431 beyond).
//!
//! Message bodies: `Content-Length` is validated (one header, one value, digits only); any
//! `Transfer-Encoding` is refused: 501 alone (chunked bodies are not implemented), 400 together
//! with `Content-Length` (RFC 9112 §6.1: a smuggling attempt).
//!
//! [`parse_request`] re-reads the buffer from its start on every call, so a server should call it
//! once per read, not once per byte; the work is bounded by `max_head`.
//!
//! Also here, for the file server: [`percent_decode`] for request paths, [`parse_range`] for
//! `Range: bytes=...`, and small response helpers ([`reason_phrase`], [`http_date`]).
//!
//! ```
//! use netpoll_proto::http::{parse_request, Version};
//!
//! let buf = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\nGET /next";
//! let (req, used) = parse_request(buf, 8192).unwrap().unwrap();
//! assert_eq!((req.method(), req.target()), ("GET", "/index.html"));
//! assert_eq!(req.version(), Version::Http11);
//! assert_eq!(req.header("host"), Some(&b"example.com"[..]));
//! assert!(req.keep_alive());
//! // The second request is not complete yet.
//! assert!(parse_request(&buf[used..], 8192).unwrap().is_none());
//! ```

use std::fmt;
use std::ops::Range;

/// The most header lines a request may have; more is answered with 431.
pub const MAX_HEADERS: usize = 100;

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the client asked for
    /// `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1 (or a later 1.x): persistent unless `Connection: close`.
    #[default]
    Http11,
}

/// What went wrong, which decides the response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed syntax or contradictory headers: 400 Bad Request.
    BadRequest,
    /// The head is larger than allowed, or has too many header lines: 431 Request Header Fields
    /// Too Large.
    HeadTooLarge,
    /// A feature this server does not implement (`Transfer-Encoding`): 501 Not Implemented.
    NotImplemented,
    /// An HTTP major version other than 1: 505 HTTP Version Not Supported.
    VersionNotSupported,
}

impl ErrorKind {
    /// The response status for this kind of error.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::HeadTooLarge => 431,
            ErrorKind::NotImplemented => 501,
            ErrorKind::VersionNotSupported => 505,
        }
    }
}

/// A request that cannot be served, with the status to answer it with ([`HttpError::status`]).
/// After any of these errors the connection should be closed: the rest of the stream can no
/// longer be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    kind: ErrorKind,
    detail: &'static str,
}

impl HttpError {
    /// An error of `kind`, with a short human-readable `detail`.
    pub const fn new(kind: ErrorKind, detail: &'static str) -> HttpError {
        HttpError { kind, detail }
    }

    fn bad(detail: &'static str) -> HttpError {
        HttpError::new(ErrorKind::BadRequest, detail)
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The response status: 400, 431, 501 or 505.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The status's reason phrase, e.g. `"Bad Request"`.
    pub fn reason(&self) -> &'static str {
        reason_phrase(self.status())
    }

    /// What exactly was wrong (for logs; not meant for the peer).
    pub fn detail(&self) -> &'static str {
        self.detail
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status(), self.reason(), self.detail)
    }
}

impl std::error::Error for HttpError {}

/// One header line, as byte ranges into the request's head.
#[derive(Debug, Clone)]
struct Field {
    name: Range<usize>,
    value: Range<usize>,
}

/// A parsed request head. It owns a copy of the head's bytes, and the accessors return slices of
/// it; [`parse_request_into`] refills an existing `Request`, reusing its allocations.
#[derive(Debug, Clone, Default)]
pub struct Request {
    head: Vec<u8>,
    method: Range<usize>,
    target: Range<usize>,
    version: Version,
    fields: Vec<Field>,
    content_length: Option<u64>,
    keep_alive: bool,
}

impl Request {
    /// The method, e.g. `"GET"` (case-sensitive, as sent).
    pub fn method(&self) -> &str {
        self.str_at(&self.method)
    }

    /// The request target exactly as sent (still percent-encoded), e.g. `"/a%20b?x=1"`.
    pub fn target(&self) -> &str {
        self.str_at(&self.target)
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header lines in order, as (name as sent, value without surrounding whitespace).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (self.str_at(&f.name), &self.head[f.value.clone()]))
    }

    /// How many header lines there are.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// The value of the first header called `name` (compared ignoring ASCII case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether the connection may carry another request after this one's response: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The body's length from `Content-Length` (validated while parsing), `None` if absent (no
    /// body: `Transfer-Encoding` is refused).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The size of the head in bytes (what the parse consumed).
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    fn str_at(&self, r: &Range<usize>) -> &str {
        // Method, target and names were checked to be ASCII while parsing.
        std::str::from_utf8(&self.head[r.clone()]).unwrap_or("")
    }

    fn clear(&mut self) {
        self.head.clear();
        self.method = 0..0;
        self.target = 0..0;
        self.version = Version::Http11;
        self.fields.clear();
        self.content_length = None;
        self.keep_alive = false;
    }
}

/// Parses the request head at the start of `buf`.
///
/// Returns `Ok(Some((request, n)))` when a complete head is there (`n` bytes, which the caller
/// consumes; a body, if any, follows them), `Ok(None)` when more bytes are needed, and an error
/// when the input is malformed or the head would be longer than `max_head` bytes (431). Bytes
/// past the head (a body, pipelined requests) are not looked at.
pub fn parse_request(buf: &[u8], max_head: usize) -> Result<Option<(Request, usize)>, HttpError> {
    let mut req = Request::default();
    Ok(parse_request_into(buf, max_head, &mut req)?.map(|n| (req, n)))
}

/// [`parse_request`] into an existing `req`, reusing its buffers: no allocation once they are
/// big enough. Returns the head's length. On `Ok(None)` or an error, `req` holds nothing useful.
pub fn parse_request_into(
    buf: &[u8],
    max_head: usize,
    req: &mut Request,
) -> Result<Option<usize>, HttpError> {
    req.clear();
    let scan = &buf[..buf.len().min(max_head)];
    match parse_head(scan, req) {
        Ok(Some(n)) => {
            req.head.extend_from_slice(&buf[..n]);
            finish(req)?;
            Ok(Some(n))
        }
        Ok(None) if buf.len() >= max_head => {
            req.clear();
            Err(HttpError::new(
                ErrorKind::HeadTooLarge,
                "request head too large",
            ))
        }
        Ok(None) => {
            req.clear();
            Ok(None)
        }
        Err(e) => {
            req.clear();
            Err(e)
        }
    }
}

/// The token characters of RFC 9110 §5.6.2.
fn is_tchar(c: u8) -> bool {
    matches!(c,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~')
}

fn is_target_char(c: u8) -> bool {
    (0x21..=0x7e).contains(&c)
}

/// A header value's characters: VCHAR, obs-text, SP, HTAB.
fn is_value_char(c: u8) -> bool {
    c == b' ' || c == b'\t' || (0x21..=0x7e).contains(&c) || c >= 0x80
}

fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Finds the end of the line starting at `from`: `Ok(Some(i))` with `buf[i..i + 2] == "\r\n"`,
/// `Ok(None)` if no LF yet, an error for an LF without a CR before it.
fn line_end(buf: &[u8], from: usize) -> Result<Option<usize>, HttpError> {
    match buf[from..].iter().position(|&c| c == b'\n') {
        None => Ok(None),
        Some(k) => {
            let lf = from + k;
            if lf == from || buf[lf - 1] != b'\r' {
                Err(HttpError::bad("bare LF (lines must end in CRLF)"))
            } else {
                Ok(Some(lf - 1))
            }
        }
    }
}

/// Parses the head's structure into `req` (ranges only; `req.head` is filled by the caller).
/// Returns the head's length once the empty line has been seen.
fn parse_head(buf: &[u8], req: &mut Request) -> Result<Option<usize>, HttpError> {
    let mut pos = 0;
    // Empty lines before the request line.
    loop {
        match &buf[pos..] {
            [b'\r', b'\n', ..] => pos += 2,
            [b'\n', ..] => return Err(HttpError::bad("bare LF (lines must end in CRLF)")),
            [b'\r'] | [] => return Ok(None),
            _ => break,
        }
    }
    let Some(end) = line_end(buf, pos)? else {
        // Reject an impossible request line early, without waiting for its end.
        request_line(buf, pos, buf.len(), false, req)?;
        return Ok(None);
    };
    request_line(buf, pos, end, true, req)?;
    pos = end + 2;
    loop {
        let Some(end) = line_end(buf, pos)? else {
            return Ok(None);
        };
        if end == pos {
            return Ok(Some(end + 2));
        }
        if req.fields.len() == MAX_HEADERS {
            return Err(HttpError::new(
                ErrorKind::HeadTooLarge,
                "too many header lines",
            ));
        }
        req.fields.push(header_line(buf, pos, end)?);
        pos = end + 2;
    }
}

/// Checks `buf[start..end]` as a request line, or as the beginning of one when `!complete`
/// (reporting only what is wrong already), and records its parts in `req` when complete.
fn request_line(
    buf: &[u8],
    start: usize,
    end: usize,
    complete: bool,
    req: &mut Request,
) -> Result<(), HttpError> {
    let mut line = &buf[start..end];
    if !complete {
        // A CR at the very end may be the start of the line's CRLF.
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
    }
    let m = line.iter().position(|&c| !is_tchar(c));
    let Some(m) = m else {
        return if complete {
            Err(HttpError::bad("request line without a target"))
        } else {
            Ok(())
        };
    };
    if m == 0 || line[m] != b' ' {
        return Err(HttpError::bad("malformed method"));
    }
    let t0 = m + 1;
    let Some(t1) = line[t0..]
        .iter()
        .position(|&c| !is_target_char(c))
        .map(|k| t0 + k)
    else {
        return if complete {
            Err(HttpError::bad("request line without a version"))
        } else {
            Ok(())
        };
    };
    if t1 == t0 || line[t1] != b' ' {
        return Err(HttpError::bad("malformed request target"));
    }
    let v = &line[t1 + 1..];
    // "HTTP/" DIGIT "." DIGIT, checked as far as it has arrived.
    let shape_ok = v.len() <= 8
        && v.iter().enumerate().all(|(i, &c)| match i {
            0..=4 => c == b"HTTP/"[i],
            5 | 7 => c.is_ascii_digit(),
            _ => c == b'.',
        });
    if !shape_ok || (complete && v.len() != 8) {
        return Err(HttpError::bad("malformed HTTP version"));
    }
    if !complete {
        return Ok(());
    }
    req.version = match (v[5], v[7]) {
        (b'1', b'0') => Version::Http10,
        (b'1', _) => Version::Http11,
        _ => {
            return Err(HttpError::new(
                ErrorKind::VersionNotSupported,
                "only HTTP/1.x is supported",
            ))
        }
    };
    req.method = start..start + m;
    req.target = start + t0..start + t1;
    Ok(())
}

fn header_line(buf: &[u8], start: usize, end: usize) -> Result<Field, HttpError> {
    let line = &buf[start..end];
    if is_ows(line[0]) {
        return Err(HttpError::bad("obsolete line folding"));
    }
    let n = line
        .iter()
        .position(|&c| !is_tchar(c))
        .unwrap_or(line.len());
    if n == 0 || n == line.len() || line[n] != b':' {
        return Err(HttpError::bad("malformed header name"));
    }
    let raw = &line[n + 1..];
    if !raw.iter().all(|&c| is_value_char(c)) {
        return Err(HttpError::bad("invalid character in a header value"));
    }
    let v0 = raw.iter().position(|&c| !is_ows(c)).unwrap_or(raw.len());
    let v1 = raw.iter().rposition(|&c| !is_ows(c)).map_or(v0, |k| k + 1);
    let off = start + n + 1;
    Ok(Field {
        name: start..start + n,
        value: off + v0..off + v1,
    })
}

/// Derives `content_length` and `keep_alive` from the parsed headers, checking them.
fn finish(req: &mut Request) -> Result<(), HttpError> {
    let mut content_length = None;
    let mut transfer_encoding = false;
    let mut hosts = 0;
    let (mut close, mut keep) = (false, false);
    for f in &req.fields {
        let name = &req.head[f.name.clone()];
        let value = &req.head[f.value.clone()];
        if name.eq_ignore_ascii_case(b"content-length") {
            if content_length.is_some() {
                return Err(HttpError::bad("more than one Content-Length"));
            }
            content_length = Some(parse_length(value)?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
        } else if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&c| c == b',') {
                let token = trim_ows(token);
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep = true;
                }
            }
        }
    }
    if transfer_encoding {
        return Err(if content_length.is_some() {
            HttpError::bad("both Transfer-Encoding and Content-Length")
        } else {
            HttpError::new(
                ErrorKind::NotImplemented,
                "Transfer-Encoding is not supported",
            )
        });
    }
    if req.version == Version::Http11 && hosts != 1 {
        return Err(HttpError::bad("an HTTP/1.1 request needs exactly one Host"));
    }
    if hosts > 1 {
        return Err(HttpError::bad("more than one Host"));
    }
    req.content_length = content_length;
    req.keep_alive = !close && (keep || req.version == Version::Http11);
    Ok(())
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|&c| !is_ows(c)).unwrap_or(s.len());
    let b = s.iter().rposition(|&c| !is_ows(c)).map_or(a, |k| k + 1);
    &s[a..b]
}

fn parse_length(v: &[u8]) -> Result<u64, HttpError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::bad("invalid Content-Length"));
    }
    v.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(HttpError::bad("Content-Length too large"))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (RFC 3986 §2.1; `+` stays `+`). A `%` not followed by two hex digits is
/// an error (400). The result is bytes: it may hold anything, NUL and `/` included, so check it
/// before using it as a path.
///
/// ```
/// use netpoll_proto::http::percent_decode;
///
/// assert_eq!(percent_decode("/a%20b/%2e%2E").unwrap(), b"/a b/..");
/// assert!(percent_decode("/bad%2").is_err());
/// ```
pub fn percent_decode(s: &str) -> Result<Vec<u8>, HttpError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex_value);
            let lo = b.get(i + 2).copied().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(HttpError::bad("invalid percent-encoding")),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// What a `Range` header asks of a representation of a given length ([`parse_range`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeResult {
    /// Serve the whole representation with 200: the header is not a single well-formed byte
    /// range (another unit, bad syntax, or several ranges, which this server does not do).
    Full,
    /// Serve bytes `start..=end` (inclusive, `end < len`) with 206.
    Partial {
        /// The first byte.
        start: u64,
        /// The last byte (inclusive).
        end: u64,
    },
    /// Answer 416 with `Content-Range: bytes */LEN`: the range starts past the end, or is an
    /// empty suffix, or the representation is empty.
    Unsatisfiable,
}

impl RangeResult {
    /// The number of bytes of a [`RangeResult::Partial`] (0 otherwise).
    pub fn len(&self) -> u64 {
        match *self {
            RangeResult::Partial { start, end } => end - start + 1,
            _ => 0,
        }
    }

    /// Whether [`len`](Self::len) is 0: true for everything but a `Partial`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses a decimal number, saturating at `u64::MAX`; `None` unless all digits (and non-empty).
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Interprets a `Range` header value (RFC 9110 §14.1.2) for a representation of `file_len` bytes:
/// one range `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX`. `LAST` past the end is cut to
/// the end, a suffix longer than the file means the whole file. Anything else (several ranges,
/// other units, `LAST < FIRST`, bad syntax) gives [`RangeResult::Full`]: RFC 9110 lets a server
/// ignore a `Range` it does not want to honour.
///
/// ```
/// use netpoll_proto::http::{parse_range, RangeResult};
///
/// assert_eq!(parse_range(b"bytes=0-99", 1000), RangeResult::Partial { start: 0, end: 99 });
/// assert_eq!(parse_range(b"bytes=-10", 1000), RangeResult::Partial { start: 990, end: 999 });
/// assert_eq!(parse_range(b"bytes=1000-", 1000), RangeResult::Unsatisfiable);
/// assert_eq!(parse_range(b"bytes=0-1,5-6", 1000), RangeResult::Full);
/// ```
pub fn parse_range(header_value: &[u8], file_len: u64) -> RangeResult {
    let v = trim_ows(header_value);
    let Some(eq) = v.iter().position(|&c| c == b'=') else {
        return RangeResult::Full;
    };
    if !v[..eq].eq_ignore_ascii_case(b"bytes") {
        return RangeResult::Full;
    }
    let spec = trim_ows(&v[eq + 1..]);
    if spec.contains(&b',') {
        return RangeResult::Full;
    }
    let Some(dash) = spec.iter().position(|&c| c == b'-') else {
        return RangeResult::Full;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        let Some(suffix) = digits(last) else {
            return RangeResult::Full;
        };
        if suffix == 0 || file_len == 0 {
            return RangeResult::Unsatisfiable;
        }
        return RangeResult::Partial {
            start: file_len.saturating_sub(suffix),
            end: file_len - 1,
        };
    }
    let Some(start) = digits(first) else {
        return RangeResult::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match digits(last) {
            Some(end) if end >= start => end,
            _ => return RangeResult::Full,
        }
    };
    if start >= file_len {
        return RangeResult::Unsatisfiable;
    }
    RangeResult::Partial {
        start,
        end: end.min(file_len - 1),
    }
}

/// The reason phrase of the statuses these servers send (`""` for others).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Formats seconds since the Unix epoch as an HTTP date (IMF-fixdate, RFC 9110 §5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`: always 29 ASCII bytes.
///
/// ```
/// assert_eq!(netpoll_proto::http::http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(unix_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a day count since 1970-01-01, by
/// counting in 400-year eras (146 097 days each) that start on 1 March, so the leap day is last.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Day 0 of the eras below is 0000-03-01; 1970-01-01 is 719 468 days after it.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 8192;

    fn ok(buf: &[u8]) -> (Request, usize) {
        parse_request(buf, MAX)
            .expect("parse error")
            .expect("incomplete")
    }

    fn err(buf: &[u8]) -> ErrorKind {
        parse_request(buf, MAX)
            .expect_err("expected an error")
            .kind()
    }

    #[test]
    fn simple_get() {
        let buf = b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t/1\r\n\r\n";
        let (req, n) = ok(buf);
        assert_eq!(n, buf.len());
        assert_eq!(req.method(), "GET");
        assert_eq!(req.target(), "/hello?x=1");
        assert_eq!(req.version(), Version::Http11);
        assert_eq!(req.header_count(), 2);
        assert_eq!(req.header("USER-AGENT"), Some(&b"t/1"[..]));
        assert_eq!(req.header("accept"), None);
        assert!(req.keep_alive());
        assert_eq!(req.content_length(), None);
        assert_eq!(req.head_len(), n);
        let names: Vec<&str> = req.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "User-Agent"]);
    }

    #[test]
    fn pipelined_requests_in_one_buffer() {
        let one = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let two = b"HEAD /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        let three = b"GET /3 HTTP/1.0\r\n\r\n";
        let mut buf = Vec::new();
        buf.extend_from_slice(one);
        buf.extend_from_slice(two);
        buf.extend_from_slice(three);
        let mut req = Request::default();
        let mut at = 0;
        let mut seen = Vec::new();
        while at < buf.len() {
            let n = parse_request_into(&buf[at..], MAX, &mut req)
                .unwrap()
                .unwrap();
            seen.push((req.method().to_owned(), req.target().to_owned()));
            at += n + req.content_length().unwrap_or(0) as usize;
        }
        assert_eq!(at, buf.len());
        assert_eq!(
            seen,
            [("GET", "/1"), ("HEAD", "/2"), ("GET", "/3")].map(|(m, t)| (m.into(), t.into()))
        );
        assert!(!req.keep_alive(), "HTTP/1.0 without keep-alive");
    }

    #[test]
    fn byte_by_byte() {
        let buf = b"\r\nPOST /submit HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello";
        let head = buf.len() - 5;
        for end in 0..head {
            assert_eq!(
                parse_request(&buf[..end], MAX).unwrap().map(|r| r.1),
                None,
                "{end}"
            );
        }
        for end in head..=buf.len() {
            let (req, n) = ok(&buf[..end]);
            assert_eq!(n, head);
            assert_eq!(req.method(), "POST");
            assert_eq!(req.content_length(), Some(5));
        }
    }

    #[test]
    fn oversize_head() {
        let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
        buf.extend(std::iter::repeat(b'a').take(MAX));
        // Incomplete but already too long.
        assert_eq!(err(&buf), ErrorKind::HeadTooLarge);
        buf.extend_from_slice(b"\r\n\r\n");
        assert_eq!(err(&buf), ErrorKind::HeadTooLarge);
        // Exactly at the limit is fine, one byte more is not.
        let small = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(parse_request(small, small.len()).unwrap().is_some());
        assert_eq!(
            parse_request(small, small.len() - 1).unwrap_err().kind(),
            ErrorKind::HeadTooLarge
        );
        assert_eq!(
            parse_request(&small[..small.len() - 1], small.len() - 1)
                .unwrap_err()
                .status(),
            431
        );
        // Endless empty lines count too.
        assert_eq!(err(&b"\r\n".repeat(MAX)), ErrorKind::HeadTooLarge);
    }

    #[test]
    fn too_many_headers() {
        let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 1..MAX_HEADERS {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(ok(&buf).0.header_count(), MAX_HEADERS);
        let at = buf.len() - 2;
        buf.splice(at..at, b"X-one-more: v\r\n".iter().copied());
        assert_eq!(err(&buf), ErrorKind::HeadTooLarge);
    }

    #[test]
    fn garbage_is_rejected_early() {
        for g in [
            &b"\x16\x03\x01\x02\x00\x01\x00"[..], // a TLS ClientHello
            b"GET",
            b"G T / HTTP/1.1",
            b"GET /\x7f",
            b"GET / HTTX",
            b"GET / HTTP/1.1x",
            b"GET / HTTP/1.1 \r",
            b" GET / HTTP/1.1",
            b"GET  / HTTP/1.1",
            b"\r\r",
        ] {
            match parse_request(g, MAX) {
                // Prefixes of valid lines may wait for more.
                Ok(None) if g == b"GET" => {}
                Err(e) => assert_eq!(e.status(), 400, "{g:?}"),
                other => panic!("{g:?}: {other:?}"),
            }
        }
        for g in [
            &b"hello\r\n\r\n"[..],
            b"GET /\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / http/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/11\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
            b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\r",
        ] {
            let r = parse_request(g, MAX);
            assert!(
                matches!(r, Err(e) if e.kind() == ErrorKind::BadRequest)
                    || (g.ends_with(b"\r") && matches!(r, Ok(None))),
                "{g:?}: {r:?}"
            );
        }
    }

    #[test]
    fn versions() {
        let (req, _) = ok(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(req.version(), Version::Http10);
        assert!(!req.keep_alive());
        let (req, _) = ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(req.keep_alive());
        let (req, _) = ok(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n");
        assert_eq!(req.version(), Version::Http11);
        assert_eq!(
            err(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            ErrorKind::VersionNotSupported
        );
        assert_eq!(err(b"GET / HTTP/0.9\r\n\r\n").status(), 505);
    }

    #[test]
    fn line_endings() {
        // Bare LF is rejected wherever it is.
        assert_eq!(err(b"GET / HTTP/1.1\nHost: a\n\n"), ErrorKind::BadRequest);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            err(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            ErrorKind::BadRequest
        );
        // A CR inside a line.
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
            ErrorKind::BadRequest
        );
        // Leading empty lines are skipped and counted.
        let (req, n) = ok(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((req.target(), n), ("/", 31));
    }

    #[test]
    fn header_edge_cases() {
        let (req, _) = ok(b"GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\n\
            X-Pad: \t v a l \t\r\nX-8: caf\xc3\xa9\r\n\r\n");
        assert_eq!(req.header("host"), Some(&b"a"[..]));
        assert_eq!(req.header("x-empty"), Some(&b""[..]));
        assert_eq!(req.header("x-pad"), Some(&b"v a l"[..]));
        assert_eq!(req.header("x-8"), Some("café".as_bytes()));
        for bad in [
            &b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad(Name): x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: nul\0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
        ] {
            assert_eq!(
                err(bad),
                ErrorKind::BadRequest,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn host_rules() {
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), ErrorKind::BadRequest);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n"),
            ErrorKind::BadRequest
        );
        assert_eq!(
            err(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            ErrorKind::BadRequest
        );
        ok(b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn connection_header() {
        let (req, _) = ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n");
        assert!(!req.keep_alive());
        let (req, _) = ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
        assert!(req.keep_alive());
        let (req, _) = ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n");
        assert!(req.keep_alive(), "only the exact token counts");
        let (req, _) = ok(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
        assert!(!req.keep_alive());
    }

    #[test]
    fn content_length_and_transfer_encoding() {
        let base = "GET / HTTP/1.1\r\nHost: a\r\n";
        let with = |extra: &str| format!("{base}{extra}\r\n").into_bytes();
        assert_eq!(
            ok(&with("Content-Length: 0\r\n")).0.content_length(),
            Some(0)
        );
        assert_eq!(
            ok(&with("content-length:  18446744073709551615 \r\n"))
                .0
                .content_length(),
            Some(u64::MAX)
        );
        for bad in [
            "Content-Length: 18446744073709551616\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +1\r\n",
            "Content-Length: 1 2\r\n",
            "Content-Length: 1,1\r\n",
            "Content-Length: \r\n",
            "Content-Length: 0x10\r\n",
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        ] {
            assert_eq!(err(&with(bad)), ErrorKind::BadRequest, "{bad:?}");
        }
        let e = parse_request(&with("Transfer-Encoding: chunked\r\n"), MAX).unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::NotImplemented, 501));
        assert_eq!(
            err(&with("transfer-encoding: gzip, chunked\r\n")).status(),
            501
        );
    }

    #[test]
    fn reuse_clears_old_state() {
        let mut req = Request::default();
        parse_request_into(
            b"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n",
            MAX,
            &mut req,
        )
        .unwrap()
        .unwrap();
        assert_eq!(req.content_length(), Some(4));
        parse_request_into(b"GET /b HTTP/1.1\r\nHost: b\r\n\r\n", MAX, &mut req)
            .unwrap()
            .unwrap();
        assert_eq!(
            (req.target(), req.content_length(), req.header_count()),
            ("/b", None, 1)
        );
        assert!(parse_request_into(b"GET /c HTTP/1.1\r\n", MAX, &mut req)
            .unwrap()
            .is_none());
        assert_eq!(req.header_count(), 0);
    }

    #[test]
    fn error_display() {
        let e = parse_request(b"GET / HTTP/1.1\n", MAX).unwrap_err();
        assert_eq!(e.reason(), "Bad Request");
        assert!(e.to_string().starts_with("400 Bad Request: "), "{e}");
        assert!(!e.detail().is_empty());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/plain/path").unwrap(), b"/plain/path");
        assert_eq!(percent_decode("%2e%2E%2f%2F").unwrap(), b"..//");
        assert_eq!(percent_decode("%00").unwrap(), b"\0");
        assert_eq!(percent_decode("%C3%A9+").unwrap(), "é+".as_bytes());
        assert_eq!(percent_decode("").unwrap(), b"");
        for bad in ["%", "%2", "a%g0", "%0g", "%%20", "/x%2"] {
            assert_eq!(percent_decode(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn ranges() {
        use RangeResult::*;
        let p = |start, end| Partial { start, end };
        let r = |v: &str, len| parse_range(v.as_bytes(), len);
        assert_eq!(r("bytes=0-0", 10), p(0, 0));
        assert_eq!(r("bytes=0-9", 10), p(0, 9));
        assert_eq!(r("bytes=2-5", 10), p(2, 5));
        assert_eq!(r("bytes=2-500", 10), p(2, 9));
        assert_eq!(r("bytes=9-", 10), p(9, 9));
        assert_eq!(r("bytes=-3", 10), p(7, 9));
        assert_eq!(r("bytes=-30", 10), p(0, 9));
        assert_eq!(r(" Bytes = 1-2 ", 10), Full, "no spaces around '='");
        assert_eq!(r("BYTES=1-2", 10), p(1, 2));
        assert_eq!(r("  bytes=1-2\t", 10), p(1, 2));
        assert_eq!(r("bytes=1-99999999999999999999999", 10), p(1, 9));
        assert_eq!(r("bytes=-99999999999999999999999", 10), p(0, 9));
        assert_eq!(r("bytes=10-", 10), Unsatisfiable);
        assert_eq!(r("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(r("bytes=99999999999999999999999-", 10), Unsatisfiable);
        assert_eq!(r("bytes=-0", 10), Unsatisfiable);
        assert_eq!(r("bytes=0-", 0), Unsatisfiable);
        assert_eq!(r("bytes=-5", 0), Unsatisfiable);
        for full in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=1-2,4-5",
            "items=0-1",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=0x1-2",
        ] {
            assert_eq!(r(full, 10), Full, "{full:?}");
        }
        assert_eq!(p(2, 5).len(), 4);
        assert!(Full.is_empty() && Unsatisfiable.is_empty() && !p(0, 0).is_empty());
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
        assert_eq!(http_date(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(http_date(1_700_000_000).len(), 29);
        assert_eq!(reason_phrase(404), "Not Found");
        assert_eq!(reason_phrase(299), "");
    }
}
