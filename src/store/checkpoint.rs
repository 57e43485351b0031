//! Checkpoints: a snapshot of the whole store, after a write that grew the log past its threshold,
//! at close, and on demand ([`Store::checkpoint`]).
//!
//! A checkpoint never holds a lock that queries need while it does I/O, and writes go on while it
//! writes:
//! 1. **Freeze**, holding the log's mutex (writes wait; reads go on under the shared lock): fsync the
//!    log and note its generation and length (the freeze point), copy the records that changed
//!    since the snapshot (all of them when it writes every record) and the codes of the rows the
//!    snapshot does not hold yet, take the graph's journal (its edits since the
//!    snapshot, `hnsw/journal.rs`; the whole graph serialised when there is no usable journal), and
//!    take a frozen view of the vectors (the mapped file is shared, the rows in memory since the
//!    last snapshot are copied). Everything in the log up to the freeze point is in this state,
//!    nothing after it.
//! 2. **Write** the snapshot from the frozen state, holding no lock: writes append to the log after
//!    the freeze point meanwhile. The vector rows written since the last snapshot are appended to its
//!    vectors file (the older rows are never written again: a checkpoint's vector bytes are the new
//!    rows'), and so are the new rows' codes (`FrozenCodes`) and the graph's edits (to the graph
//!    file's journal, until the journal would outgrow [`GRAPH_JOURNAL_RATIO`] times the graph
//!    file: then the whole graph is written and the journal starts again), and the same for the
//!    records: the ones written since the snapshot (`SavedRecords`: each slot's newest, and the new
//!    slots) go to the records file's journal, within [`RECORDS_JOURNAL_RATIO`].
//!    The manifest (the commit point) names the log generation and the
//!    freeze point (`log_start`): an open replays that log from there (see `Log::open_from`).
//! 3. **Publish**, holding the log's mutex and, briefly, the write lock: serve the frozen rows from the
//!    new vectors file, then trim the log (replace it by one of the next generation holding only the
//!    frames after the freeze point, which an open replays whole). A crash before the manifest leaves
//!    the old snapshot and the whole log; after it, either log replays correctly.
//!
//! It runs on the thread of the write that found the log due (after that write's own work, holding
//! none of its locks), or of `close`, `checkpoint` or the maintenance thread; one at a time.
//!
//! A failed checkpoint is not the write's failure (the write is in the log): writes go on into the
//! log, and the checkpoint is retried after a back-off that doubles with each failure in a row, from
//! [`RETRY_BASE`] up to [`RETRY_CAP`], instead of after every write. `stats` shows the failures
//! and the last error; the next successful checkpoint clears them.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Inner, Store};
use crate::error::{Code, Error, Result};
use crate::storage::snapshot::{
    encode_records_journal_entry, write_snapshot, CodesPart, FileKind, GraphPart, Manifest, RecordsPart,
    SlotRecord, SnapshotContents,
};
use crate::storage::vectors::VectorBlock;

/// A checkpoint saves the graph's edits to its journal only while the journal stays within this
/// many times the graph file; past it, it writes the whole graph (and the journal starts again).
/// The trade: each whole graph written costs its size once more (over a load, about
/// `journal bytes / ratio` more), while an open replays the journal (about as fast as it reads the
/// graph itself), so a larger ratio writes less and opens slower. 1.5 since graph files list only
/// the neighbours each list holds (format 2, a third smaller than format 1's full-capacity lists):
/// the journal an open may replay is about as long as with 1.0 of a format 1 file (about 150 MB
/// at 1.1M nodes, m 16), and each whole graph written is a third shorter.
pub const GRAPH_JOURNAL_RATIO: f64 = 1.5;
/// The bound of a close's checkpoint instead: a store closed cleanly opens with at most this much
/// journal to replay (at 1M x 128 a journal at 1.5 times the graph file makes an open about 1.2 s,
/// at 0.5 about 0.75 s), for the cost of one whole graph at close. A store that closes often (a
/// namespace trimmed back to its open-store limit) is a store that opens often, which is what
/// the bound is for.
pub const CLOSE_GRAPH_JOURNAL_RATIO: f64 = 0.5;

/// What the current snapshot holds of the graph: whether the next checkpoint may save the
/// graph's journal instead of the whole graph.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SavedGraph {
    /// The crc and length of the snapshot's graph file.
    crc: u32,
    bytes: u64,
    /// Bytes of journal committed after it.
    journal: u64,
    /// Whether the index's journal holds exactly the edits made since this saved graph: false
    /// with no snapshot yet, and after a failed checkpoint took the journal.
    in_sync: bool,
}

