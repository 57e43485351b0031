//! Compaction: removes soft-deleted and expired records, and the tombstones of replaced and deleted
//! records, from the vectors, the records and the graph, renumbering the surviving slots densely.
//!
//! How it runs (see `Store::compact_report`), holding the checkpoint lock (no checkpoint or backup
//! meanwhile) and the log's mutex (writers wait; it never holds a lock readers need during I/O):
//! 1. Under an *upgradable read* lock (readers go on): decide which slots survive, copy
//!    their vectors and records, repair the graph around the dropped nodes ([`Hnsw::compacted`]),
//!    check the repair's recall on a sample and rebuild instead when it lost too much (see
//!    [`GraphOutcome`]), and write the result as a new snapshot generation. The snapshot manifest's rename is the commit
//!    point: a crash before it leaves the old snapshot and log, after it the new snapshot (and a log
//!    that opening discards as older history). Either way the records a reader can see are the same.
//! 2. Under the *write* lock (everything waits, briefly): swap the new state in and reset the log.
//!
//! Queries therefore run during step 1 and wait only for step 2, which moves a few vectors of
//! pointers (measured: a few ms). A writer that arrives during step 1 waits for the whole
//! compaction; it does not hold readers up meanwhile (parking_lot lets readers share the lock with
//! an upgradable reader even while a writer is parked). `examples/compact_bench.rs` measures both.

use std::time::{Duration, Instant};

use parking_lot::RwLockUpgradableReadGuard;
use serde::{Deserialize, Serialize};

use super::{now_unix, snapshot_disk_bytes, Inner, Slot, SlotState, Store};
use crate::error::{Code, Error, Result};
use crate::index::hnsw::{Hnsw, RepairStats};
use crate::storage::snapshot::{
    write_snapshot, CodesPart, FileKind, GraphPart, RecordsPart, SlotRecord, SnapshotContents,
};
use crate::storage::vectors::VectorBlock;

/// When `maybe_compact` compacts. Persisted in the store's description file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompactionConfig {
    /// `maybe_compact` does nothing unless this is set (default false).
    pub enabled: bool,
    /// Compact when at least this many slots are reclaimable (default 1000) ...
    pub min_deleted_records: u64,
    /// ... or when at least this fraction of all slots is (default 0.1).
    pub min_deleted_ratio: f64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig { enabled: false, min_deleted_records: 1000, min_deleted_ratio: 0.1 }
    }
}

impl CompactionConfig {
    pub fn validate(&self) -> Result<()> {
        if !self.min_deleted_ratio.is_finite() || !(0.0..=1.0).contains(&self.min_deleted_ratio) {
            return Err(Error::invalid(format!(
                "min_deleted_ratio must be a number in [0, 1], got {}",
                self.min_deleted_ratio
            )));
        }
        Ok(())
    }
}

/// What `maybe_compact` did.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactionResult {
    /// Whether it compacted.
    pub triggered: bool,
    /// Records a reader could have known that were removed for good: soft-deleted records and
    /// records past their expiry time (see [`CompactionReport::removed`]). 0 when not triggered.
    pub removed_count: u64,
    /// Tombstones of replaced or deleted records reclaimed (their records were already gone).
    pub tombstones_removed: u64,
    /// Time spent, including the decision.
    pub duration_ms: f64,
    /// Why it compacted or not, in plain words.
    pub reason: String,
}

/// What a compaction did, in detail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactionReport {
    /// `soft_deleted + expired`: the records removed that a user could have seen (restored, or
    /// read before they expired). This is what `compact` returns.
    pub removed: u64,
    pub soft_deleted: u64,
    /// Live records past their expiry time (soft-deleted ones count as soft-deleted).
    pub expired: u64,
    /// Slots of replaced or hard-deleted records.
    pub tombstones: u64,
    pub slots_before: u64,
    pub slots_after: u64,
    /// Whole compaction.
    pub duration: Duration,
    /// Time under the exclusive lock (queries blocked): the swap and the log reset.
    pub exclusive: Duration,
    /// Graph repair (and rebuild, if the repair was not good enough), part of the shared phase.
    pub graph: Duration,
    pub repair: RepairStats,
    pub graph_outcome: GraphOutcome,
}

