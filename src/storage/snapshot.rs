//! Snapshots: the store's whole state at one moment, in generation-numbered files, plus the manifest
//! that says which generation is current. Together with the log (which holds the writes made after
//! the snapshot, see [`super::log`]) they are the store's durable state.
//!
//! Files in the store directory, for generation G (printed with at least 6 digits):
//! ```text
//! snap-00000G.vectors     the vector of every slot            (format: super::vectors); G is the
//!                         generation that created it: later checkpoints append their new rows to
//!                         it and name it again (`FileEntry::since`), until a compaction (or a
//!                         backup's hard link to it) makes the next snapshot write a fresh one
//! snap-00000G.records     id, metadata, state, expiry of every slot; kept by later checkpoints
//!                         (`since`) that save only the records that changed, to
//! snap-00000G.recordslog  optional: the records journal, the records written since that records
//!                         file (each slot's newest record, per checkpoint); appended to like the
//!                         graph journal, until a checkpoint writes every record again
//! snap-00000G.graph       the serialised index graph (opaque bytes, may be empty); kept by later
//!                         checkpoints (`since`) that save only the graph's edits, to
//! snap-00000G.graphlog    optional: the graph journal, the edits made since that graph file
//!                         (`Hnsw::apply_journal` replays them at open); appended to like the
//!                         vectors file, until a checkpoint writes the whole graph again
//! snap-00000G.codes       optional: the int8 codes of every slot, so that an open does not
//!                         re-encode every vector; appended to like the vectors file, until a
//!                         retraining, a compaction or a backup's link makes a fresh one
//! vecstore.snapshot.json  the manifest: the commit point
//! ```
//!
//! Records, graph and format 1 codes files share one layout (integers little-endian):
//! ```text
//! offset  0: magic "VSREC\0\0\0", "VSGRAPH\0" or "VSCODES\0"
//! offset  8: format version u32 (1)
//! offset 12: crc32 (IEEE) of the payload u32
//! offset 16: count u64 (records: number of records; graph: payload length; codes: rows)
//! offset 24: payload length u64 (must be the file length - 32)
//! offset 32: payload (records: bincode 1, fixed-int, of Vec<SlotRecord>; graph: the bytes;
//!            codes: `Codes::to_bytes`)
//! ```
//!
//! An appendable (format 3) codes file has the same magic and version 3 at offset 8, zeros up to
//! offset 32, then the u32 length of the codes' head (`Codes::head_bytes`: ranges, metric, row
//! length, lineage), the head, and one packed code row per slot (`Codes::packed_row_len` bytes: no
//! padding to whole cache lines). Format 2 is the same with rows padded as in memory; it is read,
//! never appended to (the next checkpoint writes format 3). Its committed extent (`FileEntry::bytes`) and the
//! crc32 of the extent's bytes after offset 32 are in the manifest, with the drift counters
//! (`codes_drift`), which change at every checkpoint while the head never does. Appending needs the
//! current file's head to be the frozen codes' (same training, same rows: a retraining or a
//! compaction makes a new lineage and so a fresh file).
//!
//! A graph journal file has the magic "VSGJRNL\0", version 2 (or 1) at offset 8, the crc32 of the graph
//! file's payload it continues at offset 12 (so that a journal is never replayed on another
//! graph), zeros up to offset 32, then the journal's bytes. Its committed extent and the crc32 of
//! the bytes after offset 32 are in the manifest (`graph_journal`), as for codes.
//!
//! A records journal file has the magic "VSRJRNL\0", version 1 at offset 8, the crc32 of the
//! records file's payload it continues at offset 12, zeros up to offset 32, then entries: a slot
//! u32 and a record encoded as in a records payload. An entry for a slot the records already have
//! replaces its record; one for the next slot adds it. Its committed extent and crc are in the
//! manifest (`records_journal`).
//!
//! The manifest is JSON (readable when debugging a store) with its own crc: `checksum` is the crc32 of
//! the compact JSON of the manifest with `checksum` set to 0. It names the generation, each file with
//! its size and payload crc, the number of slots, the dimension and the log generation that follows
//! this snapshot.
//!
//! ## Writing (crash safety)
//! When the vectors being written begin with exactly the rows of the current vectors file (the
//! store maps it, and a checkpoint adds rows after it), [`write_snapshot`] appends the new rows to that
//! file and fsyncs it (and the same for codes that [`CodesPart::first_row`] says continue the current
//! codes file): its committed rows are never touched, and until the new manifest names the
//! longer extent the appended bytes are ignored (a crash leaves the old snapshot whole). Otherwise,
//! and for every other file, it writes each file under a temporary name (`*.tmp`), fsyncs it, renames it into
//! place, fsyncs the directory, and only then replaces the manifest atomically (temporary file, fsync,
//! rename, directory fsync). Replacing the manifest is the commit: before it, the old manifest names the
//! old generation's files, which were not touched; after it, the new files are durable. Only then are
//! the other generations' files deleted. A crash at any point leaves the old snapshot or the new one
//! complete and named by the manifest.
//!
//! ## Loading
//! [`load_snapshot`] reads the manifest (none: `Ok(None)`), checks every file against it (present,
//! exact size, header crc equal to the manifest's), maps the vectors, reads and crc-checks records and
//! graph, and checks that every count agrees. Any disagreement is `Code::Corrupt` naming the file; no
//! length read from a file is trusted for an allocation before it is checked against the file's real
//! size. Then it removes leftovers of interrupted writes: temporary files and files of generations other
//! than the manifest's. (With no manifest, it removes only temporary files: `snap-*` files without a
//! manifest are either an uncommitted first snapshot, harmless, or a store whose manifest was lost, and
//! then they are the only copy of the data.) The vector data crc is not checked at load (it would read
//! the whole file); [`verify_snapshot`] checks everything, for check tools and tests.
//!
//! Writing and loading must happen with the directory lock held ([`super::lock::DirLock`]), since both
//! remove files they consider stray.
//!
//! <!-- Full paths: the `cbindgen:ignore` doc on this module's declaration makes rustdoc resolve
//! these docs from the parent module. -->
//! [`super::log`]: crate::storage::log
//! [`write_snapshot`]: crate::storage::snapshot::write_snapshot
//! [`load_snapshot`]: crate::storage::snapshot::load_snapshot
//! [`verify_snapshot`]: crate::storage::snapshot::verify_snapshot
//! [`super::lock::DirLock`]: crate::storage::lock::DirLock

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bincode::Options;
use serde::{Deserialize, Serialize};

use super::fsutil::sync_dir;
use super::vectors::{
    append_vectors_file, write_vectors_file, Extent, VectorBlock, WrittenFile, VECTORS_FORMAT_APPENDABLE,
    VECTORS_HEADER_LEN,
};
use crate::error::{Code, Error, Result};

pub const MANIFEST_FILE: &str = "vecstore.snapshot.json";
/// Version 2 added `log_start`, version 3 the optional `codes` file, version 4 a vectors file
/// kept across generations (`FileEntry::since`), version 5 appendable codes, version 6 the graph
/// journal (a graph file kept across generations), version 7 the records journal (a records file
/// kept across generations); all older versions are still read.
pub(crate) const MANIFEST_FORMAT_VERSION: u32 = 7;
pub(crate) const RECORDS_MAGIC: &[u8; 8] = b"VSREC\0\0\0";
pub(crate) const RECORDS_FORMAT_VERSION: u32 = 1;
pub(crate) const GRAPH_MAGIC: &[u8; 8] = b"VSGRAPH\0";
pub(crate) const GRAPH_FORMAT_VERSION: u32 = 1;
pub(crate) const CODES_MAGIC: &[u8; 8] = b"VSCODES\0";
pub(crate) const CODES_FORMAT_VERSION: u32 = 1;
/// Codes files since manifest format 5: the header's crc, count and length are 0, the committed
/// extent (and its crc) is in the manifest, and checkpoints append new rows (see [`CodesPart`]).
/// Version 3 packs the rows (version 2, still read, padded them as in memory).
pub(crate) const CODES_FORMAT_APPENDABLE: u32 = 3;
pub(crate) const CODES_FORMAT_APPENDABLE_PADDED: u32 = 2;
pub(crate) const GRAPH_JOURNAL_MAGIC: &[u8; 8] = b"VSGJRNL\0";
/// Version 2 added the short entry kinds RUN, APPEND and PUT (`hnsw/journal.rs`); version 1 files
/// (LIST entries only, which version 2 still has) are read, and a checkpoint that would append to
/// one writes it again, whole, as version 2.
pub(crate) const GRAPH_JOURNAL_FORMAT_VERSION: u32 = 2;
pub(crate) const RECORDS_JOURNAL_MAGIC: &[u8; 8] = b"VSRJRNL\0";
pub(crate) const RECORDS_JOURNAL_FORMAT_VERSION: u32 = 1;
const BLOB_HEADER_LEN: usize = 32;
const TMP_SUFFIX: &str = ".tmp";

/// Everything the store keeps about one slot besides its vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRecord {
    pub id: String,
    /// Canonical JSON text.
    pub metadata: String,
    /// [`SlotRecord::LIVE`], [`SlotRecord::DELETED`] or [`SlotRecord::SOFT_DELETED`].
    pub state: u8,
    /// Unix seconds; 0 = never.
    pub expires_at: u64,
}

