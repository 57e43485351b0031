//! Reading every record in turn: what `vecstore export` and `bench` (exact ground truth) need.

use super::{now_unix, Store};
use crate::error::Result;
use crate::store::record::metadata_text;

/// A visible record as [`Store::scan`] hands it over.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub id: &'a str,
    /// As stored (normalised for cosine stores).
    pub vector: &'a [f32],
    /// Canonical metadata JSON text.
    pub metadata: &'a str,
    /// Unix seconds after which the record expires; 0 = never.
    pub expires_at: u64,
}

impl Store {
    /// Calls `f` for every visible record (live, not soft-deleted, not expired), in slot order, and
    /// returns how many there were. Holds the read lock throughout: writers wait until it returns.
    /// An error from `f` stops the scan and is returned.
    pub fn scan(&self, mut f: impl FnMut(RecordRef<'_>) -> Result<()>) -> Result<u64> {
        let inner = self.inner.read();
        let now = now_unix();
        let mut n = 0u64;
        let mut text = String::new();
        for s in 0..inner.slots.len() as u32 {
            if !inner.visible(s, now) {
                continue;
            }
            let slot = &inner.slots[s as usize];
            text.clear();
            text.push_str(&metadata_text(&slot.metadata));
            f(RecordRef {
                id: &slot.id,
                vector: inner.vectors.get(s),
                metadata: &text,
                expires_at: slot.expires_at,
            })?;
            n += 1;
        }
        Ok(n)
    }
}
