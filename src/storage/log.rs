//! The append-only operation log (`vecstore.log`): every acknowledged write is a checksummed frame here
//! before the call returns.
//!
//! Layout (all integers little-endian):
//! ```text
//! header : magic "VSLOG\0\0\0" (8 bytes) | format version u32 | reserved u32 (0)
//! frame  : payload length u32 | crc32 (IEEE) of payload u32 | payload (bincode of Vec<LogOp>)
//! ```
//! One frame holds one call's operations (a bulk upsert is one frame: all of it or none of it is
//! replayed). On replay a frame that is cut short or fails its checksum ends the log: it and anything
//! after it are dropped and the file is truncated to the last good frame, so a torn write from a crash
//! is never loaded as garbage.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{sync_dir, write_atomically};
use crate::error::{Error, Result};

pub const LOG_FILE: &str = "vecstore.log";
pub(crate) const LOG_FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"VSLOG\0\0\0";
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

/// What replay found.
#[derive(Debug, Default, PartialEq)]
pub struct ReplayReport {
    pub frames: u64,
    pub ops: u64,
    /// Bytes of a damaged or torn tail that were dropped (0 for a clean log).
    pub dropped_tail_bytes: u64,
}

#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    len: u64,
    sync_each_write: bool,
    /// Set when a failed append could not be rolled back: further writes would land after garbage.
    broken: Option<String>,
}