// Associated constants rather than free ones: cbindgen exports every free `pub const` of the crate
// into include/vecstore.h, and these are not part of the C ABI.
impl SlotRecord {
    /// `state` of a live record.
    pub const LIVE: u8 = 0;
    /// `state` of a deleted record or a replaced vector (a tombstone, until compaction).
    pub const DELETED: u8 = 1;
    /// `state` of a soft-deleted record (restorable).
    pub const SOFT_DELETED: u8 = 2;
}

/// The files of a snapshot: three in every snapshot, the codes when the store keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Vectors,
    Records,
    Graph,
    Codes,
    /// The edits of the graph since its file was written (`Hnsw::apply_journal`).
    GraphJournal,
    /// The records written since the records file was.
    RecordsJournal,
}

impl FileKind {
    pub const ALL: [FileKind; 6] = [
        FileKind::Vectors,
        FileKind::Records,
        FileKind::Graph,
        FileKind::Codes,
        FileKind::GraphJournal,
        FileKind::RecordsJournal,
    ];
    /// The files every snapshot has.
    pub const REQUIRED: [FileKind; 3] = [FileKind::Vectors, FileKind::Records, FileKind::Graph];

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Vectors => "vectors",
            FileKind::Records => "records",
            FileKind::Graph => "graph",
            FileKind::Codes => "codes",
            FileKind::GraphJournal => "graphlog",
            FileKind::RecordsJournal => "recordslog",
        }
    }

    /// Whether the manifest may name the file with a committed extent shorter than the file (an
    /// append that was never committed): the files checkpoints append to.
    fn appendable(self) -> bool {
        matches!(
            self,
            FileKind::Vectors | FileKind::Codes | FileKind::GraphJournal | FileKind::RecordsJournal
        )
    }
}

/// The name of a snapshot file: `snap-000007.vectors`.
pub fn snapshot_file_name(generation: u64, kind: FileKind) -> String {
    format!("snap-{generation:06}.{}", kind.extension())
}

/// Parses `snap-<digits>.<kind>[.tmp]` into (generation, is_temporary).
fn parse_snapshot_file_name(name: &str) -> Option<(u64, bool)> {
    let rest = name.strip_prefix("snap-")?;
    let (rest, tmp) = match rest.strip_suffix(TMP_SUFFIX) {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (digits, ext) = rest.split_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !FileKind::ALL.iter().any(|k| k.extension() == ext) {
        return None;
    }
    Some((digits.parse().ok()?, tmp))
}

/// One file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub name: String,
    /// Exact file length; for an appendable vectors file, the length of its committed extent (the
    /// file may be longer by an append that was never committed).
    pub bytes: u64,
    /// The payload crc, as also stored in the file's header (a version 1 vectors file) or only here
    /// (records, graph and codes files keep it in their header too; an appendable vectors file not).
    pub crc32: u32,
    /// The generation whose checkpoint created the file, when older than the manifest's: a file
    /// that later checkpoints appended to (vectors since format version 4, codes since 5, the
    /// journals) or kept (the graph since 6, the records since 7). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

/// The manifest (`vecstore.snapshot.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub generation: u64,
    pub dimension: usize,
    /// Number of slots: rows of the vectors file, and records of the records file with the ones
    /// its journal adds.
    pub slots: u64,
    /// The generation of the log that follows this snapshot (see the log module's docs).
    pub log_generation: u32,
    /// Byte offset in the log of `log_generation` up to which this snapshot holds the log's frames
    /// (a checkpoint written while writes went on froze the log there); 0: the snapshot holds none
    /// of that log. See `Log::open_from`. Left out of the JSON when 0, so that a version 1 manifest
    /// (which has no such field) checks against the same text it was written as.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub log_start: u64,
    pub vectors: FileEntry,
    pub records: FileEntry,
    /// The records written since the records file was (format version 7), applied to them at
    /// open; absent when the records file holds every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_journal: Option<FileEntry>,
    pub graph: FileEntry,
    /// The graph's edits since the graph file was written (format version 6), replayed on it at
    /// open; absent when the graph file is the whole graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_journal: Option<FileEntry>,
    /// The int8 codes (format version 3); absent in older manifests and in snapshots of stores
    /// without codes, which then encode them at open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<FileEntry>,
    /// The codes' drift counters (components encoded, and clipped, since training) for an
    /// appendable codes file, whose head does not change (format version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes_drift: Option<[u64; 2]>,
    /// crc32 of the compact JSON of this manifest with `checksum` = 0.
    pub checksum: u32,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Manifest {
    /// The entry of one file; `None` for the codes of a snapshot that has none.
    pub fn entry(&self, kind: FileKind) -> Option<&FileEntry> {
        match kind {
            FileKind::Vectors => Some(&self.vectors),
            FileKind::Records => Some(&self.records),
            FileKind::Graph => Some(&self.graph),
            FileKind::Codes => self.codes.as_ref(),
            FileKind::GraphJournal => self.graph_journal.as_ref(),
            FileKind::RecordsJournal => self.records_journal.as_ref(),
        }
    }

    /// The files this snapshot has, with their entries.
    pub fn files(&self) -> impl Iterator<Item = (FileKind, &FileEntry)> {
        FileKind::ALL.into_iter().filter_map(|k| self.entry(k).map(|e| (k, e)))
    }

    /// Bytes of this snapshot's files (the manifest aside).
    pub fn data_bytes(&self) -> u64 {
        self.files().map(|(_, e)| e.bytes).sum()
    }

    /// Where one of this snapshot's files is, in store directory `dir` (for a kind the snapshot
    /// does not have, where this generation's would be).
    pub fn file_path(&self, dir: &Path, kind: FileKind) -> PathBuf {
        dir.join(self.file_name(kind))
    }

    /// The name of one of this snapshot's files: of the generation that created it.
    fn file_name(&self, kind: FileKind) -> String {
        let created = self.entry(kind).and_then(|e| e.since).unwrap_or(self.generation);
        snapshot_file_name(created, kind)
    }

    /// Bytes of journal entries the snapshot's journal of `kind` holds (0 without one).
    pub fn journal_bytes(&self, kind: FileKind) -> u64 {
        self.entry(kind).map_or(0, |e| e.bytes.saturating_sub(BLOB_HEADER_LEN as u64))
    }

    /// The committed extent of the vectors file.
    pub fn vectors_extent(&self) -> Extent {
        Extent { rows: self.slots, crc32: self.vectors.crc32 }
    }

    pub(crate) fn compute_checksum(&self) -> u32 {
        let mut m = self.clone();
        m.checksum = 0;
        crc32fast::hash(&serde_json::to_vec(&m).expect("manifest serialises"))
    }
}

/// What [`write_snapshot`] writes.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotContents<'a> {
    /// Must be greater than the current manifest's generation (so no live file is overwritten).
    pub generation: u64,
    /// One row per slot; its dimension is the snapshot's.
    pub vectors: &'a VectorBlock,
    /// One record per slot, same order as the rows: all of them, or the ones written since the
    /// current snapshot's.
    pub records: RecordsPart<'a>,
    /// The index's graph: whole, or the edits since the current snapshot's.
    pub graph: GraphPart<'a>,
    /// The int8 codes of every slot, when the store keeps them.
    pub codes: Option<CodesPart<'a>>,
    /// The generation of the log that follows this snapshot: the current log's + 1 when the log is
    /// reset after it (compaction), the current log's when `log_start` says where in it the
    /// snapshot stops (a checkpoint).
    pub next_log_generation: u32,
    /// The manifest's `log_start`: 0, or the byte of log `next_log_generation` up to which the
    /// snapshot holds its frames.
    pub log_start: u64,
}

/// The records a snapshot writes.
#[derive(Debug, Clone, Copy)]
pub enum RecordsPart<'a> {
    /// Every slot's record, in a fresh records file.
    Whole(&'a [SlotRecord]),
    /// The records written since the current snapshot (see [`encode_records_journal_entry`]: its
    /// slots' records that changed, then the slots added after them), making `slots` slots in
    /// all: the snapshot keeps the current records file and appends these to its journal.
    Journal {
        entries: &'a [u8],
        slots: u64,
        /// The crc of the records file the entries continue, and the length of the journal
        /// already committed after it: checked against the current manifest, as for the graph.
        base_crc: u32,
        after: u64,
    },
}

impl RecordsPart<'_> {
    /// The number of slots the snapshot has.
    pub fn slots(&self) -> u64 {
        match self {
            RecordsPart::Whole(r) => r.len() as u64,
            RecordsPart::Journal { slots, .. } => *slots,
        }
    }
}

/// Appends to `out` the records journal entry that gives slot `slot` the record `r`.
pub fn encode_records_journal_entry(out: &mut Vec<u8>, slot: u32, r: &SlotRecord) {
    out.extend_from_slice(&slot.to_le_bytes());
    bincode_options().serialize_into(&mut *out, r).expect("a record encodes into memory");
}

/// The graph a snapshot writes.
#[derive(Debug, Clone, Copy)]
pub enum GraphPart<'a> {
    /// The serialised graph (`Hnsw::write_to`; may be empty), in a fresh graph file.
    Whole(&'a [u8]),
    /// The graph's edits since the current snapshot's graph (`Hnsw::take_journal`): the snapshot
    /// keeps that graph file and appends the edits to its journal.
    Journal {
        edits: &'a [u8],
        /// The crc of the graph file the edits continue, and the length of the journal already
        /// committed after it: checked against the current manifest, so that edits are never
        /// appended to a graph they were not made on.
        base_crc: u32,
        after: u64,
    },
}

