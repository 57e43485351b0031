//! A record's life after insertion: soft delete and restore, metadata updates, time-to-live.

use std::ffi::c_char;

use super::boundary::{floats_arg, handle, opt_str_arg, out_arg, status_call, str_arg};
use super::error::{vs_error, vs_status};
use super::store::vs_store;

/// Hides a live record from every read (get, query, count) until `vs_store_restore`; it keeps its
/// space until compaction (`vs_store_compact`), which removes it for good.
///
/// Errors (the store is unchanged): `VS_ERR_NOT_FOUND` (no live record with this id, including one
/// already soft-deleted or expired), `VS_ERR_INVALID_ARGUMENT` (NULL store or id, bad id),
/// `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_soft_delete(
    store: *mut vs_store,
    id: *const c_char,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || handle(store, "store")?.store.soft_delete(str_arg(id, "id")?))
}

/// Undoes a soft delete: the record is visible again, unchanged. Restoring a live record is a no-op
/// (`VS_OK`). After a compaction removed it, a soft-deleted record cannot be restored.
///
/// Errors: `VS_ERR_NOT_FOUND` (neither soft-deleted nor live: unknown, deleted, expired, or removed
/// by compaction), `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_QUOTA_EXCEEDED` (in a namespace at its
/// vector quota), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_restore(
    store: *mut vs_store,
    id: *const c_char,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || handle(store, "store")?.store.restore(str_arg(id, "id")?))
}

/// Replaces the metadata of a live record (`metadata_json`: NULL or "" = none, otherwise a JSON
/// object as for `vs_store_upsert`; borrowed for the call). Errors: `VS_ERR_NOT_FOUND`,
/// `VS_ERR_INVALID_ARGUMENT` (also malformed JSON), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_update_metadata(
    store: *mut vs_store,
    id: *const c_char,
    metadata_json: *const c_char,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        let s = &handle(store, "store")?.store;
        s.update_metadata(str_arg(id, "id")?, opt_str_arg(metadata_json, "metadata_json")?)
    })
}

/// Like `vs_store_upsert`, and the record expires `ttl_seconds` from now (rounded up to a whole
/// second; 0 = never, at most 100 years). An expired record is invisible to every read at once;
/// `vs_store_expire_ttl_records` (or the maintenance thread) deletes it, compaction reclaims its
/// space. Errors: as `vs_store_upsert`, plus `VS_ERR_INVALID_ARGUMENT` for a TTL above 100 years.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_upsert_with_ttl(
    store: *mut vs_store,
    id: *const c_char,
    vec: *const f32,
    dim: usize,
    metadata_json: *const c_char,
    ttl_seconds: u64,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        let s = &handle(store, "store")?.store;
        let id = str_arg(id, "id")?;
        let vector = floats_arg(vec, dim, "vec")?;
        let metadata = opt_str_arg(metadata_json, "metadata_json")?;
        s.upsert_with_ttl(id, vector, metadata, ttl_seconds)
    })
}

/// Makes a live record expire `ttl_seconds` from now; 0 removes its expiry. Errors:
/// `VS_ERR_NOT_FOUND` (no live record), `VS_ERR_INVALID_ARGUMENT` (also a TTL above 100 years),
/// `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_set_ttl(
    store: *mut vs_store,
    id: *const c_char,
    ttl_seconds: u64,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || handle(store, "store")?.store.set_ttl(str_arg(id, "id")?, ttl_seconds))
}

/// Deletes every expired record for good and writes how many to `*expired` (may be 0). Their ids
/// can be used again at once; compaction reclaims their space. Errors: `VS_ERR_INVALID_ARGUMENT`
/// (NULL store or expired), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_expire_ttl_records(
    store: *mut vs_store,
    expired: *mut u64,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        let s = &handle(store, "store")?.store;
        out_arg(expired, "expired")?;
        let n = s.expire_ttl_records()?;
        *expired = n;
        Ok(())
    })
}
