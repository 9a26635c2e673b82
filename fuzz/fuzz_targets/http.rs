//! Fuzzes the HTTP/1.1 request-head parser (`netpoll_proto::http`): `parse_request`,
//! `parse_request_into`, `percent_decode`, `parse_range` (and `http_date`).
//!
//! Input: byte 0 picks `max_head`, byte 1 a split point; the rest is the byte stream a client
//! sent. Checked:
//!
//! - nothing panics (overflow checks and debug assertions are on);
//! - a parsed head is well-formed, consumed `n <= len` and `n <= max_head`, and every getter agrees
//!   with the bytes (method, target, header values trimmed, Content-Length, Host, keep-alive);
//! - stability: a prefix that parses parses the same with more bytes appended, every proper prefix
//!   of a parsed head is "need more", an error on a prefix stays an error of the same kind, and
//!   "need more" never comes once `max_head` bytes are there;
//! - `parse_request_into` into a used `Request` equals `parse_request`, and a second parse of the
//!   same bytes into the same `Request` allocates nothing;
//! - parsing allocates at most `alloc_budget(len)` bytes (nothing proportional to a declared
//!   length);
//! - a pipeline of heads (and `Content-Length` bodies) is consumed without overrunning the input;
//! - `percent_decode` equals a reference decoder and round-trips with an encoder;
//! - `parse_range` only returns ranges inside the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use netpoll_fuzz::{alloc_budget, allocated_by};
use netpoll_proto::http::{
    http_date, parse_range, parse_request, parse_request_into, percent_decode, ErrorKind,
    HttpError, RangeResult, Request, Version, MAX_HEADERS,
};

fuzz_target!(|data: &[u8]| {
    let [c0, c1, stream @ ..] = data else {
        return;
    };
    let max_head = match c0 & 3 {
        0 => 8192,
        1 => usize::from(c0 >> 2) * 5,
        2 => 1024,
        _ => usize::MAX,
    };
    check_stream(stream, max_head, *c1);
    check_pipeline(stream, max_head);
    check_percent_decode(stream);
    let file_len = u64::from_le_bytes(std::array::from_fn(|i| data.get(i).copied().unwrap_or(0)));
    for len in [0, 1, 2, 100, 1000, u64::MAX - 1, u64::MAX, file_len] {
        check_range(stream, len);
    }
    check_http_date(file_len);
});

/// A parse result in comparable form.
type Outcome = Result<Option<(Snapshot, usize)>, HttpError>;

/// Everything a `Request` exposes.
#[derive(Debug, PartialEq)]
struct Snapshot {
    method: String,
    target: String,
    version: Version,
    headers: Vec<(String, Vec<u8>)>,
    keep_alive: bool,
    content_length: Option<u64>,
    head_len: usize,
}

impl Snapshot {
    fn of(req: &Request) -> Snapshot {
        Snapshot {
            method: req.method().to_owned(),
            target: req.target().to_owned(),
            version: req.version(),
            headers: req
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_vec()))
                .collect(),
            keep_alive: req.keep_alive(),
            content_length: req.content_length(),
            head_len: req.head_len(),
        }
    }
}

fn parse(buf: &[u8], max_head: usize) -> Outcome {
    Ok(parse_request(buf, max_head)?.map(|(req, n)| (Snapshot::of(&req), n)))
}

