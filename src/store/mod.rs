//! The store: one collection of vectors with metadata, in one directory.
//!
//! Reads (get, count, query) share a read lock and run in parallel. Writes are ordered by the log's
//! mutex, which a write holds from planning to the end of its graph insertion: it plans under the
//! read lock, appends to the log holding no lock readers need, takes the write lock only to publish
//! the new records (slots, id map, metadata, vector rows, graph nodes allocated but not linked), and
//! links the new graph nodes under the read lock while queries go on (a query scans the slots the
//! graph has not linked yet exactly, see `plan`). A write that returned an error changed nothing
//! and a write that returned success is in the log. Checkpoints freeze the store's state while
//! holding the log's mutex (writes wait, reads go on), write it holding no lock, and take the locks
//! again only to publish (see `checkpoint`).
//!
//! The parts: `slots` (what each slot holds and how a logged operation changes it), `write` (the one
//! write pipeline), `plan` (query set-up and the choice of graph or exact scan), `open` (description
//! file, snapshot, log replay), `checkpoint` (snapshot then empty log), and one module per feature
//! (batch, compact, estimate, explain, backup, maintenance).

pub mod backup;
pub mod batch;
mod checkpoint;
pub mod codes;
pub mod compact;
pub mod estimate;
pub mod explain;
mod filter_index;
pub mod guard;
mod id_map;
pub mod maintenance;
pub mod meta;
mod open;
pub mod options;
mod plan;
pub mod record;
pub mod scan;
mod slots;
pub mod write;

use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::index::distance;
use crate::index::hnsw::{Hnsw, VectorSource};
use crate::storage::lock::DirLock;
use crate::storage::log::{Log, ReplayReport};
use crate::storage::vectors::VectorBlock;
use crate::store::meta::Meta;
use checkpoint::snapshot_disk_bytes;
use options::{Metric, MAX_DIMENSION};
pub use plan::Plan;
pub(crate) use plan::SearchInfo;
use plan::{check_ef_search, check_k, EXACT_SCAN_MAX_SLOTS, SELECTIVE_FACTOR, SELECTIVITY_SAMPLES};
use record::{check_finite, check_id, Hit, Record};
pub(crate) use slots::{Slot, SlotState};

/// A search request: the `k` records most similar to `vector` that pass `filter` (the filter language
/// of [`crate::filter`], parsed per query; a filter that does not parse is `FilterSyntax`).
/// `ef_search` 0 means the store's default.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub vector: &'a [f32],
    pub k: usize,
    pub filter: Option<&'a str>,
    pub ef_search: usize,
}

/// One record to write in a bulk upsert.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub vector: &'a [f32],
    pub metadata: Option<&'a str>,
}

/// Counters for `stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Live records that have not expired (what `count` returns).
    pub count: usize,
    /// Soft-deleted records (restorable; removed by compaction).
    pub soft_deleted: usize,
    /// Live or soft-deleted records past their expiry time, invisible and waiting for
    /// `expire_ttl_records` or compaction.
    pub expired: usize,
    /// Slots of replaced or deleted records still held until compaction.
    pub tombstones: usize,
    pub dimension: usize,
    pub metric: Metric,
    pub log_bytes: u64,
    /// Bytes on disk: log, snapshot files, description file.
    pub storage_bytes: u64,
    /// Log frames replayed when the store was opened.
    pub replayed_frames: u64,
    /// Bytes of the log dropped when the store was opened: a torn tail, plus damaged regions a
    /// salvaging open skipped.
    pub replay_dropped_bytes: u64,
    /// Damaged log regions a salvaging open skipped (0 otherwise: damage refuses the open).
    pub replay_damaged_regions: usize,
    /// Approximate memory of the metadata index (postings of every field and value, visibility).
    pub filter_index_bytes: usize,
    /// Field paths and (field, value) postings the metadata index holds.
    pub filter_index_fields: usize,
    pub filter_index_postings: usize,
    /// Memory of the search structures: the graph's neighbour lists and levels, and the int8 codes
    /// of the vectors (0 when the graph is searched on the float rows), which is what a query walks.
    pub graph_bytes: usize,
    pub codes_bytes: usize,
    /// Bytes of the float rows (`vectors_heap_bytes` of them in memory, the rows written since the
    /// last snapshot; the rest memory-mapped from the snapshot, paged in as queries re-rank).
    pub vectors_bytes: usize,
    pub vectors_heap_bytes: usize,
    /// Checkpoints completed since the store was opened.
    pub checkpoints: u64,
    /// Checkpoints that failed in a row since the last successful one (0 when the last one
    /// succeeded): while it is not 0, writes go on into the log and checkpoints are retried after
    /// an exponential back-off (see `checkpoint`).
    pub checkpoint_failures: u64,
    /// Why the last checkpoint failed, while `checkpoint_failures` is not 0.
    pub last_checkpoint_error: Option<String>,
}

/// Largest squared length of a vector in a dot or euclidean store (see `prepare_vector`).
const MAX_SQUARED_NORM: f64 = f32::MAX as f64 / 4.0;

