//! Everything that touches the disk: the directory lock, the operation log, snapshots, memory-mapped
//! vector files and the small file helpers (`fsutil`). The core talks to disk only through this module,
//! and this module knows no store type: it stores the bytes and values it is given.
//!
//! A store directory holds `LOCK`, `vecstore.meta.json` (the store's description, see
//! `store::meta`), `vecstore.log` (writes since the last
//! snapshot, tagged with a log generation) and, once a checkpoint has run, a snapshot: `snap-G.vectors`,
//! `snap-G.records`, `snap-G.graph` (with the optional codes and the journals of records and graph,
//! see [`snapshot`]) and the manifest `vecstore.snapshot.json` naming generation G. How
//! the log and the snapshot fit together (checkpoint and open) is described in [`log`].

pub mod dir;
pub mod fsutil;
/// cbindgen:ignore
pub mod inspect;
pub mod lock;
pub mod log;
// Not part of the C ABI: cbindgen would otherwise copy their public constants into include/vecstore.h.
/// cbindgen:ignore
pub mod snapshot;
/// cbindgen:ignore
pub mod vectors;
