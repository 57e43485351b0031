//! Read-only inspection of a store's log, for check tools (`vecstore info`, `verify`, `recover`).
//!
//! [`scan_log`] reads `vecstore.log` without opening it for writing, truncating or creating anything,
//! and describes every frame it finds: where it starts, how long it is and the operations it holds.
//! Where a frame is unreadable (bad length, failed checksum, a payload that does not decode) it looks
//! for the next intact frame after it, so a damaged frame in the middle of the log is told apart from a
//! torn tail (a crash while appending the last frame, which opening drops as designed): the damage is
//! reported with its byte range and whatever intact frames follow are still read.

use std::path::Path;

use super::log::{LogOp, FRAME_HEADER_LEN, HEADER_LEN, LOG_FILE, MAGIC, MAX_FRAME_BYTES};
use crate::error::{Error, Result};

/// One intact frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// Byte offset of the frame's header in the file.
    pub offset: u64,
    /// Bytes of the whole frame (header and payload).
    pub bytes: u64,
    pub ops: Vec<LogOp>,
}

/// A stretch of the log that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDamage {
    /// First byte of the stretch.
    pub offset: u64,
    /// Bytes in it (up to the next intact frame, or to the end of the file).
    pub bytes: u64,
    pub what: String,
}

/// What [`scan_log`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct LogScan {
    pub file_bytes: u64,
    /// From the header.
    pub format_version: u32,
    pub generation: u32,
    /// Intact frames, in file order.
    pub frames: Vec<FrameInfo>,
    /// Unreadable stretches followed by an intact frame: real damage (opening the store stops at the
    /// first of them and drops everything after it).
    pub damage: Vec<LogDamage>,
    /// An unreadable stretch at the end of the file with no intact frame after it: a torn write from
    /// a crash (or damage to the last frame, which cannot be told apart). Opening drops it.
    pub torn_tail: Option<LogDamage>,
}

impl LogScan {
    /// Operations in intact frames.
    pub fn op_count(&self) -> u64 {
        self.frames.iter().map(|f| f.ops.len() as u64).sum()
    }
}

/// Why the frame at `pos` cannot be read, or its total length and ops.
fn frame_at(bytes: &[u8], pos: usize) -> std::result::Result<(usize, Vec<LogOp>), String> {
    let remaining = bytes.len() - pos;
    if remaining < FRAME_HEADER_LEN {
        return Err(format!("{remaining} bytes, shorter than a frame header"));
    }
    let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap());
    if len > MAX_FRAME_BYTES || len > remaining - FRAME_HEADER_LEN {
        return Err(format!(
            "frame header gives a payload of {len} bytes, {} remain in the file",
            remaining - FRAME_HEADER_LEN
        ));
    }
    let payload = &bytes[pos + FRAME_HEADER_LEN..pos + FRAME_HEADER_LEN + len];
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(format!("frame checksum is {actual:08x}, its header says {crc:08x}"));
    }
    let ops: Vec<LogOp> = bincode::deserialize(payload)
        .map_err(|e| format!("frame passed its checksum but does not decode: {e}"))?;
    Ok((FRAME_HEADER_LEN + len, ops))
}

/// A cheap test before the checksum: could a frame start at `pos`? (The payload is bincode of a
/// `Vec<LogOp>`: a u64 count of at least 1, then the first op's variant index, below 6.)
fn plausible_frame(bytes: &[u8], pos: usize) -> bool {
    let Some(head) = bytes.get(pos..pos + FRAME_HEADER_LEN + 12) else { return false };
    let len = u32::from_le_bytes(head[..4].try_into().unwrap()) as u64;
    let count = u64::from_le_bytes(head[8..16].try_into().unwrap());
    let variant = u32::from_le_bytes(head[16..20].try_into().unwrap());
    len >= 12 && len as usize <= bytes.len() - pos - FRAME_HEADER_LEN && count >= 1 && count <= len && variant < 6
}

/// Reads and describes the log of store directory `dir` without changing anything. A missing log is
/// `Code::NotFound`-free: it gives `Ok(None)`. A bad header is `Code::Corrupt`.
pub fn scan_log(dir: &Path) -> Result<Option<LogScan>> {
    let path = dir.join(LOG_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    if (bytes.len() as u64) < HEADER_LEN {
        return Err(Error::corrupt(
            &path,
            format!("log is {} bytes, shorter than its {HEADER_LEN}-byte header", bytes.len()),
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err(Error::corrupt(&path, "not a vecstore log (bad magic bytes)"));
    }
    let format_version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let generation = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    let mut scan = LogScan {
        file_bytes: bytes.len() as u64,
        format_version,
        generation,
        frames: Vec::new(),
        damage: Vec::new(),
        torn_tail: None,
    };
    let mut pos = HEADER_LEN as usize;
    while pos < bytes.len() {
        match frame_at(&bytes, pos) {
            Ok((len, ops)) => {
                scan.frames.push(FrameInfo { offset: pos as u64, bytes: len as u64, ops });
                pos += len;
            }
            Err(what) => {
                // The next intact frame after the damage, if any.
                let next = (pos + 1..bytes.len())
                    .find(|&q| plausible_frame(&bytes, q) && frame_at(&bytes, q).is_ok());
                let end = next.unwrap_or(bytes.len());
                let d = LogDamage { offset: pos as u64, bytes: (end - pos) as u64, what };
                match next {
                    Some(q) => {
                        scan.damage.push(d);
                        pos = q;
                    }
                    None => {
                        scan.torn_tail = Some(d);
                        pos = bytes.len();
                    }
                }
            }
        }
    }
    Ok(Some(scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::log::Log;

    fn upsert(id: &str) -> LogOp {
        LogOp::Upsert { id: id.into(), vector: vec![1.0, 2.0], metadata: "{}".into(), expires_at: 0 }
    }

    #[test]
    fn damage_in_the_middle_is_told_apart_from_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = Log::open(dir.path(), false, 3, |_| Ok(())).unwrap();
        for id in ["a", "b", "c"] {
            log.append(&[upsert(id)]).unwrap();
        }
        drop(log);
        let path = dir.path().join(LOG_FILE);
        let clean = scan_log(dir.path()).unwrap().unwrap();
        assert_eq!((clean.frames.len(), clean.generation, clean.format_version), (3, 3, 2));
        assert!(clean.damage.is_empty() && clean.torn_tail.is_none());

        // A flipped byte in the second frame's payload: damage, and the third frame is still read.
        let mut bytes = std::fs::read(&path).unwrap();
        let second = clean.frames[1].offset as usize;
        bytes[second + 12] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let scan = scan_log(dir.path()).unwrap().unwrap();
        assert_eq!(scan.frames.len(), 2);
        assert_eq!(scan.frames[1].ops, vec![upsert("c")]);
        assert_eq!(scan.damage.len(), 1);
        assert_eq!((scan.damage[0].offset, scan.damage[0].bytes), (clean.frames[1].offset, clean.frames[1].bytes));
        assert!(scan.damage[0].what.contains("checksum"), "{}", scan.damage[0].what);
        assert!(scan.torn_tail.is_none());
        // Nothing was changed on disk.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);

        // A cut last frame: a torn tail, not damage.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[second + 12] ^= 0x40;
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).unwrap();
        let scan = scan_log(dir.path()).unwrap().unwrap();
        assert_eq!(scan.frames.len(), 2);
        assert!(scan.damage.is_empty());
        assert_eq!(scan.torn_tail.as_ref().unwrap().offset, clean.frames[2].offset);
    }
}
