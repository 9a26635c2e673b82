//! Wire-protocol parsers for netpoll's example servers, kept in a library so that tests and
//! fuzzers can call them directly: HTTP/1.1 requests ([`http`]) and RESP2 commands ([`resp`]).
//! Both are incremental (they report "need more bytes"), never allocate what a peer merely
//! declares, and reject oversize or malformed input with an error.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod http;
pub mod resp;
