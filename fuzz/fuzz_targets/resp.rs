//! Fuzzes the RESP2 command parser and reply encoders (`netpoll_proto::resp`).
//!
//! Input: byte 0 picks the `Limits` (the defaults, or tiny ones so that every limit is hit),
//! byte 1 `max_command` of the tiny limits and the chunk sizes of the streaming check; the rest
//! is what a client sent. Checked:
//!
//! - nothing panics (overflow checks and debug assertions are on), also when a `Parser` is fed
//!   buffers that break its contract (shorter, or different bytes, between calls);
//! - consumed `n` is `1..=len`; the parsed command is the same from `buf[..n]` and from any
//!   longer buffer, every proper prefix of it is "need more", and an error on a prefix is the
//!   same error on the whole input;
//! - a resumable `Parser` fed byte by byte, or in chunks, gives the same commands and error as
//!   `parse_command` run back to back on the whole input;
//! - parsing allocates at most `alloc_budget(len)` bytes (nothing proportional to a declared
//!   length or count);
//! - encode -> parse: every command (the parsed ones, and chunks of the input) encoded as a
//!   multibulk with `write_array_header` + `write_bulk` (and inline, when it can be) parses back
//!   to itself, consuming exactly the encoding, when within the limits, and is an error when not;
//! - the reply encoders produce what a reference RESP2 decoder reads back as the same values.

#![no_main]

use libfuzzer_sys::fuzz_target;
use netpoll_fuzz::{alloc_budget, allocated_by};
use netpoll_proto::resp::{
    parse_command, write_array_header, write_bulk, write_error, write_integer, write_null_array,
    write_null_bulk, write_simple, Command, Limits, Parser, RespError,
};

fuzz_target!(|data: &[u8]| {
    let [c0, c1, stream @ ..] = data else {
        return;
    };
    let limits = if c0 & 1 == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            max_args: usize::from((c0 >> 1) & 7),
            max_bulk: [0, 1, 8, 64][usize::from((c0 >> 4) & 3)],
            max_inline: [0, 4, 16, 256][usize::from(c0 >> 6)],
            max_command: [8, 32, 128, 4096][usize::from(c1 & 3)],
        }
    };
    let chunk = usize::from(c1 >> 2);

    let pipeline = check_one_shot(stream, &limits);
    check_streaming(stream, &limits, &pipeline, chunk);
    check_contract_abuse(stream, &limits);

    for cmd in pipeline.iter().filter_map(|r| r.as_ref().ok()) {
        check_encode_roundtrip(cmd, &limits);
    }
    // Binary arguments that no parse produced: the input cut into pieces.
    let piece = chunk % 7 + 1;
    check_encode_roundtrip(&Command::from_args(stream.chunks(piece)), &limits);
    check_encode_roundtrip(
        &Command::from_args(stream.chunks(piece).take(3)),
        &Limits::DEFAULT,
    );

    check_replies(stream);
});

type Outcome = Result<Option<(Command, usize)>, RespError>;

/// The commands `parse_command` finds back to back in `stream`, ending with the error if any.
fn check_one_shot(stream: &[u8], limits: &Limits) -> Vec<Result<Command, RespError>> {
    let (full, allocated) = allocated_by(|| parse_command(stream, limits));
    assert!(
        allocated <= alloc_budget(stream.len()),
        "parse_command allocated {allocated} bytes for a {}-byte input",
        stream.len()
    );
    if let Ok(Some((cmd, n))) = &full {
        assert!(
            *n >= 1 && *n <= stream.len(),
            "consumed {n} of {}",
            stream.len()
        );
        check_command(cmd);
    }
    if let Err(e) = &full {
        check_error(e);
    }

    let len = stream.len();
    let mut points: Vec<usize> = (0..8).map(|i| len * i / 8).collect();
    if let Ok(Some((_, n))) = &full {
        points.extend([*n - 1, *n]);
    }
    for k in points {
        let prefix: Outcome = parse_command(&stream[..k], limits);
        match &prefix {
            Ok(Some(_)) => assert_eq!(prefix, full, "a command parsed from {k} bytes changed"),
            Err(_) => assert_eq!(prefix, full, "{k}-byte prefix"),
            Ok(None) => {}
        }
        if let Ok(Some((_, n))) = &full {
            if k < *n {
                assert_eq!(prefix, Ok(None), "{k}-byte prefix of a {n}-byte command");
            }
        }
    }

    let mut out = Vec::new();
    let mut off = 0;
    let mut next = full;
    loop {
        match next {
            Ok(Some((cmd, n))) => {
                assert!(n >= 1 && n <= stream.len() - off);
                check_command(&cmd);
                off += n;
                out.push(Ok(cmd));
            }
            Ok(None) => break,
            Err(e) => {
                check_error(&e);
                out.push(Err(e));
                break;
            }
        }
        next = parse_command(&stream[off..], limits);
    }
    out
}