impl SavedGraph {
    pub(super) fn of(manifest: &Manifest) -> SavedGraph {
        SavedGraph {
            crc: manifest.graph.crc32,
            bytes: manifest.graph.bytes,
            journal: manifest.journal_bytes(FileKind::GraphJournal),
            in_sync: true,
        }
    }

    /// Whether `edits` more bytes of journal keep the journal within `ratio` times the graph file.
    fn takes(&self, edits: usize, ratio: f64) -> bool {
        self.in_sync && (self.journal + edits as u64) as f64 <= ratio * self.bytes as f64
    }
}

/// A checkpoint saves the records written since the snapshot to the records file's journal only
/// while the journal's entries that replace a record of the file stay within this many times the
/// records file; past it, it writes every record (and the journal starts again). The same trade as
/// [`GRAPH_JOURNAL_RATIO`]'s: an open reads the journal's newest record of each slot in place of
/// the file's, and the replaced ones are dead bytes on disk. Entries that add a slot are not
/// counted here: an open reads them as it reads the file's records, and they are nobody's dead
/// bytes, so a growing store does not write all its records again each time it doubles (loading
/// 1M single upserts, that was 61 MB, a tenth of the log).
pub const RECORDS_JOURNAL_RATIO: f64 = 1.0;
/// ... and while the whole journal, added slots included, stays within this many times the file.
pub const RECORDS_JOURNAL_MAX_RATIO: f64 = 4.0;

/// What the current snapshot holds of the records, and which of its slots' records changed
/// since: whether the next checkpoint may save only those (and the slots added after them).
/// Writes mark the slots they change (`changed`, under the store's write lock); a checkpoint's
/// freeze takes the marks (under the shared lock, hence the mutex around it in `Inner`).
#[derive(Debug, Default)]
pub(super) struct SavedRecords {
    /// The crc and length of the snapshot's records file.
    crc: u32,
    bytes: u64,
    /// Bytes of journal committed after it.
    journal: u64,
    /// Of those, the bytes of entries that replace a record (all of them after an open, which
    /// cannot tell: the split is not saved).
    replacing: u64,
    /// Slots the snapshot being written or written last holds: every slot after them is new.
    slots: usize,
    /// Its slots whose record changed since.
    changed: roaring::RoaringBitmap,
    /// Whether the next checkpoint must write every record: with no snapshot yet, and after a
    /// failed checkpoint (whose marks were taken and not saved).
    whole: bool,
}

impl SavedRecords {
    pub(super) fn of(manifest: &Manifest) -> SavedRecords {
        SavedRecords {
            crc: manifest.records.crc32,
            bytes: manifest.records.bytes,
            journal: manifest.journal_bytes(FileKind::RecordsJournal),
            replacing: manifest.journal_bytes(FileKind::RecordsJournal),
            slots: manifest.slots as usize,
            changed: Default::default(),
            whole: false,
        }
    }

    /// With no snapshot: every record is written.
    pub(super) fn none() -> SavedRecords {
        SavedRecords { whole: true, ..Default::default() }
    }

    /// Slot `s`'s record changed (a write holding the store's write lock).
    #[inline]
    pub(super) fn changed(&mut self, s: u32) {
        if (s as usize) < self.slots {
            self.changed.insert(s);
        }
    }

    /// The snapshot a checkpoint just committed (its `slots` set by the freeze, and the marks
    /// made since kept), whose journal entries replaced `replacing` bytes of records (`None`: it
    /// wrote every record).
    fn committed(&mut self, manifest: &Manifest, replacing: Option<u64>) {
        self.crc = manifest.records.crc32;
        self.bytes = manifest.records.bytes;
        self.journal = manifest.journal_bytes(FileKind::RecordsJournal);
        self.replacing = replacing.map_or(0, |r| self.replacing + r);
        self.whole = false;
    }
}

/// The most a graph's journal holds in memory between checkpoints: past it the next checkpoint
/// writes the whole graph anyway, so the journal stops recording.
pub(super) fn journal_limit(index: &crate::index::hnsw::Hnsw) -> usize {
    ((GRAPH_JOURNAL_RATIO * index.memory_bytes() as f64) as usize).max(1 << 20)
}

/// Closing checkpoints only when the log holds more than this (a smaller log replays in milliseconds).
pub(super) const CLOSE_CHECKPOINT_MIN_BYTES: u64 = 64 << 10;
/// The wait before retrying after the first failed checkpoint; it doubles with each failure in a row.
pub const RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between retries of a failing checkpoint.
pub const RETRY_CAP: Duration = Duration::from_secs(64);