/// The codes a snapshot writes: the head of their file and the rows after the ones the current
/// snapshot's codes file already holds. `first_row` > 0 says that the current codes file has rows
/// `0..first_row` of these very codes (same head): they are appended to (or, when that file cannot
/// take an append, copied from it into a fresh file).
#[derive(Debug, Clone, Copy)]
pub struct CodesPart<'a> {
    /// `Codes::head_bytes`: ranges, metric, row length, lineage.
    pub head: &'a [u8],
    /// Bytes per code row in the file.
    pub row_len: usize,
    pub first_row: u64,
    /// The code bytes of rows `first_row..` (one per slot after it).
    pub rows: &'a [u8],
    /// The drift counters: components encoded and clipped since training.
    pub drift: [u64; 2],
}

/// A snapshot's codes file, as loaded: its committed bytes after the file header.
#[derive(Debug)]
pub enum SavedCodes {
    /// Format 1: `Codes::to_bytes`, the drift counters inside.
    Whole(Payload),
    /// Formats 2 and 3: `Codes::head_bytes` behind its u32 length, then one code row per slot
    /// (`packed` in format 3, padded as in memory in format 2); the drift counters from the
    /// manifest.
    Appendable { payload: Payload, drift: [u64; 2], packed: bool },
}

impl SavedCodes {
    /// Of a format 2 or 3 file: `Codes::head_bytes` and the rows after it, without the head's length
    /// prefix (checked to fit when the file was read).
    pub fn head_and_rows(&self) -> Option<&[u8]> {
        match self {
            SavedCodes::Whole(_) => None,
            SavedCodes::Appendable { payload, .. } => Some(&payload[4..]),
        }
    }
}

/// A snapshot as loaded.
#[derive(Debug)]
pub struct LoadedSnapshot {
    pub generation: u64,
    pub dimension: usize,
    /// The log generation to open the log with ([`super::log::Log::open`]'s `expected_generation`).
    pub log_generation: u32,
    /// All rows mapped from the vectors file (none in the tail).
    pub vectors: VectorBlock,
    /// Every slot's record, checked, read from the mapped file.
    pub records: Records,
    /// The graph file's payload (mapped; see [`Payload`]).
    pub graph: Payload,
    /// The graph's edits since that file, to replay on it (`Hnsw::apply_journal`).
    pub graph_journal: Option<Payload>,
    /// The codes file, when the snapshot has one; its row count is the slot count.
    pub codes: Option<SavedCodes>,
    pub manifest: Manifest,
}

/// Where the writer stops early, to simulate a crash in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopAfter {
    Nothing,
    TempFiles,
    DataFiles,
    Manifest,
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(TMP_SUFFIX);
    PathBuf::from(s)
}

/// Writes snapshot `contents.generation` into `dir` and commits it (see the module docs); returns its
/// manifest. On error, the previous snapshot (if any) is still the current one, except when the error
/// came from the final directory sync of the manifest, in which case either may be.
pub fn write_snapshot(dir: &Path, contents: &SnapshotContents<'_>) -> Result<Manifest> {
    Ok(write_snapshot_until(dir, contents, StopAfter::Nothing)?.expect("an unstopped write runs to the end"))
}

/// The writer; `Ok(None)` when `stop` ended it before the manifest was written.
fn write_snapshot_until(dir: &Path, c: &SnapshotContents<'_>, stop: StopAfter) -> Result<Option<Manifest>> {
    let dim = c.vectors.dim();
    if u32::try_from(dim).is_err() {
        return Err(Error::invalid(format!("dimension {dim} is too large")));
    }
    let slots = c.records.slots();
    if slots != c.vectors.len() as u64 {
        return Err(Error::invalid(format!(
            "snapshot has {slots} records but {} vector rows; there must be one of each per slot",
            c.vectors.len()
        )));
    }
    if let Some(why) = match c.records {
        RecordsPart::Whole(records) => unknown_state(records),
        RecordsPart::Journal { .. } => None, // checked with the current snapshot's slots below
    } {
        return Err(Error::invalid(why));
    }
    let current = read_manifest(dir)?;
    if let Some(current) = &current {
        if c.generation <= current.generation {
            return Err(Error::invalid(format!(
                "snapshot generation {} is not newer than the current generation {}",
                c.generation, current.generation
            )));
        }
        // Equal is allowed: a checkpoint retried after its log reset failed asks for the same one.
        if c.next_log_generation < current.log_generation {
            return Err(Error::invalid(format!(
                "snapshot asks for log generation {}, older than the current snapshot's {}",
                c.next_log_generation, current.log_generation
            )));
        }
    }

    if let Some(cp) = &c.codes {
        let rows = cp.first_row + (cp.rows.len() / cp.row_len.max(1)) as u64;
        if cp.row_len == 0 || cp.rows.len() % cp.row_len != 0 || rows != slots {
            return Err(Error::invalid(format!(
                "snapshot has codes of {rows} rows of {} bytes ({} bytes after row {}) for {} slots",
                cp.row_len,
                cp.rows.len(),
                cp.first_row,
                slots
            )));
        }
    }
    let append = current.as_ref().and_then(|m| appendable_vectors(dir, m, c.vectors));
    let codes_write = match &c.codes {
        Some(cp) => Some(plan_codes(dir, current.as_ref(), cp)?),
        None => None,
    };
    let journal_write = match c.graph {
        GraphPart::Whole(_) => None,
        GraphPart::Journal { base_crc, after, .. } => {
            Some(plan_journal(dir, current.as_ref(), FileKind::GraphJournal, base_crc, after)?)
        }
    };
    let records_write = match c.records {
        RecordsPart::Whole(_) => None,
        RecordsPart::Journal { entries, slots, base_crc, after } => {
            let plan = plan_journal(dir, current.as_ref(), FileKind::RecordsJournal, base_crc, after)?;
            let before = current.as_ref().map_or(0, |m| m.slots);
            let now = index_records_journal(entries, before)
                .map_err(|e| Error::invalid(format!("the records' changes do not decode: {e}")))?
                .slots;
            if now != slots {
                return Err(Error::invalid(format!(
                    "the records' changes make {now} slots of the snapshot's {before}, not {slots}"
                )));
            }
            Some(plan)
        }
    };
    // The files this generation writes afresh: every kind but the ones appended to or kept.
    let mut fresh_kinds = Vec::new();
    if records_write.is_none() {
        fresh_kinds.push(FileKind::Records);
    }
    if matches!(records_write, Some((_, AppendWrite::Fresh { .. }))) {
        fresh_kinds.push(FileKind::RecordsJournal);
    }
    if append.is_none() {
        fresh_kinds.push(FileKind::Vectors);
    }
    if journal_write.is_none() {
        fresh_kinds.push(FileKind::Graph);
    }
    if matches!(codes_write, Some(AppendWrite::Fresh { .. })) {
        fresh_kinds.push(FileKind::Codes);
    }
    if matches!(journal_write, Some((_, AppendWrite::Fresh { .. }))) {
        fresh_kinds.push(FileKind::GraphJournal);
    }
    let fresh: Vec<(FileKind, PathBuf)> =
        fresh_kinds.into_iter().map(|k| (k, dir.join(snapshot_file_name(c.generation, k)))).collect();
    let plans = WritePlans {
        vectors: append.as_ref(),
        codes: codes_write.as_ref(),
        journal: journal_write.as_ref(),
        records_journal: records_write.as_ref(),
    };
    let written = write_data_files(dir, c, &fresh, &plans, stop);
    let written = match written {
        Ok(Some(w)) => w,
        Ok(None) => return Ok(None), // simulated crash
        Err(e) => {
            // Not committed: nothing refers to this generation's files, remove what exists of them.
            // (Rows appended to the current vectors or codes file stay past its committed extent,
            // where they are ignored.)
            for (_, f) in &fresh {
                let _ = std::fs::remove_file(tmp_path(f));
                let _ = std::fs::remove_file(f);
            }
            return Err(e);
        }
    };
    if stop == StopAfter::DataFiles {
        return Ok(None);
    }

    let entry = |kind: FileKind, w: &WrittenFile| FileEntry {
        name: snapshot_file_name(c.generation, kind),
        bytes: w.bytes,
        crc32: w.crc32,
        since: None,
    };
    let appended =
        |a: &AppendTo, w: &WrittenFile| FileEntry { bytes: w.bytes, crc32: w.crc32, ..a.entry.clone() };
    let vectors = match &append {
        Some(a) => appended(a, &written.vectors),
        None => entry(FileKind::Vectors, &written.vectors),
    };
    let graph = match (&journal_write, &written.graph) {
        (Some((kept, _)), _) => kept.clone(),
        (None, Some(w)) => entry(FileKind::Graph, w),
        (None, None) => unreachable!("a graph written whole"),
    };
    let journal_entry =
        |plan: &Option<(FileEntry, AppendWrite)>, w: &Option<WrittenFile>, kind| match (plan, w) {
            (Some((_, AppendWrite::Append(a))), Some(w)) => Some(appended(a, w)),
            (Some((_, AppendWrite::Fresh { .. })), Some(w)) => Some(entry(kind, w)),
            _ => None,
        };
    let graph_journal = journal_entry(&journal_write, &written.journal, FileKind::GraphJournal);
    let records = match (&records_write, &written.records) {
        (Some((kept, _)), _) => kept.clone(),
        (None, Some(w)) => entry(FileKind::Records, w),
        (None, None) => unreachable!("records written whole"),
    };
    let records_journal = journal_entry(&records_write, &written.records_journal, FileKind::RecordsJournal);
    let mut manifest = Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        generation: c.generation,
        dimension: dim,
        slots,
        log_generation: c.next_log_generation,
        log_start: c.log_start,
        vectors,
        records,
        records_journal,
        graph,
        graph_journal,
        codes: written.codes.as_ref().map(|w| match &codes_write {
            Some(AppendWrite::Append(a)) => appended(a, w),
            _ => entry(FileKind::Codes, w),
        }),
        codes_drift: c.codes.map(|cp| cp.drift),
        checksum: 0,
    };
    manifest.checksum = manifest.compute_checksum();
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    // The commit point. On failure nothing is removed: if only the directory sync failed, the new
    // manifest may be in place and both generations' files must survive until the next load decides.
    //
    // Once the rename has put the manifest in place the generation is committed (readers and the
    // next open see it), even if the directory sync fails: returning an error then would leave the
    // caller appending to the log this manifest calls old, and the next open would discard those
    // acknowledged writes. Every caller resets the log next, which fsyncs this same directory (making
    // the rename durable too) or, failing that, refuses writes until the store is reopened.
    let _unsynced = super::fsutil::write_atomically_placed(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    if stop == StopAfter::Manifest {
        return Ok(Some(manifest));
    }
    remove_stray_files(dir, Some(&manifest));
    Ok(Some(manifest))
}

