//! Opening, writing and closing a store.

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;

use super::boundary::{
    need, out_call, status_call, try_cstr, try_opt_str, try_ref, try_slice, try_str, try_versioned,
    value_call, BoxedHandle, Versioned,
};
use super::error::{vs_error, vs_status};
use super::query::{vs_results, ResultRow};
use crate::error::{Error, Result};
use crate::namespace::{Namespace, RequestKind};
use crate::store::options::{Durability, LogRecovery, Metric, Quantization, StoreOptions};
use crate::store::{NewRecord, Store};
use std::sync::Arc;

/// A similarity metric (a `uint32_t`, so that any value a caller passes is safe to check).
pub type vs_metric = u32;
/// Cosine similarity (the default). Vectors are stored normalised to unit length; a zero vector is
/// refused. Score: the cosine similarity, in [-1, 1].
pub const VS_METRIC_COSINE: vs_metric = 0;
/// Euclidean (L2) distance. Score: 1 / (1 + d) where d is the true (not squared) distance, in (0, 1].
/// Vectors whose squared length is above FLT_MAX / 4 (about 8.5e37) are refused, so that no score
/// overflows.
pub const VS_METRIC_EUCLIDEAN: vs_metric = 1;
/// Dot product (inner product). Score: the dot product. Vectors whose squared length is above
/// FLT_MAX / 4 are refused, so that no score overflows.
pub const VS_METRIC_DOT: vs_metric = 2;
/// No metric said (what `vs_store_options_default()` sets): an existing store keeps its own metric,
/// a new store is created with `VS_METRIC_COSINE`. So default options reopen any store, as
/// `dimension = 0` does for the dimension.
pub const VS_METRIC_DEFAULT: vs_metric = 0x7FFF_FFFF;

/// When a write is acknowledged (a `uint32_t`).
pub type vs_durability = u32;
/// The default: a write returns once its log record is handed to the operating system. It survives a
/// crash of the process (kill -9), not a power loss or an OS crash.
pub const VS_DURABILITY_PROCESS: vs_durability = 0;
/// A write returns once its log record is fsynced: it survives a power loss. Much slower per call;
/// batch writes with `vs_store_upsert_many`.
pub const VS_DURABILITY_SYNC: vs_durability = 1;

/// What opening a store does with a damaged log (a `uint32_t`). A torn tail (the last write, cut by
/// a crash, never acknowledged) is dropped under every policy.
pub type vs_log_recovery = u32;
/// The default: a damaged log frame that valid frames follow is not a torn write, so the open fails
/// with `VS_ERR_CORRUPT` naming the byte offset, and the log is left exactly as it is.
pub const VS_LOG_RECOVERY_TOLERATE_TORN_TAIL: vs_log_recovery = 0;
/// Salvage: replay every valid frame and skip the damaged ones. The damaged log is kept beside the new
/// one as `vecstore.log.damaged-<unix seconds>`; `vs_store_stats_json` reports what was skipped
/// (`replay_damaged_regions`, `replay_dropped_bytes`). The writes in the damaged frames are lost.
pub const VS_LOG_RECOVERY_SALVAGE: vs_log_recovery = 1;

/// Whether the graph is searched on int8 codes of the vectors (a `uint32_t`). The search walks the
/// graph on one byte per component and re-ranks its final candidates with the exact float32 vectors,
/// so scores are exact either way. A choice of this open: the codes are recomputed from the vectors
/// when a store opens (their trained ranges are kept in the store's `vecstore.quant.bin`).
pub type vs_quantization = u32;
/// The default: int8 codes from dimension 32 up, float32 traversal below (a code row is padded to 64
/// bytes, so below 32 dimensions it saves little over the float row).
pub const VS_QUANTIZATION_AUTO: vs_quantization = 0;
/// Float32 traversal only (no codes in memory).
pub const VS_QUANTIZATION_NONE: vs_quantization = 1;
/// int8 codes whatever the dimension (one byte per component in memory, beside the vectors).
pub const VS_QUANTIZATION_INT8: vs_quantization = 2;

/// Largest vector dimension a store accepts.
pub const VS_MAX_DIMENSION: u32 = 65536;

