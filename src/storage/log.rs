//! The append-only operation log (`vecstore.log`): every acknowledged write is a checksummed frame here
//! before the call returns.
//!
//! Layout (all integers little-endian):
//! ```text
//! header : magic "VSLOG\0\0\0" (8 bytes) | format version u32 (2) | log generation u32
//! frame  : payload length u32 | crc32 (IEEE) of payload u32 | payload (bincode of Vec<LogOp>)
//! ```
//! One frame holds one call's operations (a bulk upsert is one frame: all of it or none of it is
//! replayed).
//!
//! ## Damage
//! A frame that is cut short or fails its checksum is either a **torn tail** (the last write, cut by a
//! crash: nothing valid follows it) or **damage** (valid frames follow it: the disk or someone changed
//! bytes in the middle). The policy is named and chosen ([`LogRecovery`], after RocksDB's WAL recovery
//! modes), never implicit:
//! - [`LogRecovery::TolerateTornTail`] (the default): a torn tail is dropped and the file truncated to
//!   the last good frame (that write was never acknowledged); damage is `Code::Corrupt` naming the byte
//!   offset, and the file is left exactly as it is.
//! - [`LogRecovery::Salvage`]: every valid frame is replayed, damaged regions are skipped and reported
//!   ([`ReplayReport::damage`]); the damaged file is kept beside the log as `vecstore.log.damaged-<unix
//!   seconds>` and the log is rewritten with the valid frames only, so the next open is clean.
//!
//! ## Log generations and checkpoints
//! The log holds the writes made *after* the current snapshot (see [`super::snapshot`]); its generation
//! number says which snapshot it follows. Version 1 logs (before generations existed) are refused.
//!
//! Checkpoint (the store's `checkpoint` module), with writes running on:
//! 1. freeze: with writes held for a moment, fsync the log and note its generation L and length P;
//! 2. write snapshot generation G from the frozen state with `next_log_generation = L` and
//!    `log_start = P` (the snapshot holds log L up to byte P) while writes append after P. The
//!    manifest is the commit point;
//! 3. [`Log::set_start`]`(P)` and [`Log::trim`]: atomically replace the log with one of generation
//!    L + 1 holding only the frames after P. A failed trim leaves log L, which replays from P.
//!
//! Compaction (writes held throughout) writes its snapshot with `next_log_generation = L + 1`,
//! `log_start = 0`, then [`Log::reset`]`(L + 1)`: atomically replace the log with an empty one of
//! generation L + 1. If that fails, the log refuses appends until the store is reopened (the
//! reopen then discards it). A failed snapshot write changes nothing: the old snapshot and the log
//! stay as they were.
//!
//! Open: [`Log::open_from`] is given the manifest's `log_generation` (0 when there is no snapshot)
//! and `log_start`, and:
//! - log generation **equal**: the log follows the snapshot; it is replayed (from `log_start` when
//!   that is past the header).
//! - log generation **one higher** with a `log_start` past the header: the trimmed log; it is
//!   replayed whole.
//! - log generation **lower**: a crash came between a compaction's snapshot and its log reset (or,
//!   before the freeze point existed, a checkpoint's), so the log is history the snapshot already holds; it is discarded (reset to the expected generation) without being replayed.
//! - log generation **higher**: a log newer than the snapshot it is paired with means the snapshot was
//!   lost or replaced by an older one; replaying would apply writes to the wrong base: `Code::Corrupt`.
//!
//! A missing log (or one shorter than its header, which only a crash while creating it can leave) is
//! created empty with the expected generation.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{sync_dir, FaultFile};
use crate::error::{Error, Result};

pub const LOG_FILE: &str = "vecstore.log";
pub(crate) const LOG_FORMAT_VERSION: u32 = 2;
pub(crate) const MAGIC: &[u8; 8] = b"VSLOG\0\0\0";
pub(crate) const HEADER_LEN: u64 = 16;
const FRAME_HEADER_LEN: usize = 8;
/// A frame longer than this is treated as damage, not as a request to allocate that much.
const MAX_FRAME_BYTES: usize = 1 << 30;
/// When rewriting the log, ops are grouped into frames of at most this many.
const REWRITE_OPS_PER_FRAME: usize = 4096;