/// Checkpoint counters and the back-off of a failing checkpoint.
#[derive(Debug, Clone, Default)]
pub(super) struct CheckpointStatus {
    /// Successful checkpoints since open.
    pub(super) checkpoints: u64,
    /// Failures in a row since the last success.
    pub(super) failures: u64,
    pub(super) last_error: Option<String>,
    /// No automatic retry before this.
    retry_at: Option<Instant>,
}

impl CheckpointStatus {
    fn may_run(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    fn record(&mut self, outcome: &Result<bool>) {
        match outcome {
            Ok(false) => {}
            Ok(true) => {
                self.checkpoints += 1;
                self.failures = 0;
                self.last_error = None;
                self.retry_at = None;
            }
            Err(e) => {
                self.failures += 1;
                self.last_error = Some(e.message.clone());
                self.retry_at = Some(Instant::now() + backoff(self.failures));
            }
        }
    }
}

/// The wait after `failures` failed checkpoints in a row: `RETRY_BASE * 2^(failures - 1)`, at most
/// `RETRY_CAP`.
pub(super) fn backoff(failures: u64) -> Duration {
    let shift = failures.saturating_sub(1).min(16) as u32;
    RETRY_BASE.saturating_mul(1 << shift).min(RETRY_CAP)
}

/// What a checkpoint writes, taken at the freeze point.
struct Frozen {
    generation: u64,
    log_generation: u32,
    log_start: u64,
    vectors: VectorBlock,
    records: FrozenRecords,
    graph: FrozenGraph,
    /// The codes of the frozen rows, when the codes cover them.
    codes: Option<FrozenCodes>,
}

/// The records a checkpoint writes.
enum FrozenRecords {
    /// Every slot's.
    Whole(Vec<SlotRecord>),
    /// The journal entries of the records written since the snapshot's (`SavedRecords`), the
    /// first `replacing` bytes of them for slots the snapshot has.
    Journal { entries: Vec<u8>, slots: u64, base_crc: u32, after: u64, replacing: u64 },
}

/// The graph a checkpoint writes.
enum FrozenGraph {
    /// Serialised whole.
    Whole(Vec<u8>),
    /// The edits since the snapshot's graph (`SavedGraph`).
    Journal { edits: Vec<u8>, base_crc: u32, after: u64 },
}

/// The codes a checkpoint writes: only the rows the current snapshot's codes file does not hold
/// (all of them after a retraining or a compaction), copied at the freeze.
struct FrozenCodes {
    head: Vec<u8>,
    row_len: usize,
    lineage: u64,
    first_row: usize,
    rows: Vec<u8>,
    drift: [u64; 2],
}

impl Frozen {
    /// The snapshot these frozen parts make.
    fn contents(&self) -> SnapshotContents<'_> {
        SnapshotContents {
            generation: self.generation,
            vectors: &self.vectors,
            records: match &self.records {
                FrozenRecords::Whole(all) => RecordsPart::Whole(all),
                FrozenRecords::Journal { entries, slots, base_crc, after, .. } => {
                    RecordsPart::Journal { entries, slots: *slots, base_crc: *base_crc, after: *after }
                }
            },
            graph: match &self.graph {
                FrozenGraph::Whole(bytes) => GraphPart::Whole(bytes),
                FrozenGraph::Journal { edits, base_crc, after } => {
                    GraphPart::Journal { edits, base_crc: *base_crc, after: *after }
                }
            },
            codes: self.codes.as_ref().map(|c| CodesPart {
                head: &c.head,
                row_len: c.row_len,
                first_row: c.first_row as u64,
                rows: &c.rows,
                drift: c.drift,
            }),
            next_log_generation: self.log_generation,
            log_start: self.log_start,
        }
    }
}

macro_rules! fail_point {
    ($name:expr) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name, |_| Err(Error::new(Code::Io, format!("fail point {}", $name))));
    };
}

impl Store {
    /// Checkpoints now if the log holds anything the snapshot does not: the store's state is written
    /// as a new snapshot while reads and writes go on, and the log is trimmed. Not needed for
    /// durability (the log holds every acknowledged write); it makes the next open faster. Ignores
    /// the back-off of failing checkpoints; success clears their failures from `stats`.
    pub fn checkpoint(&self) -> Result<()> {
        self.ensure_usable()?;
        let run = self.checkpoint_run.lock();
        self.checkpoint_recorded(&run, 0, GRAPH_JOURNAL_RATIO).map(|_| ())
    }

