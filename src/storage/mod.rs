//! Everything that touches the disk: the directory lock, the store's description file and the
//! operation log. The store talks to disk only through this module, so the log-only layout of today can
//! grow snapshots and memory-mapped vectors without the store changing shape.

pub mod fsutil;
pub mod lock;
pub mod log;
pub mod meta;
pub mod snapshot;
pub mod vectors;
