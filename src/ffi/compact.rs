//! Compaction and the optional maintenance thread.

use std::ffi::c_char;
use std::mem::MaybeUninit;
use std::time::Duration;

use super::boundary::{
    need, opt_out_call, status_call, try_ref, try_versioned, versioned_out_call, Versioned,
};
use super::error::{vs_error, vs_status};
use super::store::{vs_store, StoreRef};
use crate::error::Error;
use crate::namespace::RequestKind;
use crate::store::compact::CompactionConfig;
use crate::store::maintenance::{run_once, Maintenance, MaintenanceStatus};

/// Bytes of `vs_compaction_result.reason`, its terminating NUL included.
pub const VS_COMPACTION_REASON_LEN: usize = 256;

/// When `vs_store_maybe_compact` (and the maintenance thread) compacts. Initialise with
/// `vs_compaction_config_default()`. Compaction runs when `enabled` and at least
/// `min_deleted_records` slots are reclaimable OR at least `min_deleted_ratio` of all slots are.
/// Reclaimable slots: soft-deleted records, expired records, and the leftovers of replaced or
/// deleted records.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_compaction_config {
    /// Set by `vs_compaction_config_default()`; do not change.
    pub struct_size: u32,
    /// Default false: `vs_store_maybe_compact` never compacts.
    pub enabled: bool,
    /// Default 1000.
    pub min_deleted_records: u64,
    /// In [0, 1]; default 0.1 (10%).
    pub min_deleted_ratio: f64,
}

impl Versioned for vs_compaction_config {
    const MIN_SIZE: usize = std::mem::size_of::<vs_compaction_config>();
    const CONSTRUCTOR: &'static str = "vs_compaction_config_default";
    fn defaults() -> Self {
        vs_compaction_config::from_core(CompactionConfig::default())
    }
}

impl vs_compaction_config {
    fn from_core(c: CompactionConfig) -> Self {
        vs_compaction_config {
            struct_size: std::mem::size_of::<vs_compaction_config>() as u32,
            enabled: c.enabled,
            min_deleted_records: c.min_deleted_records,
            min_deleted_ratio: c.min_deleted_ratio,
        }
    }
}

/// What `vs_store_maybe_compact` did. Initialise with `vs_compaction_result_default()` before
/// passing it: the library writes only the fields that fit in the caller's `struct_size`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_compaction_result {
    /// Set by `vs_compaction_result_default()`; do not change.
    pub struct_size: u32,
    /// Whether it compacted.
    pub triggered: bool,
    /// Soft-deleted and expired records removed for good (0 when not triggered). Leftovers of
    /// replaced or deleted records, whose records were already gone, are counted in
    /// `tombstones_removed` instead.
    pub removed_count: u64,
    /// Slots of replaced or deleted records reclaimed.
    pub tombstones_removed: u64,
    /// Wall-clock time of the call in milliseconds.
    pub duration_ms: f64,
    /// Why it compacted or not, in plain words: NUL-terminated UTF-8, cut (at a character
    /// boundary) to fit. Part of the struct: nothing to free.
    pub reason: [c_char; VS_COMPACTION_REASON_LEN],
}

impl Versioned for vs_compaction_result {
    const MIN_SIZE: usize = std::mem::size_of::<vs_compaction_result>();
    const CONSTRUCTOR: &'static str = "vs_compaction_result_default";
    fn defaults() -> Self {
        vs_compaction_result {
            struct_size: std::mem::size_of::<vs_compaction_result>() as u32,
            triggered: false,
            removed_count: 0,
            tombstones_removed: 0,
            duration_ms: 0.0,
            reason: [0; VS_COMPACTION_REASON_LEN],
        }
    }
}

/// Copies `text` into `buf` as a NUL-terminated string, cut at a UTF-8 boundary to fit.
fn fill_reason(buf: &mut [c_char; VS_COMPACTION_REASON_LEN], text: &str) {
    let mut end = text.len().min(VS_COMPACTION_REASON_LEN - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (d, &b) in buf.iter_mut().zip(&text.as_bytes()[..end]) {
        *d = b as c_char;
    }
    buf[end] = 0;
}

/// The default compaction settings: disabled, 1000 records, 0.1. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_compaction_config_default() -> vs_compaction_config {
    vs_compaction_config::defaults()
}

/// An empty result with its `struct_size` set, to pass to `vs_store_maybe_compact`. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_compaction_result_default() -> vs_compaction_result {
    vs_compaction_result::defaults()
}

/// Compacts now, whatever the configuration: soft-deleted records, expired records and the
/// leftovers of replaced or deleted records are removed from the vectors, the records and the HNSW
/// graph, which is repaired around them (for the dot-product metric, rebuilt). Soft-deleted records
/// can no longer be restored afterwards. Writes to `*removed` the number of soft-deleted and expired
/// records removed (may be 0; NULL to ignore it).
///
/// The compacted store is written as a new snapshot whose manifest is the commit point: if the
/// process dies during compaction the store reopens either as it was or compacted, never a mix.
/// Queries keep running during the compaction and are blocked only while the new state is swapped
/// in (milliseconds); writes wait for the whole compaction.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store), `VS_ERR_IO` (the store is then unchanged).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_compact(
    store: *mut vs_store,
    removed: Option<&mut MaybeUninit<u64>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    opt_out_call(err, removed, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Maintenance, |s| s.compact())
    })
}