    /// The checkpoint of a close: only when the log holds enough to make the next open noticeably
    /// slower. Rewriting the snapshot (every vector of the store) to save replaying a few writes would
    /// make closing a large store after a handful of writes cost seconds for nothing. Its graph
    /// journal is bounded by [`CLOSE_GRAPH_JOURNAL_RATIO`], so that the next open is quick.
    pub(super) fn close_checkpoint(&self) -> Result<()> {
        let run = self.checkpoint_run.lock();
        let min = CLOSE_CHECKPOINT_MIN_BYTES.min(self.checkpoint_bytes);
        if self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return self.log.lock().sync();
        }
        self.checkpoint_recorded(&run, min, CLOSE_GRAPH_JOURNAL_RATIO).map(|_| ())
    }

    /// Checkpoints after a write that found the log past the threshold, unless another checkpoint
    /// is running or failing ones are backing off. The write itself is already durable, so a failed
    /// checkpoint is not the write's failure: it is recorded and retried later.
    pub(super) fn checkpoint_if_due(&self) {
        let Some(run) = self.checkpoint_run.try_lock() else { return };
        if !self.checkpoint_status.lock().may_run(Instant::now()) {
            return;
        }
        let _ = self.checkpoint_recorded(&run, self.checkpoint_bytes, GRAPH_JOURNAL_RATIO);
    }

    /// Runs a checkpoint when the log holds more than `min_live` bytes the snapshot does not (just an
    /// fsync of the log otherwise) and records its outcome; its graph journal stays within
    /// `graph_ratio` times the graph file. The caller holds `checkpoint_run`.
    fn checkpoint_recorded(
        &self,
        _run: &parking_lot::MutexGuard<'_, ()>,
        min_live: u64,
        graph_ratio: f64,
    ) -> Result<bool> {
        let outcome = self.run_checkpoint(min_live, graph_ratio);
        self.checkpoint_status.lock().record(&outcome);
        outcome
    }

    /// Freeze, write, publish (see the module docs). `Ok(false)` when there was nothing to do.
    fn run_checkpoint(&self, min_live: u64, graph_ratio: f64) -> Result<bool> {
        let frozen = {
            let mut log = self.log.lock();
            if log.live_bytes() <= min_live {
                log.sync()?;
                return Ok(false);
            }
            // The frozen frames must be durable before a manifest says the snapshot holds them.
            log.sync()?;
            let frozen = self.inner.read().freeze(log.generation(), log.len_bytes(), graph_ratio);
            match frozen {
                Ok(f) => f,
                Err(e) => {
                    // The freeze may have taken the graph's journal and the records' marks.
                    let mut inner = self.inner.write();
                    inner.saved_graph = SavedGraph::default();
                    inner.saved_records.get_mut().whole = true;
                    return Err(e);
                }
            }
        };
        let manifest = match self.write_frozen(&frozen) {
            Ok(m) => m,
            Err(e) => {
                // The edits taken from the graph's journal, and the records' marks, were not
                // saved: only the whole graph and every record describe the change now.
                let mut inner = self.inner.write();
                inner.saved_graph = SavedGraph::default();
                inner.saved_records.get_mut().whole = true;
                return Err(e);
            }
        };
        let replacing = match &frozen.records {
            FrozenRecords::Journal { replacing, .. } => Some(*replacing),
            FrozenRecords::Whole(_) => None,
        };
        drop(frozen.records);
        drop(frozen.graph);
        let saved_codes = frozen.codes.map(|c| (c.lineage, frozen.vectors.len()));
        let dim = frozen.vectors.dim();
        // Serve the frozen rows from the new file (mapped before any lock is taken). If mapping
        // fails the rows in memory are still right, so keep them.
        let mapped = VectorBlock::open_mapped(
            &manifest.file_path(&self.path, FileKind::Vectors),
            dim,
            manifest.vectors_extent(),
        )
        .ok();
        let snapshot_bytes = snapshot_disk_bytes(&self.path, &manifest);
        let mut log = self.log.lock();
        // Trimming copies only the frames written since the freeze point; writes wait, reads do not.
        log.set_start(frozen.log_start);
        let trimmed = log.trim();
        let old = {
            let mut inner = self.inner.write();
            inner.snapshot_generation = frozen.generation;
            inner.snapshot_bytes = snapshot_bytes;
            inner.log_bytes = log.len_bytes();
            // The journal restarted at the freeze, so it holds the edits since this snapshot.
            inner.saved_graph = SavedGraph::of(&manifest);
            inner.saved_records.get_mut().committed(&manifest, replacing);
            // The next checkpoint appends after these rows, unless the codes were retrained since.
            if let (Some((lineage, rows)), Some(c)) = (saved_codes, inner.codes.as_mut()) {
                if c.lineage() == lineage {
                    c.set_saved_rows(rows);
                }
            }
            mapped.filter(|m| m.len() == frozen.vectors.len()).map(|m| inner.vectors.rebase(m))
        };
        drop(log);
        drop(old); // unmapping the old file and freeing its rows outside the locks
        drop(frozen.vectors);
        trimmed.map(|()| true)
    }
}

