//! The C ABI. This layer only converts and checks: it turns C pointers and lengths into Rust values
//! (refusing NULL, bad UTF-8, impossible lengths), calls the core, and turns the result into a
//! `vs_status` plus an owned `vs_error`. Every entry point runs inside [`boundary`], so a panic never
//! crosses into the host.
//!
//! `include/vecstore.h` is generated from these files by cbindgen; the doc comments here are the
//! header's manual.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // safety contracts are written in each function's header comment

// The order of these modules is the order of the header: cbindgen emits the functions of each
// module in source order, module after module, so the header reads in the order a user meets the
// API (open, write, query, results, errors, then batches, record changes and TTL, compaction,
// explain, namespaces, versions). Keep it so when adding a module.
// (One module per paragraph, so that rustfmt keeps this order.)
pub mod boundary;

/// 1. Opening a store, writing, reading back, closing.
pub mod store;

/// 2. Queries and their results.
pub mod query;

/// 3. Errors and strings the library returns.
pub mod error;

/// 4. Batches.
pub mod batch;

/// 5. Changing records after they are written: soft delete, metadata, TTL.
pub mod records;

/// 6. Compaction and the maintenance thread.
pub mod compact;

/// 7. Explaining and estimating queries.
pub mod explain;

/// 8. Namespaces.
pub mod namespace;

/// 9. Versions.
pub mod version;
