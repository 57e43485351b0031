//! Every write goes through one path: its operations are checked on their own (ids, vectors,
//! metadata) without a lock, then planned under the write lock against the store's state as the
//! earlier operations of the same call leave it, checked against the namespace's quota as a whole,
//! appended to the log as one frame (one group commit), and only then applied to memory.
//!
//! A single `soft_delete` and a batch of ten thousand operations take the same path, so they cannot
//! disagree about what an operation means.

use std::collections::HashMap;

use super::guard::Growth;
use super::options::MAX_DIMENSION;
use super::record::{check_id, metadata_text, parse_metadata};
use super::{now_unix, Inner, SlotState, Store};
use crate::error::{Error, Result};
use crate::storage::log::{frame_len, LogOp};

/// One write operation (of a batch, or a single call).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Inserts or replaces a record. A replacement clears the soft-deleted flag and any expiry.
    /// `ttl_seconds` 0 = the record never expires.
    Upsert { id: String, vector: Vec<f32>, metadata: Option<String>, ttl_seconds: u64 },
    /// Removes a live or soft-deleted record for good.
    Delete { id: String },
    /// Hides a live record from every read until it is restored; compaction removes it.
    SoftDelete { id: String },
    /// Undoes a soft delete. Restoring a live record changes nothing.
    Restore { id: String },
    /// Replaces the metadata of a live record (`None` = empty).
    UpdateMetadata { id: String, metadata: Option<String> },
    /// Sets a live record to expire `ttl_seconds` from now; 0 removes its expiry.
    SetTtl { id: String, ttl_seconds: u64 },
}

impl WriteOp {
    pub fn id(&self) -> &str {
        match self {
            WriteOp::Upsert { id, .. }
            | WriteOp::Delete { id }
            | WriteOp::SoftDelete { id }
            | WriteOp::Restore { id }
            | WriteOp::UpdateMetadata { id, .. }
            | WriteOp::SetTtl { id, .. } => id,
        }
    }

    /// The operation's name as the batch API spells it.
    pub fn name(&self) -> &'static str {
        match self {
            WriteOp::Upsert { .. } => "upsert",
            WriteOp::Delete { .. } => "delete",
            WriteOp::SoftDelete { .. } => "soft_delete",
            WriteOp::Restore { .. } => "restore",
            WriteOp::UpdateMetadata { .. } => "update_metadata",
            WriteOp::SetTtl { .. } => "set_ttl",
        }
    }

    /// `soft_delete(doc3)`: how a batch error names the operation. Long ids are cut.
    pub fn describe(&self) -> String {
        let id = self.id();
        if id.len() <= 64 {
            format!("{}({id})", self.name())
        } else {
            let mut end = 64;
            while !id.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}({}...)", self.name(), &id[..end])
        }
    }
}

/// An operation checked on its own: vectors prepared as stored, metadata canonical.
struct Checked {
    id: String,
    change: Change,
}

/// What a checked operation does to its id. Owned, so planning moves the vector and metadata into
/// the log operation instead of copying them.
enum Change {
    Upsert { vector: Vec<f32>, metadata: String, ttl_seconds: u64 },
    Delete,
    SoftDelete,
    Restore,
    UpdateMetadata { metadata: String },
    SetTtl { ttl_seconds: u64 },
}

/// The outcome of one planned write call.
#[derive(Debug, Default)]
pub(crate) struct WriteOutcome {
    /// Operations that failed, by index, with the reason. The others were applied.
    pub(crate) failures: Vec<(usize, Error)>,
}

/// What an id is, as the earlier operations of a write leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdState {
    Absent,
    /// Counted in `live`; `expired` records are invisible but still counted until removed.
    Live {
        expired: bool,
    },
    SoftDeleted {
        expired: bool,
    },
}

