//! Opening a store: the description file, the snapshot, then the log replayed on top of it.

use std::path::Path;

use parking_lot::RwLock;

use super::checkpoint::snapshot_disk_bytes;
use super::meta::{Meta, META_FORMAT_VERSION};
use super::options::{Durability, Metric, StoreOptions};
use super::record::parse_metadata;
use super::slots::{Slot, SlotState};
use super::{Inner, Store};
use crate::error::{Code, Error, Result};
use crate::index::hnsw::{Hnsw, HnswParams};
use crate::index::quant::{Codes, RowLayout};
use crate::storage::lock::DirLock;
use crate::storage::log::{Log, LogOp};
use crate::storage::snapshot::{load_snapshot, FileKind, LoadedSnapshot, SavedCodes};
use crate::storage::vectors::VectorBlock;

/// The number of threads a bulk insert uses: `0` = one per core.
pub(super) fn resolve_threads(requested: usize) -> usize {
    if requested == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        requested
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
        #[cfg(feature = "failpoints")]
        configure_fail_points();
        options.validate()?;
        let dir = dir.as_ref();
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid("store path must not be empty"));
        }
        crate::storage::fsutil::create_dir_all(dir)?;
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
                let has_snapshot =
                    crate::storage::fsutil::exists(&dir.join(crate::storage::snapshot::MANIFEST_FILE));
                if has_snapshot
                    || crate::storage::fsutil::file_len_or_zero(&log_path) > crate::storage::log::HEADER_LEN
                {
                    return Err(Error::corrupt(
                        &dir.join(crate::store::meta::META_FILE),
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
        let log_start = snapshot.as_ref().map_or(0, |s| s.manifest.log_start);

        // Replay into a list first: the log is opened before `Inner` (which owns it) exists.
        // A store created with dimension 0 takes its dimension from the first logged vector.
        let mut staged = Vec::new();
        let sync = options.durability == Durability::Sync;
        let log_path = dir.join(crate::storage::log::LOG_FILE);
        let (log, replay) =
            Log::open_from(dir, sync, log_generation, log_start, options.log_recovery, |op| {
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
            slot_of: Default::default(),
            live: 0,
            soft_deleted: 0,
            tombstones: 0,
            log_bytes: log.len_bytes(),
            snapshot_bytes: 0,
            saved_graph: Default::default(),
            saved_records: parking_lot::Mutex::new(super::checkpoint::SavedRecords::none()),
            meta_bytes: crate::storage::fsutil::file_len_or_zero(&dir.join(crate::store::meta::META_FILE)),
            growth_check: None,
            expiry: Default::default(),
            index: Hnsw::new(graph_params, metric),
            filter_index: Default::default(),
            codes: None,
            quantization: options.quantization,
            build_threads: resolve_threads(options.build_threads),
            _lock: lock,
        };
        if let Some(snap) = snapshot {
            inner.load_snapshot(snap)?;
        }
        for op in staged {
            inner.apply(op);
        }
        // The codes of the rows the snapshot did not save are encoded (all of them for a snapshot
        // without codes, with the saved ranges when there are any).
        inner.load_quantizer();
        inner.sync_codes();
        inner.index_pending();
        Ok(Store {
            path: dir.to_path_buf(),
            metric,
            checkpoint_bytes: options.checkpoint_bytes,
            failed: std::sync::atomic::AtomicBool::new(false),
            replay,
            inner: RwLock::new(inner),
            log: parking_lot::Mutex::new(log),
            checkpoint_run: parking_lot::Mutex::new(()),
            checkpoint_status: parking_lot::Mutex::new(Default::default()),
            calibration: parking_lot::Mutex::new(None),
        })
    }
}

impl Inner {
    /// Takes over a loaded snapshot: its mapped vectors, its records and its graph.
    pub(super) fn load_snapshot(&mut self, mut snap: LoadedSnapshot) -> Result<()> {
        let records_path = snap.manifest.file_path(&self.dir, FileKind::Records);
        let graph_path = snap.manifest.file_path(&self.dir, FileKind::Graph);
        // The codes of the snapshot's rows, when it saved them (and the store still wants codes):
        // a file that passed its crc but does not decode is damage, reported like any other.
        if let Some(saved) = snap.codes.as_ref().filter(|_| self.wants_codes()) {
            let path = snap.manifest.file_path(&self.dir, FileKind::Codes);
            let metric = self.meta.metric;
            let codes = match saved {
                // A format 1 file is not appended to: the next checkpoint writes a fresh one.
                SavedCodes::Whole(payload) => Codes::from_bytes(payload, metric),
                SavedCodes::Appendable { drift, packed, .. } => {
                    let bytes = saved.head_and_rows().expect("appendable");
                    let layout = if *packed { RowLayout::Packed } else { RowLayout::Strided };
                    Codes::from_head_and_rows(bytes, snap.manifest.slots, *drift, metric, layout)
                }
            }
            .map_err(|e| Error::corrupt(&path, e))?;
            if codes.dim() != snap.dimension || codes.len() != snap.records.len() {
                return Err(Error::corrupt(
                    &path,
                    "the codes do not match the snapshot's dimension or slots",
                ));
            }
            self.codes = Some(codes);
        }
        // The file's bytes are copied: unmap it now rather than at the end of the load.
        drop(snap.codes.take());
        let mut index = Hnsw::read_verified(&snap.graph).map_err(|e| Error::corrupt(&graph_path, e))?;
        if let Some(journal) = snap.graph_journal.take() {
            let path = snap.manifest.file_path(&self.dir, FileKind::GraphJournal);
            index.apply_journal(&journal).map_err(|e| Error::corrupt(&path, e))?;
        }
        // From here on (the log's writes replayed next included), every edit of the graph is
        // journaled, so that the next checkpoint can save the edits rather than the graph.
        index.take_journal(super::checkpoint::journal_limit(&index));
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
        for (s, rec) in snap.records.iter().enumerate() {
            let state = SlotState::from_byte(rec.state)
                .expect("load_snapshot refuses a snapshot with an unknown state");
            let metadata = parse_metadata(Some(rec.metadata))
                .map_err(|e| Error::corrupt(&records_path, format!("slot {s}: {}", e.message)))?;
            match state {
                SlotState::Live => self.live += 1,
                SlotState::Deleted => self.tombstones += 1,
                SlotState::SoftDeleted => self.soft_deleted += 1,
            }
            self.slots.push(Slot { id: rec.id.to_string(), metadata, state, expires_at: rec.expires_at });
            if state != SlotState::Deleted {
                self.expiry.add(state, rec.expires_at, s as u32);
                if self.slot_of.insert(&self.slots, s as u32).is_some() {
                    let id = &self.slots[s].id;
                    return Err(Error::corrupt(&records_path, format!("id {id:?} is in two slots")));
                }
            }
        }
        // The metadata index is rebuilt rather than stored: see `filter_index`.
        self.filter_index = super::filter_index::SlotIndex::build(&self.slots);
        self.vectors = snap.vectors;
        self.index = index;
        self.snapshot_generation = snap.generation;
        self.snapshot_bytes = snapshot_disk_bytes(&self.dir, &snap.manifest);
        self.saved_graph = super::checkpoint::SavedGraph::of(&snap.manifest);
        // Before the log's writes are replayed: they mark the records they change.
        *self.saved_records.get_mut() = super::checkpoint::SavedRecords::of(&snap.manifest);
        Ok(())
    }
}

/// Reads the fail points' actions from `FAILPOINTS` once per process (tests only).
#[cfg(feature = "failpoints")]
pub(super) fn configure_fail_points() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(spec) = std::env::var("FAILPOINTS") else { return };
        for item in spec.split(';').filter(|s| !s.is_empty()) {
            if let Some((name, actions)) = item.split_once('=') {
                fail::cfg(name.trim(), actions.trim()).expect("FAILPOINTS actions parse");
            }
        }
    });
}