/// One logged mutation. Vectors are logged as stored (already normalised for cosine stores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogOp {
    /// Insert or replace; `expires_at` is unix seconds, 0 = never.
    Upsert {
        id: String,
        vector: Vec<f32>,
        metadata: String,
        expires_at: u64,
    },
    Delete {
        id: String,
    },
    SoftDelete {
        id: String,
    },
    Restore {
        id: String,
    },
    UpdateMetadata {
        id: String,
        metadata: String,
    },
    SetExpiry {
        id: String,
        expires_at: u64,
    },
}

/// What to do with a damaged log frame that valid frames follow (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogRecovery {
    /// Drop a torn tail; refuse to open (`Code::Corrupt`) when valid frames follow a damaged one.
    #[default]
    TolerateTornTail,
    /// Replay every valid frame, skip and report damaged regions, keep a copy of the damaged file.
    Salvage,
}

/// A damaged region of the log skipped by [`LogRecovery::Salvage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the damaged frame in the log file.
    pub offset: u64,
    /// Bytes skipped, up to the next valid frame.
    pub bytes: u64,
    /// Operations the damaged frame held, when its header and operation count were still readable.
    pub ops: Option<u64>,
}

/// What replay found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    pub frames: u64,
    pub ops: u64,
    /// Bytes of a torn tail that were dropped (0 for a clean log).
    pub dropped_tail_bytes: u64,
    /// Damaged regions skipped by a salvaging open (always empty otherwise: damage is an error).
    pub damage: Vec<Damage>,
    /// Where the damaged log was kept by a salvaging open that found damage.
    pub damaged_copy: Option<PathBuf>,
    /// The log's generation after open (always the expected one).
    pub generation: u32,
    /// Set when the log found on disk had an older generation than expected and was discarded
    /// without replay (a crash between a snapshot's commit and the log reset): that generation.
    pub discarded_generation: Option<u32>,
    /// True when there was no log (or only a torn header) and an empty one was created.
    pub created: bool,
}

#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: FaultFile,
    len: u64,
    generation: u32,
    /// Where the frames not yet in a snapshot start: frames before this offset are already held by
    /// the snapshot the log follows (a checkpoint froze the log there and wrote the snapshot while
    /// writes went on). `HEADER_LEN` when every frame is live.
    start: u64,
    sync_each_write: bool,
    /// Set when a failed append could not be rolled back: further writes would land after garbage.
    broken: Option<String>,
}

/// The bytes one `append(ops)` adds to the log (what a storage quota is checked against).
pub fn frame_len(ops: &[LogOp]) -> u64 {
    FRAME_HEADER_LEN as u64 + bincode::serialized_size(ops).expect("log ops serialise")
}

fn encode_frame(ops: &[LogOp]) -> Vec<u8> {
    let payload = bincode::serialize(ops).expect("log ops serialise");
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

fn header_bytes(generation: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&generation.to_le_bytes());
    h
}

/// Replaces the file at `path` with `bytes` atomically (temporary file, fsync, rename, directory
/// fsync) and returns the new file opened for appending at its end.
///
/// Returns `Ok((file, None))` on success. Once the rename has happened the new file *is* the log, so a
/// failure to sync the directory afterwards is returned as `Ok((file, Some(why)))`: the caller must
/// switch to the new file (writing to the old, unlinked one would lose writes) but must not trust that
/// the switch is durable.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(FaultFile, Option<String>)> {
    let tmp = path.with_extension("log.tmp");
    let mut f = FaultFile::new(
        OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io("cannot create", &tmp, e))?,
    );
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("cannot write", &tmp, e));
    }
    if let Err(e) = super::fsutil::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("cannot rename into place", path, e));
    }
    // The open handle followed the inode through the rename: it is the file now at `path`, and it is
    // positioned at the end of what was written.
    let dir = path.parent().unwrap_or(Path::new("."));
    match sync_dir(dir) {
        Ok(()) => Ok((f, None)),
        Err(e) => Ok((f, Some(e.message))),
    }
}

/// One frame as read from the log's bytes.
pub(crate) enum Frame {
    Valid {
        ops: Vec<LogOp>,
        end: usize,
    },
    /// Cut short, a length past the end or above the limit, or a checksum mismatch.
    Damaged {
        why: &'static str,
    },
    /// Passed its checksum but is not a list of operations: a bug, not damage; never skipped.
    Undecodable(bincode::Error),
}