/// Feeds `stream` to one `Parser` as a server does (append what arrived, parse until "need
/// more", drop what was consumed): one byte at a time, then in chunks.
fn check_streaming(
    stream: &[u8],
    limits: &Limits,
    expected: &[Result<Command, RespError>],
    chunk: usize,
) {
    let sizes: [&dyn Fn(usize) -> usize; 2] = [&|_| 1, &|i| 1 + (chunk * (i + 1)) % 67];
    for size in sizes {
        let mut parser = Parser::new(*limits);
        assert_eq!(parser.limits(), limits);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut fed = 0;
        'feed: for i in 0.. {
            if fed == stream.len() {
                break;
            }
            let n = size(i).min(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + n]);
            fed += n;
            loop {
                match parser.parse(&buf) {
                    Ok(Some((cmd, used))) => {
                        assert!(used >= 1 && used <= buf.len());
                        assert!(!parser.in_progress());
                        buf.drain(..used);
                        got.push(Ok(cmd));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        assert!(!parser.in_progress(), "a parser is reset by an error");
                        got.push(Err(e));
                        break 'feed;
                    }
                }
            }
        }
        assert_eq!(
            got, expected,
            "streamed in pieces vs parse_command back to back"
        );
    }
}

/// Breaks the `Parser` contract on purpose (buffers that shrink, or change, between calls, no
/// reset after a command): the results are unspecified but nothing may panic.
fn check_contract_abuse(stream: &[u8], limits: &Limits) {
    let mut parser = Parser::new(*limits);
    let len = stream.len();
    for i in 0..16 {
        let start = (len * i / 16) % (len / 3 + 1);
        let end = len - (len * (i * 7 % 16) / 64);
        let buf = &stream[start.min(end)..end];
        if let Ok(Some((cmd, used))) = parser.parse(buf) {
            assert!(used >= 1 && used <= buf.len());
            check_command(&cmd);
        }
    }
    parser.reset();
    assert!(!parser.in_progress());
    assert_eq!(parser.parse(stream), parse_command(stream, limits));
}

fn check_command(cmd: &Command) {
    let args: Vec<&[u8]> = cmd.iter().collect();
    assert_eq!(args.len(), cmd.len());
    assert_eq!(cmd.is_empty(), args.is_empty());
    assert_eq!(cmd.iter().size_hint(), (args.len(), Some(args.len())));
    let mut rev: Vec<&[u8]> = cmd.iter().rev().collect();
    rev.reverse();
    assert_eq!(rev, args);
    for (i, a) in args.iter().enumerate() {
        assert_eq!(cmd.get(i), Some(*a));
        assert_eq!(&cmd[i], *a);
    }
    assert_eq!(cmd.get(args.len()), None);
    assert_eq!(cmd.data_len(), args.iter().map(|a| a.len()).sum::<usize>());
    assert_eq!(
        cmd.to_vec(),
        args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()
    );
    assert_eq!(&Command::from_args(&args), cmd);
    let _ = format!("{cmd:?}");
}

fn check_error(e: &RespError) {
    let mut out = Vec::new();
    e.write_reply(&mut out);
    assert!(out.starts_with(b"-ERR Protocol error: "), "{out:?}");
    assert!(out.ends_with(b"\r\n"));
    let body = &out[..out.len() - 2];
    assert!(!body.contains(&b'\r') && !body.contains(&b'\n'), "{out:?}");
    match decode_reply(&out) {
        Some((Reply::Error(msg), n)) if n == out.len() => {
            assert_eq!(msg, format!("ERR Protocol error: {e}").into_bytes())
        }
        other => panic!("error reply {out:?} decodes as {other:?}"),
    }
}