/// Sets when `vs_store_maybe_compact` compacts and saves it with the store (it holds after
/// reopening). `c`: NULL = defaults (disabled), else from `vs_compaction_config_default()`; borrowed
/// for the call. Errors (nothing changes): `VS_ERR_INVALID_ARGUMENT` (NULL store, bad struct_size,
/// `min_deleted_ratio` outside [0, 1] or NaN), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_set_compaction_config(
    store: *mut vs_store,
    c: *const vs_compaction_config,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        // SAFETY: the header's contract: `c` is NULL or from vs_compaction_config_default().
        let c = unsafe { try_versioned(c, "config") }?;
        store.call(RequestKind::Maintenance, |s| {
            s.set_compaction_config(CompactionConfig {
                enabled: c.enabled,
                min_deleted_records: c.min_deleted_records,
                min_deleted_ratio: c.min_deleted_ratio,
            })
        })
    })
}

/// Reads the store's compaction settings into `*out`, which must be initialised with
/// `vs_compaction_config_default()` (only the caller's `struct_size` bytes are written). Errors:
/// `VS_ERR_INVALID_ARGUMENT` (NULL, bad struct_size). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_get_compaction_config(
    store: Option<&vs_store>,
    out: *mut vs_compaction_config,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    let body = |_| {
        let config = need(store, "store")?.call(RequestKind::Read, |s| Ok(s.compaction_config()))?;
        Ok(vs_compaction_config::from_core(config))
    };
    // SAFETY: the header's contract: `out` is NULL or a struct from vs_compaction_config_default()
    // that the caller does not touch during the call.
    unsafe { versioned_out_call(err, out, "out", body) }
}

/// Compacts if the configuration says so (see `vs_compaction_config`) and reports in `*out` whether
/// it did, what it removed, how long it took and why (`out->reason`). `*out` must be initialised
/// with `vs_compaction_result_default()`. Not compacting is not an error: `triggered` is false and
/// `reason` says why (disabled, nothing to reclaim, below both thresholds).
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL, bad struct_size), `VS_ERR_IO`. Thread-safe; see
/// `vs_store_compact` for what runs during a compaction.
#[no_mangle]
pub unsafe extern "C" fn vs_store_maybe_compact(
    store: *mut vs_store,
    out: *mut vs_compaction_result,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    // The output struct is checked before the body runs: a bad one is refused before compacting.
    let body = |_| {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        let r = store.call(RequestKind::Maintenance, |s| s.maybe_compact())?;
        let mut value = vs_compaction_result {
            triggered: r.triggered,
            removed_count: r.removed_count,
            tombstones_removed: r.tombstones_removed,
            duration_ms: r.duration_ms,
            ..vs_compaction_result::defaults()
        };
        fill_reason(&mut value.reason, &r.reason);
        Ok(value)
    };
    // SAFETY: the header's contract: `out` is NULL or a struct from vs_compaction_result_default()
    // that the caller does not touch during the call.
    unsafe { versioned_out_call(err, out, "out", body) }
}

/// Starts the store's maintenance thread (off unless this is called; vecstore starts no thread by
/// itself): every `interval_ms` milliseconds it deletes expired records (as
/// `vs_store_expire_ttl_records`) and then runs `vs_store_maybe_compact`. One thread per handle:
/// calling this again replaces the running thread with one on the new interval. Errors inside the
/// thread never stop it; they are counted in `vs_store_stats_json` under `maintenance`, with the last
/// message.
///
/// `vs_store_stop_maintenance` and `vs_store_close` stop it promptly (they wake it, then wait at
/// most for the run in progress). Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store, interval 0),
/// `VS_ERR_IO` (the thread could not be created). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_start_maintenance(
    store: *mut vs_store,
    interval_ms: u32,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let h = unsafe { try_ref(store, "store") }?;
        if interval_ms == 0 {
            return Err(Error::invalid("interval_ms must be at least 1"));
        }
        h.call(RequestKind::Maintenance, |_| Ok(()))?; // a namespace's own checks
        let interval = Duration::from_millis(u64::from(interval_ms));
        let mut slot = h.maintenance.lock();
        drop(slot.take()); // stop and join the previous thread first: one thread per store
        *slot = Some(match &h.inner {
            StoreRef::Owned(s) => Maintenance::start(s, interval)?,
            StoreRef::Namespace(ns) => {
                // Through the namespace, as every call of the handle: a suspended or deleted
                // namespace makes the runs fail (counted in the status), never touch its store.
                let ns = std::sync::Arc::downgrade(ns);
                Maintenance::start_with(interval, move || {
                    ns.upgrade().map(|ns| ns.call(RequestKind::Maintenance, run_once))
                })?
            }
        });
        Ok(())
    })
}

/// Stops the maintenance thread and waits for it to end (at most the run in progress). A no-op when
/// none runs. Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_stop_maintenance(
    store: *mut vs_store,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let h = unsafe { try_ref(store, "store") }?;
        let running = h.maintenance.lock().take();
        drop(running);
        Ok(())
    })
}

/// The `maintenance` entry of the stats JSON.
pub(crate) fn maintenance_json(status: Option<MaintenanceStatus>) -> serde_json::Value {
    match status {
        None => serde_json::Value::Null,
        Some(st) => serde_json::json!({
            "interval_ms": st.interval_ms,
            "runs": st.runs,
            "expired": st.expired,
            "compactions": st.compactions,
            "removed": st.removed,
            "errors": st.errors,
            "last_error": st.last_error,
        }),
    }
}

#[cfg(test)]
mod tests;
