//! Soft delete, restore, metadata updates and TTL: the changes a record goes through after it is
//! written.

use std::ffi::c_char;

use super::boundary::{floats_arg, opt_str_arg, status_call, str_arg};
use super::error::{vs_error, vs_status};
use super::store::{vs_store, with_store};
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
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || with_store(store, RequestKind::Write, |s| s.soft_delete(str_arg(id, "id")?)))
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
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || with_store(store, RequestKind::Write, |s| s.restore(str_arg(id, "id")?)))
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
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        with_store(store, RequestKind::Write, |s| {
            s.update_metadata(str_arg(id, "id")?, opt_str_arg(metadata_json, "metadata_json")?)
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
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        with_store(store, RequestKind::Write, |s| {
            let id = str_arg(id, "id")?;
            let vector = floats_arg(vec, dim, "vec")?;
            let metadata = opt_str_arg(metadata_json, "metadata_json")?;
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
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || with_store(store, RequestKind::Write, |s| s.set_ttl(str_arg(id, "id")?, ttl_seconds)))
}

/// Deletes every expired record (live or soft-deleted) for good and writes how many to `*expired`
/// (may be NULL if the count is not wanted). Expired records are already invisible; this frees
/// their ids at once and their space at the next compaction. Cheap when no record has a TTL.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_expire_ttl_records(
    store: *mut vs_store,
    expired: *mut u64,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        with_store(store, RequestKind::Write, |s| {
            let n = s.expire_ttl_records()?;
            if !expired.is_null() {
                *expired = n;
            }
            Ok(())
        })
    })
}