pub struct Store {
    path: PathBuf,
    metric: Metric,
    checkpoint_bytes: u64,
    /// Set when a panic unwound through a write after its log append (see `write::FailOnPanic`):
    /// every later call is refused until the store is reopened.
    pub(crate) failed: std::sync::atomic::AtomicBool,
    /// What replaying the log found at open (frames, a dropped torn tail, salvaged damage).
    replay: ReplayReport,
    inner: RwLock<Inner>,
    /// The log, and the order of writes: a write holds it from planning to the end of its graph
    /// insertion (so writes apply one at a time, in log order), a checkpoint while it freezes the
    /// store and while it publishes. Lock order: `checkpoint_run`, then `log`, then `inner`.
    log: parking_lot::Mutex<Log>,
    /// Held for a whole checkpoint, compaction or backup: one at a time.
    checkpoint_run: parking_lot::Mutex<()>,
    /// Checkpoint counters and back-off (a leaf lock, never held while taking another).
    checkpoint_status: parking_lot::Mutex<checkpoint::CheckpointStatus>,
    /// The cost model of `estimate_query`, measured on this store's index at the first estimate.
    calibration: parking_lot::Mutex<Option<std::sync::Arc<estimate::Calibration>>>,
}

impl VectorSource for VectorBlock {
    #[inline(always)]
    fn vector(&self, slot: u32) -> &[f32] {
        self.get(slot)
    }
}

/// The records, by slot: slot `s` is `slots[s]` with vector `vectors.get(s)`. `slot_of` maps the id of
/// every live or soft-deleted record to its slot.
struct Inner {
    dir: PathBuf,
    meta: Meta,
    /// One row per slot: the rows of the last snapshot are memory-mapped, later ones in memory.
    vectors: VectorBlock,
    /// Generation of the snapshot the store was loaded from or last wrote (0: none yet).
    snapshot_generation: u64,
    slots: Vec<Slot>,
    slot_of: id_map::IdMap,
    /// Slots in state `Live` (expiry aside).
    live: usize,
    /// Slots in state `SoftDeleted` (expiry aside).
    soft_deleted: usize,
    /// Tombstones (`Deleted` slots).
    tombstones: usize,
    /// The slots not `Deleted` that carry an expiry time, ordered by it.
    expiry: slots::ExpiryIndex,
    /// The graph over every slot (tombstones stay in it as routing-only nodes). Slots at or past
    /// `index.len()` are written but not yet in the graph; `index_pending` adds them.
    index: Hnsw,
    /// The metadata index of the slots, with their visibility: filters are answered from it.
    filter_index: filter_index::SlotIndex,
    /// int8 codes of the vectors for the graph search (`codes.rs`), when this open wants them and
    /// they are trained; they cover every graph node.
    codes: Option<crate::index::quant::Codes>,
    /// This open's `quantization` option.
    quantization: options::Quantization,
    /// Threads a bulk insert may use (already resolved: at least 1).
    build_threads: usize,
    /// The log's length on disk (a copy kept with the state it describes, for stats and quotas).
    log_bytes: u64,
    /// Bytes of the current snapshot's files and of the description file (see `storage_bytes`).
    snapshot_bytes: u64,
    /// What the current snapshot holds of the graph: whether a checkpoint may save the graph's
    /// journal rather than the whole graph.
    saved_graph: checkpoint::SavedGraph,
    /// What the current snapshot holds of the records, and which changed since: whether a
    /// checkpoint may save only those. Every change of a slot's record marks it (`slots.rs`).
    saved_records: parking_lot::Mutex<checkpoint::SavedRecords>,
    meta_bytes: u64,
    /// A namespace's quota check, run before every write that adds data.
    growth_check: Option<std::sync::Arc<dyn guard::GrowthCheck>>,