/// How the graph was compacted. The repair ([`Hnsw::compacted`]) is checked by sampling: recall@10
/// of the old graph (over the kept records) and of the repaired one, on the same queries, against
/// exact search. If the repaired graph loses more than `REPAIR_TOLERANCE`, it is rebuilt.
///
/// Why: on real data (GloVe-50, 14k of 20k kept) the repair takes about 0.3x the time of a parallel
/// rebuild at the same recall (0.986 vs 0.989 fresh), but on tight synthetic clusters it lost 0.03;
/// a repair that walks further reached the target there but cost 1.6-2.8x a rebuild on GloVe.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GraphOutcome {
    pub sample_recall_before: f64,
    pub sample_recall_repaired: f64,
    /// Whether the repaired graph was replaced by a rebuild.
    pub rebuilt: bool,
}

/// How one compaction runs (internal: the public calls use the default). A value passed down the
/// call, never global state, so that tests running in parallel cannot change each other's runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CompactOptions {
    /// Rebuild the graph even when the repair kept its recall (tests of the rebuild path).
    pub force_rebuild: bool,
}

/// Largest sampled recall loss a repair may cause before the graph is rebuilt instead.
const REPAIR_TOLERANCE: f64 = 0.005;
/// Queries of the sampled recall check (a quarter of them for very large stores).
const SAMPLE_QUERIES: usize = 400;

/// What compaction would reclaim now.
#[derive(Debug, Clone, Copy, Default)]
struct Reclaimable {
    soft_deleted: u64,
    expired: u64,
    tombstones: u64,
    slots: u64,
}

impl Reclaimable {
    fn total(&self) -> u64 {
        self.soft_deleted + self.expired + self.tombstones
    }

    fn describe(&self) -> String {
        format!(
            "{} of {} slots reclaimable ({} soft-deleted, {} expired, {} tombstones of replaced or deleted records; {:.1}%)",
            self.total(),
            self.slots,
            self.soft_deleted,
            self.expired,
            self.tombstones,
            100.0 * self.ratio()
        )
    }

    fn ratio(&self) -> f64 {
        if self.slots == 0 {
            0.0
        } else {
            self.total() as f64 / self.slots as f64
        }
    }

    /// `Ok(reason)` to compact, `Err(reason)` not to.
    fn decide(&self, c: &CompactionConfig) -> std::result::Result<String, String> {
        if !c.enabled {
            return Err("compaction is disabled (enable it with set_compaction_config)".to_string());
        }
        if self.total() == 0 {
            return Err(
                "nothing to reclaim: no soft-deleted or expired records and no tombstones".to_string()
            );
        }
        if self.total() >= c.min_deleted_records {
            return Ok(format!(
                "{}: at least min_deleted_records ({})",
                self.describe(),
                c.min_deleted_records
            ));
        }
        if self.ratio() >= c.min_deleted_ratio {
            return Ok(format!(
                "{}: at least min_deleted_ratio ({:.1}%)",
                self.describe(),
                100.0 * c.min_deleted_ratio
            ));
        }
        Err(format!(
            "{}: below both min_deleted_records ({}) and min_deleted_ratio ({:.1}%)",
            self.describe(),
            c.min_deleted_records,
            100.0 * c.min_deleted_ratio
        ))
    }
}

impl Inner {
    /// The slots that survive a compaction at `now` (ascending) and what the others are.
    fn survivors(&self, now: u64) -> (Vec<u32>, Reclaimable) {
        let mut keep = Vec::with_capacity(self.live);
        let mut r = Reclaimable { slots: self.slots.len() as u64, ..Reclaimable::default() };
        for (s, slot) in self.slots.iter().enumerate() {
            match slot.state {
                SlotState::Deleted => r.tombstones += 1,
                SlotState::SoftDeleted => r.soft_deleted += 1,
                SlotState::Live if slot.expires_at != 0 && slot.expires_at <= now => r.expired += 1,
                SlotState::Live => keep.push(s as u32),
            }
        }
        (keep, r)
    }

    fn reclaimable(&self, now: u64) -> Reclaimable {
        let expired = self.expiry.live.due_count(now) as u64;
        Reclaimable {
            soft_deleted: self.soft_deleted as u64,
            expired,
            tombstones: self.tombstones as u64,
            slots: self.slots.len() as u64,
        }
    }
}

/// The compacted store, built under the shared lock, swapped in under the exclusive one.
struct Compacted {
    vectors: VectorBlock,
    filter_index: super::filter_index::SlotIndex,
    slots: Vec<Slot>,
    slot_of: super::id_map::IdMap,
    index: Hnsw,
    expiry: super::slots::ExpiryIndex,
    /// The codes of the surviving rows (same ranges), when the store keeps codes.
    codes: Option<crate::index::quant::Codes>,
    generation: u64,
    next_log_generation: u32,
    snapshot_bytes: u64,
    saved_graph: super::checkpoint::SavedGraph,
    saved_records: super::checkpoint::SavedRecords,
}