fn check_stream(stream: &[u8], max_head: usize, split: u8) {
    let (full, allocated) = allocated_by(|| parse_request(stream, max_head));
    assert!(
        allocated <= alloc_budget(stream.len()),
        "parse_request allocated {allocated} bytes for a {}-byte input",
        stream.len()
    );
    let full: Outcome = match full {
        Ok(Some((req, n))) => {
            check_request(&req, n, stream, max_head);
            Ok(Some((Snapshot::of(&req), n)))
        }
        Ok(None) => {
            assert!(
                stream.len() < max_head,
                "need more with {} bytes, max_head {max_head}",
                stream.len()
            );
            Ok(None)
        }
        Err(e) => {
            check_error(&e);
            Err(e)
        }
    };

    // Prefixes: at the split byte, at eighths of the input, and around the head's end.
    let len = stream.len();
    let mut points: Vec<usize> = (0..8).map(|i| len * i / 8).collect();
    points.push(len * usize::from(split) / 255);
    if let Ok(Some((_, n))) = &full {
        points.extend([*n - 1, *n]);
    }
    for k in points {
        let prefix = parse(&stream[..k], max_head);
        match (&prefix, &full) {
            (Ok(Some(_)), _) => assert_eq!(prefix, full, "a head parsed from {k} bytes changed"),
            (Err(p), Err(f)) => {
                assert_eq!(p.kind(), f.kind(), "{k}-byte prefix: {p}; whole input: {f}")
            }
            (Err(p), _) => panic!("{k}-byte prefix: {p}, whole input: {full:?}"),
            (Ok(None), Ok(Some((_, n)))) => assert!(k < *n),
            (Ok(None), _) => {}
        }
        if let Ok(Some((_, n))) = &full {
            if k < *n {
                assert_eq!(prefix, Ok(None), "{k}-byte prefix of a {n}-byte head");
            }
        }
    }

    // parse_request_into: a used `Request` gives the same result, and a second parse of the same
    // bytes reuses its buffers.
    let mut req = parse_request(
        b"POST /old HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\nX: y\r\n\r\n",
        8192,
    )
    .unwrap()
    .unwrap()
    .0;
    let into =
        parse_request_into(stream, max_head, &mut req).map(|o| o.map(|n| (Snapshot::of(&req), n)));
    assert_eq!(into, full, "parse_request_into on a used Request");
    let (again, allocated) = allocated_by(|| parse_request_into(stream, max_head, &mut req));
    assert_eq!(again.map(|o| o.map(|n| (Snapshot::of(&req), n))), full);
    assert_eq!(allocated, 0, "a repeated parse_request_into allocated");
}

