//! A consistent copy of a store's files, taken while the store stays open (for namespace backups).
//!
//! Holding the store's checkpoint lock, no checkpoint, log trim or compaction can run, so the
//! manifest and the snapshot files it names stay as they are (immutable files: they are written
//! under temporary names and renamed, never modified in place), and the log only grows. The log's
//! length and the record count are taken at one moment under the log's mutex; the first `len` bytes
//! of the log then are exactly the writes since that snapshot up to that moment (the log is written
//! straight to the file, without a user-space buffer). The snapshot files are hard-linked (falling
//! back to a copy where links fail, e.g. across file systems), the small files are copied. Reads and
//! writes go on during the backup; a checkpoint waits for it.

use std::path::Path;

use super::{now_unix, Store};
use crate::error::Result;
use crate::storage::dir::{copy_file, link_or_copy};
use crate::storage::fsutil::sync_dir;
use crate::storage::log::LOG_FILE;
use crate::storage::snapshot::{read_manifest, MANIFEST_FILE};
use crate::store::meta::META_FILE;

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    /// Live records at the time of the backup.
    pub vector_count: u64,
    /// Bytes of the files written into the backup directory (hard-linked ones included).
    pub bytes: u64,
    /// How many files were hard-linked rather than copied.
    pub linked_files: u32,
}

impl Store {
    /// Writes a copy of the store that opens to exactly its current state into `dest`, which must be
    /// an existing, empty directory. Reads and writes go on while it runs.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupInfo> {
        let _run = self.checkpoint_run.lock();
        let (log_len, count) = {
            let log = self.log.lock();
            (log.len_bytes(), self.inner.read().visible_count(now_unix()) as u64)
        };
        let src = &self.path;
        let mut info = BackupInfo { vector_count: count, bytes: 0, linked_files: 0 };
        if let Some(manifest) = read_manifest(src)? {
            for (_, entry) in manifest.files() {
                let name = &entry.name;
                let (bytes, linked) = link_or_copy(&src.join(name), &dest.join(name))?;
                info.bytes += bytes;
                info.linked_files += u32::from(linked);
            }
            info.bytes += copy_file(&src.join(MANIFEST_FILE), &dest.join(MANIFEST_FILE), None)?;
        }
        info.bytes += copy_file(&src.join(META_FILE), &dest.join(META_FILE), None)?;
        // The trained ranges of the int8 codes, so that the copy encodes the same codes (written
        // by rename, so the copy is one whole version of it).
        let quant = super::codes::QUANT_FILE;
        if crate::storage::fsutil::exists(&src.join(quant)) {
            info.bytes += copy_file(&src.join(quant), &dest.join(quant), None)?;
        }
        info.bytes += copy_file(&src.join(LOG_FILE), &dest.join(LOG_FILE), Some(log_len))?;
        sync_dir(dest)?;
        Ok(info)
    }
}