/// The current vectors file, as the next manifest names it, when a snapshot of `block` can append
/// to it rather than write every row again.
struct AppendTo {
    /// The current manifest's entry, `since` filled in.
    entry: FileEntry,
    path: PathBuf,
    /// Rows already committed in it.
    rows: u64,
}

/// Whether a snapshot of `block` can append its new rows to the vectors file of `current`: the block
/// maps exactly that file's committed extent (so its first rows are the file's), the file is
/// appendable, and no other name links to it (a backup's hard link must not see it change).
fn appendable_vectors(dir: &Path, current: &Manifest, block: &VectorBlock) -> Option<AppendTo> {
    let path = current.file_path(dir, FileKind::Vectors);
    let same = block.mapped_path() == Some(path.as_path())
        && block.mapped_rows() as u64 == current.slots
        && block.file_crc() == Some(current.vectors.crc32)
        && block.file_version() == Some(VECTORS_FORMAT_APPENDABLE);
    if !same || linked_elsewhere(&path) {
        return None;
    }
    let since = Some(current.vectors.since.unwrap_or(current.generation));
    Some(AppendTo { entry: FileEntry { since, ..current.vectors.clone() }, path, rows: current.slots })
}

/// How a snapshot writes a file that checkpoints append to (codes, graph journal).
enum AppendWrite {
    /// Append the new bytes to the current file.
    Append(AppendTo),
    /// A fresh file: the committed bytes of the current file (read from it when it cannot be
    /// appended to: a backup links it, say; for codes, their head first), then the new bytes.
    Fresh { old: Vec<u8> },
}

/// How [`write_data_files`] writes the files it does not write afresh.
struct WritePlans<'a> {
    /// Append the new vector rows to the current vectors file.
    vectors: Option<&'a AppendTo>,
    codes: Option<&'a AppendWrite>,
    /// Keep the graph file (its manifest entry) and write its journal so.
    journal: Option<&'a (FileEntry, AppendWrite)>,
    /// Keep the records file (its manifest entry) and write its journal so.
    records_journal: Option<&'a (FileEntry, AppendWrite)>,
}

/// What [`write_data_files`] wrote.
struct Written {
    vectors: WrittenFile,
    /// `None` when the records file is kept (its journal is written).
    records: Option<WrittenFile>,
    records_journal: Option<WrittenFile>,
    /// `None` when the graph file is kept (its journal is written).
    graph: Option<WrittenFile>,
    codes: Option<WrittenFile>,
    journal: Option<WrittenFile>,
}

/// A journal file's kind: the kind of the file it continues, its magic and version, and what it
/// is called in messages.
fn journal_format(kind: FileKind) -> (FileKind, &'static [u8; 8], u32, &'static str) {
    match kind {
        FileKind::GraphJournal => {
            (FileKind::Graph, GRAPH_JOURNAL_MAGIC, GRAPH_JOURNAL_FORMAT_VERSION, "graph journal")
        }
        FileKind::RecordsJournal => {
            (FileKind::Records, RECORDS_JOURNAL_MAGIC, RECORDS_JOURNAL_FORMAT_VERSION, "records journal")
        }
        other => unreachable!("{other:?} is not a journal"),
    }
}

/// The header of a journal file of `kind`: magic, version, the crc of the file it continues,
/// zeros (the extent and its crc are in the manifest).
fn journal_header(kind: FileKind, base_crc: u32) -> [u8; BLOB_HEADER_LEN] {
    journal_header_of_version(kind, base_crc, journal_format(kind).2)
}

/// The versions of a journal of `kind` that are read: the current one and the older ones whose
/// entries the current reader still understands.
fn journal_versions_read(kind: FileKind) -> std::ops::RangeInclusive<u32> {
    1..=journal_format(kind).2
}

fn journal_header_of_version(kind: FileKind, base_crc: u32, version: u32) -> [u8; BLOB_HEADER_LEN] {
    let (_, magic, _, _) = journal_format(kind);
    let mut h = [0u8; BLOB_HEADER_LEN];
    h[..8].copy_from_slice(magic);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h[12..16].copy_from_slice(&base_crc.to_le_bytes());
    h
}

/// Decides how the entries of a journal of `kind` (graph edits, records) are written: the file
/// they continue is kept (returned: its entry for the next manifest), and the entries are appended
/// to its journal (a fresh journal when it has none, or when a backup links the current one).
fn plan_journal(
    dir: &Path,
    current: Option<&Manifest>,
    kind: FileKind,
    base_crc: u32,
    after: u64,
) -> Result<(FileEntry, AppendWrite)> {
    let (base_kind, _, _, what) = journal_format(kind);
    let refuse = |why: String| Error::new(Code::Internal, format!("the {what} cannot be saved: {why}"));
    let current = current.ok_or_else(|| refuse("there is no snapshot to continue".into()))?;
    let base = current.entry(base_kind).expect("every snapshot has it");
    if base.crc32 != base_crc {
        return Err(refuse(format!(
            "it continues file {base_crc:08x}, the snapshot's {} is {:08x}",
            base_kind.extension(),
            base.crc32
        )));
    }
    let journal = current.entry(kind);
    let committed = current.journal_bytes(kind);
    if committed != after {
        return Err(refuse(format!("it follows {after} bytes of journal, the snapshot has {committed}")));
    }
    let kept = FileEntry { since: Some(base.since.unwrap_or(current.generation)), ..base.clone() };
    let how = match journal {
        None => AppendWrite::Fresh { old: Vec::new() },
        Some(e) => {
            let path = current.file_path(dir, kind);
            // A backup links the file (appending would change the backup), or the file is of an
            // older version (its header cannot name the entries appended now): write it again.
            if linked_elsewhere(&path) || blob_format_version(&path) != Some(journal_format(kind).2) {
                AppendWrite::Fresh { old: read_journal(dir, current, kind)?.to_vec() }
            } else {
                let since = Some(e.since.unwrap_or(current.generation));
                AppendWrite::Append(AppendTo { entry: FileEntry { since, ..e.clone() }, path, rows: 0 })
            }
        }
    };
    Ok((kept, how))
}

/// The committed journal of `kind` of `manifest` (which must have one), checked: magic, version,
/// the file it continues, length and crc.
fn read_journal(dir: &Path, manifest: &Manifest, kind: FileKind) -> Result<Payload> {
    let (base_kind, _, _, what) = journal_format(kind);
    let path = manifest.file_path(dir, kind);
    let entry =
        manifest.entry(kind).ok_or_else(|| Error::corrupt(&path, format!("the snapshot has no {what}")))?;
    // An older version's header when the file says so (the reader reads its entries too).
    let version = blob_format_version(&path).filter(|v| journal_versions_read(kind).contains(v));
    let header = journal_header_of_version(kind, 0, version.unwrap_or(journal_format(kind).2));
    let payload = read_appendable(&path, entry, &header, what)?;
    let base = u32::from_le_bytes(payload.map[12..16].try_into().expect("4 bytes"));
    let want = manifest.entry(base_kind).expect("every snapshot has it").crc32;
    if base != want {
        return Err(Error::corrupt(
            &path,
            format!(
                "the journal continues {} {base:08x}, the snapshot's is {want:08x}",
                base_kind.extension()
            ),
        ));
    }
    Ok(payload)
}

/// The committed graph journal of `manifest` (which must have one), checked: magic, version, the
/// graph it continues, length and crc.
pub fn read_graph_journal(dir: &Path, manifest: &Manifest) -> Result<Payload> {
    read_journal(dir, manifest, FileKind::GraphJournal)
}

/// The committed records journal of `manifest` (which must have one), checked as the graph's is;
/// its entries are checked by [`Records`] or [`apply_records_journal`].
pub fn read_records_journal(dir: &Path, manifest: &Manifest) -> Result<Payload> {
    read_journal(dir, manifest, FileKind::RecordsJournal)
}

