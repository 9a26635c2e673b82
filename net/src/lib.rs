//! Sockets for netpoll: `TcpListener`, `TcpStream`, UDP and Unix sockets come with the sockets
//! issue.

#![warn(missing_docs)]
