//! The feature guide's Rust API: owned, convenient types over the same core.
//!
//! Everything here converts its arguments and calls [`Store`](crate::store::Store) or
//! [`namespace::NamespaceManager`](crate::namespace::NamespaceManager): there is no second
//! implementation, so errors, batch reports, estimates and explanations are exactly those of the C
//! ABI (and of the Go and C++ bindings over it). The names and shapes are the ones the feature guide
//! shows, and they are re-exported at the crate root:
//!
//! ```
//! use std::collections::HashMap;
//! use vecstore::{parse_filter, BatchOperation, Metadata, Query, VecStore};
//!
//! # fn main() -> vecstore::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("data");
//! let mut store = VecStore::open(&path)?;
//! let mut tech = Metadata::default();
//! tech.insert("category", "tech");
//! store.upsert("doc1", vec![0.1, 0.2, 0.3], tech)?;
//!
//! let result = store.batch_execute(vec![
//!     BatchOperation::Upsert {
//!         id: "doc2".into(),
//!         vector: vec![0.3, 0.2, 0.1],
//!         metadata: Metadata { fields: HashMap::new() },
//!     },
//!     BatchOperation::SoftDelete { id: "doc3".into() },
//! ])?;
//! assert_eq!((result.succeeded, result.failed), (1, 1));
//! assert_eq!(result.errors[0].error, "record not found: doc3");
//!
//! let query = Query {
//!     vector: vec![0.1, 0.2, 0.3],
//!     k: 10,
//!     filter: Some(parse_filter("category = 'tech'")?),
//! };
//! let results = store.query(query)?;
//! assert_eq!(results[0].id, "doc1");
//! assert_eq!(results[0].metadata.fields["category"], "tech");
//! # Ok(())
//! # }
//! ```
//!
//! # Which API to use when
//!
//! - **This facade** ([`VecStore`], [`NamespaceManager`]): application code, prototypes, anything
//!   that reads like the guide. Ids are `impl Into<String>`, vectors `Vec<f32>`, metadata a
//!   [`Metadata`] map, filters parsed once with [`parse_filter`], results owned and typed. Writes
//!   take `&mut self`, reads `&self`; a `VecStore` is `Send + Sync`.
//! - **The core** ([`crate::store::Store`], [`crate::store::Query`],
//!   [`crate::namespace::NamespaceManager`]): the fast path. It borrows (`&str` ids, `&[f32]`
//!   vectors, metadata as JSON text, the filter as text), returns metadata as the stored JSON text
//!   without parsing it, and every method takes `&self`, so one `Arc<Store>` serves any number of
//!   threads writing and reading at once. Use it for bulk loads, hot query loops, servers, and
//!   anything that already holds JSON text. The facade adds, per call, a copy of what it is given
//!   (metadata serialised to JSON, the filter written back to its canonical text) and, per result,
//!   the parse of its metadata into a map.
//!
//! The two meet: [`VecStore::from_shared`] wraps an `Arc<Store>` the program also uses directly,
//! and [`VecStore::with_store`] runs a closure on the core store behind any `VecStore` (a
//! namespace's included, with the namespace's checks).
//!
//! # Differences from the guide's text
//!
//! The guide's snippets compile and run as written (`examples/guide.rs` holds every one of them).
//! Where the guide leaves something open, this API decides:
//!
//! - `set_compaction_config` returns `Result<()>`: the setting is saved with the store, and that can
//!   fail. The guide's snippets ignore it, which compiles with an `unused_must_use` warning; write
//!   `store.set_compaction_config(config)?;`.
//! - A [`Query`] has no `ef_search` field (the guide's three-field literal must compile): pass
//!   [`QueryOptions`] to [`VecStore::query_with`], [`VecStore::query_explain_with`] or
//!   [`VecStore::estimate_query_with`].
//! - [`VecStore::estimate_query`] returns the estimate itself, as in the guide: a query the
//!   namespace refuses (suspended, rate limited) gives `valid: false` with the refusal in `errors`
//!   and its code in `error_codes`, rather than an `Err`.
//! - Records upserted in a batch with a TTL use [`BatchOperation::UpsertWithTtl`] (the guide's
//!   `Upsert` literal has no TTL field).
#![warn(missing_docs)]

mod batch;
mod metadata;
mod namespace;
mod query;
mod store;

pub use batch::BatchOperation;
pub use metadata::Metadata;
pub use namespace::{NamespaceManager, NamespaceQuotas};
pub use query::{parse_filter, ExplainedResult, Explanation, Query, QueryOptions, SearchResult};
pub use store::{VecStore, VectorRecord};

#[cfg(test)]
mod tests;
