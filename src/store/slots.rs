//! The slot state machine: what each slot of the store holds (live, soft-deleted, a tombstone), how a
//! logged operation changes it, and what a read may see of it.

use std::collections::BTreeSet;
use std::ops::Bound;

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

/// The slots that carry an expiry time, ordered by it: one set for live slots, one for soft-deleted
/// ones (a tombstone carries none). `count`, `stats` and compaction's estimate ask how many are due
/// (expired) at `now` in O(log n) amortised, and expiry takes the due slots in order, without
/// looking at any slot that is not due.
#[derive(Default)]
pub(crate) struct ExpiryIndex {
    pub(super) live: DueSet,
    pub(super) soft_deleted: DueSet,
}

impl ExpiryIndex {
    /// Slots (live or soft-deleted) that carry an expiry time.
    pub(super) fn len(&self) -> usize {
        self.live.len() + self.soft_deleted.len()
    }

    fn set(&mut self, state: SlotState) -> Option<&mut DueSet> {
        match state {
            SlotState::Live => Some(&mut self.live),
            SlotState::SoftDeleted => Some(&mut self.soft_deleted),
            SlotState::Deleted => None,
        }
    }

    /// Slot `s` in `state` now expires at `expires_at` (0 = never; no-op for a tombstone).
    pub(super) fn add(&mut self, state: SlotState, expires_at: u64, s: u32) {
        if expires_at != 0 {
            if let Some(set) = self.set(state) {
                set.insert(expires_at, s);
            }
        }
    }

    /// Slot `s` in `state` no longer expires at `expires_at`.
    pub(super) fn remove(&mut self, state: SlotState, expires_at: u64, s: u32) {
        if expires_at != 0 {
            if let Some(set) = self.set(state) {
                set.remove(expires_at, s);
            }
        }
    }

    /// The slots (live or soft-deleted) expired at `now`, earliest expiry first.
    pub(super) fn due_slots(&self, now: u64) -> Vec<u32> {
        let mut due: Vec<(u64, u32)> = self.live.due(now).chain(self.soft_deleted.due(now)).collect();
        due.sort_unstable();
        due.into_iter().map(|(_, s)| s).collect()
    }
}

/// (expiry time, slot) pairs in order, with the number due at the last time asked, so that asking
/// again later only counts the pairs that fell due in between.
#[derive(Default)]
pub(crate) struct DueSet {
    set: BTreeSet<(u64, u32)>,
    /// (t, pairs with expiry <= t), kept exact by insert and remove; behind a mutex because reads
    /// (under the store's shared lock) move it forward.
    counted: parking_lot::Mutex<(u64, usize)>,
}

impl DueSet {
    pub(super) fn len(&self) -> usize {
        self.set.len()
    }

    fn insert(&mut self, expires_at: u64, s: u32) {
        if self.set.insert((expires_at, s)) {
            let counted = self.counted.get_mut();
            if expires_at <= counted.0 {
                counted.1 += 1;
            }
        }
    }

    fn remove(&mut self, expires_at: u64, s: u32) {
        if self.set.remove(&(expires_at, s)) {
            let counted = self.counted.get_mut();
            if expires_at <= counted.0 {
                counted.1 -= 1;
            }
        }
    }

