//! A store directory read file by file, without opening the store: nothing is created, truncated or
//! removed, so `info`, `verify` and `recover` can look at a damaged store (or one another process has
//! open) as it is on disk.
//!
//! [`Model`] replays what the snapshot's records file and the log hold into per-slot states, the way
//! opening the store would (an upsert replaces the id's slot with a new one and leaves a tombstone,
//! and so on), to count records and to cross-check the log against them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::storage::inspect::{scan_log, LogScan};
use crate::storage::log::{LogOp, LOG_FILE};
use crate::storage::snapshot::{blob_format_version, read_manifest, Manifest, SlotRecord, MANIFEST_FILE};
use crate::store::meta::{Meta, META_FILE};

/// One file of the directory.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub name: String,
    pub bytes: u64,
    /// The format version its header (or JSON) carries, when it has one.
    pub format_version: Option<u32>,
    /// What it is: `description`, `manifest`, `log`, `vectors`, `records`, `graph`, `lock`, or
    /// `other` (a leftover or a file vecstore does not know).
    pub role: &'static str,
}

/// Where a slot's vector is: a row of the snapshot's vectors file, or in a logged upsert.
#[derive(Debug, Clone)]
pub enum VectorSource {
    Snapshot(u32),
    Log(Vec<f32>),
}

#[derive(Debug, Clone)]
pub struct ModelSlot {
    pub id: String,
    pub metadata: String,
    pub state: u8,
    pub expires_at: u64,
    pub vector: VectorSource,
}

/// The records as opening the store would rebuild them.
#[derive(Debug, Default)]
pub struct Model {
    pub slots: Vec<ModelSlot>,
    pub slot_of: HashMap<String, u32>,
    /// Log operations that name an id with no record (a log this library wrote never has them):
    /// `(frame offset, description)`.
    pub anomalies: Vec<(u64, String)>,
}

/// Records by kind, with the meaning `Store::stats` gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub live: u64,
    pub soft_deleted: u64,
    pub expired: u64,
    pub tombstones: u64,
}

impl Model {
    /// The snapshot's records (slot `s` is record `s`, vector row `s`).
    pub fn from_records(records: Vec<SlotRecord>) -> Model {
        let mut m = Model::default();
        for (s, r) in records.into_iter().enumerate() {
            if r.state != SlotRecord::DELETED {
                m.slot_of.insert(r.id.clone(), s as u32);
            }
            m.slots.push(ModelSlot {
                id: r.id,
                metadata: r.metadata,
                state: r.state,
                expires_at: r.expires_at,
                vector: VectorSource::Snapshot(s as u32),
            });
        }
        m
    }

    fn tombstone(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        slot.state = SlotRecord::DELETED;
        slot.expires_at = 0;
        slot.metadata = "{}".into();
    }

    /// Applies one logged operation found in the frame at `offset`.
    pub fn apply(&mut self, op: &LogOp, offset: u64) {
        let missing = |m: &mut Model, what: &str, id: &str| {
            m.anomalies.push((offset, format!("{what} of id {id:?}, which has no record at that point")))
        };
        match op {
            LogOp::Upsert { id, vector, metadata, expires_at } => {
                if let Some(old) = self.slot_of.get(id).copied() {
                    self.tombstone(old);
                }
                let s = self.slots.len() as u32;
                self.slots.push(ModelSlot {
                    id: id.clone(),
                    metadata: metadata.clone(),
                    state: SlotRecord::LIVE,
                    expires_at: *expires_at,
                    vector: VectorSource::Log(vector.clone()),
                });
                self.slot_of.insert(id.clone(), s);
            }
            LogOp::Delete { id } => match self.slot_of.remove(id) {
                Some(s) => self.tombstone(s),
                None => missing(self, "delete", id),
            },
            LogOp::SoftDelete { id } => match self.slot_of.get(id) {
                Some(&s) => {
                    if self.slots[s as usize].state == SlotRecord::LIVE {
                        self.slots[s as usize].state = SlotRecord::SOFT_DELETED;
                    }
                }
                None => missing(self, "soft delete", id),
            },
            LogOp::Restore { id } => match self.slot_of.get(id) {
                Some(&s) => {
                    if self.slots[s as usize].state == SlotRecord::SOFT_DELETED {
                        self.slots[s as usize].state = SlotRecord::LIVE;
                    }
                }
                None => missing(self, "restore", id),
            },
            LogOp::UpdateMetadata { id, metadata } => match self.slot_of.get(id) {
                Some(&s) => self.slots[s as usize].metadata = metadata.clone(),
                None => missing(self, "metadata update", id),
            },
            LogOp::SetExpiry { id, expires_at } => match self.slot_of.get(id) {
                Some(&s) => self.slots[s as usize].expires_at = *expires_at,
                None => missing(self, "expiry change", id),
            },
        }
    }

    /// Counts at time `now` (unix seconds).
    pub fn counts(&self, now: u64) -> Counts {
        let mut c = Counts::default();
        for s in &self.slots {
            let expired = s.expires_at != 0 && s.expires_at <= now;
            match s.state {
                SlotRecord::DELETED => c.tombstones += 1,
                _ if expired => c.expired += 1,
                SlotRecord::SOFT_DELETED => c.soft_deleted += 1,
                _ => c.live += 1,
            }
        }
        c
    }
}

