//! Backups of a namespace: `<root>/backups/<id>/<name>/`, holding the store's files (snapshot files
//! hard-linked where the file system allows, see [`Store::backup_to`]) and `backup.json` (name,
//! creation time, vector count).
//!
//! A backup is built under `.tmp-<name>` and renamed into place, so a crash never leaves a half
//! backup under a real name. A restore builds the new store directory as `ns/.restore-<id>` (links
//! and copies of the backup's files: the backup itself is never modified), then swaps it in:
//! `ns/<id>` -> `ns/.old-<id>`, `ns/.restore-<id>` -> `ns/<id>`, remove `ns/.old-<id>`.
//! [`recover_restore`] finishes or undoes a swap interrupted by a crash before the store is opened.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::names::check_name;
use super::{real_dir, remove_tree};
use crate::error::{Code, Error, Result};
use crate::storage::dir::{self, copy_file, link_or_copy, EntryKind};
use crate::storage::fsutil::exists;
use crate::storage::fsutil::{sync_dir, write_atomically};
use crate::store::Store;

pub const BACKUP_INFO_FILE: &str = "backup.json";
const BACKUP_FORMAT_VERSION: u32 = 1;

/// One backup as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEntry {
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Live records in the namespace when the backup was taken.
    pub vector_count: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    format_version: u32,
    namespace: String,
    #[serde(flatten)]
    entry: BackupEntry,
}

fn not_found(id: &str, name: &str) -> Error {
    Error::new(Code::NotFound, format!("backup not found: {name} (namespace {id})"))
}

/// The directory of an existing backup (`NotFound` if there is none; `Corrupt` for a link).
pub fn dir_of(backups_root: &Path, id: &str, name: &str) -> Result<PathBuf> {
    let ns = backups_root.join(id);
    let dir = ns.join(name);
    for p in [backups_root, &ns, &dir] {
        real_dir(p, false).map_err(|e| if e.code == Code::NotFound { not_found(id, name) } else { e })?;
    }
    Ok(dir)
}

/// Takes a backup of `store` (namespace `id`) named `name`.
pub fn create(backups_root: &Path, id: &str, name: &str, store: &Store) -> Result<BackupEntry> {
    real_dir(backups_root, true)?;
    let ns = backups_root.join(id);
    real_dir(&ns, true)?;
    let dest = ns.join(name);
    if exists(&dest) {
        return Err(Error::new(
            Code::AlreadyExists,
            format!("backup already exists: {name} (namespace {id})"),
        ));
    }
    let tmp = ns.join(format!(".tmp-{name}"));
    remove_tree(&tmp)?;
    dir::create_new_dir(&tmp)?;
    let result = (|| {
        let created_at = super::now_unix();
        let info = store.backup_to(&tmp)?;
        let entry = BackupEntry { name: name.to_string(), created_at, vector_count: info.vector_count };
        let file = BackupFile { format_version: BACKUP_FORMAT_VERSION, namespace: id.to_string(), entry };
        let text = serde_json::to_vec_pretty(&file).expect("backup info serialises");
        write_atomically(&tmp.join(BACKUP_INFO_FILE), &text)?;
        dir::rename_into_place(&tmp, &dest)?;
        sync_dir(&ns)?;
        Ok(file.entry)
    })();
    if result.is_err() {
        let _ = remove_tree(&tmp);
    }
    result
}

fn read_info(dir: &Path, name: &str) -> Result<BackupEntry> {
    let path = dir.join(BACKUP_INFO_FILE);
    let bytes = dir::read_regular_file(&path)?;
    let file: BackupFile = serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, e))?;
    if file.format_version != BACKUP_FORMAT_VERSION || file.entry.name != name {
        return Err(Error::corrupt(&path, "unknown format version or a name that is not the directory's"));
    }
    Ok(file.entry)
}

/// The backups of namespace `id`, oldest first (then by name).
pub fn list(backups_root: &Path, id: &str) -> Result<Vec<BackupEntry>> {
    let ns = backups_root.join(id);
    for p in [backups_root, ns.as_path()] {
        match real_dir(p, false) {
            Err(e) if e.code == Code::NotFound => return Ok(Vec::new()),
            r => r?,
        }
    }
    let mut out = Vec::new();
    for e in dir::list(&ns)? {
        let Some(name) = e.name.to_str().map(str::to_string) else { continue };
        if check_name(&name, "backup name").is_err() {
            continue; // temporary directories (".tmp-...") and anything not ours
        }
        real_dir(&e.path, false)?;
        out.push(read_info(&e.path, &name)?);
    }
    out.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(out)
}

fn staged_path(ns_root: &Path, id: &str) -> PathBuf {
    ns_root.join(format!(".restore-{id}"))
}

fn old_path(ns_root: &Path, id: &str) -> PathBuf {
    ns_root.join(format!(".old-{id}"))
}

/// Builds `ns/.restore-<id>` from a backup: snapshot files (immutable) are hard-linked, the others
/// (the log, which the store appends to, and the small description files) copied. Returns its path.
pub fn stage_restore(backup_dir: &Path, ns_root: &Path, id: &str) -> Result<PathBuf> {
    read_info(backup_dir, &backup_dir.file_name().unwrap_or_default().to_string_lossy())?;
    let staged = staged_path(ns_root, id);
    remove_tree(&staged)?;
    dir::create_new_dir(&staged)?;
    let result = (|| {
        for e in dir::list(backup_dir)? {
            if e.name == BACKUP_INFO_FILE {
                continue;
            }
            if e.kind != EntryKind::File {
                return Err(Error::corrupt(&e.path, "is not a regular file (a symbolic link?): refused"));
            }
            let to = staged.join(&e.name);
            if e.name.to_string_lossy().starts_with("snap-") {
                link_or_copy(&e.path, &to)?;
            } else {
                copy_file(&e.path, &to, None)?;
            }
        }
        sync_dir(&staged)
    })();
    match result {
        Ok(()) => Ok(staged),
        Err(e) => {
            let _ = remove_tree(&staged);
            Err(e)
        }
    }
}

/// Puts a staged directory in place of `ns/<id>` (the store must be closed).
pub fn swap_in(ns_root: &Path, id: &str, staged: &Path) -> Result<()> {
    let cur = ns_root.join(id);
    let old = old_path(ns_root, id);
    remove_tree(&old)?;
    if exists(&cur) {
        dir::rename_away(&cur, &old)?;
    }
    dir::rename_into_place(staged, &cur)?;
    sync_dir(ns_root)?;
    remove_tree(&old)
}

/// Finishes (the staged directory was complete before the old one was moved away) or undoes (the
/// old one is still in place) a restore of namespace `id` interrupted by a crash.
pub fn recover_restore(ns_root: &Path, id: &str) -> Result<()> {
    let cur = ns_root.join(id);
    let old = old_path(ns_root, id);
    let staged = staged_path(ns_root, id);
    if exists(&old) {
        if !exists(&cur) {
            let from = if exists(&staged) { &staged } else { &old };
            dir::rename_into_place(from, &cur)?;
            sync_dir(ns_root)?;
        }
        remove_tree(&old)?;
    }
    remove_tree(&staged)
}

/// Removes what an interrupted restore of namespace `id` left (for a namespace being deleted or
/// created: none of it is the new namespace's data).
pub fn remove_restore_leftovers(ns_root: &Path, id: &str) -> Result<()> {
    remove_tree(&staged_path(ns_root, id))?;
    remove_tree(&old_path(ns_root, id))
}
