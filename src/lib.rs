//! vecstore: an embeddable vector store.
//!
//! The core is plain Rust ([`Store`]); `src/ffi` exposes it as a C ABI (`include/vecstore.h`), which the
//! Go and C++ bindings wrap. See the README for how to link it from each language.
//!
//! From Rust there are two ways in (see [`api`] for which to use when):
//! - the feature guide's API, re-exported here: [`VecStore`], [`Metadata`], [`Query`],
//!   [`parse_filter`], [`BatchOperation`], [`NamespaceManager`], [`NamespaceQuotas`]. Owned arguments,
//!   typed results, the guide's names;
//! - the core, the fast path: [`store::Store`], [`store::Query`] (borrowed, filter as text),
//!   [`namespace::NamespaceManager`]. Zero-copy arguments, metadata as JSON text, `&self` everywhere.

// Every unsafe operation sits in its own `unsafe` block (also inside an `unsafe fn`), and every
// `unsafe` block says why it is sound in a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod api;
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

// The feature guide's API (owned, typed); `Query` and `NamespaceManager` here are the guide's. The
// core's borrowed `Query` is `store::Query` and its manager `namespace::NamespaceManager`.
pub use api::{
    parse_filter, BatchOperation, ExplainedResult, Explanation, Metadata, NamespaceManager, NamespaceQuotas,
    Query, QueryOptions, SearchResult, VecStore, VectorRecord,
};
pub use error::{Code, Error, Result};
pub use filter::{ConditionResult, Filter};
pub use namespace::backup::BackupEntry;
pub use namespace::{NamespaceRecord, NamespaceStats, Quotas, RequestKind, Status as NamespaceStatus};
pub use storage::log::{Damage, LogRecovery, ReplayReport};
pub use store::batch::{BatchError, BatchResult};
pub use store::compact::{CompactionConfig, CompactionReport, CompactionResult};
pub use store::estimate::QueryEstimate;
pub use store::explain::{ConditionOutcome, FilterDetails, GraphStats};
pub use store::maintenance::{Maintenance, MaintenanceStatus};
pub use store::options::{Durability, Metric, StoreOptions};
pub use store::record::{Hit, Record};
pub use store::{NewRecord, Plan, Stats, Store};
