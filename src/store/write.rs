//! Every write goes through one path: its operations are checked on their own (ids, vectors,
//! metadata) without a lock, then planned under the write lock against the store's state as the
//! earlier operations of the same call leave it, checked against the namespace's quota as a whole,
//! appended to the log as one frame (one group commit), and only then applied to memory.
//!
//! A single `soft_delete`, a bulk upsert of a million records, a batch of ten thousand operations and
//! TTL expiry take the same path ([`Store::commit`]), so they cannot disagree about what an operation
//! means or about the quota; the only difference between them is the [`Policy`] for an operation that
//! fails on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::guard::Growth;
use super::options::MAX_DIMENSION;
use super::record::{check_id, metadata_text, parse_metadata};
use super::{now_unix, Inner, NewRecord, SlotState, Store};
use crate::error::{Code, Error, Result};
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
        let Some(s) = self.slot_of.get(&self.slots, id) else { return IdState::Absent };
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
        self.log_bytes + self.snapshot_bytes + self.meta_bytes
    }
}

/// How one write call treats an operation that fails on its own (a bad vector, an unknown id, a
/// wrong dimension). The only difference between a batch and every other write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// The call fails with the first such error and writes nothing: `upsert`, `upsert_many` and every
    /// single-record call.
    AllOrNothing,
    /// Failures are reported per operation and the others written: `batch_execute`.
    PerOp,
}

/// What a call will write, decided under the write lock.
struct Planned {
    log_ops: Vec<LogOp>,
    failures: Vec<(usize, Error)>,
    /// The store's dimension after this write (fixed by its first vector when it had none).
    dim: usize,
    /// Records the write adds (new ids and restores), for the quota check.
    vectors_added: u64,
    /// Whether the write adds data at all: pure removals are never refused by a quota.
    adds_data: bool,
}

/// Marks the store failed if a panic unwinds through the window where the log already holds a
/// write that memory does not yet (or only partly) reflect. parking_lot locks do not poison, so
/// without this a caught panic would leave a handle serving data out of step with its log.
pub(crate) struct FailOnPanic<'a>(pub(crate) &'a AtomicBool);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

/// A test-only hook (feature `failpoints`): a point in the write path where a test can inject a
/// panic or an error. Compiles to nothing otherwise.
macro_rules! fail_point {
    ($name:expr) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    };
}

