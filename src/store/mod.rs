//! The store: one collection of vectors with metadata, in one directory.
//!
//! Reads (get, count, query) share a read lock and run in parallel; writes take the write lock, append
//! to the log, and only then change memory, so a write that returned an error changed nothing and a
//! write that returned success is in the log.

pub mod backup;
pub mod batch;
pub mod compact;
pub mod estimate;
pub mod explain;
pub mod guard;
pub mod maintenance;
pub mod options;
pub mod record;
pub mod scan;
pub mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::error::{Code, Error, Result};
use crate::filter::Filter;
use crate::index::distance;
use crate::index::exact::{self, Scored};
use crate::index::hnsw::{Hnsw, HnswParams, VectorSource};
use crate::storage::lock::DirLock;
use crate::storage::log::{Log, LogOp};
use crate::storage::meta::{Meta, META_FORMAT_VERSION};
use crate::storage::snapshot::{
    load_snapshot, write_snapshot, FileKind, LoadedSnapshot, SlotRecord, SnapshotContents,
};
use crate::storage::vectors::VectorBlock;
use explain::{Plan, SearchInfo};
use options::{Durability, Metric, StoreOptions, MAX_DIMENSION, MAX_K};
use record::{check_finite, check_id, metadata_text, parse_metadata, Hit, Record};
use serde_json::{Map, Value};

/// A search request. `filter` is reserved for the filter language (not yet available: a filter is
/// refused rather than ignored). `ef_search` 0 means the store's default.
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
}

/// Stores with at most this many slots are searched by exact scan: it is as fast as the graph there,
/// and exact.
const EXACT_SCAN_MAX_SLOTS: usize = 2000;
/// A filtered query uses the exact scan when fewer than this many times `ef` records are estimated
/// to pass: the graph search expands about `ef / selectivity` nodes of ~2M neighbours each, which
/// costs more than scanning every vector once below that point.
const SELECTIVE_FACTOR: usize = 32;
/// Closing checkpoints only when the log holds more than this (a smaller log replays in milliseconds).
const CLOSE_CHECKPOINT_MIN_BYTES: u64 = 64 << 10;
/// Slots sampled to estimate how many records a filter passes.
const SELECTIVITY_SAMPLES: usize = 512;

/// Largest squared length of a vector in a dot or euclidean store (see `prepare_vector`).
const MAX_SQUARED_NORM: f64 = f32::MAX as f64 / 4.0;

pub struct Store {
    path: PathBuf,
    metric: Metric,
    checkpoint_bytes: u64,
    inner: RwLock<Inner>,
    /// The cost model of `estimate_query`, measured on this store's index at the first estimate.
    calibration: parking_lot::Mutex<Option<std::sync::Arc<estimate::Calibration>>>,
}

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

impl VectorSource for VectorBlock {
    #[inline(always)]
    fn vector(&self, slot: u32) -> &[f32] {
        self.get(slot)
    }
}

