//! Batches: many writes under one lock and one log append, as JSON or as an array of C structs.

use std::ffi::{c_char, CString};
use std::mem::MaybeUninit;

use super::boundary::{out_call, try_opt_str, try_ref, try_slice, try_str, value_call, BoxedHandle};
use super::error::{vs_error, vs_status};
use super::store::vs_store;
use crate::error::{Error, Result};
use crate::namespace::RequestKind;
use crate::store::batch::{parse_batch_json, BatchResult};
use crate::store::write::WriteOp;

/// Runs a batch given as JSON and writes the result as JSON to `*out_json` (owned: free it with
/// `vs_string_free`).
///
/// Request: `{"operations": [...]}` or a bare array. Each operation is an object tagged by `"op"`:
/// - `{"op":"upsert","id":"a","vector":[0.1,0.2],"metadata":{...},"ttl_seconds":60}` (metadata and
///   ttl_seconds optional; ttl 0 = never expires)
/// - `{"op":"delete","id":"a"}`, `{"op":"soft_delete","id":"a"}`, `{"op":"restore","id":"a"}`
/// - `{"op":"update_metadata","id":"a","metadata":{...}}`, `{"op":"set_ttl","id":"a","ttl_seconds":60}`
///
/// Response: `{"succeeded":2,"failed":1,"errors":[{"index":2,"operation":"soft_delete(doc3)",
/// "error":"record not found: doc3","code":"not_found"}],"duration_ms":1.27}`. `code` is the
/// snake_case name of the `vs_status` the operation alone would have returned.
///
/// The operations are applied in order under one write lock and made durable by one log append (one
/// fsync in `VS_DURABILITY_SYNC`). Each sees the effect of the earlier ones (an upsert then a
/// soft_delete of the same id works). An operation that fails on its own (unknown id, wrong
/// dimension, bad vector or metadata) is reported in `errors` and the others are applied: the call
/// still returns `VS_OK`.
///
/// Errors (nothing is applied): `VS_ERR_INVALID_ARGUMENT` (NULL, bad UTF-8, malformed JSON, an
/// unknown op, a missing, mistyped or unknown field — the message names the operation's index; a
/// batch over 1 GiB encoded), `VS_ERR_QUOTA_EXCEEDED` (in a namespace: the batch as a whole would
/// pass a quota), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_batch_execute_json(
    store: *mut vs_store,
    ops_json: *const c_char,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `ops_json` is NULL or a NUL-terminated string.
            let ops = parse_batch_json(unsafe { try_str(ops_json, "ops_json") }?)?;
            Ok(s.batch_execute(&ops)?.to_json())
        })
    })
}

/// The kind of a `vs_batch_op` (a `uint32_t`).
pub type vs_batch_op_kind = u32;
/// Insert or replace: `id`, `vector` + `dim`, optional `metadata_json`, `ttl_seconds` (0 = never).
pub const VS_BATCH_UPSERT: vs_batch_op_kind = 0;
/// Delete for good: `id`.
pub const VS_BATCH_DELETE: vs_batch_op_kind = 1;
/// Soft delete: `id`.
pub const VS_BATCH_SOFT_DELETE: vs_batch_op_kind = 2;
/// Restore a soft-deleted record: `id`.
pub const VS_BATCH_RESTORE: vs_batch_op_kind = 3;
/// Replace the metadata: `id`, `metadata_json` (NULL = empty).
pub const VS_BATCH_UPDATE_METADATA: vs_batch_op_kind = 4;
/// Set the TTL: `id`, `ttl_seconds` (0 = remove the expiry).
pub const VS_BATCH_SET_TTL: vs_batch_op_kind = 5;

/// One operation of `vs_store_batch_execute`. Fields an operation does not use are ignored (leave
/// them 0/NULL). All pointers are borrowed for the call only. This layout is fixed: later versions
/// add operations through new kinds or a new function, never by growing this struct.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_batch_op {
    /// One of `VS_BATCH_*`.
    pub kind: vs_batch_op_kind,
    /// NUL-terminated UTF-8 id (never NULL).
    pub id: *const c_char,
    /// `dim` floats (upsert only).
    pub vector: *const f32,
    pub dim: usize,
    /// JSON object text, or NULL (upsert, update_metadata).
    pub metadata_json: *const c_char,
    /// Seconds until the record expires; 0 = never (upsert, set_ttl).
    pub ttl_seconds: u64,
}

/// The outcome of `vs_store_batch_execute`: counts, duration and one error per failed operation.
/// Owned by the caller: free with `vs_batch_result_free`. Strings read from it are borrowed and valid
/// until then. Immutable: safe to read from several threads at once.
pub struct vs_batch_result {
    result: BatchResult,
    operations: Vec<CString>,
    messages: Vec<CString>,
}

impl BoxedHandle for vs_batch_result {}