/// Parses requests back to back, skipping each one's body, as a server loop does.
fn check_pipeline(stream: &[u8], max_head: usize) {
    let mut req = Request::default();
    let mut off = 0;
    loop {
        let rest = &stream[off..];
        match parse_request_into(rest, max_head, &mut req) {
            Ok(Some(n)) => {
                check_request(&req, n, rest, max_head);
                off += n;
                let body = req.content_length().unwrap_or(0);
                off += usize::try_from(body)
                    .unwrap_or(usize::MAX)
                    .min(stream.len() - off);
                assert!(off <= stream.len());
                let _ = percent_decode(req.target());
                if let Some(range) = req.header("range") {
                    for len in [0, 1, 1000, u64::MAX] {
                        check_range(range, len);
                    }
                }
            }
            Ok(None) => {
                assert!(rest.len() < max_head);
                break;
            }
            Err(e) => {
                check_error(&e);
                break;
            }
        }
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Checks a parsed head against the bytes it came from.
fn check_request(req: &Request, n: usize, buf: &[u8], max_head: usize) {
    assert!(
        n > 0 && n <= buf.len() && n <= max_head,
        "consumed {n} of {}",
        buf.len()
    );
    assert_eq!(req.head_len(), n);
    let head = &buf[..n];
    assert!(
        head.ends_with(b"\r\n\r\n"),
        "head does not end with an empty line"
    );

    // The request line, after optional empty lines.
    let mut line_start = 0;
    while head[line_start..].starts_with(b"\r\n") {
        line_start += 2;
    }
    let method = req.method().as_bytes();
    let target = req.target().as_bytes();
    assert!(!method.is_empty() && method.iter().all(|&c| is_tchar(c)));
    assert!(!target.is_empty() && target.iter().all(|&c| (0x21..=0x7e).contains(&c)));
    let mut line = method.to_vec();
    line.push(b' ');
    line.extend_from_slice(target);
    line.extend_from_slice(b" HTTP/1.");
    assert!(
        head[line_start..].starts_with(&line),
        "request line does not start with {:?}",
        String::from_utf8_lossy(&line)
    );
    let minor = head[line_start + line.len()];
    assert!(minor.is_ascii_digit());
    let version = if minor == b'0' {
        Version::Http10
    } else {
        Version::Http11
    };
    assert_eq!(req.version(), version);

    // Headers.
    assert!(req.header_count() <= MAX_HEADERS);
    assert_eq!(req.headers().count(), req.header_count());
    let (mut hosts, mut lengths, mut close, mut keep) = (0, Vec::new(), false, false);
    for (name, value) in req.headers() {
        assert!(
            !name.is_empty() && name.bytes().all(is_tchar),
            "header name {name:?}"
        );
        let ows = |c: &u8| *c == b' ' || *c == b'\t';
        assert!(!value.first().is_some_and(ows), "value not trimmed");
        assert!(!value.last().is_some_and(ows), "value not trimmed");
        assert!(value.iter().all(|&c| c == b'\t' || c >= 0x20 && c != 0x7f));
        assert!(!name.eq_ignore_ascii_case("transfer-encoding"));
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("content-length") {
            lengths.push(value);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(|&c| c == b',') {
                let token = String::from_utf8_lossy(token);
                let token = token.trim_matches([' ', '\t']);
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
        let first = req.header(&name.to_ascii_uppercase()).unwrap();
        let first_of_name = req
            .headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap()
            .1;
        assert_eq!(first, first_of_name);
    }
    match version {
        Version::Http11 => assert_eq!(hosts, 1, "HTTP/1.1 without exactly one Host"),
        Version::Http10 => assert!(hosts <= 1),
    }
    match (req.content_length(), lengths.as_slice()) {
        (None, []) => {}
        (Some(len), [value]) => {
            assert!(value.iter().all(u8::is_ascii_digit));
            assert_eq!(std::str::from_utf8(value).unwrap().parse::<u64>(), Ok(len));
        }
        (len, values) => panic!("content_length {len:?} from {} headers", values.len()),
    }
    assert_eq!(
        req.keep_alive(),
        !close && (keep || version == Version::Http11)
    );
}

fn check_error(e: &HttpError) {
    let status = e.status();
    assert_eq!(status, e.kind().status());
    assert!(matches!(
        (e.kind(), status),
        (ErrorKind::BadRequest, 400)
            | (ErrorKind::HeadTooLarge, 431)
            | (ErrorKind::NotImplemented, 501)
            | (ErrorKind::VersionNotSupported, 505)
    ));
    assert!(!e.reason().is_empty() && !e.detail().is_empty());
    let _ = e.to_string();
}

/// The decoding RFC 3986 describes, written independently of the library.
fn reference_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((&c, tail)) = rest.split_first() {
        if c == b'%' {
            let [h, l, ..] = tail else { return None };
            out.push(hex(*h)? * 16 + hex(*l)?);
            rest = &tail[2..];
        } else {
            out.push(c);
            rest = tail;
        }
    }
    Some(out)
}

fn check_percent_decode(stream: &[u8]) {
    let lossy = String::from_utf8_lossy(stream);
    let decoded = percent_decode(&lossy);
    assert_eq!(
        decoded.as_ref().ok(),
        reference_decode(lossy.as_bytes()).as_ref(),
        "percent_decode({lossy:?})"
    );
    if let Ok(bytes) = decoded {
        assert!(bytes.len() <= lossy.len());
        // Encoding every byte (in mixed case) and decoding gives the bytes back.
        let mut encoded = String::with_capacity(bytes.len() * 3);
        for (i, &b) in bytes.iter().enumerate() {
            let digits: &[u8; 16] = if i % 2 == 0 {
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            encoded.push('%');
            encoded.push(char::from(digits[usize::from(b >> 4)]));
            encoded.push(char::from(digits[usize::from(b & 15)]));
        }
        assert_eq!(percent_decode(&encoded).as_deref(), Ok(&bytes[..]));
    }
}

fn check_range(value: &[u8], file_len: u64) {
    let r = parse_range(value, file_len);
    match r {
        RangeResult::Partial { start, end } => {
            assert!(
                start <= end && end < file_len,
                "{r:?} for a {file_len}-byte file"
            );
            assert_eq!(r.len(), end - start + 1);
            assert!(!r.is_empty());
        }
        RangeResult::Full | RangeResult::Unsatisfiable => {
            assert_eq!(r.len(), 0);
            assert!(r.is_empty());
        }
    }
    if file_len == 0 {
        assert!(!matches!(r, RangeResult::Partial { .. }));
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `http_date` for dates up to the year 9999 (its 29-byte format has four year digits): parsing
/// the result back gives the same second.
fn check_http_date(secs: u64) {
    let secs = secs % 253_402_300_800; // 10000-01-01T00:00:00Z
    let s = http_date(secs);
    assert_eq!(s.len(), 29, "{s:?}");
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    assert_eq!(&b[3..5], b", ");
    assert!(s.ends_with(" GMT"));
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|&m| m == &s[8..11])
    .unwrap() as i64
        + 1;
    let days = days_from_civil(num(12..16), month, num(5..7));
    let back = days * 86_400 + num(17..19) * 3600 + num(20..22) * 60 + num(23..25);
    assert_eq!(back, secs as i64, "{s:?}");
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    assert_eq!(&s[..3], weekday);
}
