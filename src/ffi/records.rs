//! Soft delete, restore, metadata updates and TTL: the changes a record goes through after it is
//! written.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use super::boundary::{opt_out_call, status_call, try_opt_str, try_ref, try_slice, try_str};
use super::error::{vs_error, vs_status};
use super::store::vs_store;
use crate::namespace::RequestKind;

/// Hides a live record from every read (get, query, count) until `vs_store_restore`; its space is
/// kept until compaction (`vs_store_compact`). `id` is borrowed for the call.
///
/// Errors (nothing changes): `VS_ERR_NOT_FOUND` (no live record with this id: unknown, deleted,
/// expired or already soft-deleted), `VS_ERR_INVALID_ARGUMENT` (NULL, bad UTF-8, a bad id),
/// `VS_ERR_IO`. Durable on `VS_OK`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_soft_delete(
    store: *mut vs_store,
    id: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
            let id = unsafe { try_str(id, "id") }?;
            s.soft_delete(id)
        })
    })
}

/// Undoes a soft delete: the record is visible again with its vector, metadata and expiry.
/// Restoring a live record changes nothing and returns `VS_OK`. In a namespace a restore counts
/// against `max_vectors`.
///
/// Errors (nothing changes): `VS_ERR_NOT_FOUND` (the id is neither soft-deleted nor live, or the
/// record expired, or compaction already removed it), `VS_ERR_QUOTA_EXCEEDED`,
/// `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_restore(
    store: *mut vs_store,
    id: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
            let id = unsafe { try_str(id, "id") }?;
            s.restore(id)
        })
    })
}

/// Replaces the metadata of a live record with `metadata_json` (a JSON object as for
/// `vs_store_upsert`; NULL = empty). Filters see the new metadata at once. Borrowed for the call.
///
/// Errors (nothing changes): `VS_ERR_NOT_FOUND` (no live record with this id),
/// `VS_ERR_INVALID_ARGUMENT` (bad id, malformed or non-object JSON, nested objects),
/// `VS_ERR_QUOTA_EXCEEDED`, `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_update_metadata(
    store: *mut vs_store,
    id: *const c_char,
    metadata_json: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `id` and `metadata_json` are NULL or NUL-terminated
            // strings, valid for the call.
            let (id, metadata) =
                unsafe { (try_str(id, "id")?, try_opt_str(metadata_json, "metadata_json")?) };
            s.update_metadata(id, metadata)
        })
    })
}

/// Largest TTL accepted, in seconds (100 years).
pub const VS_MAX_TTL_SECONDS: u64 = 3_153_600_000;
const _: () = assert!(VS_MAX_TTL_SECONDS == crate::store::write::MAX_TTL_SECONDS);

/// As `vs_store_upsert`, and the record expires `ttl_seconds` from now (0 = never). Expiry is kept
/// in whole Unix seconds, rounded up: the record stays visible at least `ttl_seconds` and less than
/// `ttl_seconds + 1`. From then on it is invisible to every read (get, query, count), and
/// `vs_store_expire_ttl_records` or compaction removes it. Expiry times persist across reopening.
///
/// Errors: as `vs_store_upsert`, plus `VS_ERR_INVALID_ARGUMENT` for `ttl_seconds` above
/// `VS_MAX_TTL_SECONDS`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_upsert_with_ttl(
    store: *mut vs_store,
    id: *const c_char,
    vec: *const f32,
    dim: usize,
    metadata_json: *const c_char,
    ttl_seconds: u64,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `id` and `metadata_json` are NULL or NUL-terminated
            // strings, `vec` is NULL or `dim` floats, all valid and unchanged for the call.
            let (id, vector, metadata) = unsafe {
                (
                    try_str(id, "id")?,
                    try_slice(vec, dim, "vec")?,
                    try_opt_str(metadata_json, "metadata_json")?,
                )
            };
            s.upsert_with_ttl(id, vector, metadata, ttl_seconds)
        })
    })
}

/// Makes a live record expire `ttl_seconds` from now (rounded up to whole seconds, as in
/// `vs_store_upsert_with_ttl`); 0 removes its expiry. Replaces any earlier TTL.
///
/// Errors (nothing changes): `VS_ERR_NOT_FOUND` (no live record with this id; an expired record
/// counts as gone), `VS_ERR_INVALID_ARGUMENT` (bad id, `ttl_seconds` above `VS_MAX_TTL_SECONDS`),
/// `VS_ERR_QUOTA_EXCEEDED`, `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_set_ttl(
    store: *mut vs_store,
    id: *const c_char,
    ttl_seconds: u64,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
            let id = unsafe { try_str(id, "id") }?;
            s.set_ttl(id, ttl_seconds)
        })
    })
}

/// Deletes every expired record (live or soft-deleted) for good and writes how many to `*expired`
/// (may be NULL if the count is not wanted). Expired records are already invisible; this frees
/// their ids at once and their space at the next compaction. Cheap when no record has a TTL.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_expire_ttl_records(
    store: *mut vs_store,
    expired: Option<&mut MaybeUninit<u64>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    opt_out_call(err, expired, || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| s.expire_ttl_records())
    })
}