/// The expiry time of a record written now with this TTL: at least `ttl_seconds` from now, rounded
/// up to the next whole second (expiry is kept in Unix seconds). 0 = never.
pub(crate) fn expiry_after(ttl_seconds: u64) -> u64 {
    if ttl_seconds == 0 {
        return 0;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let now_ceil = now.as_secs() + u64::from(now.subsec_nanos() > 0);
    now_ceil.saturating_add(ttl_seconds)
}

/// Longest TTL accepted: 100 years. Far-future expiry is what "no TTL" (0) is for.
/// cbindgen:ignore
pub const MAX_TTL_SECONDS: u64 = 100 * 365 * 24 * 3600;

fn check_ttl(ttl_seconds: u64) -> Result<()> {
    if ttl_seconds > MAX_TTL_SECONDS {
        return Err(Error::invalid(format!(
            "ttl_seconds {ttl_seconds} is above the limit of {MAX_TTL_SECONDS} (100 years); use 0 for no expiry"
        )));
    }
    Ok(())
}

impl Inner {
    pub(crate) fn id_state(&self, id: &str, now: u64) -> IdState {
        let Some(&s) = self.slot_of.get(id) else { return IdState::Absent };
        let slot = &self.slots[s as usize];
        let expired = slot.expires_at != 0 && slot.expires_at <= now;
        match slot.state {
            SlotState::Live => IdState::Live { expired },
            SlotState::SoftDeleted => IdState::SoftDeleted { expired },
            SlotState::Deleted => IdState::Absent,
        }
    }

    /// Bytes on disk: the log, the current snapshot's files and the description file.
    pub(crate) fn storage_bytes(&self) -> u64 {
        self.log.len_bytes() + self.snapshot_bytes + self.meta_bytes
    }
}

impl Store {
    fn check_op(&self, op: &WriteOp) -> Result<Checked> {
        check_id(op.id())?;
        let change = match op {
            WriteOp::Upsert { vector, metadata, ttl_seconds, .. } => {
                check_ttl(*ttl_seconds)?;
                let vector = self.prepare_vector(vector, "vector")?;
                let metadata = metadata_text(&parse_metadata(metadata.as_deref())?);
                Change::Upsert { vector, metadata, ttl_seconds: *ttl_seconds }
            }
            WriteOp::Delete { .. } => Change::Delete,
            WriteOp::SoftDelete { .. } => Change::SoftDelete,
            WriteOp::Restore { .. } => Change::Restore,
            WriteOp::UpdateMetadata { metadata, .. } => {
                Change::UpdateMetadata { metadata: metadata_text(&parse_metadata(metadata.as_deref())?) }
            }
            WriteOp::SetTtl { ttl_seconds, .. } => {
                check_ttl(*ttl_seconds)?;
                Change::SetTtl { ttl_seconds: *ttl_seconds }
            }
        };
        Ok(Checked { id: op.id().to_string(), change })
    }

    /// Applies `ops` in order as one write. Operations that fail on their own (bad vector, unknown
    /// id, wrong dimension) are reported in the outcome and the others are applied; an error is
    /// returned only when the write as a whole is refused (quota, I/O), and then nothing changed.
    pub(crate) fn write_ops(&self, ops: &[WriteOp]) -> Result<WriteOutcome> {
        let mut failures = Vec::new();
        let mut checked = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match self.check_op(op) {
                Ok(c) => checked.push((i, c)),
                Err(e) => failures.push((i, e)),
            }
        }
        if checked.is_empty() {
            return Ok(WriteOutcome { failures });
        }

        let mut inner = self.inner.write();
        let now = now_unix();
        let mut dim = inner.dim();
        let mut overlay: HashMap<String, IdState> = HashMap::new();
        let mut log_ops = Vec::with_capacity(checked.len());
        let mut vectors_added: u64 = 0;
        let mut adds_data = false;
        for (i, Checked { id, change }) in checked {
            let state = overlay.get(&id).copied().unwrap_or_else(|| inner.id_state(&id, now));
            let not_found = || Error::not_found(&id);
            let planned: Result<(LogOp, IdState)> = match change {
                Change::Upsert { vector, metadata, ttl_seconds } => {
                    if dim == 0 && vector.len() <= MAX_DIMENSION {
                        dim = vector.len();
                    }
                    if vector.len() != dim {
                        Err(Error::dimension(dim, vector.len()))
                    } else {
                        if !matches!(state, IdState::Live { .. }) {
                            vectors_added += 1;
                        }
                        adds_data = true;
                        let expires_at = expiry_after(ttl_seconds);
                        Ok((
                            LogOp::Upsert { id: id.clone(), vector, metadata, expires_at },
                            IdState::Live { expired: false },
                        ))
                    }
                }
                Change::Delete => match state {
                    IdState::Live { expired: false } | IdState::SoftDeleted { expired: false } => {
                        Ok((LogOp::Delete { id: id.clone() }, IdState::Absent))
                    }
                    _ => Err(not_found()),
                },
                Change::SoftDelete => match state {
                    IdState::Live { expired: false } => {
                        Ok((LogOp::SoftDelete { id: id.clone() }, IdState::SoftDeleted { expired: false }))
                    }
                    _ => Err(not_found()),
                },
                Change::Restore => match state {
                    IdState::SoftDeleted { expired: false } => {
                        vectors_added += 1;
                        adds_data = true;
                        Ok((LogOp::Restore { id: id.clone() }, IdState::Live { expired: false }))
                    }
                    // Restoring a live record is a no-op, not an error: the caller's intent holds.
                    IdState::Live { expired: false } => {
                        continue;
                    }
                    _ => Err(not_found()),
                },
                Change::UpdateMetadata { metadata } => match state {
                    IdState::Live { expired: false } => {
                        adds_data = true;
                        Ok((LogOp::UpdateMetadata { id: id.clone(), metadata }, state))
                    }
                    _ => Err(not_found()),
                },
                Change::SetTtl { ttl_seconds } => match state {
                    IdState::Live { expired: false } => {
                        adds_data = true;
                        Ok((
                            LogOp::SetExpiry { id: id.clone(), expires_at: expiry_after(ttl_seconds) },
                            state,
                        ))
                    }
                    _ => Err(not_found()),
                },
            };
            match planned {
                Ok((log_op, after)) => {
                    overlay.insert(id, after);
                    log_ops.push(log_op);
                }
                Err(e) => failures.push((i, e)),
            }
        }
        failures.sort_by_key(|(i, _)| *i);
        if log_ops.is_empty() {
            return Ok(WriteOutcome { failures });
        }
        if adds_data {
            if let Some(check) = &inner.growth_check {
                check.check(&Growth {
                    vectors_before: inner.live as u64,
                    vectors_added,
                    storage_bytes_before: inner.storage_bytes(),
                    bytes_added: frame_len(&log_ops),
                })?;
            }
        }
        inner.log.append(&log_ops)?;
        if dim != 0 {
            inner.adopt_dimension(&self.path, dim);
        }
        for op in log_ops {
            inner.apply(op);
        }
        inner.index_pending();
        self.checkpoint_if_due(&mut inner);
        Ok(WriteOutcome { failures })
    }

    /// One operation: its own failure is the call's error.
    pub(crate) fn write_one(&self, op: WriteOp) -> Result<()> {
        let mut outcome = self.write_ops(std::slice::from_ref(&op))?;
        match outcome.failures.pop() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Hides a live record from every read (`NotFound` if there is no live record with this id).
    /// It keeps its space until compaction; `restore` brings it back.
    pub fn soft_delete(&self, id: &str) -> Result<()> {
        self.write_one(WriteOp::SoftDelete { id: id.to_string() })
    }

    /// Undoes a soft delete (`NotFound` if the id is neither soft-deleted nor live; restoring a live
    /// record changes nothing).
    pub fn restore(&self, id: &str) -> Result<()> {
        self.write_one(WriteOp::Restore { id: id.to_string() })
    }

    /// Replaces the metadata of a live record (`NotFound` if there is none).
    pub fn update_metadata(&self, id: &str, metadata: Option<&str>) -> Result<()> {
        self.write_one(WriteOp::UpdateMetadata { id: id.to_string(), metadata: metadata.map(str::to_string) })
    }

    /// Inserts or replaces a record that expires `ttl_seconds` from now (0 = never).
    pub fn upsert_with_ttl(
        &self,
        id: &str,
        vector: &[f32],
        metadata: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<()> {
        self.write_one(WriteOp::Upsert {
            id: id.to_string(),
            vector: vector.to_vec(),
            metadata: metadata.map(str::to_string),
            ttl_seconds,
        })
    }

    /// Makes a live record expire `ttl_seconds` from now; 0 removes its expiry (`NotFound` if there
    /// is no live record with this id).
    pub fn set_ttl(&self, id: &str, ttl_seconds: u64) -> Result<()> {
        self.write_one(WriteOp::SetTtl { id: id.to_string(), ttl_seconds })
    }

    /// Deletes every expired record (live or soft-deleted) for good and returns how many. Expired
    /// records are already invisible to every read; this reclaims their ids (and, after compaction,
    /// their space).
    pub fn expire_ttl_records(&self) -> Result<u64> {
        let mut inner = self.inner.write();
        if inner.expiring == 0 {
            return Ok(0);
        }
        let now = now_unix();
        let ops: Vec<LogOp> = inner
            .slots
            .iter()
            .filter(|slot| slot.state != SlotState::Deleted && slot.expires_at != 0 && slot.expires_at <= now)
            .map(|slot| LogOp::Delete { id: slot.id.clone() })
            .collect();
        if ops.is_empty() {
            return Ok(0);
        }
        let n = ops.len() as u64;
        inner.log.append(&ops)?;
        for op in ops {
            inner.apply(op);
        }
        self.checkpoint_if_due(&mut inner);
        Ok(n)
    }
}
