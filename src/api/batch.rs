//! Batch operations, owned.

use super::Metadata;
use crate::store::write::WriteOp;

/// One operation of [`VecStore::batch_execute`](super::VecStore::batch_execute).
///
/// A batch runs under one write lock and one log append; an operation that fails on its own (an
/// unknown id, a wrong dimension, a bad vector or metadata) is reported in the
/// [`BatchResult`](crate::BatchResult) with its index, and the others are applied. The report is
/// the one a C caller gets from `vs_store_batch_execute_json` for the same operations.
///
/// ```
/// use vecstore::{BatchOperation, Metadata};
///
/// let ops = vec![
///     BatchOperation::Upsert { id: "doc1".into(), vector: vec![0.1, 0.2], metadata: Metadata::default() },
///     BatchOperation::UpsertWithTtl {
///         id: "session-1".into(),
///         vector: vec![0.2, 0.1],
///         metadata: Metadata::default(),
///         ttl_seconds: 3600,
///     },
///     BatchOperation::SoftDelete { id: "doc3".into() },
/// ];
/// assert_eq!(ops[2].describe(), "soft_delete(doc3)");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOperation {
    /// Inserts or replaces a record (clearing a soft delete and any TTL).
    Upsert {
        /// The record's id.
        id: String,
        /// Its vector.
        vector: Vec<f32>,
        /// Its metadata.
        metadata: Metadata,
    },
    /// Inserts or replaces a record that expires `ttl_seconds` from now (0 = never).
    UpsertWithTtl {
        /// The record's id.
        id: String,
        /// Its vector.
        vector: Vec<f32>,
        /// Its metadata.
        metadata: Metadata,
        /// Seconds until it expires; 0 = never.
        ttl_seconds: u64,
    },
    /// Deletes a live or soft-deleted record for good.
    Delete {
        /// The record's id.
        id: String,
    },
    /// Hides a live record until it is restored; compaction removes it.
    SoftDelete {
        /// The record's id.
        id: String,
    },
    /// Undoes a soft delete.
    Restore {
        /// The record's id.
        id: String,
    },
    /// Replaces the metadata of a live record.
    UpdateMetadata {
        /// The record's id.
        id: String,
        /// The new metadata (empty = none).
        metadata: Metadata,
    },
    /// Makes a live record expire `ttl_seconds` from now; 0 removes its expiry.
    SetTtl {
        /// The record's id.
        id: String,
        /// Seconds until it expires; 0 = never.
        ttl_seconds: u64,
    },
}

impl BatchOperation {
    /// How a batch report names the operation: `soft_delete(doc3)` (long ids are cut).
    pub fn describe(&self) -> String {
        self.clone().into_core().describe()
    }

    pub(crate) fn into_core(self) -> WriteOp {
        match self {
            BatchOperation::Upsert { id, vector, metadata } => {
                WriteOp::Upsert { id, vector, metadata: metadata.to_core(), ttl_seconds: 0 }
            }
            BatchOperation::UpsertWithTtl { id, vector, metadata, ttl_seconds } => {
                WriteOp::Upsert { id, vector, metadata: metadata.to_core(), ttl_seconds }
            }
            BatchOperation::Delete { id } => WriteOp::Delete { id },
            BatchOperation::SoftDelete { id } => WriteOp::SoftDelete { id },
            BatchOperation::Restore { id } => WriteOp::Restore { id },
            BatchOperation::UpdateMetadata { id, metadata } => {
                WriteOp::UpdateMetadata { id, metadata: metadata.to_core() }
            }
            BatchOperation::SetTtl { id, ttl_seconds } => WriteOp::SetTtl { id, ttl_seconds },
        }
    }
}