impl Store {
    fn write_frozen(&self, frozen: &Frozen) -> Result<Manifest> {
        fail_point!("checkpoint::write");
        write_snapshot(&self.path, &frozen.contents())
    }
}

impl Inner {
    /// Takes what a checkpoint writes (the caller holds the log's mutex, so no write is under way,
    /// and the log is `log_len` bytes of generation `log_generation`), with the graph's edits
    /// while the journal stays within `graph_ratio` times the graph file, the whole graph
    /// otherwise.
    fn freeze(&self, log_generation: u32, log_len: u64, graph_ratio: f64) -> Result<Frozen> {
        let records = self.freeze_records();
        // The journal restarts here: from now on it holds the edits after this snapshot.
        let saved = self.saved_graph;
        let graph = match self.index.take_journal(journal_limit(&self.index)) {
            Some(edits) if saved.takes(edits.len(), graph_ratio) => {
                FrozenGraph::Journal { edits, base_crc: saved.crc, after: saved.journal }
            }
            _ => {
                let mut graph = Vec::new();
                self.index
                    .write_to(&mut graph)
                    .map_err(|e| Error::new(Code::Internal, format!("graph: {e}")))?;
                FrozenGraph::Whole(graph)
            }
        };
        // The codes of the frozen rows the snapshot does not hold yet (a copy, as for the graph:
        // writes go on once the freeze is over), so that the next open reads them instead of
        // encoding every vector again.
        let rows = self.slots.len();
        let codes = self.codes_covering(rows).map(|c| {
            let first_row = c.saved_rows().min(rows);
            let (encoded_clipped, encoded) = c.clipped();
            FrozenCodes {
                head: c.head_bytes(),
                row_len: c.packed_row_len(),
                lineage: c.lineage(),
                first_row,
                rows: c.packed_rows(first_row, rows),
                drift: [encoded, encoded_clipped],
            }
        });
        Ok(Frozen {
            generation: self.snapshot_generation + 1,
            codes,
            log_generation,
            log_start: log_len,
            vectors: self.vectors.freeze(),
            records,
            graph,
        })
    }
}

impl Inner {
    /// The records a checkpoint writes: the ones written since the snapshot, while its journal
    /// stays within [`RECORDS_JOURNAL_RATIO`] and [`RECORDS_JOURNAL_MAX_RATIO`], every record
    /// otherwise.
    /// From here on the marks are of the changes after this freeze.
    fn freeze_records(&self) -> FrozenRecords {
        let mut saved = self.saved_records.lock();
        let changed = std::mem::take(&mut saved.changed);
        let old_slots = std::mem::replace(&mut saved.slots, self.slots.len());
        let replacing_bound = RECORDS_JOURNAL_RATIO * saved.bytes as f64;
        let bound = RECORDS_JOURNAL_MAX_RATIO * saved.bytes as f64;
        let fits = |replacing: u64, all: u64| {
            (saved.replacing + replacing) as f64 <= replacing_bound && (saved.journal + all) as f64 <= bound
        };
        if !saved.whole && old_slots <= self.slots.len() && fits(0, 0) {
            let mut entries = Vec::new();
            for s in &changed {
                encode_records_journal_entry(&mut entries, s, &self.slots[s as usize].to_record());
                if !fits(entries.len() as u64, entries.len() as u64) {
                    break;
                }
            }
            let replacing = entries.len() as u64;
            if fits(replacing, replacing) {
                for s in old_slots..self.slots.len() {
                    encode_records_journal_entry(&mut entries, s as u32, &self.slots[s].to_record());
                    if !fits(replacing, entries.len() as u64) {
                        break;
                    }
                }
            }
            if fits(replacing, entries.len() as u64) {
                let (slots, base_crc, after) = (self.slots.len() as u64, saved.crc, saved.journal);
                return FrozenRecords::Journal { entries, slots, base_crc, after, replacing };
            }
        }
        FrozenRecords::Whole(self.slots.iter().map(super::Slot::to_record).collect())
    }
}

/// Bytes of a snapshot's files on disk, its manifest included.
pub(super) fn snapshot_disk_bytes(dir: &Path, manifest: &Manifest) -> u64 {
    let manifest_file =
        crate::storage::fsutil::file_len_or_zero(&dir.join(crate::storage::snapshot::MANIFEST_FILE));
    manifest.data_bytes() + manifest_file
}

#[cfg(test)]
mod tests;