/// How the log relates to the snapshot (see the log module's docs on generations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPairing {
    /// The log follows the snapshot: it is replayed at open.
    Follows,
    /// Older than the snapshot (a crash between a checkpoint's commit and the log reset): its
    /// contents are already in the snapshot; opening discards it.
    Stale,
    /// Newer than the snapshot: the snapshot it follows is missing. Opening refuses the store.
    Orphaned,
}

/// Everything readable about a store directory.
pub struct Anatomy {
    pub dir: PathBuf,
    pub meta: crate::Result<Option<Meta>>,
    pub manifest: crate::Result<Option<Manifest>>,
    pub log: crate::Result<Option<LogScan>>,
    pub files: Vec<FileInfo>,
}

impl Anatomy {
    pub fn read(dir: &Path) -> crate::cli::CliResult<Anatomy> {
        let md = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !md.is_dir() {
            crate::cli_bail!("{} is not a directory", dir.display());
        }
        let meta = Meta::load(dir);
        let manifest = read_manifest(dir);
        let log = scan_log(dir);
        if matches!(meta, Ok(None)) && matches!(manifest, Ok(None)) && matches!(log, Ok(None)) {
            crate::cli_bail!(
                "{} is not a vecstore store (no {META_FILE}, no log, no snapshot)",
                dir.display()
            );
        }
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = entry.metadata().map_or(0, |m| m.len());
            let path = entry.path();
            let (role, format_version) = match name.as_str() {
                META_FILE => {
                    ("description", meta.as_ref().ok().and_then(|m| m.as_ref()).map(|m| m.format_version))
                }
                MANIFEST_FILE => ("manifest", json_version(&path)),
                LOG_FILE => ("log", log.as_ref().ok().and_then(|l| l.as_ref()).map(|l| l.format_version)),
                crate::storage::lock::LOCK_FILE => ("lock", None),
                n if n.starts_with("snap-") && n.ends_with(".vectors") => {
                    ("vectors", blob_format_version(&path))
                }
                n if n.starts_with("snap-") && n.ends_with(".records") => {
                    ("records", blob_format_version(&path))
                }
                n if n.starts_with("snap-") && n.ends_with(".graph") => {
                    ("graph", graph_format_version(&path))
                }
                n if n.starts_with("snap-") && n.ends_with(".codes") => {
                    ("int8 codes", blob_format_version(&path))
                }
                n if n.starts_with("snap-") && n.ends_with(".graphlog") => {
                    ("graph journal", blob_format_version(&path))
                }
                n if n.starts_with("snap-") && n.ends_with(".recordslog") => {
                    ("records journal", blob_format_version(&path))
                }
                // The int8 codes' trained ranges (magic, then the version at byte 8 like the blobs).
                crate::store::codes::QUANT_FILE => ("int8 ranges", blob_format_version(&path)),
                _ => ("other", None),
            };
            files.push(FileInfo { name, bytes, format_version, role });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Anatomy { dir: dir.to_path_buf(), meta, manifest, log, files })
    }

    /// The manifest, if present and readable.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref().ok().and_then(|m| m.as_ref())
    }

    pub fn meta(&self) -> Option<&Meta> {
        self.meta.as_ref().ok().and_then(|m| m.as_ref())
    }

    pub fn log(&self) -> Option<&LogScan> {
        self.log.as_ref().ok().and_then(|l| l.as_ref())
    }

    /// The manifest's `log_start` (0 without a snapshot).
    pub fn snapshot_log_start(&self) -> u64 {
        self.manifest().map_or(0, |m| m.log_start)
    }

    /// How the log pairs with the snapshot (with no snapshot, the expected generation is 0).
    pub fn log_pairing(&self) -> Option<LogPairing> {
        let log = self.log()?;
        let expected = self.manifest().map_or(0, |m| m.log_generation);
        // A checkpoint's snapshot holds its log up to `log_start`; the trimmed log that follows it
        // has the next generation (see `Log::open_from`).
        if log.generation == expected + 1 && self.snapshot_log_start() > crate::storage::log::HEADER_LEN {
            return Some(LogPairing::Follows);
        }
        Some(match log.generation.cmp(&expected) {
            std::cmp::Ordering::Equal => LogPairing::Follows,
            std::cmp::Ordering::Less => LogPairing::Stale,
            std::cmp::Ordering::Greater => LogPairing::Orphaned,
        })
    }

    /// Replays the snapshot's `records` (None: none readable) and, when it follows the snapshot, the
    /// log's intact frames.
    pub fn model(&self, records: Option<Vec<SlotRecord>>) -> Model {
        let mut m = records.map(Model::from_records).unwrap_or_default();
        if self.log_pairing() == Some(LogPairing::Follows) {
            let log = self.log().expect("paired log");
            let expected = self.manifest().map_or(0, |m| m.log_generation);
            // Frames before the snapshot's freeze point are in the snapshot already.
            let start = if log.generation == expected { self.snapshot_log_start() } else { 0 };
            for frame in log.frames.iter().filter(|f| f.offset >= start) {
                for op in &frame.ops {
                    m.apply(op, frame.offset);
                }
            }
        }
        m
    }

    pub fn disk_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

fn json_version(path: &Path) -> Option<u32> {
    let text = std::fs::read(path).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    v.get("format_version")?.as_u64().map(|v| v as u32)
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A graph file's format: the version of the graph it holds (`Hnsw::format_version`, from the
/// magic after the file's 32-byte header), which says how its lists are laid out; the file's own
/// header has been version 1 throughout.
fn graph_format_version(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut head = [0u8; 40];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    crate::index::hnsw::Hnsw::format_version(&head[32..])
}
