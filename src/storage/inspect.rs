//! Read-only inspection of a store's log, for check tools (`vecstore info`, `verify`, `recover`).
//!
//! [`scan_log`] reads `vecstore.log` without opening it for writing, truncating or creating anything,
//! and describes every frame it finds: where it starts, how long it is and the operations it holds.
//! It reads frames with the log's own reader ([`super::log`]'s `read_frame` and `next_valid_frame`),
//! so it tells damage from a torn tail exactly as opening does: an unreadable frame that valid frames
//! follow is damage (reported with its byte range, and the frames after it are still read); one with
//! nothing valid after it is a torn tail (a crash while appending, which opening drops).

use std::path::Path;

use super::log::{
    damaged_frame_op_count, next_valid_frame, read_frame, Frame, LogOp, HEADER_LEN, LOG_FILE, MAGIC,
};
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
    /// Operations the damaged frame held, when its header still says so.
    pub ops: Option<u64>,
    /// `checksum mismatch`, `frame header cut short`, `frame length past the end of the log`, or why a
    /// frame that passed its checksum does not decode.
    pub what: String,
    /// True when the frame is cut short (its header or its length runs past the end of the file):
    /// the mark of an unfinished append. False for a complete frame that fails its checksum.
    pub cut_short: bool,
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
    /// Unreadable stretches followed by an intact frame: damage (opening refuses the store, or skips
    /// them when salvaging).
    pub damage: Vec<LogDamage>,
    /// An unreadable stretch at the end of the file with no intact frame after it: a torn write from
    /// a crash (or damage to the last frame, which cannot always be told apart). Opening drops it.
    pub torn_tail: Option<LogDamage>,
}

impl LogScan {
    /// Operations in intact frames.
    pub fn op_count(&self) -> u64 {
        self.frames.iter().map(|f| f.ops.len() as u64).sum()
    }
}

/// Reads and describes the log of store directory `dir` without changing anything. A missing log
/// gives `Ok(None)`; a bad header is `Code::Corrupt`.
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
        let (what, cut_short) = match read_frame(&bytes, pos) {
            Frame::Valid { ops, end } => {
                scan.frames.push(FrameInfo { offset: pos as u64, bytes: (end - pos) as u64, ops });
                pos = end;
                continue;
            }
            Frame::Damaged { why } => (why.to_string(), why != "checksum mismatch"),
            Frame::Undecodable(e) => (format!("frame passed its checksum but does not decode: {e}"), false),
        };
        let next = next_valid_frame(&bytes, pos);
        let end = next.unwrap_or(bytes.len());
        let ops = damaged_frame_op_count(&bytes, pos, end);
        let d = LogDamage { offset: pos as u64, bytes: (end - pos) as u64, ops, what, cut_short };
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
    Ok(Some(scan))
}

#[cfg(test)]
mod tests;