pub(crate) fn read_frame(bytes: &[u8], pos: usize) -> Frame {
    let remaining = bytes.len() - pos;
    if remaining < FRAME_HEADER_LEN {
        return Frame::Damaged { why: "frame header cut short" };
    }
    let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
    if len > MAX_FRAME_BYTES || len > remaining - FRAME_HEADER_LEN {
        return Frame::Damaged { why: "frame length past the end of the log" };
    }
    let payload = &bytes[pos + FRAME_HEADER_LEN..pos + FRAME_HEADER_LEN + len];
    if crc32fast::hash(payload) != crc {
        return Frame::Damaged { why: "checksum mismatch" };
    }
    match bincode::deserialize::<Vec<LogOp>>(payload) {
        Ok(ops) => Frame::Valid { ops, end: pos + FRAME_HEADER_LEN + len },
        Err(e) => Frame::Undecodable(e),
    }
}

/// The offset of the first valid, non-empty frame after the damaged frame at `damaged`, if any: the
/// difference between a torn tail (none) and damage in the middle of the log.
///
/// The frame the damaged one's length points at is tried first (a flipped payload bit leaves the
/// length intact); then every later offset. An empty frame never counts: zeros (what a crash can
/// leave past the end of a file) read as one.
pub(crate) fn next_valid_frame(bytes: &[u8], damaged: usize) -> Option<usize> {
    let is_valid = |p: usize| matches!(read_frame(bytes, p), Frame::Valid { ref ops, .. } if !ops.is_empty());
    if bytes.len() - damaged >= FRAME_HEADER_LEN {
        let len = u32::from_le_bytes(bytes[damaged..damaged + 4].try_into().expect("4 bytes")) as usize;
        let next = damaged.saturating_add(FRAME_HEADER_LEN).saturating_add(len);
        if next < bytes.len() && is_valid(next) {
            return Some(next);
        }
    }
    (damaged + 1..bytes.len().saturating_sub(FRAME_HEADER_LEN)).find(|&p| is_valid(p))
}

