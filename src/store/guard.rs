//! The hook through which a namespace puts quotas on a store's writes.
//!
//! The store cannot know a namespace's limits, and the namespace cannot know, without the store's
//! write lock, which ids of a write are new and which replace a record. So the store computes what a
//! write would add, under its write lock and before anything is logged, and asks the check; a refusal
//! fails the whole write and changes nothing.

use std::sync::Arc;

use super::Store;
use crate::error::Result;

/// What a write would add to a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Growth {
    /// Live records before the write (expired records not yet removed included).
    pub vectors_before: u64,
    /// Live records the write adds: new ids and restored records. A replacement adds 0.
    pub vectors_added: u64,
    /// Bytes the store holds on disk before the write (log, snapshot, description).
    pub storage_bytes_before: u64,
    /// Bytes the write appends to the log.
    pub bytes_added: u64,
}

/// A check run before every write that adds data (upsert, bulk upsert, batch, restore, update of
/// metadata, TTL changes). Deletes and soft deletes are never refused: they are how a tenant gets back
/// under a quota.
pub trait GrowthCheck: Send + Sync {
    fn check(&self, growth: &Growth) -> Result<()>;
}

impl Store {
    /// Installs (or with `None` removes) the check run before every write that adds data.
    pub fn set_growth_check(&self, check: Option<Arc<dyn GrowthCheck>>) {
        self.inner.write().growth_check = check;
    }

    /// Bytes the store holds on disk: its log, its current snapshot and its description file.
    pub fn storage_bytes(&self) -> u64 {
        self.inner.read().storage_bytes()
    }
}
