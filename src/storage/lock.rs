//! The directory lock: one open handle per store directory, across threads and processes.
//!
//! An advisory `flock` on `<dir>/LOCK`. The lock belongs to the open file description, so a second
//! open of the same directory in the same process is refused just like one from another process, and
//! the kernel drops the lock when the process dies (no stale lock files to clean up after a crash).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Code, Error, Result};

pub const LOCK_FILE: &str = "LOCK";

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Unlock explicitly rather than only closing the file: a child forked (without exec) after
        // the open shares the open file description, and closing our descriptor alone would leave
        // the directory locked until that child exits.
        let _ = self.file.unlock();
    }
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { file }),
            Err(TryLockError::WouldBlock) => Err(Error::new(
                Code::Locked,
                format!("store {} is already open (by this or another process)", dir.display()),
            )),
            Err(TryLockError::Error(e)) => Err(Error::io("cannot lock", &path, e)),
        }
    }
}
