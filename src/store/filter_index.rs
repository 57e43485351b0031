//! The store's side of the metadata index ([`crate::filter::MetadataIndex`]): the postings of every
//! slot's metadata, plus what a read may see (the live slots and the expiry times), so that a
//! filter's visible matches are a few bitmap operations: no record is read and no JSON is looked at.
//!
//! It lives in memory only and is built when the store opens (from the snapshot's records; the log's
//! writes then maintain it as they are replayed), kept up to date by every write ([`Inner::apply`],
//! through the hooks below) and rebuilt by compaction for the renumbered slots.

use std::collections::BTreeSet;

use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use super::slots::{Slot, SlotState};
use crate::filter::{Filter, MetadataIndex};

#[derive(Debug, Default, Clone)]
pub(crate) struct SlotIndex {
    /// The metadata of every slot that is not a tombstone (soft-deleted ones included: a restore
    /// brings them back).
    metadata: MetadataIndex,
    /// Slots in state `Live` (expiry aside).
    live: RoaringBitmap,
    /// `(expires_at, slot)` of every slot that is not a tombstone and has an expiry time.
    expiry: BTreeSet<(u64, u32)>,
}

impl SlotIndex {
    /// The index of these slots (slot `s` is `slots[s]`).
    pub(super) fn build(slots: &[Slot]) -> SlotIndex {
        // What `added` does for each slot, in bulk: the metadata index is built at once (far faster
        // than slot by slot, see `MetadataIndex::build`), the live slots come in ascending order and
        // the expiry pairs are sorted once.
        let kept = || slots.iter().enumerate().filter(|(_, slot)| slot.state != SlotState::Deleted);
        let metadata = MetadataIndex::build(kept().map(|(s, slot)| (s as u32, &slot.metadata)));
        let live = RoaringBitmap::from_sorted_iter(
            kept().filter(|(_, slot)| slot.state == SlotState::Live).map(|(s, _)| s as u32),
        )
        .expect("slots in ascending order");
        let expiry = kept()
            .filter(|(_, slot)| slot.expires_at != 0)
            .map(|(s, slot)| (slot.expires_at, s as u32))
            .collect();
        SlotIndex { metadata, live, expiry }
    }

    /// Slot `s` now holds `slot` (a new slot, or one loaded).
    pub(super) fn added(&mut self, s: u32, slot: &Slot) {
        if slot.state == SlotState::Deleted {
            return;
        }
        self.metadata.insert(s, &slot.metadata);
        if slot.state == SlotState::Live && self.live.try_push(s).is_err() {
            self.live.insert(s);
        }
        if slot.expires_at != 0 {
            self.expiry.insert((slot.expires_at, s));
        }
    }

    /// Slot `s`, holding `slot`, becomes a tombstone.
    pub(super) fn removed(&mut self, s: u32, slot: &Slot) {
        if slot.state == SlotState::Deleted {
            return;
        }
        self.metadata.remove(s, &slot.metadata);
        self.live.remove(s);
        if slot.expires_at != 0 {
            self.expiry.remove(&(slot.expires_at, s));
        }
    }

    /// Slot `s` was soft-deleted (`live` false) or restored (`live` true).
    pub(super) fn set_live(&mut self, s: u32, live: bool) {
        if live {
            self.live.insert(s);
        } else {
            self.live.remove(s);
        }
    }

    pub(super) fn metadata_changed(&mut self, s: u32, old: &Map<String, Value>, new: &Map<String, Value>) {
        self.metadata.remove(s, old);
        self.metadata.insert(s, new);
    }

    pub(super) fn expiry_changed(&mut self, s: u32, old: u64, new: u64) {
        if old != 0 {
            self.expiry.remove(&(old, s));
        }
        if new != 0 {
            self.expiry.insert((new, s));
        }
    }

    /// The slots visible at `now` that pass `filter`, or `None` when the index cannot answer the
    /// filter (the caller then evaluates it record by record).
    pub(super) fn visible_matches(&self, filter: &Filter, now: u64) -> Option<RoaringBitmap> {
        let mut matches = self.metadata.evaluate(filter)?;
        matches &= &self.live;
        // Expired slots: those whose time is at or before now.
        for &(_, s) in self.expiry.range(..=(now, u32::MAX)) {
            matches.remove(s);
        }
        Some(matches)
    }

    /// Approximate heap bytes of the index (postings, keys, the live bitmap, the expiry set).
    pub(super) fn memory_bytes(&self) -> usize {
        // A B-tree set entry is 12 bytes of key plus about a third of a node's overhead.
        self.metadata.memory().bytes + self.live.serialized_size() + self.expiry.len() * 24
    }

    pub(super) fn metadata(&self) -> &MetadataIndex {
        &self.metadata
    }
}

#[cfg(test)]
mod tests;