/// How many operations the damaged frame at `pos` (ending where the next valid one starts) held,
/// when its length still fits exactly and its payload still starts with bincode's element count.
pub(crate) fn damaged_frame_op_count(bytes: &[u8], pos: usize, next: usize) -> Option<u64> {
    let len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
    if pos + FRAME_HEADER_LEN + len != next || len < 8 {
        return None;
    }
    let start = pos + FRAME_HEADER_LEN;
    let count = u64::from_le_bytes(bytes[start..start + 8].try_into().ok()?);
    // Every operation takes more than 8 bytes: a larger count is itself damaged.
    (count <= len as u64 / 8).then_some(count)
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, calls `apply` for every op of every intact frame in
    /// order, truncates a torn tail and handles damage as `recovery` says (see the module docs).
    ///
    /// `expected_generation` is the current snapshot manifest's `log_generation` (0 when the store has
    /// no snapshot): an older log is discarded without replay, a newer one is `Code::Corrupt` (see the
    /// module docs).
    pub fn open(
        dir: &Path,
        sync_each_write: bool,
        expected_generation: u32,
        recovery: LogRecovery,
        apply: impl FnMut(LogOp) -> Result<()>,
    ) -> Result<(Log, ReplayReport)> {
        Self::open_from(dir, sync_each_write, expected_generation, 0, recovery, apply)
    }

    /// [`Log::open`] for a snapshot that holds the log of `expected_generation` up to byte
    /// `snapshot_log_start` (the manifest's `log_start`; 0 or `HEADER_LEN`: the snapshot holds none
    /// of it). Then:
    /// - a log of `expected_generation` is replayed from that byte (the frames before it are in the
    ///   snapshot; they stay in the file until the next checkpoint trims it);
    /// - a log of `expected_generation + 1` is that log already trimmed (see [`Log::trim`]): it holds
    ///   only frames after the snapshot and is replayed whole;
    /// - older logs are discarded as with `open`, newer ones are `Code::Corrupt`.
    pub fn open_from(
        dir: &Path,
        sync_each_write: bool,
        expected_generation: u32,
        snapshot_log_start: u64,
        recovery: LogRecovery,
        mut apply: impl FnMut(LogOp) -> Result<()>,
    ) -> Result<(Log, ReplayReport)> {
        let path = dir.join(LOG_FILE);
        let frozen = snapshot_log_start > HEADER_LEN;
        // After a trimmed log, nothing before the snapshot's freeze point remains: the trimmed
        // log's generation is the snapshot's + 1.
        let empty_generation = if frozen { expected_generation + 1 } else { expected_generation };
        // A temporary file left by a crash during `reset` or `rewrite`: the rename never happened, so
        // the log at `path` is the real one.
        let _ = std::fs::remove_file(path.with_extension("log.tmp"));
        let mut file = FaultFile::new(
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io("cannot open", &path, e))?,
        );
        let file_len = file.metadata().map_err(|e| Error::io("cannot stat", &path, e))?.len();
        let mut report = ReplayReport { generation: expected_generation, ..ReplayReport::default() };
        if file_len < HEADER_LEN {
            // New, or a crash before the header was complete (nothing was ever acknowledged; `reset`
            // never leaves a short file since it renames a complete one into place).
            file.set_len(0).map_err(|e| Error::io("cannot truncate", &path, e))?;
            file.write_all(&header_bytes(empty_generation))
                .map_err(|e| Error::io("cannot write", &path, e))?;
            file.sync_all().map_err(|e| Error::io("cannot sync", &path, e))?;
            sync_dir(dir)?;
            report.created = true;
            report.generation = empty_generation;
            let log = Log {
                path,
                file,
                len: HEADER_LEN,
                generation: empty_generation,
                start: HEADER_LEN,
                sync_each_write,
                broken: None,
            };
            return Ok((log, report));
        }

        let mut reader = BufReader::with_capacity(1 << 20, file.file());
        let mut header = [0u8; HEADER_LEN as usize];
        reader.read_exact(&mut header).map_err(|e| Error::io("cannot read", &path, e))?;
        if &header[..8] != MAGIC {
            return Err(Error::corrupt(&path, "not a vecstore log (bad magic bytes)"));
        }
        let version = u32::from_le_bytes(header[8..12].try_into().unwrap());
        if version != LOG_FORMAT_VERSION {
            let hint = if version == 1 {
                " (version 1 logs come from development builds without log generations; \
                 recreate the store)"
            } else {
                ""
            };
            return Err(Error::corrupt(
                &path,
                format!(
                    "log format version {version} is not supported \
                     (this library reads version {LOG_FORMAT_VERSION}){hint}"
                ),
            ));
        }
        let generation = u32::from_le_bytes(header[12..16].try_into().unwrap());
        // Where replay starts: the snapshot's freeze point in its own log, the header otherwise.
        let replay_from = if frozen && generation == expected_generation {
            if snapshot_log_start > file_len {
                return Err(Error::corrupt(
                    &path,
                    format!(
                        "the log is {file_len} bytes but the snapshot holds it up to byte \
                         {snapshot_log_start}: the log lost data the snapshot says it had"
                    ),
                ));
            }
            snapshot_log_start
        } else {
            HEADER_LEN
        };
        if generation > empty_generation {
            return Err(Error::corrupt(
                &path,
                format!(
                    "log generation {generation} is newer than the snapshot's log generation \
                     {expected_generation}: the snapshot this log follows is missing"
                ),
            ));
        }
        if generation < expected_generation {
            // A crash between a snapshot's commit and the log reset: everything in this log is
            // already in the snapshot. Replaying it would apply those writes twice.
            drop(reader);
            let mut log =
                Log { path, file, len: file_len, generation, start: HEADER_LEN, sync_each_write, broken: None };
            log.reset(empty_generation)?;
            report.discarded_generation = Some(generation);
            report.generation = empty_generation;
            return Ok((log, report));
        }
        report.generation = generation;

        drop(reader);
        // SAFETY: the log is locked to this store (the directory lock) and nothing writes it while
        // it is replayed; the mapping is dropped before the file is changed.
        let map = unsafe { memmap2::Mmap::map(file.file()) }.map_err(|e| Error::io("cannot map", &path, e))?;
        let bytes = &map[..];
        let mut pos = replay_from as usize;
        // Valid frames to keep when salvaging: (start, end) byte ranges.
        let mut kept: Vec<(usize, usize)> = Vec::new();
        while pos < bytes.len() {
            match read_frame(bytes, pos) {
                Frame::Valid { ops, end } => {
                    report.frames += 1;
                    report.ops += ops.len() as u64;
                    for op in ops {
                        apply(op)?;
                    }
                    kept.push((pos, end));
                    pos = end;
                }
                Frame::Undecodable(e) => {
                    return Err(Error::corrupt(
                        &path,
                        format!("frame at byte {pos} passed its checksum but does not decode: {e}"),
                    ));
                }
                Frame::Damaged { why } => match next_valid_frame(bytes, pos) {
                    None => {
                        report.dropped_tail_bytes = (bytes.len() - pos) as u64;
                        break; // a torn tail: the write it held was never acknowledged
                    }
                    Some(next) if recovery == LogRecovery::TolerateTornTail => {
                        return Err(Error::corrupt(
                            &path,
                            format!(
                                "the frame at byte {pos} is damaged ({why}) and valid frames follow it \
                                 from byte {next}: this is not a torn write. Nothing was changed; open \
                                 with log recovery 'salvage' to keep every valid frame and skip the damage"
                            ),
                        ));
                    }
                    Some(next) => {
                        report.damage.push(Damage {
                            offset: pos as u64,
                            bytes: (next - pos) as u64,
                            ops: damaged_frame_op_count(bytes, pos, next),
                        });
                        pos = next;
                    }
                },
            }
        }
        let good_len = kept.last().map_or(replay_from, |&(_, end)| end as u64);
        if !report.damage.is_empty() {
            // Keep the damaged file for a person to look at, then make the log the valid frames only.
            let copy = dir.join(format!("{LOG_FILE}.damaged-{}", crate::storage::fsutil::unix_now()));
            crate::storage::fsutil::write_atomically(&copy, bytes)?;
            // The frozen prefix (already in the snapshot) is dropped too: the clean log is the
            // trimmed one, of the next generation.
            let clean_generation = if replay_from > HEADER_LEN { generation + 1 } else { generation };
            report.generation = clean_generation;
            let mut clean = header_bytes(clean_generation).to_vec();
            for &(start, end) in &kept {
                clean.extend_from_slice(&bytes[start..end]);
            }
            drop(map);
            drop(file);
            let (file, unsynced) = replace_file(&path, &clean)?;
            if let Some(why) = unsynced {
                return Err(Error::new(crate::error::Code::Io, why));
            }
            report.damaged_copy = Some(copy);
            let len = clean.len() as u64;
            let log = Log {
                path,
                file,
                len,
                generation: clean_generation,
                start: HEADER_LEN,
                sync_each_write,
                broken: None,
            };
            return Ok((log, report));
        }
        drop(map);
        if good_len < file_len {
            file.set_len(good_len).map_err(|e| Error::io("cannot truncate torn tail of", &path, e))?;
            file.sync_all().map_err(|e| Error::io("cannot sync", &path, e))?;
        }
        file.seek(SeekFrom::Start(good_len)).map_err(|e| Error::io("cannot seek", &path, e))?;
        let log = Log { path, file, len: good_len, generation, start: replay_from, sync_each_write, broken: None };
        Ok((log, report))
    }

    /// Appends one frame holding `ops`; returns once it is written to the OS (and fsynced in sync mode).
    /// On failure the log is rolled back to its previous length, so nothing of the frame remains.
    pub fn append(&mut self, ops: &[LogOp]) -> Result<()> {
        if let Some(why) = &self.broken {
            return Err(Error::new(crate::error::Code::Io, why.clone()));
        }
        let frame = encode_frame(ops);
        if frame.len() - FRAME_HEADER_LEN > MAX_FRAME_BYTES {
            return Err(Error::invalid(format!(
                "one write of {} bytes is above the limit of {MAX_FRAME_BYTES} bytes; split it",
                frame.len()
            )));
        }
        let result = self.file.write_all(&frame).and_then(|()| {
            if self.sync_each_write {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => {
                self.len += frame.len() as u64;
                Ok(())
            }
            Err(e) => {
                let err = Error::io("cannot append to", &self.path, e);
                let rollback = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(|_| ()));
                if let Err(e2) = rollback {
                    self.broken = Some(format!(
                        "{}: a failed write could not be rolled back ({e2}); reopen the store",
                        self.path.display()
                    ));
                }
                Err(err)
            }
        }
    }

    /// Fsyncs the log.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io("cannot sync", &self.path, e))
    }

    /// The log's length in bytes, header included (what it takes on disk).
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    /// Bytes of frames the current snapshot does not hold (those after [`Log::start`]): the store
    /// checkpoints when this passes a threshold.
    pub fn live_bytes(&self) -> u64 {
        self.len - self.start
    }

    /// Where the frames the snapshot does not hold start (`HEADER_LEN` when it holds none).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Records that the snapshot just committed holds every frame before `offset` (a checkpoint's
    /// freeze point, taken from [`Log::len_bytes`] while writes were held): they are skipped from now
    /// on and dropped by the next [`Log::trim`].
    pub fn set_start(&mut self, offset: u64) {
        self.start = offset.clamp(HEADER_LEN, self.len);
    }

    /// Drops the frames before [`Log::start`] (which the snapshot holds): atomically replaces the log
    /// with one of generation + 1 holding only the frames after it. The snapshot's manifest names the
    /// old generation and the freeze point, so a crash leaves either log and both replay correctly
    /// (see [`Log::open_from`]). On failure the log is unchanged and usable (unless the replaced file
    /// could not be made durable: then appends are refused, as for `reset`).
    pub fn trim(&mut self) -> Result<()> {
        if self.start <= HEADER_LEN {
            return Ok(());
        }
        let keep = (self.len - self.start) as usize;
        let mut bytes = Vec::with_capacity(HEADER_LEN as usize + keep);
        bytes.extend_from_slice(&header_bytes(self.generation + 1));
        bytes.resize(HEADER_LEN as usize + keep, 0);
        read_exact_at(self.file.file(), &mut bytes[HEADER_LEN as usize..], self.start)
            .map_err(|e| Error::io("cannot read", &self.path, e))?;
        self.replace_with(&bytes, self.generation + 1)?;
        self.start = HEADER_LEN;
        Ok(())
    }

    /// The generation written in the log's header.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Atomically replaces the log with an empty one of `generation` (step 2 of a checkpoint): a crash
    /// leaves either the old log or the new empty one. `generation` must be greater than the current
    /// one: going back would pair old history with a newer snapshot.
    ///
    /// If it fails, appends fail too until the store is reopened (the committed snapshot already
    /// names the new generation, so writes to the old log would be discarded at the next open); the
    /// reopen discards the old log, whose contents the snapshot holds.
    pub fn reset(&mut self, generation: u32) -> Result<()> {
        if generation <= self.generation {
            return Err(Error::invalid(format!(
                "log reset to generation {generation}, the log is already at generation {}",
                self.generation
            )));
        }
        let result = self.replace_with(&header_bytes(generation), generation);
        if let Err(e) = &result {
            if self.broken.is_none() {
                // The snapshot that asked for this reset is already committed and names the new
                // generation, so the old log will be discarded at the next open: anything appended
                // to it now would be acknowledged and then lost. Refuse writes until a reopen.
                self.broken = Some(format!(
                    "{}: the log could not be reset after a checkpoint ({}); reopen the store",
                    self.path.display(),
                    e.message
                ));
            }
        }
        result
    }

    /// Installs `bytes` (a complete log of `generation`) in place of the current file.
    fn replace_with(&mut self, bytes: &[u8], generation: u32) -> Result<()> {
        let (file, unsynced) = replace_file(&self.path, bytes)?;
        self.file = file;
        self.len = bytes.len() as u64;
        self.generation = generation;
        self.start = HEADER_LEN;
        self.broken = None;
        if let Some(why) = unsynced {
            // The new file is in place but its name may not survive a crash: acknowledging writes
            // into it would be a lie, so refuse them until the store is reopened.
            let msg = format!(
                "{}: the replaced log could not be made durable ({why}); reopen the store",
                self.path.display()
            );
            self.broken = Some(msg.clone());
            return Err(Error::new(crate::error::Code::Io, msg));
        }
        Ok(())
    }

    /// Replaces the log with one holding exactly `ops` (the current state), atomically: a crash during
    /// the rewrite leaves the old log in place.
    /// The generation is kept.
    pub fn rewrite(&mut self, ops: impl Iterator<Item = LogOp>) -> Result<()> {
        let mut bytes = BufWriter::new(Vec::new());
        bytes.write_all(&header_bytes(self.generation)).expect("write to memory");
        let mut chunk = Vec::with_capacity(REWRITE_OPS_PER_FRAME);
        let mut ops = ops.peekable();
        while ops.peek().is_some() {
            chunk.clear();
            chunk.extend(ops.by_ref().take(REWRITE_OPS_PER_FRAME));
            bytes.write_all(&encode_frame(&chunk)).expect("write to memory");
        }
        let bytes = bytes.into_inner().expect("flush to memory");
        self.replace_with(&bytes, self.generation)
    }
}

/// Reads exactly `buf.len()` bytes of `file` at `offset`, without moving its append position.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        let mut f = file.try_clone()?;
        let pos = f.stream_position()?;
        f.seek(SeekFrom::Start(offset))?;
        let r = f.read_exact(buf);
        f.seek(SeekFrom::Start(pos))?;
        r
    }
}

#[cfg(test)]
mod tests;
