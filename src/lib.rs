//! vecstore: an embeddable vector store.
//!
//! The core is plain Rust ([`Store`]); `src/ffi` exposes it as a C ABI (`include/vecstore.h`), which the
//! Go and C++ bindings wrap. See the README for how to link it from each language.

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
pub mod index;
/// cbindgen:ignore
pub mod namespace;
pub mod storage;
/// cbindgen:ignore
pub mod store;

pub use error::{Code, Error, Result};
pub use filter::{ConditionResult, Filter};
pub use namespace::{NamespaceManager, NamespaceStats, Quotas, RequestKind, Status as NamespaceStatus};
pub use store::compact::{CompactionConfig, CompactionReport, CompactionResult};
pub use store::estimate::QueryEstimate;
pub use store::explain::{ExplainedHit, Explanation, GraphStats, Plan};
pub use store::maintenance::{Maintenance, MaintenanceStatus};
pub use store::options::{Durability, Metric, StoreOptions};
pub use store::record::{Hit, Record};
pub use store::{NewRecord, Query, Stats, Store};