/// Decides how the codes of `cp` are written (see [`CodesPart`]).
fn plan_codes(dir: &Path, current: Option<&Manifest>, cp: &CodesPart<'_>) -> Result<AppendWrite> {
    if cp.first_row == 0 {
        return Ok(AppendWrite::Fresh { old: Vec::new() });
    }
    let missing = || {
        Error::new(
            Code::Internal,
            format!("the codes of rows 0..{} are not in the current snapshot's codes file", cp.first_row),
        )
    };
    let current = current.filter(|m| m.slots == cp.first_row).ok_or_else(missing)?;
    let entry = current.codes.as_ref().ok_or_else(missing)?;
    let path = current.file_path(dir, FileKind::Codes);
    // Only a format 3 file is appended to: its rows are packed as these are.
    let saved = read_appendable_codes(&path, entry, CODES_FORMAT_APPENDABLE)?;
    let head_len = 4 + cp.head.len();
    let same_head = saved.get(..4) == Some(&(cp.head.len() as u32).to_le_bytes()[..])
        && saved.get(4..head_len) == Some(cp.head);
    if !same_head || (saved.len() - head_len) as u64 != cp.first_row * cp.row_len as u64 {
        return Err(missing());
    }
    if linked_elsewhere(&path) {
        return Ok(AppendWrite::Fresh { old: saved[head_len..].to_vec() });
    }
    let since = Some(entry.since.unwrap_or(current.generation));
    let entry = FileEntry { since, ..entry.clone() };
    Ok(AppendWrite::Append(AppendTo { entry, path, rows: cp.first_row }))
}

/// Whether the file has more than one name (or that cannot be told): appending to it would change
/// what the other names hold.
fn linked_elsewhere(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).map_or(true, |m| m.nlink() != 1)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// Steps 1 and 2: the vectors appended to the current file (or written afresh), and so on for
/// codes and graph journal (`plans`), the other files (`fresh`) as temporary files, fsynced, renamed
/// into place, directory fsynced. `Ok(None)` when stopped early for a test.
fn write_data_files(
    dir: &Path,
    c: &SnapshotContents<'_>,
    fresh: &[(FileKind, PathBuf)],
    plans: &WritePlans<'_>,
    stop: StopAfter,
) -> Result<Option<Written>> {
    let tmp_of = |kind: FileKind| fresh.iter().find(|(k, _)| *k == kind).map(|(_, f)| tmp_path(f));
    let dim = c.vectors.dim();
    let vectors = match plans.vectors {
        Some(a) => {
            let base = WrittenFile { bytes: a.entry.bytes, crc32: a.entry.crc32, count: a.rows };
            let new_rows = (a.rows as u32..c.vectors.len() as u32).map(|r| c.vectors.get(r));
            append_vectors_file(&a.path, dim, &base, new_rows)?
        }
        None => {
            write_vectors_file(&tmp_of(FileKind::Vectors).expect("written afresh"), dim, c.vectors.rows())?
        }
    };
    let (records, records_journal) = match (c.records, plans.records_journal) {
        (RecordsPart::Whole(all), _) => {
            let records_tmp = tmp_of(FileKind::Records).expect("written whole");
            let w = write_blob_file(
                &records_tmp,
                RECORDS_MAGIC,
                RECORDS_FORMAT_VERSION,
                all.len() as u64,
                |w| {
                    bincode_options().serialize_into(w, all).map_err(|e| match *e {
                        bincode::ErrorKind::Io(e) => e,
                        other => std::io::Error::other(other.to_string()),
                    })
                },
            )?;
            (Some(w), None)
        }
        (RecordsPart::Journal { entries, base_crc, .. }, Some((_, how))) => {
            (None, Some(write_journal(how, FileKind::RecordsJournal, base_crc, entries, &tmp_of)?))
        }
        (RecordsPart::Journal { .. }, None) => unreachable!("a records journal is planned"),
    };
    let (graph, journal) = match (c.graph, plans.journal) {
        (GraphPart::Whole(bytes), _) => {
            let graph_tmp = tmp_of(FileKind::Graph).expect("written whole");
            let w =
                write_blob_file(&graph_tmp, GRAPH_MAGIC, GRAPH_FORMAT_VERSION, bytes.len() as u64, |w| {
                    w.write_all(bytes)
                })?;
            (Some(w), None)
        }
        (GraphPart::Journal { edits, base_crc, .. }, Some((_, how))) => {
            (None, Some(write_journal(how, FileKind::GraphJournal, base_crc, edits, &tmp_of)?))
        }
        (GraphPart::Journal { .. }, None) => unreachable!("a graph journal is planned"),
    };
    let mut codes = None;
    if let (Some(cp), Some(how)) = (&c.codes, plans.codes) {
        let rows = c.records.slots();
        codes = Some(match how {
            AppendWrite::Append(a) => append_to_file(&a.path, &a.entry, cp.rows, rows)?,
            AppendWrite::Fresh { old } => {
                let tmp = tmp_of(FileKind::Codes).expect("written afresh");
                let head_len = (cp.head.len() as u32).to_le_bytes();
                write_appendable_file(
                    &tmp,
                    &appendable_codes_header(CODES_FORMAT_APPENDABLE),
                    &[&head_len, cp.head, old, cp.rows],
                    rows,
                )?
            }
        });
    }
    if stop == StopAfter::TempFiles {
        return Ok(None);
    }
    for (_, fin) in fresh {
        let tmp = tmp_path(fin);
        super::fsutil::rename(&tmp, fin).map_err(|e| Error::io("cannot rename into place", fin, e))?;
    }
    sync_dir(dir)?;
    Ok(Some(Written { vectors, records, records_journal, graph, codes, journal }))
}

/// Writes the new entries of a journal of `kind` as planned: appended to the current journal, or
/// in a fresh one (at the temporary path `tmp_of` gives) after the current one's entries.
fn write_journal(
    how: &AppendWrite,
    kind: FileKind,
    base_crc: u32,
    entries: &[u8],
    tmp_of: &dyn Fn(FileKind) -> Option<PathBuf>,
) -> Result<WrittenFile> {
    match how {
        AppendWrite::Append(a) => append_to_file(&a.path, &a.entry, entries, 0),
        AppendWrite::Fresh { old } => {
            let tmp = tmp_of(kind).expect("written afresh");
            write_appendable_file(&tmp, &journal_header(kind, base_crc), &[old, entries], 0)
        }
    }
}

/// The header of an appendable codes file of `version`: magic and version, the rest 0 (the extent
/// and its crc are in the manifest).
fn appendable_codes_header(version: u32) -> [u8; BLOB_HEADER_LEN] {
    let mut h = [0u8; BLOB_HEADER_LEN];
    h[..8].copy_from_slice(CODES_MAGIC);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h
}

/// Writes an appendable file (codes, graph journal): `header`, then `parts` (for codes: head
/// length, head, rows); fsynced. The crc is of everything after the header.
fn write_appendable_file(
    path: &Path,
    header: &[u8; BLOB_HEADER_LEN],
    parts: &[&[u8]],
    count: u64,
) -> Result<WrittenFile> {
    let io = |e| Error::io("cannot write", path, e);
    let mut w = super::fsutil::create_buffered(path)?;
    w.write_all(header).map_err(io)?;
    let mut cw = CrcWriter { inner: w, crc: crc32fast::Hasher::new(), len: 0 };
    for p in parts {
        cw.write_all(p).map_err(io)?;
    }
    let (crc, len) = (cw.crc.finalize(), cw.len);
    let file = cw.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("cannot sync", path, e))?;
    Ok(WrittenFile { bytes: BLOB_HEADER_LEN as u64 + len, crc32: crc, count })
}

/// Appends bytes (code rows, graph edits) to the appendable file `path` after its committed extent
/// `base` (any uncommitted bytes past it are cut first); fsynced. Continuing the committed bytes'
/// crc gives the crc of all of them without reading them back.
fn append_to_file(path: &Path, base: &FileEntry, new_rows: &[u8], rows: u64) -> Result<WrittenFile> {
    let io = |e| Error::io("cannot append to", path, e);
    let mut file = OpenOptions::new().write(true).open(path).map_err(io)?;
    file.set_len(base.bytes).map_err(io)?;
    file.seek(SeekFrom::Start(base.bytes)).map_err(io)?;
    let mut w = BufWriter::with_capacity(1 << 20, super::fsutil::FaultFile::new(file));
    w.write_all(new_rows).map_err(io)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("cannot sync", path, e))?;
    let mut crc = crc32fast::Hasher::new_with_initial(base.crc32);
    crc.update(new_rows);
    Ok(WrittenFile { bytes: base.bytes + new_rows.len() as u64, crc32: crc.finalize(), count: rows })
}

/// The committed bytes of an appendable codes file of `version` (see [`read_appendable`]), its head
/// length checked to fit.
fn read_appendable_codes(path: &Path, entry: &FileEntry, version: u32) -> Result<Payload> {
    let payload = read_appendable(path, entry, &appendable_codes_header(version), "codes")?;
    let head_len = payload.get(..4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64);
    if !head_len.is_some_and(|h| h + 4 <= payload.len() as u64) {
        return Err(Error::corrupt(path, "codes file is shorter than the head it says it has"));
    }
    Ok(payload)
}