    /// The pairs expired at `now` (expiry <= now), in order.
    fn due(&self, now: u64) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.set.range(..=(now, u32::MAX)).copied()
    }

    /// How many pairs are expired at `now`. Amortised O(log n) while the clock goes forward (each
    /// pair is counted once, when it falls due); a clock that went back counts afresh.
    pub(super) fn due_count(&self, now: u64) -> usize {
        if self.set.is_empty() {
            return 0;
        }
        let mut counted = self.counted.lock();
        let (t, n) = *counted;
        let n = if now > t {
            n + self.set.range((Bound::Excluded((t, u32::MAX)), Bound::Included((now, u32::MAX)))).count()
        } else if now == t {
            n
        } else {
            self.due(now).count()
        };
        *counted = (now, n);
        n
    }
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
        self.slot_of.get(&self.slots, id).filter(|&s| self.visible(s, now))
    }

    pub(super) fn tombstone(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        self.filter_index.removed(s, slot);
        match slot.state {
            SlotState::Live => self.live -= 1,
            SlotState::SoftDeleted => self.soft_deleted -= 1,
            SlotState::Deleted => return,
        }
        self.expiry.remove(slot.state, slot.expires_at, s);
        self.saved_records.get_mut().changed(s);
        slot.expires_at = 0;
        slot.state = SlotState::Deleted;
        slot.metadata = Map::new();
        self.tombstones += 1;
    }

    /// Applies one logged operation to memory. Operations were checked before they were logged; on
    /// replay an operation on an unknown id (impossible in a log this library wrote) is skipped.
    pub(super) fn apply(&mut self, op: LogOp) {
        match op {
            LogOp::Upsert { id, vector, metadata, expires_at } => {
                if let Some(old) = self.slot_of.get(&self.slots, &id) {
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
                self.slots.push(Slot { id, metadata, state: SlotState::Live, expires_at });
                self.filter_index.added(s, &self.slots[s as usize]);
                self.slot_of.insert(&self.slots, s);
                self.live += 1;
                self.expiry.add(SlotState::Live, expires_at, s);
            }
            LogOp::Delete { id } => {
                let Some(s) = self.slot_of.remove(&self.slots, &id) else { return };
                self.tombstone(s);
            }
            LogOp::SoftDelete { id } => {
                let Some(s) = self.slot_of.get(&self.slots, &id) else { return };
                if self.slots[s as usize].state == SlotState::Live {
                    self.slots[s as usize].state = SlotState::SoftDeleted;
                    self.saved_records.get_mut().changed(s);
                    self.filter_index.set_live(s, false);
                    self.live -= 1;
                    self.soft_deleted += 1;
                    let e = self.slots[s as usize].expires_at;
                    self.expiry.remove(SlotState::Live, e, s);
                    self.expiry.add(SlotState::SoftDeleted, e, s);
                }
            }
            LogOp::Restore { id } => {
                let Some(s) = self.slot_of.get(&self.slots, &id) else { return };
                if self.slots[s as usize].state == SlotState::SoftDeleted {
                    self.slots[s as usize].state = SlotState::Live;
                    self.saved_records.get_mut().changed(s);
                    self.filter_index.set_live(s, true);
                    self.live += 1;
                    self.soft_deleted -= 1;
                    let e = self.slots[s as usize].expires_at;
                    self.expiry.remove(SlotState::SoftDeleted, e, s);
                    self.expiry.add(SlotState::Live, e, s);
                }
            }
            LogOp::UpdateMetadata { id, metadata } => {
                let Some(s) = self.slot_of.get(&self.slots, &id) else { return };
                let metadata = parse_metadata(Some(&metadata)).unwrap_or_default();
                let old = std::mem::replace(&mut self.slots[s as usize].metadata, metadata);
                self.saved_records.get_mut().changed(s);
                self.filter_index.metadata_changed(s, &old, &self.slots[s as usize].metadata);
            }
            LogOp::SetExpiry { id, expires_at } => {
                let Some(s) = self.slot_of.get(&self.slots, &id) else { return };
                let state = self.slots[s as usize].state;
                let old = std::mem::replace(&mut self.slots[s as usize].expires_at, expires_at);
                self.saved_records.get_mut().changed(s);
                self.expiry.remove(state, old, s);
                self.expiry.add(state, expires_at, s);
                self.filter_index.expiry_changed(s, old, expires_at);
            }
        }
    }

    /// Slots not `Deleted` that carry an expiry time: while there are none, reads skip the clock.
    pub(super) fn expiring(&self) -> usize {
        self.expiry.len()
    }

    /// Live records not expired at `now` (O(log n), see [`DueSet::due_count`]).
    pub(super) fn visible_count(&self, now: u64) -> usize {
        self.live - self.expiry.live.due_count(now)
    }

    /// Soft-deleted records expired at `now`.
    pub(super) fn expired_soft_deleted(&self, now: u64) -> usize {
        self.expiry.soft_deleted.due_count(now)
    }

    /// The ids of the records (live or soft-deleted) expired at `now`, earliest expiry first.
    pub(super) fn expired_ids(&self, now: u64) -> Vec<String> {
        self.expiry.due_slots(now).into_iter().map(|s| self.slots[s as usize].id.clone()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::options::{Metric, StoreOptions};
    use crate::store::Store;

    /// A small deterministic generator (xorshift64*), so that a failure can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// What the slots say, counted one by one: (visible live, expired soft-deleted, expiring, the
    /// expired (expiry, id) pairs of live and soft-deleted slots, sorted).
    fn brute(inner: &Inner, now: u64) -> (usize, usize, usize, Vec<(u64, String)>) {
        let due = |s: &Slot| s.expires_at != 0 && s.expires_at <= now;
        let live = inner.slots.iter().filter(|s| s.state == SlotState::Live && !due(s)).count();
        let soft = inner.slots.iter().filter(|s| s.state == SlotState::SoftDeleted && due(s)).count();
        let expiring =
            inner.slots.iter().filter(|s| s.state != SlotState::Deleted && s.expires_at != 0).count();
        let mut ids: Vec<(u64, String)> = inner
            .slots
            .iter()
            .filter(|s| s.state != SlotState::Deleted && due(s))
            .map(|s| (s.expires_at, s.id.clone()))
            .collect();
        ids.sort();
        (live, soft, expiring, ids)
    }

    /// The expiry index against a brute-force count of the slots, under random upserts (with and
    /// without TTL), deletes, soft deletes, restores, TTL changes and a clock that mostly goes
    /// forward (sometimes back, sometimes stays), including after a compaction and a reopen.
    #[test]
    fn expiry_index_counts_what_a_scan_counts() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { dimension: 2, metric: Some(Metric::Euclidean), ..StoreOptions::default() };
        let s = Store::open(dir.path(), &opts).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let base = 1_000_000u64;
        let mut now = base;
        let mut checks = 0;
        for step in 0..6000 {
            let id = format!("r{}", rng.below(300));
            let op = match rng.below(10) {
                0..=3 => {
                    let expires_at = if rng.below(2) == 0 { 0 } else { base + rng.below(400) };
                    LogOp::Upsert { id, vector: vec![1.0, step as f32], metadata: "{}".into(), expires_at }
                }
                4 => LogOp::Delete { id },
                5 => LogOp::SoftDelete { id },
                6 => LogOp::Restore { id },
                7 => {
                    let expires_at = if rng.below(3) == 0 { 0 } else { base + rng.below(400) };
                    LogOp::SetExpiry { id, expires_at }
                }
                _ => {
                    now = match rng.below(10) {
                        0 => now.saturating_sub(rng.below(50)),
                        1 => now,
                        _ => now + rng.below(5),
                    };
                    continue;
                }
            };
            let mut inner = s.inner.write();
            inner.apply(op);
            let (live, soft, expiring, due) = brute(&inner, now);
            assert_eq!(inner.visible_count(now), live, "step {step}, now {now}");
            assert_eq!(inner.expired_soft_deleted(now), soft, "step {step}, now {now}");
            assert_eq!(inner.expiring(), expiring, "step {step}");
            if step % 50 == 0 {
                let got: Vec<(u64, String)> = inner
                    .expired_ids(now)
                    .into_iter()
                    .map(|id| {
                        (inner.slots[inner.slot_of.get(&inner.slots, &id).unwrap() as usize].expires_at, id)
                    })
                    .collect();
                assert_eq!(got, due, "step {step}: expired ids, in expiry order");
            }
            checks += 1;
        }
        assert!(checks > 4000);
        // After a compaction (the index is rebuilt for the renumbered slots) the counts still agree
        // (the real clock is far past `base + 400`: every record with a TTL has expired).
        s.compact().unwrap();
        let real_now = crate::store::now_unix();
        {
            let inner = s.inner.read();
            let (live, soft, expiring, _) = brute(&inner, real_now);
            assert_eq!((inner.visible_count(real_now), inner.expired_soft_deleted(real_now)), (live, soft));
            assert_eq!(inner.expiring(), expiring);
            assert_eq!(s.count(), live);
        }
    }

    /// Through the public API with the real clock: records with a 1 s TTL fall due while time
    /// passes, `count` and `stats` follow a scan, and `expire_ttl_records` deletes exactly them.
    #[test]
    fn count_and_stats_follow_real_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { dimension: 2, ..StoreOptions::default() };
        let s = Store::open(dir.path(), &opts).unwrap();
        for i in 0..40u64 {
            let ttl = [0, 1, 3600][(i % 3) as usize];
            s.upsert_with_ttl(&format!("r{i}"), &[1.0, i as f32], None, ttl).unwrap();
        }
        for i in (0..40).step_by(4) {
            s.soft_delete(&format!("r{i}")).unwrap();
        }
        let check = |s: &Store| {
            let now = crate::store::now_unix();
            let inner = s.inner.read();
            let (live, soft, _, due) = brute(&inner, now);
            drop(inner);
            let st = s.stats();
            (
                s.count() == live
                    && st.count == live
                    && st.soft_deleted + soft == s.inner.read().soft_deleted,
                due.len(),
            )
        };
        assert_eq!(check(&s), (true, 0));
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let (agrees, due) = check(&s);
        assert!(agrees);
        // r1, r4, r7, ... (i % 3 == 1) carried the 1 s TTL: 13 of them, live or soft-deleted.
        assert_eq!(due, 13);
        assert_eq!(s.count(), 40 - 10 - (13 - 3), "soft-deleted r4, r16, r28 were among the 13");
        assert_eq!(s.expire_ttl_records().unwrap(), 13);
        assert_eq!(check(&s), (true, 0));
        assert_eq!(s.inner.read().expiring(), 40 - 14 - 13);
    }
}