/// Options for `vs_store_open`. Always initialise with `vs_store_options_default()` and then set the
/// fields you need, so that fields added in later versions get their defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_store_options {
    /// Set by `vs_store_options_default()`; do not change.
    pub struct_size: u32,
    /// Vector dimension, 1..=VS_MAX_DIMENSION. 0 (the default) = taken from the first vector written,
    /// or from the store on disk when reopening.
    pub dimension: u32,
    /// One of `VS_METRIC_*`. The default, `VS_METRIC_DEFAULT`, means the store's own metric when
    /// reopening and `VS_METRIC_COSINE` when creating. Fixed when the store is created; reopening
    /// with another explicit metric is `VS_ERR_INVALID_ARGUMENT`.
    pub metric: vs_metric,
    /// HNSW graph degree M: links per node on the upper levels, twice that on the base level (default
    /// 16, 2..=256).
    pub hnsw_m: u32,
    /// HNSW build-time candidate list size (default 200, 1..=100000).
    pub ef_construction: u32,
    /// Default search-time candidate list size (default 64, 1..=100000); a query may override it.
    pub ef_search: u32,
    /// One of `VS_DURABILITY_*` (default `VS_DURABILITY_PROCESS`).
    pub durability: vs_durability,
    /// Threads a bulk insert may use: 1 (the default) = only the caller's thread, 0 = one per core.
    /// vecstore never starts a thread unless this asks for it.
    pub build_threads: u32,
    /// Log size in bytes past which a write also checkpoints the store: it saves what changed since
    /// the last snapshot (the new vector rows and their codes appended to the current files, the
    /// changed records and the graph's edits appended to their journals, or the whole graph or
    /// records when a journal has outgrown its bound), fsynced, and empties the log, so that
    /// opening maps the snapshot and replays only the short log written since. 0 (the default) =
    /// 16 MiB, otherwise at least 4096. Smaller: faster reopening after a crash, more writing.
    /// `vs_store_close` also checkpoints when the log holds more than 64 KiB (or this, if smaller).
    pub checkpoint_bytes: u64,
    /// One of `VS_LOG_RECOVERY_*` (default `VS_LOG_RECOVERY_TOLERATE_TORN_TAIL`).
    pub log_recovery: vs_log_recovery,
    /// Unused (keep the constructor's 0). It fills what was the struct's tail padding, so that a
    /// caller built before `quantization` existed (whose `struct_size` ends there, with padding
    /// bytes of any value) is never read as choosing a quantization.
    pub reserved0: u32,
    /// One of `VS_QUANTIZATION_*` (default `VS_QUANTIZATION_AUTO`). Callers built before this field
    /// existed get the default.
    pub quantization: vs_quantization,
}

impl Versioned for vs_store_options {
    /// Callers built against the first header, which ended at `build_threads`, are accepted.
    const MIN_SIZE: usize = std::mem::offset_of!(vs_store_options, checkpoint_bytes);
    const CONSTRUCTOR: &'static str = "vs_store_options_default";
    fn defaults() -> Self {
        let d = StoreOptions::default();
        vs_store_options {
            struct_size: std::mem::size_of::<vs_store_options>() as u32,
            dimension: d.dimension as u32,
            metric: VS_METRIC_DEFAULT,
            hnsw_m: d.hnsw_m as u32,
            ef_construction: d.ef_construction as u32,
            ef_search: d.ef_search as u32,
            durability: VS_DURABILITY_PROCESS,
            build_threads: d.build_threads as u32,
            checkpoint_bytes: 0,
            log_recovery: VS_LOG_RECOVERY_TOLERATE_TORN_TAIL,
            reserved0: 0,
            quantization: VS_QUANTIZATION_AUTO,
        }
    }
}

