//! The id -> slot map of a store: which slot holds the record of each live or soft-deleted id.
//!
//! The table holds no ids, only `(hash, slot)` pairs of 8 bytes: the id of slot `s` is
//! `slots[s].id`, which a lookup compares against. A map of `String -> u32` kept a second copy of
//! every id (one allocation per record) in 32-byte entries; at 1M records that was about 100 MB
//! and the largest part of a store's open (1M allocations and inserts into a 64 MB table: about
//! 0.3 s of a 1.3 s open, examples/open_bench.rs). Growing the table now moves 8-byte entries
//! whose hashes it keeps, without reading any id, so the rehash a write may trigger (under the
//! store's exclusive lock) is several times shorter too.
//!
//! Every method takes the store's slots: the caller (the store, or compaction building the
//! renumbered store) must pass the slots the map's entries refer to, and a slot must hold its id
//! before it is inserted (slots never change id; a replaced or deleted record's slot keeps it).

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::slots::Slot;

#[derive(Default)]
pub(super) struct IdMap {
    table: HashTable<(u32, u32)>,
    /// Seeded per map (foldhash: several times faster than SipHash on short ids, and crafted ids
    /// still cannot force collisions across processes).
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for IdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdMap").field("len", &self.table.len()).finish_non_exhaustive()
    }
}

/// The table's 64-bit hash of a kept 32-bit one: hashbrown takes the bucket from the low bits and
/// its tag from the top 7, so both come from the kept bits.
#[inline]
fn widen(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

impl IdMap {
    pub(super) fn with_capacity(n: usize) -> IdMap {
        IdMap { table: HashTable::with_capacity(n), hasher: Default::default() }
    }

    #[inline]
    fn hash(&self, id: &str) -> u32 {
        let h = self.hasher.hash_one(id);
        (h ^ (h >> 32)) as u32
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }

    pub(super) fn reserve(&mut self, more: usize) {
        self.table.reserve(more, |&(h, _)| widen(h));
    }

    /// The slot of `id`.
    #[inline]
    pub(super) fn get(&self, slots: &[Slot], id: &str) -> Option<u32> {
        let h = self.hash(id);
        self.table.find(widen(h), |&(eh, s)| eh == h && slots[s as usize].id == id).map(|&(_, s)| s)
    }

    /// Maps `slots[s].id` to `s`; returns the slot it mapped to before, if any.
    pub(super) fn insert(&mut self, slots: &[Slot], s: u32) -> Option<u32> {
        let id = slots[s as usize].id.as_str();
        let h = self.hash(id);
        match self.table.entry(widen(h), |&(eh, e)| eh == h && slots[e as usize].id == id, |&(eh, _)| widen(eh)) {
            hashbrown::hash_table::Entry::Occupied(mut o) => Some(std::mem::replace(&mut o.get_mut().1, s)),
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((h, s));
                None
            }
        }
    }

    /// Removes `id`; returns its slot.
    pub(super) fn remove(&mut self, slots: &[Slot], id: &str) -> Option<u32> {
        let h = self.hash(id);
        match self.table.find_entry(widen(h), |&(eh, s)| eh == h && slots[s as usize].id == id) {
            Ok(o) => Some(o.remove().0 .1),
            Err(_) => None,
        }
    }

    /// Every slot in the map, in no order.
    #[cfg(test)]
    fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.table.iter().map(|&(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::slots::SlotState;

    fn slot(id: &str) -> Slot {
        Slot { id: id.to_string(), metadata: Default::default(), state: SlotState::Live, expires_at: 0 }
    }

    #[test]
    fn insert_get_replace_remove_agree_with_a_hash_map() {
        let mut slots = Vec::new();
        let mut map = IdMap::default();
        let mut model = std::collections::HashMap::new();
        let mut rng = 0x2545f4914f6cdd1du64;
        for step in 0..20_000u32 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let id = format!("id-{}", rng % 3000);
            match rng % 5 {
                0 => assert_eq!(map.remove(&slots, &id), model.remove(&id), "step {step}"),
                _ => {
                    // A write: the record (a new one or a replacement) goes into a new slot.
                    slots.push(slot(&id));
                    let s = slots.len() as u32 - 1;
                    assert_eq!(map.insert(&slots, s), model.insert(id.clone(), s), "step {step}");
                }
            }
            assert_eq!(map.get(&slots, &id), model.get(&id).copied(), "step {step}");
            assert_eq!(map.len(), model.len());
        }
        for (id, &s) in &model {
            assert_eq!(map.get(&slots, id), Some(s));
        }
        assert_eq!(map.get(&slots, "never"), None);
        let mut all: Vec<u32> = map.slots().collect();
        all.sort_unstable();
        let mut want: Vec<u32> = model.values().copied().collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }
}