    _lock: DirLock,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Inner {
    fn dim(&self) -> usize {
        self.meta.dimension
    }

    /// Records the dimension fixed by the first write. The log already holds that write, and replay
    /// recovers the dimension from it, so failing to save the meta file loses nothing: it is retried
    /// at the next open or checkpoint.
    fn adopt_dimension(&mut self, dir: &Path, dim: usize) {
        if self.dim() == 0 {
            self.meta.dimension = dim;
            let _ = self.meta.save(dir);
        }
    }

    /// Adds the slots written since the last call to the graph (with exclusive access: at open).
    fn index_pending(&mut self) {
        let (from, to) = (self.index.len() as u32, self.slots.len() as u32);
        if from < to {
            self.sync_codes();
            self.index.insert_batch(from..to, &self.vectors, self.build_threads);
        } else if self.index.link_pending(&self.vectors, self.build_threads) {
            self.index.install_entry();
        }
    }
}

impl Store {
    /// What replaying the log found when the store was opened.
    pub fn replay_report(&self) -> &ReplayReport {
        &self.replay
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The store's dimension (0 while an empty store waits for its first vector).
    pub fn dimension(&self) -> usize {
        self.inner.read().dim()
    }

    /// Checks a vector and returns it as stored (normalised for cosine).
    fn prepare_vector(&self, vector: &[f32], what: &str) -> Result<Vec<f32>> {
        if vector.is_empty() {
            return Err(Error::invalid(format!("{what} is empty")));
        }
        if vector.len() > MAX_DIMENSION {
            return Err(Error::invalid(format!(
                "{what} has {} values, above the limit of {MAX_DIMENSION}",
                vector.len()
            )));
        }
        check_finite(vector, what)?;
        let mut v = vector.to_vec();
        match self.metric {
            Metric::Cosine => {
                if !distance::normalize(&mut v) {
                    return Err(Error::invalid(format!(
                        "{what} is all zeros: cosine similarity is undefined for it"
                    )));
                }
            }
            Metric::Dot | Metric::Euclidean => {
                // Bounding every vector's squared length by MAX/4 keeps every dot product and every
                // squared distance (at most (|a| + |b|)^2) finite, so no score is ever inf or NaN.
                let squared = distance::squared_norm_f64(&v);
                if squared > MAX_SQUARED_NORM {
                    return Err(Error::invalid(format!(
                        "{what} is too long (squared length {squared:.3e}, the limit is {MAX_SQUARED_NORM:.3e}): \
                         its scores would overflow"
                    )));
                }
            }
        }
        Ok(v)
    }

    /// Inserts a record, or replaces the record with the same id.
    pub fn upsert(&self, id: &str, vector: &[f32], metadata: Option<&str>) -> Result<()> {
        self.write_records(&[NewRecord { id, vector, metadata }])
    }

    /// Inserts or replaces many records as one write: every record is checked first, and if any is
    /// invalid nothing is written. Within one call a later record with the same id wins.
    pub fn upsert_many(&self, records: &[NewRecord<'_>]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.write_records(records)
    }

    /// The record with this id (`NotFound` if there is none).
    pub fn get(&self, id: &str) -> Result<Record> {
        self.ensure_usable()?;
        check_id(id)?;
        let inner = self.inner.read();
        let s = inner.visible_slot(id, now_unix()).ok_or_else(|| Error::not_found(id))?;
        Ok(inner.record(s))
    }

    /// Deletes a live or soft-deleted record for good (`NotFound` if there is none).
    pub fn delete(&self, id: &str) -> Result<()> {
        self.write_one(write::WriteOp::Delete { id: id.to_string() })
    }

    /// Number of live records.
    pub fn count(&self) -> usize {
        self.inner.read().visible_count(now_unix())
    }

    pub fn stats(&self) -> Stats {
        let status = self.checkpoint_status.lock().clone();
        let inner = self.inner.read();
        let now = now_unix();
        let count = inner.visible_count(now);
        let expired_soft = inner.expired_soft_deleted(now);
        Stats {
            count,
            soft_deleted: inner.soft_deleted - expired_soft,
            expired: inner.live - count + expired_soft,
            tombstones: inner.tombstones,
            dimension: inner.dim(),
            metric: self.metric,
            log_bytes: inner.log_bytes,
            storage_bytes: inner.storage_bytes(),
            replayed_frames: self.replay.frames,
            replay_dropped_bytes: self.replay.dropped_tail_bytes
                + self.replay.damage.iter().map(|d| d.bytes).sum::<u64>(),
            replay_damaged_regions: self.replay.damage.len(),
            filter_index_bytes: inner.filter_index.memory_bytes(),
            filter_index_fields: inner.filter_index.metadata().memory().fields,
            filter_index_postings: inner.filter_index.metadata().memory().postings,
            graph_bytes: inner.index.memory_bytes(),
            codes_bytes: inner.codes.as_ref().map_or(0, |c| c.memory_bytes()),
            vectors_bytes: inner.vectors.len() * inner.vectors.dim() * std::mem::size_of::<f32>(),
            vectors_heap_bytes: inner.vectors.tail_bytes(),
            checkpoints: status.checkpoints,
            checkpoint_failures: status.failures,
            last_checkpoint_error: status.last_error,
        }
    }

    /// The `k` records most similar to the query vector, best first.
    pub fn query(&self, q: &Query<'_>) -> Result<Vec<Hit>> {
        self.ensure_usable()?;
        let (filter, query) = self.prepare_query(q)?;
        let inner = self.inner.read();
        let Some(ef) = inner.searchable(query.len(), q.ef_search)? else { return Ok(Vec::new()) };
        let hits = inner.search(self.metric, &query, q.k, ef, filter.as_ref());
        Ok(hits.into_iter().map(|h| inner.hit(h.row as u32, h.score)).collect())
    }

    /// Makes everything written so far durable against power loss (fsync).
    pub fn flush(&self) -> Result<()> {
        self.log.lock().sync()
    }

    /// Closes the store: checkpoints when the log has grown enough to make the next open noticeably
    /// slower (a snapshot, then an empty log), fsyncs the log otherwise, and releases the directory
    /// lock. Dropping a store does the same and ignores errors.
    pub fn close(self) -> Result<()> {
        self.close_checkpoint()
    }
}

impl Inner {}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close_checkpoint();
    }
}

#[cfg(test)]
mod tests;