impl vs_store_options {
    pub(crate) fn to_core(self) -> Result<StoreOptions> {
        let metric = match self.metric {
            VS_METRIC_DEFAULT => None,
            VS_METRIC_COSINE => Some(Metric::Cosine),
            VS_METRIC_EUCLIDEAN => Some(Metric::Euclidean),
            VS_METRIC_DOT => Some(Metric::Dot),
            m => return Err(Error::invalid(format!("options.metric {m} is not a VS_METRIC_* value"))),
        };
        let durability = match self.durability {
            VS_DURABILITY_PROCESS => Durability::Process,
            VS_DURABILITY_SYNC => Durability::Sync,
            d => {
                return Err(Error::invalid(format!("options.durability {d} is not a VS_DURABILITY_* value")))
            }
        };
        let log_recovery = match self.log_recovery {
            VS_LOG_RECOVERY_TOLERATE_TORN_TAIL => LogRecovery::TolerateTornTail,
            VS_LOG_RECOVERY_SALVAGE => LogRecovery::Salvage,
            r => {
                return Err(Error::invalid(format!(
                    "options.log_recovery {r} is not a VS_LOG_RECOVERY_* value"
                )))
            }
        };
        let quantization = match self.quantization {
            VS_QUANTIZATION_AUTO => Quantization::Auto,
            VS_QUANTIZATION_NONE => Quantization::None,
            VS_QUANTIZATION_INT8 => Quantization::Int8,
            q => {
                return Err(Error::invalid(format!(
                    "options.quantization {q} is not a VS_QUANTIZATION_* value"
                )))
            }
        };
        let opts = StoreOptions {
            dimension: self.dimension as usize,
            metric,
            hnsw_m: self.hnsw_m as usize,
            ef_construction: self.ef_construction as usize,
            ef_search: self.ef_search as usize,
            durability,
            build_threads: self.build_threads as usize,
            checkpoint_bytes: if self.checkpoint_bytes == 0 {
                StoreOptions::default().checkpoint_bytes
            } else {
                self.checkpoint_bytes
            },
            log_recovery,
            quantization,
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// An open store. Create with `vs_store_open`, release with `vs_store_close`.
///
/// Thread safety: every function taking a `vs_store *` may be called from any number of threads at
/// once on the same handle (reads run in parallel, writes are serialised), except `vs_store_close`,
/// which must be called once, after every other call on the handle has returned.
pub struct vs_store {
    pub(crate) inner: StoreRef,
    /// The maintenance thread, when the host started one (`vs_store_start_maintenance`).
    pub(crate) maintenance: parking_lot::Mutex<Option<crate::store::maintenance::Maintenance>>,
}

impl vs_store {
    pub(crate) fn new(inner: StoreRef) -> vs_store {
        vs_store { inner, maintenance: parking_lot::Mutex::new(None) }
    }
}

/// What a `vs_store` handle reaches: a store it owns (`vs_store_open`), or a namespace's store shared
/// with the namespace manager (`vs_namespace_store`), reached through the namespace's checks.
// One per handle, boxed already: boxing the store inside would only add an indirection per call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum StoreRef {
    /// Shared with the maintenance thread, which holds only a weak reference between runs.
    Owned(Arc<Store>),
    Namespace(Arc<Namespace>),
}

impl BoxedHandle for vs_store {}

impl vs_store {
    /// Runs `f` on the store behind the handle: the routing every `vs_store_*` function goes through.
    /// For a namespace handle, the namespace refuses the call when it is deleted (`VS_ERR_NOT_FOUND`),
    /// suspended (`VS_ERR_NAMESPACE_SUSPENDED`) or over its request rate (`VS_ERR_RATE_LIMITED`), and
    /// counts it under `kind`.
    pub(crate) fn call<T>(&self, kind: RequestKind, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        // A store a panic left out of step with its log answers every call with VS_ERR_INTERNAL.
        match &self.inner {
            StoreRef::Owned(s) => s.ensure_usable().and_then(|()| f(s.as_ref())),
            StoreRef::Namespace(ns) => ns.call(kind, |s| s.ensure_usable().and_then(|()| f(s))),
        }
    }
}

/// The default store options: dimension 0 and `VS_METRIC_DEFAULT` (both from the store when
/// reopening; from the first vector, and cosine, for a new store), M 16, ef_construction 200,
/// ef_search 64, `VS_DURABILITY_PROCESS`, build_threads 1. Default options reopen any store.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn vs_store_options_default() -> vs_store_options {
    vs_store_options::defaults()
}

/// Opens the store in directory `path`, creating the directory and an empty store if needed.
///
/// - `path`: NUL-terminated; borrowed for the call only.
/// - `opts`: NULL = all defaults (the same as `vs_store_options_default()`: for an existing store its
///   own dimension and metric, so either reopens any store); otherwise from
///   `vs_store_options_default()`. Borrowed for the call.
/// - `out`: receives the new handle on success (untouched on failure); close it with `vs_store_close`.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL path or out, bad options, metric differs from the
/// store's), `VS_ERR_DIMENSION_MISMATCH` (options.dimension differs from the store's),
/// `VS_ERR_LOCKED` (the store is already open, by this process or another), `VS_ERR_IO`,
/// `VS_ERR_CORRUPT` (a damaged file or an unknown format version; the message names the file).
/// A torn write at the end of the log (from a crash) is not an error: it is dropped.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_open(
    path: *const c_char,
    opts: *const vs_store_options,
    out: Option<&mut MaybeUninit<*mut vs_store>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        // SAFETY: the header's contract: `path` is NULL or a NUL-terminated string, valid for the call.
        let path = path_arg(unsafe { try_cstr(path, "path") }?);
        // NULL options are the default struct: dimension 0 and VS_METRIC_DEFAULT take the store's
        // own when reopening; an explicit metric must match.
        let opts = if opts.is_null() {
            StoreOptions::default()
        } else {
            // SAFETY: the header's contract: `opts` is from vs_store_options_default(), valid for the call.
            unsafe { try_versioned(opts, "opts") }?.to_core()?
        };
        let store = Store::open(path, &opts)?;
        Ok(Box::new(vs_store::new(StoreRef::Owned(Arc::new(store)))))
    })
}

