//! Small file-system helpers with the durability steps spelled out, and [`FaultFile`], the file
//! every writer of the core writes through: with the test-only feature `failpoints` each write,
//! fsync, rename, truncate and directory sync can be made to fail (see [`fault`]).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Test-only fault injection (feature `failpoints`) under every file-system call that changes a store
/// on disk. One fail point per kind of call, so that a test can fail the n-th call of a kind
/// whatever step of which operation makes it:
///
/// - `fs::write`: one `write(2)` to a file (log frames, snapshot files, the manifest, the description
///   file, the namespace registry, backup copies);
/// - `fs::sync`: an fsync or fdatasync of a file;
/// - `fs::truncate`: a `set_len` (the log's rollback and torn-tail truncation);
/// - `fs::rename`: a rename;
/// - `fs::sync_dir`: an fsync of a directory.
///
/// Actions (the `fail` crate's syntax): `return(eio)`, `return(enospc)` fail the call with that
/// errno; `return(short)` makes a write write half its bytes and the next write of the same file
/// fail with ENOSPC, as a disk that fills does (for the other kinds it is EIO). Every evaluation
/// is counted in [`fault::hits`], so a test can enumerate the steps of a workload first.
#[cfg(feature = "failpoints")]
pub mod fault {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Every fail point of this layer.
    pub const NAMES: [&str; 5] = ["fs::write", "fs::sync", "fs::truncate", "fs::rename", "fs::sync_dir"];

    static HITS: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

    /// What an armed fail point asks for.
    pub(crate) enum Injected {
        Fail(std::io::Error),
        Short,
    }

    pub(crate) fn errno(n: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(n)
    }
    pub(crate) const EIO: i32 = 5;
    pub(crate) const ENOSPC: i32 = 28;

    fn action(arg: Option<String>) -> Option<Injected> {
        Some(match arg.as_deref() {
            Some("enospc") => Injected::Fail(errno(ENOSPC)),
            Some("short") => Injected::Short,
            _ => Injected::Fail(errno(EIO)),
        })
    }

    /// Counts one evaluation of `name` and returns what its configured action asks for.
    pub(crate) fn hit(name: &'static str) -> Option<Injected> {
        *HITS.lock().unwrap_or_else(|e| e.into_inner()).entry(name).or_default() += 1;
        fail::fail_point!(name, action);
        None
    }

    /// How many times each fail point was evaluated since the last [`reset_hits`].
    pub fn hits() -> BTreeMap<&'static str, u64> {
        HITS.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn reset_hits() {
        HITS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Fails with the injected error when the fail point `name` is armed (never without the feature).
#[inline(always)]
fn inject(name: &'static str) -> std::io::Result<()> {
    #[cfg(feature = "failpoints")]
    match fault::hit(name) {
        Some(fault::Injected::Fail(e)) => return Err(e),
        Some(fault::Injected::Short) => return Err(fault::errno(fault::EIO)),
        None => {}
    }
    let _ = name;
    Ok(())
}

/// Creates (or truncates) `path` for writing a whole file, buffered 1 MiB, through [`FaultFile`].
pub fn create_buffered(path: &std::path::Path) -> crate::error::Result<std::io::BufWriter<FaultFile>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| crate::error::Error::io("cannot create", path, e))?;
    Ok(std::io::BufWriter::with_capacity(1 << 20, FaultFile::new(file)))
}


/// A file opened for writing by the core. Writes, syncs and truncations go through the fail points
/// of [`fault`] (nothing more than the `File` calls without the feature `failpoints`).
#[derive(Debug)]
pub struct FaultFile {
    file: File,
    /// A short write was injected: the next write fails with ENOSPC.
    #[cfg(feature = "failpoints")]
    full: bool,
}

impl FaultFile {
    pub fn new(file: File) -> FaultFile {
        FaultFile {
            file,
            #[cfg(feature = "failpoints")]
            full: false,
        }
    }

    /// The file itself, for reads and mappings.
    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn sync_all(&self) -> std::io::Result<()> {
        inject("fs::sync")?;
        self.file.sync_all()
    }

    pub fn sync_data(&self) -> std::io::Result<()> {
        inject("fs::sync")?;
        self.file.sync_data()
    }

    pub fn set_len(&self, len: u64) -> std::io::Result<()> {
        inject("fs::truncate")?;
        self.file.set_len(len)
    }

    pub fn metadata(&self) -> std::io::Result<std::fs::Metadata> {
        self.file.metadata()
    }
}

impl Write for FaultFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        #[cfg(feature = "failpoints")]
        {
            if std::mem::take(&mut self.full) {
                return Err(fault::errno(fault::ENOSPC));
            }
            match fault::hit("fs::write") {
                Some(fault::Injected::Fail(e)) => return Err(e),
                Some(fault::Injected::Short) if buf.len() > 1 => {
                    let n = self.file.write(&buf[..buf.len() / 2])?;
                    self.full = true;
                    return Ok(n);
                }
                Some(fault::Injected::Short) => return Err(fault::errno(fault::ENOSPC)),
                None => {}
            }
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for FaultFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

impl std::io::Read for FaultFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

/// Renames `from` to `to` (through the fail point `fs::rename`).
pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    inject("fs::rename")?;
    std::fs::rename(from, to)
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a mix:
/// write a temporary file, fsync it, rename it over `path`, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    match write_atomically_placed(path, bytes)? {
        None => Ok(()),
        Some(unsynced) => Err(unsynced),
    }
}

/// [`write_atomically`], telling apart the failure of the last step: `Err` = `path` was not
/// replaced; `Ok(Some(e))` = the new file is in place (every reader sees it) but the directory
/// sync that makes the rename survive a crash failed with `e`.
pub fn write_atomically_placed(path: &Path, bytes: &[u8]) -> Result<Option<Error>> {
    let tmp = path.with_extension("tmp");
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create", &tmp, e))?;
    let mut f = FaultFile::new(f);
    let written = f.write_all(bytes).map_err(|e| Error::io("cannot write", &tmp, e));
    let written = written.and_then(|()| f.sync_all().map_err(|e| Error::io("cannot sync", &tmp, e)));
    drop(f);
    let renamed =
        written.and_then(|()| rename(&tmp, path).map_err(|e| Error::io("cannot rename into place", path, e)));
    if let Err(e) = renamed {
        // Never renamed: the temporary file is nobody's, and on a full disk its bytes matter.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(sync_dir(path.parent().unwrap_or(Path::new("."))).err())
}

/// Fsyncs a directory so that a rename or a new file in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| Error::io("cannot open directory", dir, e))?;
    inject("fs::sync_dir").and_then(|()| d.sync_all()).map_err(|e| Error::io("cannot sync directory", dir, e))
}

/// The whole file at `path`, or `None` when there is no such file.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// The length of the file at `path`, 0 when it cannot be read (used for sizes shown in stats).
pub fn file_len_or_zero(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Whether anything (a file, a directory, a symbolic link, even a dangling one) is at `path`.
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Creates `dir` and its missing parents.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))
}

/// Seconds since the Unix epoch (0 if the clock is before it): for names of files kept for people.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
