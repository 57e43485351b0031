//! Everything that touches the disk: the directory lock, the store's description file, the operation
//! log, snapshots and memory-mapped vector files. The store talks to disk only through this module.
//!
//! A store directory holds `LOCK`, `vecstore.meta.json`, `vecstore.log` (writes since the last
//! snapshot, tagged with a log generation) and, once a checkpoint has run, a snapshot: `snap-G.vectors`,
//! `snap-G.records`, `snap-G.graph` and the manifest `vecstore.snapshot.json` naming generation G. How
//! the log and the snapshot fit together (checkpoint and open) is described in [`log`].

pub mod fsutil;
/// cbindgen:ignore
pub mod inspect;
pub mod lock;
pub mod log;
pub mod meta;
// Not part of the C ABI: cbindgen would otherwise copy their public constants into include/vecstore.h.
/// cbindgen:ignore
pub mod snapshot;
/// cbindgen:ignore
pub mod vectors;