/// Encodes `cmd` as a multibulk and, if its arguments allow, as an inline line, and parses both
/// back.
fn check_encode_roundtrip(cmd: &Command, limits: &Limits) {
    let mut wire = Vec::new();
    write_array_header(&mut wire, cmd.len());
    for arg in cmd {
        write_bulk(&mut wire, arg);
    }
    let fits = cmd.len() <= limits.max_args
        && cmd.iter().all(|a| a.len() <= limits.max_bulk)
        && wire.len() <= limits.max_command;
    let parsed = parse_command(&wire, limits);
    if fits || cmd.is_empty() {
        assert_eq!(
            parsed,
            Ok(Some((cmd.clone(), wire.len()))),
            "multibulk {wire:?}"
        );
    } else {
        assert!(
            matches!(
                parsed,
                Err(RespError::InvalidMultibulkLength
                    | RespError::InvalidBulkLength
                    | RespError::TooBigCommand)
            ),
            "multibulk {wire:?} over {limits:?}: {parsed:?}"
        );
    }
    // With trailing bytes (the start of the next command), the same.
    let mut longer = wire.clone();
    longer.extend_from_slice(b"*1\r\n$4\r\nPI");
    assert_eq!(parse_command(&longer, limits), parsed);

    let inline_ok = cmd
        .iter()
        .all(|a| !a.is_empty() && !a.iter().any(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')))
        && !cmd.get(0).is_some_and(|a| a[0] == b'*');
    if inline_ok {
        let mut line = cmd.iter().collect::<Vec<_>>().join(&b' ');
        line.extend_from_slice(b"\r\n");
        let parsed = parse_command(&line, limits);
        if line.len() > limits.max_inline {
            assert_eq!(parsed, Err(RespError::TooBigInline), "inline {line:?}");
        } else if cmd.len() > limits.max_args {
            assert_eq!(
                parsed,
                Err(RespError::InvalidMultibulkLength),
                "inline {line:?}"
            );
        } else {
            assert_eq!(
                parsed,
                Ok(Some((cmd.clone(), line.len()))),
                "inline {line:?}"
            );
        }
    }
}

/// A RESP2 reply, as the reference decoder below reads it.
#[derive(Debug, PartialEq)]
enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<usize>),
}

/// Decodes one reply (an array only as its header), strictly: canonical numbers only.
fn decode_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let eol = buf.windows(2).position(|w| w == b"\r\n")?;
    let (&kind, line) = buf[..eol].split_first()?;
    let next = eol + 2;
    let canonical = |line: &[u8]| -> Option<i64> {
        let n: i64 = std::str::from_utf8(line).ok()?.parse().ok()?;
        (n.to_string().as_bytes() == line).then_some(n)
    };
    Some(match kind {
        b'+' => (Reply::Simple(line.to_vec()), next),
        b'-' => (Reply::Error(line.to_vec()), next),
        b':' => (Reply::Integer(canonical(line)?), next),
        b'$' if line == b"-1" => (Reply::Bulk(None), next),
        b'$' => {
            let len = usize::try_from(canonical(line)?).ok()?;
            let body = buf.get(next..next + len)?;
            (buf.get(next + len..next + len + 2)? == b"\r\n").then_some(())?;
            (Reply::Bulk(Some(body.to_vec())), next + len + 2)
        }
        b'*' if line == b"-1" => (Reply::Array(None), next),
        b'*' => (
            Reply::Array(Some(usize::try_from(canonical(line)?).ok()?)),
            next,
        ),
        _ => return None,
    })
}

/// Writes replies made from the input with every encoder, and decodes them back.
fn check_replies(stream: &[u8]) {
    let text = String::from_utf8_lossy(stream);
    let line = |s: &str| -> Vec<u8> {
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect()
    };
    let int = i64::from_le_bytes(std::array::from_fn(|i| stream.get(i).copied().unwrap_or(0)));
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let half = &text[..mid];

    let mut out = Vec::new();
    let mut expected = Vec::new();
    write_simple(&mut out, &text);
    expected.push(Reply::Simple(line(&text)));
    write_error(&mut out, half);
    expected.push(Reply::Error(line(half)));
    for n in [int, i64::MIN, i64::MAX, 0, -1] {
        write_integer(&mut out, n);
        expected.push(Reply::Integer(n));
    }
    write_bulk(&mut out, stream);
    expected.push(Reply::Bulk(Some(stream.to_vec())));
    write_bulk(&mut out, b"");
    expected.push(Reply::Bulk(Some(Vec::new())));
    write_null_bulk(&mut out);
    expected.push(Reply::Bulk(None));
    write_array_header(&mut out, stream.len());
    expected.push(Reply::Array(Some(stream.len())));
    write_array_header(&mut out, 0);
    expected.push(Reply::Array(Some(0)));
    write_null_array(&mut out);
    expected.push(Reply::Array(None));

    let mut got = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let Some((reply, n)) = decode_reply(rest) else {
            panic!("undecodable reply at {:?}", String::from_utf8_lossy(rest));
        };
        got.push(reply);
        rest = &rest[n..];
    }
    assert_eq!(got, expected);
}
