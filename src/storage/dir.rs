//! Directory operations of the core (namespace roots, backups, restores): create, rename, list,
//! remove, and copies that hard-link where they can. None of them follows a symbolic link. Errors
//! name the action and the path (`Error::io`).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What is at a path, seen without following a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

impl EntryKind {
    fn of(t: std::fs::FileType) -> EntryKind {
        if t.is_symlink() {
            EntryKind::Symlink
        } else if t.is_dir() {
            EntryKind::Dir
        } else if t.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// What is at `path` (not following a link), `None` when nothing is.
pub fn kind_of(path: &Path) -> Result<Option<EntryKind>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(EntryKind::of(m.file_type()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot stat", path, e)),
    }
}

/// Whether `path` is a symbolic link (false when nothing is there or it cannot be read).
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Creates the directory `path` (its parent must exist). `Ok(false)` when something is already
/// there (the caller checks what).
pub fn create_dir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("cannot create directory", path, e)),
    }
}

/// Creates the new directory `path`; an existing one is an error.
pub fn create_new_dir(path: &Path) -> Result<()> {
    std::fs::create_dir(path).map_err(|e| Error::io("cannot create directory", path, e))
}

/// Renames `from` to `to`, which is being put in place (the error names `to`).
pub fn rename_into_place(from: &Path, to: &Path) -> Result<()> {
    super::fsutil::rename(from, to).map_err(|e| Error::io("cannot rename into place", to, e))
}

/// Renames `from` (moved out of the way) to `to` (the error names `from`).
pub fn rename_away(from: &Path, to: &Path) -> Result<()> {
    super::fsutil::rename(from, to).map_err(|e| Error::io("cannot rename", from, e))
}

/// The entries of `dir`, in the order the file system gives them.
pub fn list(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("cannot read directory", dir, e))? {
        let e = e.map_err(|e| Error::io("cannot read directory", dir, e))?;
        let kind = EntryKind::of(e.file_type().map_err(|err| Error::io("cannot stat", &e.path(), err))?);
        out.push(Entry { name: e.file_name(), path: e.path(), kind });
    }
    Ok(out)
}

/// Removes a directory tree, or only the link when `path` is a symbolic link (never what it points
/// to). A missing path is fine.
pub fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot stat", path, e)),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(|e| Error::io("cannot remove", path, e)),
        Ok(_) => std::fs::remove_file(path).map_err(|e| Error::io("cannot remove", path, e)),
    }
}

/// The whole regular file at `path`; a symbolic link or anything else there is `Corrupt`.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("cannot stat", path, e))?;
    if !meta.is_file() {
        return Err(Error::corrupt(path, "is not a regular file (a symbolic link?)"));
    }
    std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))
}

/// The length of the file at `path`, `None` when it cannot be read.
pub fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Hard-links `from` to `to`, or copies it when the link fails. Returns (bytes, linked). The caller
/// syncs the directory.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(u64, bool)> {
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
pub fn copy_file(from: &Path, to: &Path, limit: Option<u64>) -> Result<u64> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| Error::io("cannot stat", from, e))?;
    if !meta.file_type().is_file() {
        return Err(Error::invalid(format!(
            "{} is not a regular file (a symlink?): refused",
            from.display()
        )));
    }
    let src = File::open(from).map_err(|e| Error::io("cannot open", from, e))?;
    let mut dst = super::fsutil::FaultFile::new(
        OpenOptions::new().write(true).create_new(true).open(to).map_err(|e| Error::io("cannot create", to, e))?,
    );
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