impl Store {
    /// Checks an upsert on its own: id, TTL, vector (returned as stored), metadata (canonical).
    fn check_upsert(
        &self,
        id: &str,
        vector: &[f32],
        metadata: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<Checked> {
        check_id(id)?;
        Ok(Checked { id: id.to_string(), change: self.check_upsert_change(vector, metadata, ttl_seconds)? })
    }

    fn check_upsert_change(
        &self,
        vector: &[f32],
        metadata: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<Change> {
        check_ttl(ttl_seconds)?;
        let vector = self.prepare_vector(vector, "vector")?;
        let metadata = metadata_text(&parse_metadata(metadata)?);
        Ok(Change::Upsert { vector, metadata, ttl_seconds })
    }

    fn check_op(&self, op: &WriteOp) -> Result<Checked> {
        check_id(op.id())?;
        let change = match op {
            WriteOp::Upsert { vector, metadata, ttl_seconds, .. } => {
                self.check_upsert_change(vector, metadata.as_deref(), *ttl_seconds)?
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

    /// Applies `ops` in order as one write, under `policy`. An error is returned when the write as a
    /// whole is refused (quota, I/O; and under `AllOrNothing` any failing operation), and then
    /// nothing changed.
    pub(crate) fn write_ops(&self, ops: &[WriteOp], policy: Policy) -> Result<WriteOutcome> {
        let mut failures = Vec::new();
        let mut checked = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match self.check_op(op) {
                Ok(c) => checked.push((i, c)),
                Err(e) if policy == Policy::AllOrNothing => return Err(in_call(e, i, op.id(), ops.len())),
                Err(e) => failures.push((i, e)),
            }
        }
        self.write_checked(checked, failures, policy, ops.len())
    }

    /// Inserts or replaces many records as one all-or-nothing write (see [`Store::upsert_many`]).
    pub(crate) fn write_records(&self, records: &[NewRecord<'_>]) -> Result<()> {
        let mut checked = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let c = self
                .check_upsert(r.id, r.vector, r.metadata, 0)
                .map_err(|e| in_call(e, i, r.id, records.len()))?;
            checked.push((i, c));
        }
        self.write_checked(checked, Vec::new(), Policy::AllOrNothing, records.len()).map(|_| ())
    }

    fn write_checked(
        &self,
        checked: Vec<(usize, Checked)>,
        failures: Vec<(usize, Error)>,
        policy: Policy,
        call_len: usize,
    ) -> Result<WriteOutcome> {
        if checked.is_empty() {
            return Ok(WriteOutcome { failures });
        }
        self.commit(|inner, now| plan_changes(inner, now, checked, failures, policy, call_len))
    }

    /// The one write pipeline: plan under the read lock (holding the log's mutex, so no other write
    /// can change the state planned against), check growth against the quota once, append one log
    /// frame (no lock readers need is held), publish it to memory under the write lock (records,
    /// vector rows, graph nodes allocated), link the new nodes into the graph under the read lock
    /// while queries go on, and checkpoint when the log is due. Every write of the store (single,
    /// bulk, batch, TTL expiry) comes through here.
    fn commit(&self, plan: impl FnOnce(&Inner, u64) -> Result<Planned>) -> Result<WriteOutcome> {
        self.ensure_usable()?;
        let mut log = self.log.lock();
        let inner = self.inner.read();
        let planned = plan(&inner, now_unix())?;
        let Planned { log_ops, failures, dim, vectors_added, adds_data } = planned;
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
        // Room for the new rows and graph nodes, copied now if the arrays must grow, so that the
        // exclusive lock below never waits for a large array to be reallocated.
        let rows = log_ops.iter().filter(|op| matches!(op, LogOp::Upsert { .. })).count();
        let tail = inner.vectors.grown_tail(rows);
        let grown = inner.index.prepare_allocate((inner.slots.len() + rows) as u32);
        let codes_grown = inner.codes.as_ref().and_then(|c| c.grown_lines(rows));
        drop(inner);
        // From the append on, memory must follow the log or the handle must refuse every call.
        let _guard = FailOnPanic(&self.failed);
        log.append(&log_ops)?;
        fail_point!("write::after_log_append");
        let replaced = {
            let mut inner = self.inner.write();
            if dim != 0 {
                inner.adopt_dimension(&self.path, dim);
            }
            let old_tail = tail.map(|t| inner.vectors.install_tail(t));
            let old_codes = codes_grown.and_then(|l| inner.codes.as_mut().map(|c| c.install_lines(l)));
            for op in log_ops {
                inner.apply(op);
            }
            inner.log_bytes = log.len_bytes();
            let end = inner.slots.len() as u32;
            inner.index.allocate(end, grown);
            // The codes cover every graph node before a search can meet the new ones.
            inner.sync_codes();
            (old_tail, old_codes)
        };
        drop(replaced); // the arrays the grown copies replaced, freed outside the lock
        // The graph insertion, while queries go on (they scan the nodes not linked yet exactly).
        let inner = self.inner.read();
        if inner.index.link_pending(&inner.vectors, inner.build_threads) {
            drop(inner);
            self.inner.write().index.install_entry();
        } else {
            drop(inner);
        }
        let due = log.live_bytes() > self.checkpoint_bytes;
        drop(log);
        if due {
            self.checkpoint_if_due();
        }
        Ok(WriteOutcome { failures })
    }

    /// One operation: its failure is the call's error.
    pub(crate) fn write_one(&self, op: WriteOp) -> Result<()> {
        self.write_ops(std::slice::from_ref(&op), Policy::AllOrNothing).map(|_| ())
    }

    /// Fails with `Internal` once a panic inside a write has left this handle out of step with its
    /// log: reopening replays the log, which holds every acknowledged write.
    pub fn ensure_usable(&self) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "store {} is unusable after an internal error during a write: close it and open it \
                     again (reopening replays its log, which holds every acknowledged write)",
                    self.path.display()
                ),
            ));
        }
        Ok(())
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
        // Checked straight from the borrowed vector: a `WriteOp` would copy it once more.
        let checked = self.check_upsert(id, vector, metadata, ttl_seconds)?;
        self.write_checked(vec![(0, checked)], Vec::new(), Policy::AllOrNothing, 1).map(|_| ())
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
        let mut expired = 0;
        self.commit(|inner, now| {
            // In expiry order, from the expiry index (no scan of the slots).
            let log_ops: Vec<LogOp> =
                inner.expired_ids(now).into_iter().map(|id| LogOp::Delete { id }).collect();
            expired = log_ops.len() as u64;
            Ok(Planned { log_ops, failures: Vec::new(), dim: 0, vectors_added: 0, adds_data: false })
        })?;
        Ok(expired)
    }
}