fn encode_frame(ops: &[LogOp]) -> Vec<u8> {
    let payload = bincode::serialize(ops).expect("log ops serialise");
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

fn header_bytes() -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
    h
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, calls `apply` for every op of every intact frame in
    /// order, and truncates a damaged tail.
    pub fn open(
        dir: &Path,
        sync_each_write: bool,
        mut apply: impl FnMut(LogOp) -> Result<()>,
    ) -> Result<(Log, ReplayReport)> {
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open", &path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io("cannot stat", &path, e))?.len();
        let mut report = ReplayReport::default();
        if file_len < HEADER_LEN {
            // New, or a crash before the header was complete (nothing was ever acknowledged).
            file.set_len(0).map_err(|e| Error::io("cannot truncate", &path, e))?;
            file.write_all(&header_bytes()).map_err(|e| Error::io("cannot write", &path, e))?;
            file.sync_all().map_err(|e| Error::io("cannot sync", &path, e))?;
            sync_dir(dir)?;
            let log = Log { path, file, len: HEADER_LEN, sync_each_write, broken: None };
            return Ok((log, report));
        }

        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut header = [0u8; HEADER_LEN as usize];
        reader.read_exact(&mut header).map_err(|e| Error::io("cannot read", &path, e))?;
        if &header[..8] != MAGIC {
            return Err(Error::corrupt(&path, "not a vecstore log (bad magic bytes)"));
        }
        let version = u32::from_le_bytes(header[8..12].try_into().unwrap());
        if version != LOG_FORMAT_VERSION {
            return Err(Error::corrupt(
                &path,
                format!(
                    "log format version {version} is not supported (this library reads {LOG_FORMAT_VERSION})"
                ),
            ));
        }

        let mut good_len = HEADER_LEN;
        let mut payload = Vec::new();
        loop {
            let remaining = file_len - good_len;
            if remaining == 0 {
                break;
            }
            if remaining < FRAME_HEADER_LEN as u64 {
                break; // torn frame header
            }
            let mut fh = [0u8; FRAME_HEADER_LEN];
            reader.read_exact(&mut fh).map_err(|e| Error::io("cannot read", &path, e))?;
            let len = u32::from_le_bytes(fh[..4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(fh[4..].try_into().unwrap());
            if len > MAX_FRAME_BYTES || (len as u64) > remaining - FRAME_HEADER_LEN as u64 {
                break; // torn payload or a damaged length
            }
            payload.resize(len, 0);
            reader.read_exact(&mut payload).map_err(|e| Error::io("cannot read", &path, e))?;
            if crc32fast::hash(&payload) != crc {
                break; // torn or damaged payload
            }
            let ops: Vec<LogOp> = bincode::deserialize(&payload).map_err(|e| {
                Error::corrupt(
                    &path,
                    format!("frame at byte {good_len} passed its checksum but does not decode: {e}"),
                )
            })?;
            report.frames += 1;
            report.ops += ops.len() as u64;
            for op in ops {
                apply(op)?;
            }
            good_len += (FRAME_HEADER_LEN + len) as u64;
        }
        drop(reader);
        report.dropped_tail_bytes = file_len - good_len;
        if good_len < file_len {
            file.set_len(good_len).map_err(|e| Error::io("cannot truncate damaged tail of", &path, e))?;
            file.sync_all().map_err(|e| Error::io("cannot sync", &path, e))?;
        }
        file.seek(SeekFrom::Start(good_len)).map_err(|e| Error::io("cannot seek", &path, e))?;
        Ok((Log { path, file, len: good_len, sync_each_write, broken: None }, report))
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

    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    /// Replaces the log with one holding exactly `ops` (the current state), atomically: a crash during
    /// the rewrite leaves the old log in place.
    pub fn rewrite(&mut self, ops: impl Iterator<Item = LogOp>) -> Result<()> {
        let mut bytes = BufWriter::new(Vec::new());
        bytes.write_all(&header_bytes()).expect("write to memory");
        let mut chunk = Vec::with_capacity(REWRITE_OPS_PER_FRAME);
        let mut ops = ops.peekable();
        while ops.peek().is_some() {
            chunk.clear();
            chunk.extend(ops.by_ref().take(REWRITE_OPS_PER_FRAME));
            bytes.write_all(&encode_frame(&chunk)).expect("write to memory");
        }
        let bytes = bytes.into_inner().expect("flush to memory");
        write_atomically(&self.path, &bytes)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| Error::io("cannot reopen", &self.path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| Error::io("cannot seek", &self.path, e))?;
        self.file = file;
        self.len = bytes.len() as u64;
        self.broken = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(id: &str) -> LogOp {
        LogOp::Upsert { id: id.into(), vector: vec![1.0, 2.0], metadata: "{}".into(), expires_at: 0 }
    }

    fn replay(dir: &Path) -> (Vec<LogOp>, ReplayReport) {
        let mut ops = Vec::new();
        let (_log, report) = Log::open(dir, false, |op| {
            ops.push(op);
            Ok(())
        })
        .unwrap();
        (ops, report)
    }

    #[test]
    fn frames_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), false, |_| Ok(())).unwrap();
        log.append(&[upsert("a"), upsert("b")]).unwrap();
        log.append(&[LogOp::Delete { id: "a".into() }]).unwrap();
        drop(log);
        let (ops, report) = replay(dir.path());
        assert_eq!(ops, vec![upsert("a"), upsert("b"), LogOp::Delete { id: "a".into() }]);
        assert_eq!((report.frames, report.dropped_tail_bytes), (2, 0));
    }

    #[test]
    fn every_torn_tail_is_dropped_and_earlier_frames_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), false, |_| Ok(())).unwrap();
        log.append(&[upsert("a")]).unwrap();
        let good = log.len_bytes();
        log.append(&[upsert("b")]).unwrap();
        let full = log.len_bytes();
        drop(log);
        let path = dir.path().join(LOG_FILE);
        let bytes = std::fs::read(&path).unwrap();
        for cut in good..full {
            std::fs::write(&path, &bytes[..cut as usize]).unwrap();
            let (ops, report) = replay(dir.path());
            assert_eq!(ops, vec![upsert("a")], "cut at {cut}");
            assert_eq!(report.dropped_tail_bytes, cut - good);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), good, "tail truncated");
        }
    }

    #[test]
    fn a_flipped_bit_in_the_last_frame_drops_only_that_frame() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), false, |_| Ok(())).unwrap();
        log.append(&[upsert("a")]).unwrap();
        let good = log.len_bytes() as usize;
        log.append(&[upsert("b")]).unwrap();
        drop(log);
        let path = dir.path().join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let (ops, _) = replay(dir.path());
        assert_eq!(ops, vec![upsert("a")]);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, good);
    }

    #[test]
    fn bad_magic_and_unknown_version_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE);
        std::fs::write(&path, b"NOTALOG\0\x01\0\0\0\0\0\0\0").unwrap();
        let err = Log::open(dir.path(), false, |_| Ok(())).unwrap_err();
        assert_eq!(err.code, crate::error::Code::Corrupt);
        let mut h = header_bytes();
        h[8] = 99;
        std::fs::write(&path, h).unwrap();
        let err = Log::open(dir.path(), false, |_| Ok(())).unwrap_err();
        assert_eq!(err.code, crate::error::Code::Corrupt);
        assert!(err.message.contains("version 99"), "{}", err.message);
    }

    #[test]
    fn rewrite_replaces_the_history_with_the_given_state() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), false, |_| Ok(())).unwrap();
        for i in 0..10 {
            log.append(&[upsert(&format!("{i}"))]).unwrap();
        }
        log.rewrite((0..5000).map(|i| upsert(&format!("r{i}")))).unwrap();
        log.append(&[upsert("after")]).unwrap();
        drop(log);
        let (ops, report) = replay(dir.path());
        assert_eq!(ops.len(), 5001);
        assert_eq!(report.frames, 3, "4096 + 904 ops, then one appended frame");
        assert_eq!(ops[5000], upsert("after"));
    }
}