#[cfg(unix)]
pub(crate) fn path_arg(p: &CStr) -> &std::path::Path {
    // A Unix path is bytes: accept any, not only UTF-8.
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(p.to_bytes()))
}

#[cfg(not(unix))]
pub(crate) fn path_arg(p: &CStr) -> &std::path::Path {
    std::path::Path::new(p.to_str().unwrap_or(""))
}

/// Closes the store: stops and joins the maintenance thread if one runs (waiting at most for the
/// run in progress), makes the log durable (and checkpoints when the log holds more than 64 KiB, or
/// `checkpoint_bytes` if smaller, so that the next open replays little), releases the directory
/// lock and frees the handle. Closing does not compact: see `vs_store_compact`. For a handle from `vs_namespace_store`, only the
/// handle (and its maintenance thread) is freed: the namespace's store stays open in its manager. NULL is a no-op. Errors while closing are not
/// reported; call `vs_store_flush` first to see them. Must be called exactly once per handle, after
/// every other call on it has returned. No thread started by vecstore outlives this call.
#[no_mangle]
pub extern "C" fn vs_store_close(store: Option<Box<vs_store>>) {
    value_call((), || {
        if let Some(handle) = store {
            // First the thread (it may hold a strong reference during a run), then the store.
            drop(handle.maintenance.lock().take());
            drop(handle);
        }
    })
}

/// Inserts a record, or replaces the record with the same id (vector and metadata both).
///
/// - `id`: NUL-terminated UTF-8, 1..=4096 bytes.
/// - `vec`, `dim`: `dim` floats, all finite; `dim` must equal the store's dimension (an empty store
///   opened with dimension 0 takes it from here).
/// - `metadata_json`: NULL or "" = no metadata; otherwise a JSON object whose values are strings,
///   numbers, booleans, null, or lists of those.
///
/// All are borrowed for the call only. When it returns `VS_OK` the write is durable (see
/// `vs_durability`).
///
/// Errors (the store is unchanged): `VS_ERR_INVALID_ARGUMENT` (NULL, bad UTF-8, empty or too long id,
/// an empty vector, NaN or infinity, zero vector in a cosine store, a vector too long for a dot or euclidean store,
/// malformed or non-object JSON, a nested object in the metadata),
/// `VS_ERR_DIMENSION_MISMATCH`, `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_upsert(
    store: *mut vs_store,
    id: *const c_char,
    vec: *const f32,
    dim: usize,
    metadata_json: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    // An upsert is an upsert with no expiry: one conversion and one core path for both.
    // SAFETY: the same arguments under the same contract, passed on unchanged.
    unsafe { super::records::vs_store_upsert_with_ttl(store, id, vec, dim, metadata_json, 0, err) }
}
/// Inserts or replaces `n` records in one write: much faster than `n` calls to `vs_store_upsert`.
/// All or nothing: if any record is invalid, none is written and the error names the record's index.
/// Within one call, a later record with the same id wins.
///
/// - `ids`: `n` NUL-terminated UTF-8 ids (none NULL).
/// - `vecs`: `n * dim` floats, row-major (row i is the vector of `ids[i]`).
/// - `metadata_json`: NULL (no metadata for any record) or `n` entries, each NULL or a JSON object.
///
/// `n` = 0 is a no-op (then `ids` and `vecs` may be NULL). Everything is borrowed for the call only.
///
/// Errors: as `vs_store_upsert`, plus `VS_ERR_INVALID_ARGUMENT` for `dim` = 0 with `n` > 0, a NULL
/// `ids` or `ids[i]`, or `n * dim` overflowing. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_upsert_many(
    store: *mut vs_store,
    n: usize,
    ids: *const *const c_char,
    vecs: *const f32,
    dim: usize,
    metadata_json: *const *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            if n == 0 {
                return Ok(());
            }
            if dim == 0 {
                return Err(Error::invalid("dim is 0"));
            }
            let total = n
                .checked_mul(dim)
                .ok_or_else(|| Error::invalid(format!("n * dim overflows ({n} * {dim})")))?;
            // SAFETY: the header's contract: `vecs` is NULL or `n * dim` floats, `ids` NULL or `n`
            // pointers, `metadata_json` NULL or `n` pointers, all valid and unchanged for the call.
            let (vecs, ids, metas) = unsafe {
                (
                    try_slice(vecs, total, "vecs")?,
                    try_slice(ids, n, "ids")?,
                    if metadata_json.is_null() {
                        None
                    } else {
                        Some(try_slice(metadata_json, n, "metadata_json")?)
                    },
                )
            };
            let mut records = Vec::with_capacity(n);
            for (i, (&id, vector)) in ids.iter().zip(vecs.chunks_exact(dim)).enumerate() {
                // SAFETY: the header's contract: each `ids[i]` is NULL or a NUL-terminated string.
                let id = unsafe { try_str(id, &format!("ids[{i}]")) }?;
                let metadata = match metas {
                    // SAFETY: the header's contract: each `metadata_json[i]` is NULL or a
                    // NUL-terminated string.
                    Some(m) => unsafe { try_opt_str(m[i], &format!("metadata_json[{i}]")) }?,
                    None => None,
                };
                records.push(NewRecord { id, vector, metadata });
            }
            s.upsert_many(&records)
        })
    })
}

