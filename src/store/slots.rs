//! The slot state machine: what each slot of the store holds (live, soft-deleted, a tombstone), how a
//! logged operation changes it, and what a read may see of it.

use serde_json::{Map, Value};

use super::record::{metadata_text, parse_metadata, Hit, Record};
use super::Inner;
use crate::storage::log::LogOp;
use crate::storage::snapshot::SlotRecord;
use crate::storage::vectors::VectorBlock;

/// What a slot holds. A slot is never reused: a replaced or deleted record leaves a `Deleted`
/// tombstone (its vector stays in the block and its node in the graph, as a routing-only node) until
/// compaction renumbers the slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    Live = 0,
    Deleted = 1,
    SoftDeleted = 2,
}

pub(crate) struct Slot {
    pub(crate) id: String,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) state: SlotState,
    /// Unix seconds after which the record is invisible; 0 = never.
    pub(crate) expires_at: u64,
}

impl SlotState {
    pub(super) fn to_byte(self) -> u8 {
        match self {
            SlotState::Live => SlotRecord::LIVE,
            SlotState::Deleted => SlotRecord::DELETED,
            SlotState::SoftDeleted => SlotRecord::SOFT_DELETED,
        }
    }
    pub(super) fn from_byte(b: u8) -> Option<SlotState> {
        match b {
            SlotRecord::LIVE => Some(SlotState::Live),
            SlotRecord::DELETED => Some(SlotState::Deleted),
            SlotRecord::SOFT_DELETED => Some(SlotState::SoftDeleted),
            _ => None,
        }
    }
}

impl Slot {
    /// The slot as a snapshot stores it (checkpoints and compaction write the same records).
    pub(super) fn to_record(&self) -> SlotRecord {
        SlotRecord {
            id: self.id.clone(),
            metadata: metadata_text(&self.metadata),
            state: self.state.to_byte(),
            expires_at: self.expires_at,
        }
    }
}

impl Inner {
    /// Whether slot `s` may be returned by a read at time `now`.
    #[inline]
    pub(super) fn visible(&self, s: u32, now: u64) -> bool {
        let slot = &self.slots[s as usize];
        slot.state == SlotState::Live && (slot.expires_at == 0 || slot.expires_at > now)
    }

    /// The slot of the visible record `id` at time `now`.
    pub(super) fn visible_slot(&self, id: &str, now: u64) -> Option<u32> {
        self.slot_of.get(id).copied().filter(|&s| self.visible(s, now))
    }

    pub(super) fn tombstone(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        self.filter_index.removed(s, slot);
        match slot.state {
            SlotState::Live => self.live -= 1,
            SlotState::SoftDeleted => self.soft_deleted -= 1,
            SlotState::Deleted => return,
        }
        if slot.expires_at != 0 {
            self.expiring -= 1;
            slot.expires_at = 0;
        }
        slot.state = SlotState::Deleted;
        slot.metadata = Map::new();
        self.tombstones += 1;
    }

    /// Applies one logged operation to memory. Operations were checked before they were logged; on
    /// replay an operation on an unknown id (impossible in a log this library wrote) is skipped.
    pub(super) fn apply(&mut self, op: LogOp) {
        match op {
            LogOp::Upsert { id, vector, metadata, expires_at } => {
                if let Some(old) = self.slot_of.get(&id).copied() {
                    self.tombstone(old);
                }
                if self.vectors.dim() != vector.len() && self.vectors.is_empty() {
                    // The first vector of a store created with dimension 0.
                    self.vectors = VectorBlock::empty(vector.len());
                }
                let s = self.slots.len() as u32;
                self.vectors.push(&vector);
                // Logged metadata was canonicalised before it was logged.
                let metadata = parse_metadata(Some(&metadata)).unwrap_or_default();
                self.slots.push(Slot { id: id.clone(), metadata, state: SlotState::Live, expires_at });
                self.filter_index.added(s, &self.slots[s as usize]);
                self.slot_of.insert(id, s);
                self.live += 1;
                if expires_at != 0 {
                    self.expiring += 1;
                }
            }
            LogOp::Delete { id } => {
                let Some(s) = self.slot_of.remove(&id) else { return };
                self.tombstone(s);
            }
            LogOp::SoftDelete { id } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                if self.slots[s as usize].state == SlotState::Live {
                    self.slots[s as usize].state = SlotState::SoftDeleted;
                    self.filter_index.set_live(s, false);
                    self.live -= 1;
                    self.soft_deleted += 1;
                }
            }
            LogOp::Restore { id } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                if self.slots[s as usize].state == SlotState::SoftDeleted {
                    self.slots[s as usize].state = SlotState::Live;
                    self.filter_index.set_live(s, true);
                    self.live += 1;
                    self.soft_deleted -= 1;
                }
            }
            LogOp::UpdateMetadata { id, metadata } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                let metadata = parse_metadata(Some(&metadata)).unwrap_or_default();
                let old = std::mem::replace(&mut self.slots[s as usize].metadata, metadata);
                self.filter_index.metadata_changed(s, &old, &self.slots[s as usize].metadata);
            }
            LogOp::SetExpiry { id, expires_at } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                let old = std::mem::replace(&mut self.slots[s as usize].expires_at, expires_at);
                self.filter_index.expiry_changed(s, old, expires_at);
                self.expiring = self.expiring + usize::from(expires_at != 0) - usize::from(old != 0);
            }
        }
    }

    /// Live records not expired at `now`.
    pub(super) fn visible_count(&self, now: u64) -> usize {
        if self.expiring == 0 {
            return self.live;
        }
        let expired = self
            .slots
            .iter()
            .filter(|slot| slot.state == SlotState::Live && slot.expires_at != 0 && slot.expires_at <= now)
            .count();
        self.live - expired
    }

    pub(super) fn record(&self, s: u32) -> Record {
        let slot = &self.slots[s as usize];
        Record {
            id: slot.id.clone(),
            vector: self.vectors.get(s).to_vec(),
            metadata: metadata_text(&slot.metadata),
        }
    }

    pub(super) fn hit(&self, s: u32, score: f32) -> Hit {
        let slot = &self.slots[s as usize];
        Hit { id: slot.id.clone(), score, metadata: metadata_text(&slot.metadata) }
    }
}
