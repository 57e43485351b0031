//! A consistent copy of a store's files, taken while the store stays open (for namespace backups).
//!
//! Under the store's read lock no write and no checkpoint can run, so the files on disk are exactly
//! the store's state: the snapshot the manifest names (immutable files: they are written under
//! temporary names and renamed, never modified in place), and the first `len` bytes of the log (the
//! writes since that snapshot; the log is written straight to the file, without a user-space buffer).
//! The snapshot files are hard-linked (falling back to a copy where links fail, e.g. across file
//! systems), the small files are copied. Reads go on during the backup; writes wait for it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use super::{now_unix, Store};
use crate::error::{Error, Result};
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
        info.bytes += copy_file(&src.join(LOG_FILE), &dest.join(LOG_FILE), Some(inner.log.len_bytes()))?;
        drop(inner);
        sync_dir(dest)?;
        Ok(info)
    }
}

/// Hard-links `from` to `to`, or copies it when the link fails. Returns (bytes, linked). The caller
/// syncs the directory.
pub(crate) fn link_or_copy(from: &Path, to: &Path) -> Result<(u64, bool)> {
    match std::fs::hard_link(from, to) {
        Ok(()) => {
            let len = std::fs::symlink_metadata(to).map_err(|e| Error::io("cannot stat", to, e))?.len();
            Ok((len, true))
        }
        Err(_) => copy_file(from, to, None).map(|n| (n, false)),
    }
}

/// Copies `from` (only its first `limit` bytes when given) to the new file `to`, fsynced. Refuses to
/// overwrite (`to` must not exist) and never follows a symlink at `from`.
pub(crate) fn copy_file(from: &Path, to: &Path, limit: Option<u64>) -> Result<u64> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| Error::io("cannot stat", from, e))?;
    if !meta.file_type().is_file() {
        return Err(Error::invalid(format!(
            "{} is not a regular file (a symlink?): refused",
            from.display()
        )));
    }
    let src = File::open(from).map_err(|e| Error::io("cannot open", from, e))?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| Error::io("cannot create", to, e))?;
    let mut reader: Box<dyn Read> = match limit {
        Some(n) => Box::new(src.take(n)),
        None => Box::new(src),
    };
    let n = std::io::copy(&mut reader, &mut dst).map_err(|e| Error::io("cannot copy to", to, e))?;
    if let Some(want) = limit {
        if n != want {
            return Err(Error::io(
                "cannot copy",
                from,
                std::io::Error::other(format!("expected {want} bytes, read {n}")),
            ));
        }
    }
    dst.flush().and_then(|()| dst.sync_all()).map_err(|e| Error::io("cannot sync", to, e))?;
    Ok(n)
}