/// The committed bytes of an appendable file (after its header, up to `entry.bytes`), checked:
/// magic and version (the first 12 bytes of `header`), a file at least that long, the crc of the
/// manifest's entry. Bytes past the extent are an append that was never committed, ignored.
fn read_appendable(
    path: &Path,
    entry: &FileEntry,
    header: &[u8; BLOB_HEADER_LEN],
    what: &str,
) -> Result<Payload> {
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?.len();
    if entry.bytes < BLOB_HEADER_LEN as u64 || file_len < entry.bytes {
        return Err(Error::corrupt(
            path,
            format!("{what} file is {file_len} bytes, the manifest says {} are committed", entry.bytes),
        ));
    }
    // SAFETY: the committed extent of an appendable file is never modified (appends go after it,
    // and `set_len` only ever cuts bytes past it), so the mapped bytes read cannot change under us.
    let map =
        unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|e| Error::io("cannot map", path, e))?;
    if map[..12] != header[..12] {
        return Err(Error::corrupt(
            path,
            format!("not an appendable vecstore {what} file (bad magic or version)"),
        ));
    }
    let payload = Payload { map, end: entry.bytes as usize };
    let actual = crc32fast::hash(&payload);
    if actual != entry.crc32 {
        return Err(Error::corrupt(
            path,
            format!("{what} checksum is {actual:08x}, the manifest says {:08x}", entry.crc32),
        ));
    }
    Ok(payload)
}

/// The codes file of `manifest` (which must have one), read and checked in its format.
pub fn read_saved_codes(dir: &Path, manifest: &Manifest) -> Result<SavedCodes> {
    let path = manifest.file_path(dir, FileKind::Codes);
    let entry = manifest.codes.as_ref().ok_or_else(|| Error::corrupt(&path, "the snapshot has no codes"))?;
    let version = blob_format_version(&path);
    if let Some(v @ (CODES_FORMAT_APPENDABLE | CODES_FORMAT_APPENDABLE_PADDED)) = version {
        let drift = manifest.codes_drift.ok_or_else(|| {
            Error::corrupt(&path, "the manifest has no drift counters for an appendable codes file")
        })?;
        let payload = read_appendable_codes(&path, entry, v)?;
        return Ok(SavedCodes::Appendable { payload, drift, packed: v == CODES_FORMAT_APPENDABLE });
    }
    let blob = read_blob_file(&path, CODES_MAGIC, CODES_FORMAT_VERSION, "codes")?;
    if blob.crc != entry.crc32 {
        return Err(Error::corrupt(
            &path,
            format!("header checksum {:08x} differs from the manifest's {:08x}", blob.crc, entry.crc32),
        ));
    }
    if blob.count != manifest.slots {
        return Err(Error::corrupt(
            &path,
            format!("codes file has {} rows, the snapshot has {} slots", blob.count, manifest.slots),
        ));
    }
    Ok(SavedCodes::Whole(blob.payload))
}

fn bincode_options() -> impl bincode::Options {
    // Fixed-width integers (what `bincode::serialize` produces), trailing bytes rejected.
    bincode::DefaultOptions::new().with_fixint_encoding()
}

/// A writer that hashes and counts what passes through it.
struct CrcWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a records or graph file at `path`: the payload streams through `body` (no second copy in
/// memory), then the header is filled in and the file fsynced.
fn write_blob_file(
    path: &Path,
    magic: &[u8; 8],
    version: u32,
    count: u64,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<WrittenFile> {
    let io = |e| Error::io("cannot write", path, e);
    let mut w = super::fsutil::create_buffered(path)?;
    w.write_all(&[0u8; BLOB_HEADER_LEN]).map_err(io)?;
    let mut cw = CrcWriter { inner: w, crc: crc32fast::Hasher::new(), len: 0 };
    body(&mut cw).map_err(io)?;
    let (crc, len) = (cw.crc.finalize(), cw.len);
    let mut file = cw.inner.into_inner().map_err(|e| io(e.into_error()))?;
    let mut h = [0u8; BLOB_HEADER_LEN];
    h[..8].copy_from_slice(magic);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h[16..24].copy_from_slice(&count.to_le_bytes());
    h[24..32].copy_from_slice(&len.to_le_bytes());
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(&h).map_err(io)?;
    file.sync_all().map_err(|e| Error::io("cannot sync", path, e))?;
    Ok(WrittenFile { bytes: BLOB_HEADER_LEN as u64 + len, crc32: crc, count })
}

/// A records or graph file, checked: magic, version, length and payload crc.
struct Blob {
    count: u64,
    crc: u32,
    payload: Payload,
}

/// The payload of a records or graph file, read through a read-only mapping of the file: no
/// zero-filled buffer and no copy of the bytes (the graph file is about 120 MB for 1M vectors, and
/// opening is timed). Dereferences to the bytes after the header.
pub struct Payload {
    map: memmap2::Mmap,
    /// The end of the payload in the file (its length, but for an appendable file's extent).
    end: usize,
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[BLOB_HEADER_LEN..self.end]
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload({} bytes)", self.len())
    }
}

fn read_blob_file(path: &Path, magic: &[u8; 8], version: u32, what: &str) -> Result<Blob> {
    let mut file = File::open(path).map_err(|e| open_error(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?.len();
    if file_len < BLOB_HEADER_LEN as u64 {
        return Err(Error::corrupt(
            path,
            format!("{what} file is {file_len} bytes, shorter than its {BLOB_HEADER_LEN}-byte header"),
        ));
    }
    let mut h = [0u8; BLOB_HEADER_LEN];
    file.read_exact(&mut h).map_err(|e| Error::io("cannot read", path, e))?;
    if &h[..8] != magic {
        return Err(Error::corrupt(path, format!("not a vecstore {what} file (bad magic bytes)")));
    }
    let found = u32::from_le_bytes(h[8..12].try_into().unwrap());
    if found != version {
        return Err(Error::corrupt(
            path,
            format!(
                "{what} file format version {found} is not supported (this library reads version {version})"
            ),
        ));
    }
    let crc = u32::from_le_bytes(h[12..16].try_into().unwrap());
    let count = u64::from_le_bytes(h[16..24].try_into().unwrap());
    let len = u64::from_le_bytes(h[24..32].try_into().unwrap());
    if len != file_len - BLOB_HEADER_LEN as u64 {
        return Err(Error::corrupt(
            path,
            format!("{what} file is {file_len} bytes, its header says a payload of {len} bytes"),
        ));
    }
    // SAFETY: vecstore never modifies a snapshot file in place (files are written under a temporary
    // name and renamed), so the mapped bytes cannot change under us; the header was checked against
    // the file's size above, so the mapping holds header + payload exactly.
    let map =
        unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|e| Error::io("cannot map", path, e))?;
    let end = map.len();
    let payload = Payload { map, end };
    let actual = crc32fast::hash(&payload);
    if actual != crc {
        return Err(Error::corrupt(
            path,
            format!("{what} checksum is {actual:08x}, the header says {crc:08x}"),
        ));
    }
    Ok(Blob { count, crc, payload })
}

/// The smallest bincode encoding of a `SlotRecord`: two empty strings (8-byte lengths), u8, u64.
const MIN_RECORD_BYTES: u64 = 8 + 8 + 1 + 8;

/// One record of a records payload, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub id: &'a str,
    /// Canonical JSON text.
    pub metadata: &'a str,
    pub state: u8,
    pub expires_at: u64,
}

impl RecordRef<'_> {
    pub fn to_record(self) -> SlotRecord {
        SlotRecord {
            id: self.id.to_string(),
            metadata: self.metadata.to_string(),
            state: self.state,
            expires_at: self.expires_at,
        }
    }
}

/// Reads the record at `*pos` of a records payload (bincode 1, fixed-width integers: u64 length and
/// bytes of the id, the same of the metadata, u8 state, u64 expiry) and moves `*pos` past it. By
/// hand rather than through serde: no allocation at all, where serde made two strings per record
/// (1M records: 2M allocations, the largest part of decoding them when a store opens).
fn next_record<'a>(payload: &'a [u8], pos: &mut usize) -> std::result::Result<RecordRef<'a>, String> {
    fn take<'a>(p: &'a [u8], pos: &mut usize, n: u64) -> std::result::Result<&'a [u8], String> {
        let end = (*pos as u64)
            .checked_add(n)
            .filter(|&e| e <= p.len() as u64)
            .ok_or_else(|| format!("{n} bytes wanted at byte {}, the payload has {}", *pos, p.len()))?
            as usize;
        let bytes = &p[*pos..end];
        *pos = end;
        Ok(bytes)
    }
    fn u64_at(p: &[u8], pos: &mut usize) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(take(p, pos, 8)?.try_into().expect("8 bytes")))
    }
    let mut text = |what: &str| -> std::result::Result<&'a str, String> {
        let len = u64_at(payload, pos)?;
        std::str::from_utf8(take(payload, pos, len)?).map_err(|e| format!("the {what} is not UTF-8: {e}"))
    };
    let id = text("id")?;
    let metadata = text("metadata")?;
    let state = take(payload, pos, 1)?[0];
    let expires_at = u64_at(payload, pos)?;
    Ok(RecordRef { id, metadata, state, expires_at })
}

/// The records of a loaded snapshot, checked when loaded (every record decodes, every state is
/// known, nothing is left over) and read from the mapped file without a copy: the store makes its
/// slots straight from them.
pub struct Records {
    payload: Payload,
    /// Records in the records file.
    count: usize,
    /// The records journal, when the snapshot has one, with where each slot's newest record is in
    /// it.
    journal: Option<(Payload, JournalIndex)>,
}

