//! The C ABI. This layer only converts and checks: it turns C pointers and lengths into Rust values
//! (refusing NULL, bad UTF-8, impossible lengths), calls the core, and turns the result into a
//! `vs_status` plus an owned `vs_error`. Every entry point runs inside [`boundary`], so a panic never
//! crosses into the host.
//!
//! `include/vecstore.h` is generated from these files by cbindgen; the doc comments here are the
//! header's manual.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // safety contracts are written in each function's header comment

pub mod batch;
pub mod boundary;
pub mod compact;
pub mod error;
pub mod explain;
pub mod namespace;
pub mod query;
pub mod records;
pub mod store;
pub mod version;
