//! Checkpoints: a snapshot of the whole store, then an empty log (see `storage::log` for how the two
//! fit together), after a write that grew the log past its threshold and at close.

use std::path::Path;

use super::{Inner, Store};
use crate::error::{Code, Error, Result};
use crate::storage::snapshot::{write_snapshot, FileKind, SlotRecord, SnapshotContents};
use crate::storage::vectors::VectorBlock;

/// Closing checkpoints only when the log holds more than this (a smaller log replays in milliseconds).
pub(super) const CLOSE_CHECKPOINT_MIN_BYTES: u64 = 64 << 10;

impl Store {
    /// The checkpoint of a close: only when the log holds enough to make the next open noticeably
    /// slower. Rewriting the snapshot (every vector of the store) to save replaying a few writes would
    /// make closing a large store after a handful of writes cost seconds for nothing.
    pub(super) fn close_checkpoint(&self) -> Result<()> {
        let mut inner = self.inner.write();
        if inner.log.len_bytes() > CLOSE_CHECKPOINT_MIN_BYTES.min(self.checkpoint_bytes) {
            inner.checkpoint()
        } else {
            inner.log.sync()
        }
    }

    /// Checkpoints after a write when the log has grown past the threshold. The write itself is
    /// already durable, so a failed checkpoint is not the write's failure: it is retried after the
    /// next write and at close.
    pub(super) fn checkpoint_if_due(&self, inner: &mut Inner) {
        if inner.log.len_bytes() > self.checkpoint_bytes {
            let _ = inner.checkpoint();
        }
    }
}

impl Inner {
    /// Writes a snapshot of the whole store (vectors, records, graph), then empties the log. The
    /// snapshot's manifest is the commit point: a crash before it leaves the old snapshot and the
    /// full log, after it the new snapshot (and a log that opening discards as older history).
    /// Nothing to do when the log holds no write since the last snapshot.
    pub(super) fn checkpoint(&mut self) -> Result<()> {
        if self.log.len_bytes() <= crate::storage::log::HEADER_LEN {
            return self.log.sync();
        }
        self.index_pending();
        let records: Vec<SlotRecord> = self.slots.iter().map(super::Slot::to_record).collect();
        let mut graph = Vec::new();
        self.index.write_to(&mut graph).map_err(|e| Error::new(Code::Internal, format!("graph: {e}")))?;
        let generation = self.snapshot_generation + 1;
        let next_log_generation = self.log.generation() + 1;
        let manifest = write_snapshot(
            &self.dir,
            &SnapshotContents {
                generation,
                vectors: &self.vectors,
                records: &records,
                graph: &graph,
                next_log_generation,
            },
        )?;
        self.snapshot_generation = generation;
        self.snapshot_bytes = snapshot_disk_bytes(&self.dir, &manifest);
        self.log.reset(next_log_generation)?;
        // Serve the vectors from the new file: the in-memory rows are freed. If mapping fails the
        // rows in memory are still right, so keep them.
        if let Ok(mapped) =
            VectorBlock::open_mapped(&manifest.file_path(&self.dir, FileKind::Vectors), self.dim())
        {
            self.vectors = mapped;
        }
        Ok(())
    }
}

/// Bytes of a snapshot's files on disk, its manifest included.
pub(super) fn snapshot_disk_bytes(dir: &Path, manifest: &crate::storage::snapshot::Manifest) -> u64 {
    let manifest_file =
        crate::storage::fsutil::file_len_or_zero(&dir.join(crate::storage::snapshot::MANIFEST_FILE));
    manifest.vectors.bytes + manifest.records.bytes + manifest.graph.bytes + manifest_file
}