impl Store {
    /// The compaction settings (persisted with the store).
    pub fn compaction_config(&self) -> CompactionConfig {
        self.inner.read().meta.compaction
    }

    /// Sets when `maybe_compact` compacts, and saves it in the store's description file so that it
    /// holds after reopening. `InvalidArgument` for a ratio outside [0, 1]; `Io` if the file cannot
    /// be written (the setting is then unchanged).
    pub fn set_compaction_config(&self, config: CompactionConfig) -> Result<()> {
        config.validate()?;
        // The log's mutex first, as writes do: the write lock is never queued behind a checkpoint's
        // long shared hold (which would hold up every query queued behind it).
        let _log = self.log.lock();
        let mut inner = self.inner.write();
        let old = inner.meta.compaction;
        inner.meta.compaction = config;
        if let Err(e) = inner.meta.save(&self.path) {
            inner.meta.compaction = old;
            return Err(e);
        }
        inner.meta_bytes = crate::storage::dir::file_len(&self.path.join(crate::store::meta::META_FILE))
            .unwrap_or(inner.meta_bytes);
        Ok(())
    }

    /// Compacts now, whatever the configuration; returns the number of soft-deleted and expired
    /// records removed (see [`CompactionReport::removed`]).
    pub fn compact(&self) -> Result<u64> {
        self.compact_report().map(|r| r.removed)
    }

    /// Compacts when the configuration says so: enabled, and at least `min_deleted_records`
    /// reclaimable slots or at least `min_deleted_ratio` of all slots reclaimable. Reclaimable slots
    /// are soft-deleted records, expired records and tombstones of replaced or deleted records.
    pub fn maybe_compact(&self) -> Result<CompactionResult> {
        let start = Instant::now();
        let mut reason = String::new();
        let report = self.run_compaction(
            |r, c| match r.decide(c) {
                Ok(why) => {
                    reason = why;
                    true
                }
                Err(why) => {
                    reason = why;
                    false
                }
            },
            CompactOptions::default(),
        )?;
        let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
        Ok(match report {
            Some(r) => CompactionResult {
                triggered: true,
                removed_count: r.removed,
                tombstones_removed: r.tombstones,
                duration_ms,
                reason,
            },
            None => CompactionResult {
                triggered: false,
                removed_count: 0,
                tombstones_removed: 0,
                duration_ms,
                reason,
            },
        })
    }

    /// Compacts now and says what it did.
    pub fn compact_report(&self) -> Result<CompactionReport> {
        self.compact_report_with(CompactOptions::default())
    }

    /// [`Store::compact_report`] with internal options.
    pub(crate) fn compact_report_with(&self, options: CompactOptions) -> Result<CompactionReport> {
        Ok(self.run_compaction(|_, _| true, options)?.unwrap_or_default())
    }

    /// Compacts if `decide` says so (given what is reclaimable and the configuration, under the
    /// same lock as the compaction itself). `None` when it did not.
    fn run_compaction(
        &self,
        decide: impl FnOnce(&Reclaimable, &CompactionConfig) -> bool,
        options: CompactOptions,
    ) -> Result<Option<CompactionReport>> {
        self.ensure_usable()?;
        let start = Instant::now();
        let _run = self.checkpoint_run.lock();
        let mut log = self.log.lock();
        let guard = self.inner.upgradable_read();
        let now = now_unix();
        if !decide(&guard.reclaimable(now), &guard.meta.compaction) {
            return Ok(None);
        }
        let (keep, r) = guard.survivors(now);
        let mut report = CompactionReport {
            removed: r.soft_deleted + r.expired,
            soft_deleted: r.soft_deleted,
            expired: r.expired,
            tombstones: r.tombstones,
            slots_before: r.slots,
            slots_after: keep.len() as u64,
            ..CompactionReport::default()
        };
        if r.total() == 0 {
            report.duration = start.elapsed();
            return Ok(Some(report));
        }
        let (compacted, graph_time, repair, outcome) =
            guard.build_compacted(&keep, options, log.generation() + 1)?;
        report.graph = graph_time;
        report.repair = repair;
        report.graph_outcome = outcome;

        let exclusive = Instant::now();
        let mut inner = RwLockUpgradableReadGuard::upgrade(guard);
        // The new snapshot is committed: a panic before memory and the log follow it must fail the
        // handle rather than leave it serving the old state over the new files.
        let fail_on_panic = super::write::FailOnPanic(&self.failed);
        let old = inner.swap_in(compacted);
        // The new snapshot is committed: the log's history is in it.
        let reset = log.reset(old.next_log_generation);
        inner.log_bytes = log.len_bytes();
        report.exclusive = exclusive.elapsed();
        drop(fail_on_panic);
        drop(inner);
        drop(old); // freeing the old state (many small allocations) outside the lock
        reset?;
        report.duration = start.elapsed();
        Ok(Some(report))
    }
}