impl SlotState {
    fn to_byte(self) -> u8 {
        match self {
            SlotState::Live => SlotRecord::LIVE,
            SlotState::Deleted => SlotRecord::DELETED,
            SlotState::SoftDeleted => SlotRecord::SOFT_DELETED,
        }
    }
    fn from_byte(b: u8) -> Option<SlotState> {
        match b {
            SlotRecord::LIVE => Some(SlotState::Live),
            SlotRecord::DELETED => Some(SlotState::Deleted),
            SlotRecord::SOFT_DELETED => Some(SlotState::SoftDeleted),
            _ => None,
        }
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
    slot_of: HashMap<String, u32, foldhash::fast::RandomState>,
    /// Slots in state `Live` (expiry aside).
    live: usize,
    /// Slots in state `SoftDeleted` (expiry aside).
    soft_deleted: usize,
    /// Tombstones (`Deleted` slots).
    tombstones: usize,
    /// Slots not `Deleted` that carry an expiry time: while there are none, reads skip the clock.
    expiring: usize,
    /// The graph over every slot (tombstones stay in it as routing-only nodes). Slots at or past
    /// `index.len()` are written but not yet in the graph; `index_pending` adds them.
    index: Hnsw,
    /// Threads a bulk insert may use (already resolved: at least 1).
    build_threads: usize,
    log: Log,
    /// Bytes of the current snapshot's files and of the description file (see `storage_bytes`).
    snapshot_bytes: u64,
    meta_bytes: u64,
    /// A namespace's quota check, run before every write that adds data.
    growth_check: Option<std::sync::Arc<dyn guard::GrowthCheck>>,

    _lock: DirLock,
}

/// The number of threads a bulk insert uses: `0` = one per core.
fn resolve_threads(requested: usize) -> usize {
    if requested == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        requested
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Inner {
    fn dim(&self) -> usize {
        self.meta.dimension
    }

    /// Whether slot `s` may be returned by a read at time `now`.
    #[inline]
    fn visible(&self, s: u32, now: u64) -> bool {
        let slot = &self.slots[s as usize];
        slot.state == SlotState::Live && (slot.expires_at == 0 || slot.expires_at > now)
    }

    /// The slot of the visible record `id` at time `now`.
    fn visible_slot(&self, id: &str, now: u64) -> Option<u32> {
        self.slot_of.get(id).copied().filter(|&s| self.visible(s, now))
    }

    fn tombstone(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
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
    fn apply(&mut self, op: LogOp) {
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
                    self.live -= 1;
                    self.soft_deleted += 1;
                }
            }
            LogOp::Restore { id } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                if self.slots[s as usize].state == SlotState::SoftDeleted {
                    self.slots[s as usize].state = SlotState::Live;
                    self.live += 1;
                    self.soft_deleted -= 1;
                }
            }
            LogOp::UpdateMetadata { id, metadata } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                self.slots[s as usize].metadata = parse_metadata(Some(&metadata)).unwrap_or_default();
            }
            LogOp::SetExpiry { id, expires_at } => {
                let Some(&s) = self.slot_of.get(&id) else { return };
                let old = std::mem::replace(&mut self.slots[s as usize].expires_at, expires_at);
                self.expiring = self.expiring + usize::from(expires_at != 0) - usize::from(old != 0);
            }
        }
    }

    /// Checks a write's dimension against the store's. A store that has none yet (opened with
    /// dimension 0 and never written) accepts any.
    fn check_dimension(&self, dim: usize) -> Result<()> {
        if self.dim() != 0 && self.dim() != dim {
            return Err(Error::dimension(self.dim(), dim));
        }
        Ok(())
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

    /// Adds the slots written since the last call to the graph.
    fn index_pending(&mut self) {
        let (from, to) = (self.index.len() as u32, self.slots.len() as u32);
        if from < to {
            self.index.insert_batch(from..to, &self.vectors, self.build_threads);
        }
    }

    /// The `k` best visible slots passing `filter`, best first, with public scores.
    ///
    /// The graph is searched with an acceptance test (visible and passing the filter): rejected
    /// nodes still route the search but never enter the results. The exact scan is used instead for
    /// small stores, and for filters that few records pass (estimated by sampling: the graph search
    /// would wander through many rejected nodes to find them). Whenever the graph search finds fewer
    /// than `k`, the exact scan answers, so a query returns `k` results whenever `k` records pass.
    fn search(
        &self,
        metric: Metric,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&Filter>,
    ) -> Vec<Scored> {
        self.search_info(metric, query, k, ef, filter, &mut SearchInfo::default())
    }

    /// [`Inner::search`], also reporting the plan it took and the work it did (counted anyway).
    fn search_info(
        &self,
        metric: Metric,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&Filter>,
        info: &mut SearchInfo,
    ) -> Vec<Scored> {
        let now = if self.expiring > 0 { now_unix() } else { 0 };
        let accept = |s: u32| {
            self.visible(s, now) && filter.is_none_or(|f| f.matches(&self.slots[s as usize].metadata))
        };
        let n = self.slots.len();
        let everything_visible = filter.is_none() && self.live == n && self.expiring == 0;
        let ef = ef.max(k);
        info.plan = self.plan(ef, filter.is_some(), || self.estimate_accepted(&accept));
        if info.plan == Plan::Graph {
            let stats = &mut info.graph;
            let hits = if everything_visible {
                self.index.search(&self.vectors, query, k, ef, &|_| true, stats)
            } else {
                self.index.search(&self.vectors, query, k, ef, &accept, stats)
            };
            if hits.len() >= k {
                return hits;
            }
            info.plan = Plan::GraphWithExactFallback;
        }
        // The exact scan computes one distance per slot.
        info.exact_distance_calculations = n as u64;
        exact::top_k_slots(metric, &self.vectors, n, query, k, accept)
    }

    /// How a search with this (already raised to k) `ef` runs: the exact scan for small stores, while
    /// the graph lags behind the slots, and for filters few records pass (`accepted` estimates how
    /// many); the graph otherwise (falling back to the exact scan when it finds fewer than k).
    /// `estimate_query` calls it too, so the estimate predicts the plan the query takes.
    fn plan(&self, ef: usize, filtered: bool, accepted: impl FnOnce() -> usize) -> Plan {
        let n = self.slots.len();
        if n <= EXACT_SCAN_MAX_SLOTS
            || self.index.len() < n
            || (filtered && accepted() < SELECTIVE_FACTOR * ef)
        {
            Plan::ExactScan
        } else {
            Plan::Graph
        }
    }

    /// Estimated number of slots `accept` passes, from a sample spread evenly over the slots.
    fn estimate_accepted(&self, accept: &impl Fn(u32) -> bool) -> usize {
        let n = self.slots.len();
        if n == 0 {
            return 0;
        }
        let samples = n.min(SELECTIVITY_SAMPLES);
        let passed = (0..samples).filter(|&i| accept((i * n / samples) as u32)).count();
        passed * n / samples
    }

    /// Live records not expired at `now`.
    fn visible_count(&self, now: u64) -> usize {
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

    fn record(&self, s: u32) -> Record {
        let slot = &self.slots[s as usize];
        Record {
            id: slot.id.clone(),
            vector: self.vectors.get(s).to_vec(),
            metadata: metadata_text(&slot.metadata),
        }
    }

    fn hit(&self, s: u32, score: f32) -> Hit {
        let slot = &self.slots[s as usize];
        Hit { id: slot.id.clone(), score, metadata: metadata_text(&slot.metadata) }
    }
}

impl Store {
    /// Opens the store in `dir`, creating the directory and an empty store if needed.
    ///
    /// On an existing store, `options.dimension` must be 0 or the store's dimension
    /// (`DimensionMismatch` otherwise) and `options.metric`, when given, must be the store's metric
    /// (`InvalidArgument` otherwise; `None` means "the store's", or cosine for a new store). A second
    /// open of the same directory, from this or another process, fails with `Locked` until the first
    /// is closed.
    pub fn open(dir: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        options.validate()?;
        let dir = dir.as_ref();
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid("store path must not be empty"));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
        let lock = DirLock::acquire(dir)?;
        let mut meta = match Meta::load(dir)? {
            Some(meta) => {
                if let Some(metric) = options.metric.filter(|m| *m != meta.metric) {
                    return Err(Error::invalid(format!(
                        "store {} uses metric {}, it was opened with metric {}",
                        dir.display(),
                        meta.metric.name(),
                        metric.name()
                    )));
                }
                meta
            }
            None => {
                // Without its description file a store's log cannot be read safely (the metric
                // decides what the logged vectors mean): refuse rather than guess.
                let log_path = dir.join(crate::storage::log::LOG_FILE);
                let has_snapshot = dir.join(crate::storage::snapshot::MANIFEST_FILE).exists();
                if has_snapshot
                    || std::fs::metadata(&log_path).is_ok_and(|m| m.len() > crate::storage::log::HEADER_LEN)
                {
                    return Err(Error::corrupt(
                        &dir.join(crate::storage::meta::META_FILE),
                        "the file is missing but the store's snapshot or log holds records",
                    ));
                }
                let meta = Meta {
                    format_version: META_FORMAT_VERSION,
                    dimension: options.dimension,
                    metric: options.metric.unwrap_or(Metric::Cosine),
                    hnsw_m: options.hnsw_m,
                    ef_construction: options.ef_construction,
                    ef_search: options.ef_search,
                    compaction: Default::default(),
                };
                meta.save(dir)?;
                meta
            }
        };

        // The snapshot (if any) first: the mapped vectors, the records and the graph as they were at
        // the last checkpoint. Then the log, which holds the writes made since.
        let snapshot = load_snapshot(dir, (meta.dimension != 0).then_some(meta.dimension))?;
        let mut dim = match &snapshot {
            Some(snap) if meta.dimension == 0 => snap.dimension,
            _ => meta.dimension,
        };
        let log_generation = snapshot.as_ref().map_or(0, |s| s.log_generation);

        // Replay into a list first: the log is opened before `Inner` (which owns it) exists.
        // A store created with dimension 0 takes its dimension from the first logged vector.
        let mut staged = Vec::new();
        let sync = options.durability == Durability::Sync;
        let log_path = dir.join(crate::storage::log::LOG_FILE);
        let (log, _report) = Log::open(dir, sync, log_generation, |op| {
            if let LogOp::Upsert { vector, .. } = &op {
                if dim == 0 {
                    dim = vector.len();
                } else if vector.len() != dim {
                    return Err(Error::corrupt(
                        &log_path,
                        format!("a logged vector has dimension {}, the store has {dim}", vector.len()),
                    ));
                }
            }
            staged.push(op);
            Ok(())
        })?;
        if options.dimension != 0 && dim != 0 && options.dimension != dim {
            return Err(Error::new(
                Code::DimensionMismatch,
                format!(
                    "store {} has dimension {dim}, it was opened with dimension {}",
                    dir.display(),
                    options.dimension
                ),
            ));
        }
        if dim == 0 {
            dim = options.dimension;
        }
        if dim != meta.dimension {
            meta.dimension = dim;
            meta.save(dir)?;
        }
        let metric = meta.metric;
        // The graph's shape is fixed when the store is created: the stored parameters rule.
        let graph_params =
            HnswParams { m: meta.hnsw_m, ef_construction: meta.ef_construction, ..HnswParams::default() };
        let mut inner = Inner {
            dir: dir.to_path_buf(),
            vectors: VectorBlock::empty(meta.dimension),
            snapshot_generation: 0,
            meta,
            slots: Vec::new(),
            slot_of: HashMap::default(),
            live: 0,
            soft_deleted: 0,
            tombstones: 0,
            log,
            snapshot_bytes: 0,
            meta_bytes: std::fs::metadata(dir.join(crate::storage::meta::META_FILE)).map_or(0, |m| m.len()),
            growth_check: None,
            expiring: 0,
            index: Hnsw::new(graph_params, metric),
            build_threads: resolve_threads(options.build_threads),
            _lock: lock,
        };
        if let Some(snap) = snapshot {
            inner.load_snapshot(snap)?;
        }
        for op in staged {
            inner.apply(op);
        }
        inner.index_pending();
        Ok(Store {
            path: dir.to_path_buf(),
            metric,
            checkpoint_bytes: options.checkpoint_bytes,
            inner: RwLock::new(inner),
            calibration: parking_lot::Mutex::new(None),
        })
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

    fn prepare_record(&self, r: &NewRecord<'_>) -> Result<LogOp> {
        check_id(r.id)?;
        let vector = self.prepare_vector(r.vector, "vector")?;
        let metadata = metadata_text(&parse_metadata(r.metadata)?);
        Ok(LogOp::Upsert { id: r.id.to_string(), vector, metadata, expires_at: 0 })
    }

    /// Inserts a record, or replaces the record with the same id.
    pub fn upsert(&self, id: &str, vector: &[f32], metadata: Option<&str>) -> Result<()> {
        self.upsert_many(&[NewRecord { id, vector, metadata }])
    }

    /// Inserts or replaces many records as one write: every record is checked first, and if any is
    /// invalid nothing is written. Within one call a later record with the same id wins.
    pub fn upsert_many(&self, records: &[NewRecord<'_>]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::with_capacity(records.len());
        let dim = records[0].vector.len();
        for (i, r) in records.iter().enumerate() {
            if r.vector.len() != dim {
                return Err(Error::new(
                    Code::DimensionMismatch,
                    format!("record {i} has dimension {}, record 0 has dimension {dim}", r.vector.len()),
                ));
            }
            let op = self.prepare_record(r).map_err(|e| {
                if records.len() > 1 {
                    Error::new(e.code, format!("record {i} ({:?}): {}", r.id, e.message))
                } else {
                    e
                }
            })?;
            ops.push(op);
        }
        let mut inner = self.inner.write();
        inner.check_dimension(dim)?;
        if let Some(check) = &inner.growth_check {
            // New ids only: a replacement is not growth (nor is a later duplicate within the call).
            let now = now_unix();
            let mut seen = std::collections::HashSet::with_capacity(records.len());
            let vectors_added = records
                .iter()
                .filter(|r| {
                    seen.insert(r.id) && !matches!(inner.id_state(r.id, now), write::IdState::Live { .. })
                })
                .count() as u64;
            check.check(&guard::Growth {
                vectors_before: inner.live as u64,
                vectors_added,
                storage_bytes_before: inner.storage_bytes(),
                bytes_added: crate::storage::log::frame_len(&ops),
            })?;
        }
        inner.log.append(&ops)?;
        inner.adopt_dimension(&self.path, dim);
        for op in ops {
            inner.apply(op);
        }
        inner.index_pending();
        self.checkpoint_if_due(&mut inner);
        Ok(())
    }

    /// The record with this id (`NotFound` if there is none).
    pub fn get(&self, id: &str) -> Result<Record> {
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
        let inner = self.inner.read();
        let now = now_unix();
        let count = inner.visible_count(now);
        let expired_soft = if inner.expiring == 0 {
            0
        } else {
            inner
                .slots
                .iter()
                .filter(|s| s.state == SlotState::SoftDeleted && s.expires_at != 0 && s.expires_at <= now)
                .count()
        };
        Stats {
            count,
            soft_deleted: inner.soft_deleted - expired_soft,
            expired: inner.live - count + expired_soft,
            tombstones: inner.tombstones,
            dimension: inner.dim(),
            metric: self.metric,
            log_bytes: inner.log.len_bytes(),
            storage_bytes: inner.storage_bytes(),
        }
    }

    /// The `k` records most similar to the query vector, best first.
    pub fn query(&self, q: &Query<'_>) -> Result<Vec<Hit>> {
        let (filter, query) = self.prepare_query(q)?;
        let inner = self.inner.read();
        let dim = inner.dim();
        if dim == 0 {
            return Ok(Vec::new()); // nothing written yet, any dimension is still possible
        }
        if query.len() != dim {
            return Err(Error::dimension(dim, query.len()));
        }
        let ef = if q.ef_search == 0 { inner.meta.ef_search } else { q.ef_search };
        let hits = inner.search(self.metric, &query, q.k, ef, filter.as_ref());
        Ok(hits.into_iter().map(|h| inner.hit(h.row as u32, h.score)).collect())
    }

    /// Checks everything in a query but its dimension (which needs the lock); returns its parsed
    /// filter and its vector as searched.
    fn prepare_query(&self, q: &Query<'_>) -> Result<(Option<Filter>, Vec<f32>)> {
        check_k(q.k)?;
        check_ef_search(q.ef_search)?;
        let filter = q.filter.map(Filter::parse).transpose()?;
        let query = self.prepare_vector(q.vector, "query vector")?;
        Ok((filter, query))
    }

    /// Makes everything written so far durable against power loss (fsync).
    pub fn flush(&self) -> Result<()> {
        self.inner.write().log.sync()
    }

    /// Closes the store: rewrites the log to the current state when it holds dead history, and
    /// releases the directory lock. Dropping a store does the same and ignores errors.
    pub fn close(self) -> Result<()> {
        self.close_checkpoint()
    }

    /// The checkpoint of a close: only when the log holds enough to make the next open noticeably
    /// slower. Rewriting the snapshot (every vector of the store) to save replaying a few writes would
    /// make closing a large store after a handful of writes cost seconds for nothing.
    fn close_checkpoint(&self) -> Result<()> {
        let mut inner = self.inner.write();
        if inner.log.len_bytes() > CLOSE_CHECKPOINT_MIN_BYTES.min(self.checkpoint_bytes) {
            inner.checkpoint()
        } else {
            inner.log.sync()
        }
    }

    /// Checkpoints after a write when the log has grown past the threshold. The write itself is
    /// already durable, so a failed checkpoint is not the write's failure: it is retried after the
    /// next write and at close.
    fn checkpoint_if_due(&self, inner: &mut Inner) {
        if inner.log.len_bytes() > self.checkpoint_bytes {
            let _ = inner.checkpoint();
        }
    }
}

impl Inner {
    /// Takes over a loaded snapshot: its mapped vectors, its records and its graph.
    fn load_snapshot(&mut self, snap: LoadedSnapshot) -> Result<()> {
        let records_path = snap.manifest.file_path(&self.dir, FileKind::Records);
        let graph_path = snap.manifest.file_path(&self.dir, FileKind::Graph);
        let index = Hnsw::read_from(&snap.graph).map_err(|e| Error::corrupt(&graph_path, e))?;
        if index.len() > snap.records.len() {
            return Err(Error::corrupt(
                &graph_path,
                format!("the graph has {} nodes, the snapshot {} slots", index.len(), snap.records.len()),
            ));
        }
        if index.metric() != self.meta.metric {
            return Err(Error::corrupt(&graph_path, "the graph was built for another metric"));
        }
        self.slots.reserve(snap.records.len());
        self.slot_of.reserve(snap.records.len());
        for (s, rec) in snap.records.into_iter().enumerate() {
            let state = SlotState::from_byte(rec.state).ok_or_else(|| {
                Error::corrupt(&records_path, format!("slot {s} has unknown state {}", rec.state))
            })?;
            let metadata = parse_metadata(Some(&rec.metadata))
                .map_err(|e| Error::corrupt(&records_path, format!("slot {s}: {}", e.message)))?;
            match state {
                SlotState::Live => self.live += 1,
                SlotState::Deleted => self.tombstones += 1,
                SlotState::SoftDeleted => self.soft_deleted += 1,
            }
            if state != SlotState::Deleted {
                if rec.expires_at != 0 {
                    self.expiring += 1;
                }
                if self.slot_of.insert(rec.id.clone(), s as u32).is_some() {
                    return Err(Error::corrupt(&records_path, format!("id {:?} is in two slots", rec.id)));
                }
            }
            self.slots.push(Slot { id: rec.id, metadata, state, expires_at: rec.expires_at });
        }
        self.vectors = snap.vectors;
        self.index = index;
        self.snapshot_generation = snap.generation;
        self.snapshot_bytes = snapshot_disk_bytes(&self.dir, &snap.manifest);
        Ok(())
    }

    /// Writes a snapshot of the whole store (vectors, records, graph), then empties the log. The
    /// snapshot's manifest is the commit point: a crash before it leaves the old snapshot and the
    /// full log, after it the new snapshot (and a log that opening discards as older history).
    /// Nothing to do when the log holds no write since the last snapshot.
    fn checkpoint(&mut self) -> Result<()> {
        if self.log.len_bytes() <= crate::storage::log::HEADER_LEN {
            return self.log.sync();
        }
        self.index_pending();
        let records: Vec<SlotRecord> = self
            .slots
            .iter()
            .map(|slot| SlotRecord {
                id: slot.id.clone(),
                metadata: metadata_text(&slot.metadata),
                state: slot.state.to_byte(),
                expires_at: slot.expires_at,
            })
            .collect();
        let mut graph = Vec::new();
        self.index.write_to(&mut graph).map_err(|e| Error::new(Code::Internal, format!("graph: {e}")))?;
        let generation = self.snapshot_generation + 1;
        let next_log_generation = self.log.generation() + 1;
        let manifest = write_snapshot(
            &self.dir,
            &SnapshotContents {
                generation,
                vectors: &self.vectors,
                records: &records,
                graph: &graph,
                next_log_generation,
            },
        )?;
        self.snapshot_generation = generation;
        self.snapshot_bytes = snapshot_disk_bytes(&self.dir, &manifest);
        self.log.reset(next_log_generation)?;
        // Serve the vectors from the new file: the in-memory rows are freed. If mapping fails the
        // rows in memory are still right, so keep them.
        if let Ok(mapped) =
            VectorBlock::open_mapped(&manifest.file_path(&self.dir, FileKind::Vectors), self.dim())
        {
            self.vectors = mapped;
        }
        Ok(())
    }
}

/// Largest `ef_search` a query accepts.
pub(crate) const MAX_EF_SEARCH: usize = 100_000;

fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > MAX_K {
        return Err(Error::invalid(format!("k must be in 1..={MAX_K}, got {k}")));
    }
    Ok(())
}

fn check_ef_search(ef: usize) -> Result<()> {
    if ef > MAX_EF_SEARCH {
        return Err(Error::invalid(format!("ef_search must be at most {MAX_EF_SEARCH}, got {ef}")));
    }
    Ok(())
}

/// Bytes of a snapshot's files on disk, its manifest included.
fn snapshot_disk_bytes(dir: &Path, manifest: &crate::storage::snapshot::Manifest) -> u64 {
    let manifest_file =
        std::fs::metadata(dir.join(crate::storage::snapshot::MANIFEST_FILE)).map_or(0, |m| m.len());
    manifest.vectors.bytes + manifest.records.bytes + manifest.graph.bytes + manifest_file
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close_checkpoint();
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_tests;
