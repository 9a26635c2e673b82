//! The blocking pool behind `spawn_blocking`: threads made on demand up to a cap (default 512),
//! each retiring after its keep-alive (default 10 s) without work.

mod pool;

pub(crate) use pool::BlockingPool;