impl Inner {
    /// Builds and commits (as a new snapshot generation) the store with only the slots `keep`.
    /// Reads `self` only, so it runs under a shared lock.
    fn build_compacted(
        &self,
        keep: &[u32],
        options: CompactOptions,
        next_log_generation: u32,
    ) -> Result<(Compacted, Duration, RepairStats, GraphOutcome)> {
        let dim = self.vectors.dim();
        let mut data = Vec::with_capacity(keep.len() * dim);
        for &s in keep {
            data.extend_from_slice(self.vectors.get(s));
        }
        let vectors = VectorBlock::from_vec(dim, data)?;
        // Codes: the survivors' rows, renumbered like the vectors (and any row not encoded yet).
        let codes = self.codes.as_ref().map(|c| {
            let mut kept = c.retain(keep);
            kept.extend(&vectors, keep.len());
            kept
        });
        let mut slots = Vec::with_capacity(keep.len());
        let mut records = Vec::with_capacity(keep.len());
        let mut slot_of = super::id_map::IdMap::with_capacity(keep.len());
        let mut expiry = super::slots::ExpiryIndex::default();
        for (new, &s) in keep.iter().enumerate() {
            let slot = &self.slots[s as usize];
            // Survivors are live in the compacted store, whatever they were (they are live already).
            records.push(SlotRecord { state: SlotRecord::LIVE, ..slot.to_record() });
            expiry.add(SlotState::Live, slot.expires_at, new as u32);
            slots.push(Slot {
                id: slot.id.clone(),
                metadata: slot.metadata.clone(),
                state: SlotState::Live,
                expires_at: slot.expires_at,
            });
            slot_of.insert(&slots, new as u32);
        }

        // The graph: repaired over the slots it holds; slots written but not yet in it (none after a
        // successful write) are inserted.
        // The graph is repaired, then checked: when its sampled recall falls more than
        // REPAIR_TOLERANCE below the old graph's on the same records, it is rebuilt instead (in
        // parallel with build_threads). See `GraphOutcome`.
        let graph_start = Instant::now();
        let indexed = keep.partition_point(|&s| (s as usize) < self.index.len());
        let (mut index, mut repair) =
            self.index.compacted(&self.vectors, &keep[..indexed], self.build_threads);
        index.insert_batch(index.len() as u32..keep.len() as u32, &vectors, self.build_threads);
        let mut outcome = GraphOutcome::default();
        if keep.len() > 1 && self.index.len() == self.slots.len() {
            let (old, new) = self.sampled_recall(keep, &vectors, &index);
            outcome = GraphOutcome { sample_recall_before: old, sample_recall_repaired: new, rebuilt: false };
            if new < old - REPAIR_TOLERANCE || options.force_rebuild {
                index = Hnsw::new(self.index.params(), self.meta.metric);
                index.insert_batch(0..keep.len() as u32, &vectors, self.build_threads);
                outcome.rebuilt = true;
                repair.nodes = keep.len();
            }
        }
        let graph_time = graph_start.elapsed();
        let mut graph = Vec::new();
        index.write_to(&mut graph).map_err(|e| Error::new(Code::Internal, format!("graph: {e}")))?;
        // The next checkpoint saves the edits made after this snapshot's graph.
        index.take_journal(super::checkpoint::journal_limit(&index));

        let generation = self.snapshot_generation + 1;
        let code_head = codes
            .as_ref()
            .filter(|c| c.len() >= records.len())
            .map(|c| (c, c.head_bytes(), c.packed_rows(0, records.len())));
        let manifest = write_snapshot(
            &self.dir,
            &SnapshotContents {
                generation,
                vectors: &vectors,
                records: RecordsPart::Whole(&records),
                graph: GraphPart::Whole(&graph),
                codes: code_head.as_ref().map(|(c, head, rows)| {
                    let (clipped, encoded) = c.clipped();
                    CodesPart {
                        head,
                        row_len: c.packed_row_len(),
                        first_row: 0,
                        rows,
                        drift: [encoded, clipped],
                    }
                }),
                next_log_generation,
                log_start: 0,
            },
        )?;
        // The next checkpoint appends its codes to the file just written.
        let saved = code_head.is_some();
        drop(code_head);
        let codes = codes.map(|mut c| {
            c.set_saved_rows(if saved { records.len() } else { 0 });
            c
        });
        // Serve the vectors from the new file, as a checkpoint does; the rows in memory are right
        // too, so keep them if mapping fails.
        let vectors = VectorBlock::open_mapped(
            &manifest.file_path(&self.dir, FileKind::Vectors),
            dim,
            manifest.vectors_extent(),
        )
        .unwrap_or(vectors);
        let filter_index = super::filter_index::SlotIndex::build(&slots);
        let compacted = Compacted {
            vectors,
            filter_index,
            slots,
            slot_of,
            index,
            expiry,
            codes,
            generation,
            next_log_generation,
            snapshot_bytes: snapshot_disk_bytes(&self.dir, &manifest),
            saved_graph: super::checkpoint::SavedGraph::of(&manifest),
            saved_records: super::checkpoint::SavedRecords::of(&manifest),
        };
        Ok((compacted, graph_time, repair, outcome))
    }

