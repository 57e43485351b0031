//! vecstore: an embeddable vector store.
//!
//! The core is plain Rust ([`Store`]); `src/ffi` exposes it as a C ABI (`include/vecstore.h`), which the
//! Go and C++ bindings wrap. See the README for how to link it from each language.

// Every unsafe operation sits in its own `unsafe` block (also inside an `unsafe fn`), and every
// `unsafe` block says why it is sound in a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

/// The `vecstore` command-line tool (feature `cli`).
/// cbindgen:ignore
#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod ffi;
// The core's own constants are not part of the C ABI: keep cbindgen out of these modules.
/// cbindgen:ignore
pub mod filter;
/// cbindgen:ignore
// The SIMD kernels of index/distance.rs still call intrinsics straight from their `unsafe fn`
// bodies (`#[target_feature]` functions): the one module the lint is not yet enforced in.
#[allow(unsafe_op_in_unsafe_fn)]
pub mod index;
/// cbindgen:ignore
pub mod namespace;
/// The HTTP server over the core (feature `server`).
/// cbindgen:ignore
#[cfg(feature = "server")]
pub mod server;
pub mod storage;
/// cbindgen:ignore
pub mod store;

pub use error::{Code, Error, Result};
pub use filter::{ConditionResult, Filter};
pub use namespace::{NamespaceManager, NamespaceStats, Quotas, RequestKind, Status as NamespaceStatus};
pub use storage::log::{Damage, LogRecovery, ReplayReport};
pub use store::compact::{CompactionConfig, CompactionReport, CompactionResult};
pub use store::estimate::QueryEstimate;
pub use store::explain::{ExplainedHit, Explanation, GraphStats};
pub use store::maintenance::{Maintenance, MaintenanceStatus};
pub use store::options::{Durability, Metric, StoreOptions};
pub use store::record::{Hit, Record};
pub use store::{NewRecord, Plan, Query, Stats, Store};
