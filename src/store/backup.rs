//! A consistent copy of a store's files, taken while the store stays open (for namespace backups).
//!
//! Under the store's read lock no write and no checkpoint can run, so the files on disk are exactly
//! the store's state: the snapshot the manifest names (immutable files: they are written under
//! temporary names and renamed, never modified in place), and the first `len` bytes of the log (the
//! writes since that snapshot; the log is written straight to the file, without a user-space buffer).
//! The snapshot files are hard-linked (falling back to a copy where links fail, e.g. across file
//! systems), the small files are copied. Reads go on during the backup; writes wait for it.

use std::path::Path;

use super::{now_unix, Store};
use crate::error::Result;
use crate::storage::dir::{copy_file, link_or_copy};
use crate::storage::fsutil::sync_dir;
use crate::storage::log::LOG_FILE;
use crate::storage::snapshot::{read_manifest, FileKind, MANIFEST_FILE};
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
    /// an existing, empty directory. Writes wait while it runs; reads do not.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupInfo> {
        let inner = self.inner.read();
        let src = &inner.dir;
        let mut info =
            BackupInfo { vector_count: inner.visible_count(now_unix()) as u64, bytes: 0, linked_files: 0 };
        if let Some(manifest) = read_manifest(src)? {
            for kind in FileKind::ALL {
                let name = &manifest.entry(kind).name;
                let (bytes, linked) = link_or_copy(&src.join(name), &dest.join(name))?;
                info.bytes += bytes;
                info.linked_files += u32::from(linked);
            }
            info.bytes += copy_file(&src.join(MANIFEST_FILE), &dest.join(MANIFEST_FILE), None)?;
        }
        info.bytes += copy_file(&src.join(META_FILE), &dest.join(META_FILE), None)?;
        // The trained ranges of the int8 codes, so that the copy encodes the same codes.
        let quant = super::codes::QUANT_FILE;
        if crate::storage::fsutil::exists(&src.join(quant)) {
            info.bytes += copy_file(&src.join(quant), &dest.join(quant), None)?;
        }
        info.bytes += copy_file(&src.join(LOG_FILE), &dest.join(LOG_FILE), Some(inner.log.len_bytes()))?;
        drop(inner);
        sync_dir(dest)?;
        Ok(info)
    }
}