    /// Recall@10 of the old graph (searching only the kept slots) and of the new one, at the
    /// store's default ef, against exact search over the kept records, on kept records as queries
    /// (each excluded from its own answers).
    fn sampled_recall(&self, keep: &[u32], vectors: &VectorBlock, new: &Hnsw) -> (f64, f64) {
        let metric = self.meta.metric;
        let n = keep.len();
        let queries = if n * self.dim() > 50_000_000 { SAMPLE_QUERIES / 4 } else { SAMPLE_QUERIES };
        let k = 10.min(n - 1);
        let ef = self.meta.ef_search.max(k);
        let mut kept = vec![false; self.slots.len()];
        for &s in keep {
            kept[s as usize] = true;
        }
        let (mut hit_old, mut hit_new, mut total) = (0usize, 0usize, 0usize);
        let mut stats = crate::index::hnsw::SearchStats::default();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..queries {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = (x % n as u64) as u32;
            // Leave one out: a kept record is the query and is itself excluded, so the queries
            // follow the data's distribution.
            let q: Vec<f32> = vectors.get(a).to_vec();
            let old_a = keep[a as usize];
            let want: Vec<usize> = crate::index::exact::top_k_slots(metric, vectors, n, &q, k, |s| s != a)
                .iter()
                .map(|h| h.row)
                .collect();
            let got_new = new.search(vectors, &q, k, ef, &|s| s != a, &mut stats);
            let got_old =
                self.index.search(&self.vectors, &q, k, ef, &|s| s != old_a && kept[s as usize], &mut stats);
            hit_new += got_new.iter().filter(|h| want.contains(&h.row)).count();
            // Old slots to new ones: `keep` is ascending.
            hit_old += got_old
                .iter()
                .filter(|h| keep.binary_search(&(h.row as u32)).is_ok_and(|i| want.contains(&i)))
                .count();
            total += want.len();
        }
        if total == 0 {
            return (1.0, 1.0);
        }
        (hit_old as f64 / total as f64, hit_new as f64 / total as f64)
    }

    /// Installs a compacted state; returns the old one (to be dropped outside the lock), whose
    /// `next_log_generation` is the new state's.
    fn swap_in(&mut self, mut c: Compacted) -> Compacted {
        std::mem::swap(&mut self.vectors, &mut c.vectors);
        std::mem::swap(&mut self.slots, &mut c.slots);
        std::mem::swap(&mut self.filter_index, &mut c.filter_index);
        std::mem::swap(&mut self.slot_of, &mut c.slot_of);
        std::mem::swap(&mut self.index, &mut c.index);
        std::mem::swap(&mut self.codes, &mut c.codes);
        self.live = self.slots.len();
        self.soft_deleted = 0;
        self.tombstones = 0;
        std::mem::swap(&mut self.expiry, &mut c.expiry);
        self.snapshot_generation = c.generation;
        self.snapshot_bytes = c.snapshot_bytes;
        self.saved_graph = c.saved_graph;
        std::mem::swap(self.saved_records.get_mut(), &mut c.saved_records);
        c
    }
}

#[cfg(test)]
mod tests;