/// Looks up one record by id. On success `*out` receives a `vs_results` with exactly one row: its id,
/// its metadata, a score of 0, and its vector (`vs_results_vector`; for a cosine store, normalised to
/// unit length). Free it with `vs_results_free`.
///
/// Errors: `VS_ERR_NOT_FOUND`, `VS_ERR_INVALID_ARGUMENT` (NULL store, id or out; a bad id).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_get(
    store: Option<&vs_store>,
    id: *const c_char,
    out: Option<&mut MaybeUninit<*mut vs_results>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        need(store, "store")?.call(RequestKind::Read, |s| {
            // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
            let id = unsafe { try_str(id, "id") }?;
            let rec = s.get(id)?;
            let row = ResultRow::new(rec.id, 0.0, rec.metadata).with_vector(rec.vector);
            Ok(vs_results::boxed(vec![row]))
        })
    })
}

/// Deletes a record for good. Errors: `VS_ERR_NOT_FOUND` (no such id; nothing changes),
/// `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_delete(
    store: *mut vs_store,
    id: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        store.call(RequestKind::Write, |s| s.delete(unsafe { try_str(id, "id") }?))
    })
}

/// Writes the number of live records to `*live`. Errors: `VS_ERR_INVALID_ARGUMENT` (NULL).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn vs_store_count(
    store: Option<&vs_store>,
    live: Option<&mut MaybeUninit<u64>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, live, "live", || need(store, "store")?.call(RequestKind::Read, |s| Ok(s.count() as u64)))
}