/// Turns the caller's operation `i` into a core write, copying what it borrows.
///
/// # Safety
/// `op.id` and `op.metadata_json` are NULL or NUL-terminated strings, and `op.vector` NULL or
/// `op.dim` floats, valid for the call.
unsafe fn batch_op(op: &vs_batch_op, i: usize) -> Result<WriteOp> {
    // SAFETY: this function's contract.
    let id = unsafe { try_str(op.id, &format!("ops[{i}].id")) }?.to_string();
    let metadata = || -> Result<Option<String>> {
        // SAFETY: this function's contract.
        let text = unsafe { try_opt_str(op.metadata_json, &format!("ops[{i}].metadata_json")) }?;
        Ok(text.map(str::to_string))
    };
    Ok(match op.kind {
        VS_BATCH_UPSERT => WriteOp::Upsert {
            // SAFETY: this function's contract.
            vector: unsafe { try_slice(op.vector, op.dim, &format!("ops[{i}].vector")) }?.to_vec(),
            id,
            metadata: metadata()?,
            ttl_seconds: op.ttl_seconds,
        },
        VS_BATCH_DELETE => WriteOp::Delete { id },
        VS_BATCH_SOFT_DELETE => WriteOp::SoftDelete { id },
        VS_BATCH_RESTORE => WriteOp::Restore { id },
        VS_BATCH_UPDATE_METADATA => WriteOp::UpdateMetadata { id, metadata: metadata()? },
        VS_BATCH_SET_TTL => WriteOp::SetTtl { id, ttl_seconds: op.ttl_seconds },
        k => return Err(Error::invalid(format!("ops[{i}].kind {k} is not a VS_BATCH_* value"))),
    })
}

/// Runs `n` operations as one batch, with the semantics of `vs_store_batch_execute_json`, and on
/// success writes the outcome to `*out` (free it with `vs_batch_result_free`). `n` = 0 is an empty
/// batch (then `ops` may be NULL).
///
/// Errors (nothing is applied): `VS_ERR_INVALID_ARGUMENT` (NULL store or out; `ops` NULL with
/// `n` > 0; a NULL or non-UTF-8 id, an unknown kind, an upsert with a NULL vector or `dim` 0 —
/// the message names `ops[i]`), `VS_ERR_QUOTA_EXCEEDED`, `VS_ERR_IO`. Per-operation failures are in
/// the result, not the status. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_batch_execute(
    store: *mut vs_store,
    ops: *const vs_batch_op,
    n: usize,
    out: Option<&mut MaybeUninit<*mut vs_batch_result>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        // SAFETY: the header's contract: `store` is NULL or an open handle.
        let store = unsafe { try_ref(store, "store") }?;
        store.call(RequestKind::Write, |s| {
            // SAFETY: the header's contract: `ops` is NULL or `n` operations valid for the call.
            let ops = unsafe { try_slice(ops, n, "ops") }?;
            let ops = ops
                .iter()
                .enumerate()
                // SAFETY: the header's contract: each operation's pointers are NULL or valid for the
                // call (NUL-terminated strings, `dim` floats).
                .map(|(i, op)| unsafe { batch_op(op, i) })
                .collect::<Result<Vec<_>>>()?;
            let result = s.batch_execute(&ops)?;
            let text = |s: &str| CString::new(s.replace('\0', "\\0")).expect("NULs replaced");
            let operations = result.errors.iter().map(|e| text(&e.operation)).collect();
            let messages = result.errors.iter().map(|e| text(&e.error)).collect();
            Ok(Box::new(vs_batch_result { result, operations, messages }))
        })
    })
}

/// Operations applied. 0 for NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_succeeded(r: Option<&vs_batch_result>) -> usize {
    value_call(0, || r.map_or(0, |r| r.result.succeeded))
}

/// Operations that failed (= `vs_batch_result_error_count`). 0 for NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_failed(r: Option<&vs_batch_result>) -> usize {
    value_call(0, || r.map_or(0, |r| r.result.failed))
}

/// Wall time of the batch in milliseconds. 0 for NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_duration_ms(r: Option<&vs_batch_result>) -> f64 {
    value_call(0.0, || r.map_or(0.0, |r| r.result.duration_ms))
}

/// Number of errors (one per failed operation, in batch order). 0 for NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_error_count(r: Option<&vs_batch_result>) -> usize {
    value_call(0, || r.map_or(0, |r| r.result.errors.len()))
}

/// Index in the batch of the operation of error `i`; `SIZE_MAX` if `r` is NULL or `i` is out of
/// range. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_error_index(r: Option<&vs_batch_result>, i: usize) -> usize {
    value_call(usize::MAX, || r.and_then(|r| r.result.errors.get(i)).map_or(usize::MAX, |e| e.index))
}

/// The status the failed operation alone would have returned (`VS_ERR_NOT_FOUND`...);
/// `VS_ERR_INVALID_ARGUMENT` if `r` is NULL or `i` is out of range. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_error_code(r: Option<&vs_batch_result>, i: usize) -> vs_status {
    value_call(vs_status::VS_ERR_INVALID_ARGUMENT, || {
        r.and_then(|r| r.result.errors.get(i)).map_or(vs_status::VS_ERR_INVALID_ARGUMENT, |e| e.status.into())
    })
}

/// The failed operation, such as `soft_delete(doc3)` (borrowed from `r`); NULL if `r` is NULL or `i`
/// is out of range. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_error_operation(r: Option<&vs_batch_result>, i: usize) -> *const c_char {
    value_call(std::ptr::null(), || {
        r.and_then(|r| r.operations.get(i)).map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// Why the operation failed (borrowed from `r`); NULL if `r` is NULL or `i` is out of range.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn vs_batch_result_error_message(r: Option<&vs_batch_result>, i: usize) -> *const c_char {
    value_call(std::ptr::null(), || {
        r.and_then(|r| r.messages.get(i)).map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// Frees a batch result. NULL is a no-op.
#[no_mangle]
pub extern "C" fn vs_batch_result_free(r: Option<Box<vs_batch_result>>) {
    value_call((), || drop(r))
}