/// Where the records of a records journal's entries are (byte offsets in the journal), as
/// [`index_records_journal`] finds them.
#[derive(Debug, Default)]
struct JournalIndex {
    /// The newest record of each slot of the records file the journal replaces, by slot.
    replaced: Vec<(u32, usize)>,
    /// The newest record of each slot added after them, in slot order.
    added: Vec<usize>,
    /// Slots in all: the records file's and the added ones.
    slots: u64,
}

/// Reads the entries of a records journal continuing `base` slots (each a slot u32, then a
/// record as [`next_record`] reads it, its state known; the slot one the records already have, or
/// the next), and where the newest record of each slot is.
fn index_records_journal(entries: &[u8], base: u64) -> std::result::Result<JournalIndex, String> {
    match index_records_journal_prefix(entries, base) {
        (index, _, None) => Ok(index),
        (_, _, Some(e)) => Err(e),
    }
}

/// As [`index_records_journal`], but stops at the first entry that is bad: the index of the
/// entries before it, how many bytes they are, and what is wrong with it (`None`: none is).
fn index_records_journal_prefix(entries: &[u8], base: u64) -> (JournalIndex, usize, Option<String>) {
    let mut replaced = std::collections::HashMap::new();
    let mut added: Vec<usize> = Vec::new();
    let mut pos = 0;
    let mut bad = None;
    while pos < entries.len() {
        let slots = base + added.len() as u64;
        match read_journal_entry(entries, pos, slots) {
            Ok((slot, record, end)) => {
                if slot < base {
                    replaced.insert(slot as u32, record);
                } else if slot < slots {
                    added[(slot - base) as usize] = record;
                } else {
                    added.push(record);
                }
                pos = end;
            }
            Err(e) => {
                bad = Some(e);
                break;
            }
        }
    }
    let mut replaced: Vec<(u32, usize)> = replaced.into_iter().collect();
    replaced.sort_unstable();
    let slots = base + added.len() as u64;
    (JournalIndex { replaced, added, slots }, pos, bad)
}

/// The records journal entry at byte `at`, with `slots` slots before it: its slot (at most
/// `slots`), where its record starts and where the entry ends.
fn read_journal_entry(
    entries: &[u8],
    at: usize,
    slots: u64,
) -> std::result::Result<(u64, usize, usize), String> {
    let slot = entries
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64)
        .ok_or_else(|| format!("an entry is cut at byte {at}"))?;
    let mut pos = at + 4;
    let r = next_record(entries, &mut pos).map_err(|e| format!("the entry at byte {at}: {e}"))?;
    if r.state > SlotRecord::SOFT_DELETED {
        return Err(format!("the entry at byte {at} gives slot {slot} unknown state {}", r.state));
    }
    if slot > slots || slot >= u32::MAX as u64 {
        return Err(format!("the entry at byte {at} is for slot {slot}, after the {slots} slots"));
    }
    Ok((slot, at + 4, pos))
}

/// Applies the entries of a records journal (checked as [`Records`] checks them when loaded) to
/// `records`, the records of its records file: for check and recovery tools. `path` names the
/// journal in errors.
pub fn apply_records_journal(path: &Path, records: &mut Vec<SlotRecord>, entries: &[u8]) -> Result<()> {
    let index = index_records_journal(entries, records.len() as u64).map_err(|e| Error::corrupt(path, e))?;
    apply_indexed(records, entries, &index);
    Ok(())
}

/// Applies the entries of a records journal up to the first bad one, for recovery without a
/// manifest (which would say how much of the journal is committed): how many bytes of entries
/// were applied and, if it stopped before the end, why.
pub fn apply_records_journal_prefix(
    records: &mut Vec<SlotRecord>,
    entries: &[u8],
) -> (usize, Option<String>) {
    let (index, applied, bad) = index_records_journal_prefix(entries, records.len() as u64);
    apply_indexed(records, entries, &index);
    (applied, bad)
}

fn apply_indexed(records: &mut Vec<SlotRecord>, entries: &[u8], index: &JournalIndex) {
    let at = |pos: usize| next_record(entries, &mut { pos }).expect("indexed").to_record();
    for &(s, pos) in &index.replaced {
        records[s as usize] = at(pos);
    }
    records.extend(index.added.iter().map(|&pos| at(pos)));
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Records({} records)", self.len())
    }
}

impl Records {
    /// Checks a records payload holding `count` records (see [`check_records`]), and the entries
    /// of its journal.
    fn new(path: &Path, payload: Payload, count: u64, journal: Option<(&Path, Payload)>) -> Result<Records> {
        let count = check_records(path, &payload, count)?;
        let journal = match journal {
            None => None,
            Some((path, entries)) => {
                let index =
                    index_records_journal(&entries, count as u64).map_err(|e| Error::corrupt(path, e))?;
                Some((entries, index))
            }
        };
        Ok(Records { payload, count, journal })
    }

    pub fn len(&self) -> usize {
        self.count + self.journal.as_ref().map_or(0, |(_, j)| j.added.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records in slot order (the records file's, with the journal's newest record of each
    /// slot in place of the file's).
    pub fn iter(&self) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        let mut pos = 8;
        let (journal, index): (&[u8], &JournalIndex) = match &self.journal {
            Some((p, j)) => (p, j),
            None => (&[], const { &JournalIndex { replaced: Vec::new(), added: Vec::new(), slots: 0 } }),
        };
        let mut replaced = index.replaced.iter().peekable();
        let at = move |pos: usize| next_record(journal, &mut { pos }).expect("checked when loaded");
        (0..self.len()).map(move |s| {
            if s >= self.count {
                return at(index.added[s - self.count]);
            }
            let base = next_record(&self.payload, &mut pos).expect("checked when loaded");
            match replaced.next_if(|&&(r, _)| r as usize == s) {
                Some(&(_, p)) => at(p),
                None => base,
            }
        })
    }

    pub fn to_vec(&self) -> Vec<SlotRecord> {
        self.iter().map(RecordRef::to_record).collect()
    }
}

/// Checks a records payload holding `count` records: its length prefix, every record decoding
/// (lengths within the payload, UTF-8 text, a known state) and no byte left after the last.
/// Returns the count. `count` is checked against what the payload can hold before anything is
/// sized by it.
fn check_records(path: &Path, payload: &[u8], count: u64) -> Result<usize> {
    let corrupt = |what: String| Error::corrupt(path, what);
    let prefix = payload.get(..8).ok_or_else(|| corrupt("records do not decode: no length".into()))?;
    let len = u64::from_le_bytes(prefix.try_into().unwrap());
    if len != count {
        return Err(corrupt(format!("records file holds {len} records, its header says {count}")));
    }
    if count > (payload.len() as u64 - 8) / MIN_RECORD_BYTES {
        return Err(corrupt(format!(
            "records file claims {count} records, more than its {} bytes can hold",
            payload.len()
        )));
    }
    let mut pos = 8;
    for i in 0..count {
        let r = next_record(payload, &mut pos)
            .map_err(|e| corrupt(format!("records do not decode (record {i}): {e}")))?;
        if r.state > SlotRecord::SOFT_DELETED {
            return Err(corrupt(format!("slot {i} has unknown state {}", r.state)));
        }
    }
    // Everything must have been consumed: trailing bytes mean the count or the encoding is wrong.
    if pos != payload.len() {
        return Err(corrupt(format!(
            "records do not decode: {} bytes left after the last record",
            payload.len() - pos
        )));
    }
    Ok(count as usize)
}

/// Decodes a records payload (bincode of `Vec<SlotRecord>`) holding `count` records, checked as
/// [`check_records`] checks it.
fn decode_records(path: &Path, payload: &[u8], count: u64) -> Result<Vec<SlotRecord>> {
    let count = check_records(path, payload, count)?;
    let mut pos = 8;
    Ok((0..count).map(|_| next_record(payload, &mut pos).expect("checked").to_record()).collect())
}

/// A file the manifest names must exist: its absence is damage, not an I/O hiccup.
fn open_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::corrupt(path, "file named by the snapshot manifest is missing")
    } else {
        Error::io("cannot open", path, e)
    }
}

/// Reads and checks the manifest; `Ok(None)` when there is none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    // The version first, so that a manifest from a newer library is refused as such rather than as
    // a parse error about a field this library does not know.
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| Error::corrupt(&path, format!("not valid JSON: {e}")))?;
    let version = value.get("format_version").and_then(|v| v.as_u64());
    if !matches!(version, Some(v) if (1..=MANIFEST_FORMAT_VERSION as u64).contains(&v)) {
        let found = version.map_or_else(|| "missing".to_string(), |v| v.to_string());
        return Err(Error::corrupt(
            &path,
            format!(
                "snapshot manifest format version {found} is not supported \
                 (this library reads versions 1 to {MANIFEST_FORMAT_VERSION})"
            ),
        ));
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| Error::corrupt(&path, format!("bad manifest: {e}")))?;
    let expected = manifest.compute_checksum();
    if manifest.checksum != expected {
        return Err(Error::corrupt(
            &path,
            format!("manifest checksum is {:08x}, its contents give {expected:08x}", manifest.checksum),
        ));
    }
    // File names are derived, never trusted: a damaged or hostile name must not point outside the
    // store directory.
    for (kind, entry) in manifest.files() {
        if entry.since.is_some_and(|g| g >= manifest.generation) {
            return Err(Error::corrupt(
                &path,
                format!(
                    "manifest says file {:?} is from generation {:?}, which it cannot be",
                    entry.name, entry.since
                ),
            ));
        }
        let want = manifest.file_name(kind);
        if entry.name != want {
            return Err(Error::corrupt(
                &path,
                format!("manifest names file {:?} where {want:?} was expected", entry.name),
            ));
        }
    }
    if u32::try_from(manifest.dimension).is_err() || manifest.slots > u32::MAX as u64 {
        return Err(Error::corrupt(&path, "manifest has an impossible dimension or slot count"));
    }
    Ok(Some(manifest))
}

