//! Batches: many write operations under one write lock, made durable by one log append.
//!
//! A failing operation (unknown id, wrong dimension, bad vector) is reported with its index and
//! does not stop the others. A request that is malformed as a whole (bad JSON, an unknown `op`, a
//! missing field) is refused before anything is applied, and so is a batch a namespace's quota
//! refuses.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::write::WriteOp;
use super::Store;
use crate::error::{Code, Error, Result};

/// The outcome of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchResult {
    pub succeeded: usize,
    pub failed: usize,
    /// One entry per failed operation, in the order of the batch.
    pub errors: Vec<BatchError>,
    /// Wall time of the call, checks and log write included.
    pub duration_ms: f64,
}

/// Why one operation of a batch failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchError {
    /// Position of the operation in the batch (0-based).
    pub index: usize,
    /// The operation and its id, such as `soft_delete(doc3)`.
    pub operation: String,
    /// The error message.
    pub error: String,
    /// The error's kind: `not_found`, `dimension_mismatch`, `invalid_argument`...
    pub code: &'static str,
    #[serde(skip)]
    pub status: Code,
}

/// The snake_case name of an error code, as batch results spell it.
impl Store {
    /// Applies `ops` in order under one write lock and one log append. Per-operation failures are
    /// in the result; an error means the batch as a whole was refused (quota, I/O, a batch larger
    /// than one log frame) and nothing was applied.
    pub fn batch_execute(&self, ops: &[WriteOp]) -> Result<BatchResult> {
        let started = Instant::now();
        let outcome = self.write_ops(ops, super::write::Policy::PerOp)?;
        let errors: Vec<BatchError> = outcome
            .failures
            .into_iter()
            .map(|(index, e)| BatchError {
                index,
                operation: ops[index].describe(),
                error: e.message,
                code: e.code.key(),
                status: e.code,
            })
            .collect();
        Ok(BatchResult {
            succeeded: ops.len() - errors.len(),
            failed: errors.len(),
            errors,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }
}

impl BatchResult {
    /// `{"succeeded":2,"failed":1,"errors":[{"index":2,"operation":"soft_delete(doc3)",
    /// "error":"record not found: doc3","code":"not_found"}],"duration_ms":1.27}`
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("batch results serialise")
    }
}

/// One operation of a JSON batch request, tagged by `"op"`.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum JsonOp {
    Upsert {
        id: String,
        vector: Vec<f64>,
        #[serde(default)]
        metadata: Option<Value>,
        #[serde(default)]
        ttl_seconds: u64,
    },
    Delete {
        id: String,
    },
    SoftDelete {
        id: String,
    },
    Restore {
        id: String,
    },
    UpdateMetadata {
        id: String,
        #[serde(default)]
        metadata: Option<Value>,
    },
    SetTtl {
        id: String,
        ttl_seconds: u64,
    },
}

fn metadata_arg(metadata: Option<Value>) -> Option<String> {
    match metadata {
        None | Some(Value::Null) => None,
        // Checked (object of scalars and lists) per operation, like every write's metadata.
        Some(v) => Some(v.to_string()),
    }
}

/// Parses a batch request: `{"operations": [ {"op": "upsert", "id": "a", "vector": [..],
/// "metadata": {..}, "ttl_seconds": 60}, {"op": "delete", "id": "b"}, ... ]}` or the bare array.
/// Ops: `upsert` (id, vector, optional metadata and ttl_seconds), `delete`, `soft_delete`, `restore`
/// (id), `update_metadata` (id, metadata), `set_ttl` (id, ttl_seconds).
///
/// Malformed JSON, an unknown op, a missing or mistyped field, or an unknown field is
/// `InvalidArgument` naming the operation's index. Values are checked later, per operation.
pub fn parse_batch_json(text: &str) -> Result<Vec<WriteOp>> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("batch request is not valid JSON: {e}")))?;
    let items = match root {
        Value::Array(items) => items,
        Value::Object(mut obj) => {
            let ops = obj.remove("operations").ok_or_else(|| {
                Error::invalid(
                    "batch request must be an array of operations or an object with \"operations\"",
                )
            })?;
            if let Some(other) = obj.keys().next() {
                return Err(Error::invalid(format!("batch request has an unknown field {other:?}")));
            }
            match ops {
                Value::Array(items) => items,
                _ => return Err(Error::invalid("\"operations\" must be an array")),
            }
        }
        _ => return Err(Error::invalid("batch request must be an array or an object")),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let op: JsonOp =
                serde_json::from_value(item).map_err(|e| Error::invalid(format!("operation {i}: {e}")))?;
            Ok(match op {
                JsonOp::Upsert { id, vector, metadata, ttl_seconds } => WriteOp::Upsert {
                    id,
                    // A value outside f32's range becomes infinite, which the vector check refuses
                    // for that operation.
                    vector: vector.into_iter().map(|x| x as f32).collect(),
                    metadata: metadata_arg(metadata),
                    ttl_seconds,
                },
                JsonOp::Delete { id } => WriteOp::Delete { id },
                JsonOp::SoftDelete { id } => WriteOp::SoftDelete { id },
                JsonOp::Restore { id } => WriteOp::Restore { id },
                JsonOp::UpdateMetadata { id, metadata } => {
                    WriteOp::UpdateMetadata { id, metadata: metadata_arg(metadata) }
                }
                JsonOp::SetTtl { id, ttl_seconds } => WriteOp::SetTtl { id, ttl_seconds },
            })
        })
        .collect()
}
