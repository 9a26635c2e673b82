//! RESP2 command parsing (being written).