/// Loads the current snapshot of `dir` (`Ok(None)` when there is no manifest), then removes leftovers
/// of interrupted snapshot writes. `expected_dim`, when given, must equal the snapshot's dimension.
/// The vector data crc is not checked (see the module docs; [`verify_snapshot`] does).
/// The one check of slot states, on write and on load: a state that is none of `SlotRecord`'s, named.
fn unknown_state(records: &[SlotRecord]) -> Option<String> {
    let (slot, r) = records.iter().enumerate().find(|(_, r)| r.state > SlotRecord::SOFT_DELETED)?;
    Some(format!("slot {slot} has unknown state {}", r.state))
}

pub fn load_snapshot(dir: &Path, expected_dim: Option<usize>) -> Result<Option<LoadedSnapshot>> {
    let loaded = load(dir, expected_dim)?;
    remove_stray_files(dir, loaded.as_ref().map(|s| &s.manifest));
    Ok(loaded)
}

/// Checks the current snapshot completely, vector data crc included, and removes nothing. For check
/// tools and tests; reads every byte of the snapshot.
pub fn verify_snapshot(dir: &Path) -> Result<Option<Manifest>> {
    let Some(s) = load(dir, None)? else { return Ok(None) };
    s.vectors.verify()?;
    Ok(Some(s.manifest))
}

fn load(dir: &Path, expected_dim: Option<usize>) -> Result<Option<LoadedSnapshot>> {
    let Some(manifest) = read_manifest(dir)? else { return Ok(None) };
    let manifest_path = dir.join(MANIFEST_FILE);
    let dim = manifest.dimension;
    if let Some(want) = expected_dim.filter(|&d| d != dim) {
        return Err(Error::corrupt(
            &manifest_path,
            format!("snapshot has dimension {dim}, the store has dimension {want}"),
        ));
    }
    // Cheap checks of every file against the manifest before reading any of them.
    for (kind, entry) in manifest.files() {
        let path = manifest.file_path(dir, kind);
        let len = std::fs::metadata(&path).map_err(|e| open_error(&path, e))?.len();
        // A vectors or codes file may be longer than its committed extent (an uncommitted
        // append), or must be exactly as long (version 1): their readers know which and check.
        if len != entry.bytes && !(kind.appendable() && len > entry.bytes) {
            return Err(Error::corrupt(
                &path,
                format!("file is {len} bytes, the snapshot manifest says {}", entry.bytes),
            ));
        }
    }
    let crc_mismatch = |path: &Path, found: u32, want: u32| {
        Error::corrupt(path, format!("header checksum {found:08x} differs from the manifest's {want:08x}"))
    };

    let vectors_path = manifest.file_path(dir, FileKind::Vectors);
    let extent = Extent { rows: manifest.slots, crc32: manifest.vectors.crc32 };
    let vectors = VectorBlock::open_mapped(&vectors_path, dim, extent)?;
    if let Some(crc) = vectors.file_crc().filter(|&c| c != manifest.vectors.crc32) {
        return Err(crc_mismatch(&vectors_path, crc, manifest.vectors.crc32));
    }
    // Cannot overflow: the mapping just checked that these rows fit in the file.
    let committed = VECTORS_HEADER_LEN as u64 + manifest.slots * dim as u64 * 4;
    if vectors.file_version() == Some(VECTORS_FORMAT_APPENDABLE) && committed != manifest.vectors.bytes {
        return Err(Error::corrupt(
            &manifest_path,
            format!(
                "manifest says the vectors are {} bytes, {} rows make {committed}",
                manifest.vectors.bytes, manifest.slots
            ),
        ));
    }
    if vectors.len() as u64 != manifest.slots {
        return Err(Error::corrupt(
            &vectors_path,
            format!("vectors file has {} rows, the snapshot has {} slots", vectors.len(), manifest.slots),
        ));
    }

    let records_path = manifest.file_path(dir, FileKind::Records);
    let blob = read_blob_file(&records_path, RECORDS_MAGIC, RECORDS_FORMAT_VERSION, "records")?;
    if blob.crc != manifest.records.crc32 {
        return Err(crc_mismatch(&records_path, blob.crc, manifest.records.crc32));
    }
    if blob.count != manifest.slots && manifest.records_journal.is_none() {
        return Err(Error::corrupt(
            &records_path,
            format!("records file has {} records, the snapshot has {} slots", blob.count, manifest.slots),
        ));
    }
    let journal_path = manifest.file_path(dir, FileKind::RecordsJournal);
    let journal = match &manifest.records_journal {
        Some(_) => Some((journal_path.as_path(), read_records_journal(dir, &manifest)?)),
        None => None,
    };
    let records = Records::new(&records_path, blob.payload, blob.count, journal)?;
    if records.len() as u64 != manifest.slots {
        return Err(Error::corrupt(
            &journal_path,
            format!(
                "the records and their journal make {} slots, the snapshot has {}",
                records.len(),
                manifest.slots
            ),
        ));
    }

    let graph_path = manifest.file_path(dir, FileKind::Graph);
    let blob = read_blob_file(&graph_path, GRAPH_MAGIC, GRAPH_FORMAT_VERSION, "graph")?;
    if blob.crc != manifest.graph.crc32 {
        return Err(crc_mismatch(&graph_path, blob.crc, manifest.graph.crc32));
    }
    if blob.count != blob.payload.len() as u64 {
        return Err(Error::corrupt(
            &graph_path,
            format!("graph header says {} bytes, the payload is {}", blob.count, blob.payload.len()),
        ));
    }

    let graph = blob.payload;
    let graph_journal =
        if manifest.graph_journal.is_some() { Some(read_graph_journal(dir, &manifest)?) } else { None };

    let codes = match &manifest.codes {
        None => None,
        Some(_) => Some(read_saved_codes(dir, &manifest)?),
    };

    Ok(Some(LoadedSnapshot {
        generation: manifest.generation,
        dimension: dim,
        log_generation: manifest.log_generation,
        vectors,
        records,
        graph,
        graph_journal,
        codes,
        manifest,
    }))
}

/// Removes what interrupted snapshot writes leave: temporary files always, and, when there is a
/// current snapshot, `snap-*` files it does not name. Best effort: a file that cannot be removed is
/// only clutter, and will be tried again at the next load.
fn remove_stray_files(dir: &Path, keep: Option<&Manifest>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let manifest_tmp = Path::new(MANIFEST_FILE).with_extension("tmp");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stray = if Path::new(name) == manifest_tmp {
            true
        } else {
            match (parse_snapshot_file_name(name), keep) {
                (Some((_, true)), _) => true,
                (Some((_, false)), Some(keep)) => !keep.files().any(|(_, e)| e.name == name),
                _ => false,
            }
        };
        if stray {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Read-only access for check tools (the `vecstore verify` and `recover` commands). Unlike
// `load_snapshot` these never remove a file, and each file can be read on its own, so that a tool can
// report every damaged file rather than only the first.

/// The snapshot named by the manifest, checked as [`load_snapshot`] checks it (vector data crc aside),
/// without removing any stray file. `Ok(None)` when there is no manifest.
pub fn read_snapshot(dir: &Path) -> Result<Option<LoadedSnapshot>> {
    load(dir, None)
}

/// Reads and checks one records file (magic, version, payload crc and length, every record decoding,
/// every state known). The returned crc is the payload's, to compare with the manifest's.
pub fn read_records_file(path: &Path) -> Result<(Vec<SlotRecord>, u32)> {
    let blob = read_blob_file(path, RECORDS_MAGIC, RECORDS_FORMAT_VERSION, "records")?;
    let records = decode_records(path, &blob.payload, blob.count)?;
    Ok((records, blob.crc))
}

/// Reads and checks one graph file (magic, version, payload crc and length); returns the payload
/// (the serialised graph) and its crc.
pub fn read_graph_file(path: &Path) -> Result<(Payload, u32)> {
    let blob = read_blob_file(path, GRAPH_MAGIC, GRAPH_FORMAT_VERSION, "graph")?;
    if blob.count != blob.payload.len() as u64 {
        return Err(Error::corrupt(
            path,
            format!("graph header says {} bytes, the payload is {}", blob.count, blob.payload.len()),
        ));
    }
    Ok((blob.payload, blob.crc))
}

/// The format version in the header of a records, graph or vectors file (all keep it at byte 8) (`None` if it has no readable header).
pub fn blob_format_version(path: &Path) -> Option<u32> {
    let mut h = [0u8; 12];
    File::open(path).ok()?.read_exact(&mut h).ok()?;
    Some(u32::from_le_bytes(h[8..12].try_into().unwrap()))
}
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests;