/// Writes a JSON object describing the store to `*out_json`:
/// `{"count":N,"dimension":D,"metric":"cosine"|"euclidean"|"dot","log_bytes":B,"soft_deleted":S,
/// "expired":E,"tombstones":T,"storage_bytes":Z,"replayed_frames":F,"replay_dropped_bytes":DB,
/// "replay_damaged_regions":DR,"filter_index_bytes":FB,"filter_index_fields":FF,
/// "filter_index_postings":FP,"graph_bytes":GB,"codes_bytes":CB,"vectors_bytes":VB,
/// "vectors_heap_bytes":VH,"checkpoints":CK,"checkpoint_failures":CF,
/// "last_checkpoint_error":null|"message","maintenance":...}`: `count` live records not expired, `soft_deleted`
/// restorable records, `expired` records past their TTL not yet removed by
/// `vs_store_expire_ttl_records`, `tombstones` slots of replaced or deleted records held until
/// compaction, `storage_bytes` bytes on disk (log, snapshot, description file), `replayed_frames`
/// log frames replayed when the store was opened, `replay_dropped_bytes` log bytes dropped then (a
/// torn tail, plus damaged regions a `VS_LOG_RECOVERY_SALVAGE` open skipped),
/// `replay_damaged_regions` damaged regions such an open skipped (0 otherwise),
/// `filter_index_bytes` the approximate memory of the metadata index (the postings of every field
/// and value, kept in memory and rebuilt when the store opens), `filter_index_fields` and
/// `filter_index_postings` the field paths and (field, value) postings it holds, `graph_bytes` and
/// `codes_bytes` the memory of the graph and of the int8 codes (0 when the graph is searched on the
/// float rows), `vectors_bytes` the bytes of the float rows and `vectors_heap_bytes` those of them
/// held in memory (the rest are memory-mapped from the snapshot), `checkpoints`
/// checkpoints completed since open, `checkpoint_failures` checkpoints failed in a row since the
/// last success (writes go on into the log meanwhile and checkpoints are retried after a back-off
/// doubling from 1 s to 64 s; the next success sets it to 0), `last_checkpoint_error` why the last
/// one failed while `checkpoint_failures` is not 0, and `maintenance`:
/// `null` when no maintenance thread runs, otherwise `{"interval_ms":I,"runs":R,"expired":E,
/// "compactions":C,"removed":N,"errors":F,"last_error":null|"message"}` (counters since it was
/// started; errors in the thread never stop it, the last one is kept here).
/// The string is owned by the caller: free it with `vs_string_free`. Later versions may add keys.
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store or out_json). Thread-safe.
#[no_mangle]
pub extern "C" fn vs_store_stats_json(
    store: Option<&vs_store>,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let store = need(store, "store")?;
        store.call(RequestKind::Read, |s| {
            let st = s.stats();
            let maintenance = store.maintenance.lock().as_ref().map(|m| m.status());
            let json = serde_json::json!({
                "count": st.count,
                "dimension": st.dimension,
                "metric": st.metric.name(),
                "log_bytes": st.log_bytes,
                "soft_deleted": st.soft_deleted,
                "expired": st.expired,
                "tombstones": st.tombstones,
                "storage_bytes": st.storage_bytes,
                "replayed_frames": st.replayed_frames,
                "replay_dropped_bytes": st.replay_dropped_bytes,
                "replay_damaged_regions": st.replay_damaged_regions,
                "filter_index_bytes": st.filter_index_bytes,
                "filter_index_fields": st.filter_index_fields,
                "filter_index_postings": st.filter_index_postings,
                "graph_bytes": st.graph_bytes,
                "codes_bytes": st.codes_bytes,
                "vectors_bytes": st.vectors_bytes,
                "vectors_heap_bytes": st.vectors_heap_bytes,
                "checkpoints": st.checkpoints,
                "checkpoint_failures": st.checkpoint_failures,
                "last_checkpoint_error": st.last_checkpoint_error,
                "maintenance": super::compact::maintenance_json(maintenance),
            });
            Ok(json.to_string())
        })
    })
}

/// Fsyncs everything written so far, so that it survives a power loss (in the default durability
/// mode writes already survive a crash of the process). Errors: `VS_ERR_IO`, `VS_ERR_INVALID_ARGUMENT`
/// (NULL store). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_flush(
    store: *mut vs_store,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        unsafe { try_ref(store, "store") }?.call(RequestKind::Maintenance, |s| s.flush())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default options carry no metric: they reopen a store of any metric (here with another
    /// ef_search), an explicit other metric is refused, and a new store is cosine.
    #[test]
    fn default_options_reopen_a_store_of_any_metric() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(vs_store_options_default().metric, VS_METRIC_DEFAULT);
        assert_eq!(vs_store_options_default().to_core().unwrap().metric, None);
        for (i, metric) in [Metric::Cosine, Metric::Euclidean, Metric::Dot].into_iter().enumerate() {
            let path = dir.path().join(metric.name());
            let create = StoreOptions { dimension: 2, metric: Some(metric), ..StoreOptions::default() };
            Store::open(&path, &create).unwrap().upsert("a", &[3.0, 4.0], None).unwrap();
            let mut o = vs_store_options_default();
            o.ef_search = 99;
            let s = Store::open(&path, &o.to_core().unwrap()).unwrap();
            assert_eq!((s.metric(), s.count()), (metric, 1));
            drop(s);
            o.metric = ((i + 1) % 3) as vs_metric;
            let err = Store::open(&path, &o.to_core().unwrap()).err().unwrap();
            assert_eq!(err.code, crate::error::Code::InvalidArgument, "{}", err.message);
        }
        let s = Store::open(dir.path().join("new"), &vs_store_options_default().to_core().unwrap()).unwrap();
        assert_eq!(s.metric(), Metric::Cosine);
        let mut bad = vs_store_options_default();
        bad.metric = 3;
        assert!(bad.to_core().is_err());
    }
}