/// An error of operation `i` of a call of `len` operations, naming it when there are several.
fn in_call(e: Error, i: usize, id: &str, len: usize) -> Error {
    if len > 1 {
        Error::new(e.code, format!("record {i} ({id:?}): {}", e.message))
    } else {
        e
    }
}

/// What one checked operation does, decided against the id's state as the call's earlier operations
/// leave it: `Ok(Some(state after))`, `Ok(None)` for a no-op, or its own failure.
fn decide(id: &str, change: &Change, state: IdState, dim: &mut usize) -> Result<Option<IdState>> {
    let live = IdState::Live { expired: false };
    let fresh = match (change, state) {
        (Change::Upsert { vector, .. }, _) => {
            if *dim == 0 && vector.len() <= MAX_DIMENSION {
                *dim = vector.len();
            }
            if vector.len() != *dim {
                return Err(Error::dimension(*dim, vector.len()));
            }
            live
        }
        (Change::Delete, IdState::Live { expired: false } | IdState::SoftDeleted { expired: false }) => {
            IdState::Absent
        }
        (Change::SoftDelete, IdState::Live { expired: false }) => IdState::SoftDeleted { expired: false },
        (Change::Restore, IdState::SoftDeleted { expired: false }) => live,
        // Restoring a live record is a no-op, not an error: the caller's intent holds.
        (Change::Restore, IdState::Live { expired: false }) => return Ok(None),
        (Change::UpdateMetadata { .. } | Change::SetTtl { .. }, IdState::Live { expired: false }) => live,
        _ => return Err(Error::not_found(id)),
    };
    Ok(Some(fresh))
}

/// Plans checked operations against the store's state: decides each one (first, borrowing, so that
/// ids are not copied for the bookkeeping), then moves the vectors and metadata into log operations.
fn plan_changes(
    inner: &Inner,
    now: u64,
    checked: Vec<(usize, Checked)>,
    mut failures: Vec<(usize, Error)>,
    policy: Policy,
    call_len: usize,
) -> Result<Planned> {
    let mut dim = inner.dim();
    let mut vectors_added = 0u64;
    let mut adds_data = false;
    let mut decisions = Vec::with_capacity(checked.len());
    {
        let mut overlay: HashMap<&str, IdState, foldhash::fast::RandomState> = HashMap::default();
        for (i, c) in &checked {
            let state = overlay.get(c.id.as_str()).copied().unwrap_or_else(|| inner.id_state(&c.id, now));
            let decision = decide(&c.id, &c.change, state, &mut dim);
            match &decision {
                Ok(Some(after)) => {
                    let grows = matches!(c.change, Change::Upsert { .. } | Change::Restore)
                        && !matches!(state, IdState::Live { .. });
                    vectors_added += u64::from(grows);
                    adds_data |= !matches!(c.change, Change::Delete | Change::SoftDelete);
                    overlay.insert(c.id.as_str(), *after);
                }
                Ok(None) => {}
                Err(e) if policy == Policy::AllOrNothing => {
                    return Err(in_call(e.clone(), *i, &c.id, call_len));
                }
                Err(_) => {}
            }
            decisions.push(decision);
        }
    }
    let mut log_ops = Vec::with_capacity(checked.len());
    for ((i, Checked { id, change }), decision) in checked.into_iter().zip(decisions) {
        match decision {
            Ok(Some(_)) => log_ops.push(match change {
                Change::Upsert { vector, metadata, ttl_seconds } => {
                    LogOp::Upsert { id, vector, metadata, expires_at: expiry_after(ttl_seconds) }
                }
                Change::Delete => LogOp::Delete { id },
                Change::SoftDelete => LogOp::SoftDelete { id },
                Change::Restore => LogOp::Restore { id },
                Change::UpdateMetadata { metadata } => LogOp::UpdateMetadata { id, metadata },
                Change::SetTtl { ttl_seconds } => {
                    LogOp::SetExpiry { id, expires_at: expiry_after(ttl_seconds) }
                }
            }),
            Ok(None) => {}
            Err(e) => failures.push((i, e)),
        }
    }
    failures.sort_by_key(|(i, _)| *i);
    Ok(Planned { log_ops, failures, dim, vectors_added, adds_data })
}

#[cfg(test)]
mod tests;
