//! Namespaces: a manager over a root directory holding many isolated stores, with quotas, a status
//! and backups. A namespace's data is reached through an ordinary `vs_store` handle.

use std::ffi::c_char;
use std::mem::MaybeUninit;
use std::sync::Arc;

use serde_json::json;

use super::boundary::{
    need, out_call, status_call, try_cstr, try_opt_str, try_ref, try_str, try_versioned, value_call,
    BoxedHandle, Versioned,
};
use super::error::{vs_error, vs_status};
use super::store::{path_arg, vs_store, vs_store_options, StoreRef};
use crate::error::{Error, Result};
use crate::namespace::backup::BackupEntry;
use crate::namespace::{NamespaceManager, NamespaceRecord, Quotas, Status};
use crate::store::options::StoreOptions;

/// The quotas of a namespace. Always initialise with `vs_quotas_default()` (everything unlimited),
/// then set the limits you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_quotas {
    /// Set by `vs_quotas_default()`; do not change.
    pub struct_size: u32,
    /// Live records the namespace may hold; 0 = unlimited. Replacing an existing record is not
    /// growth, so it is allowed at the limit.
    pub max_vectors: u64,
    /// Bytes the namespace's store may hold on disk (log, snapshot files, description file; backups
    /// not included); 0 = unlimited. A write whose log record would pass it is refused.
    pub max_storage_bytes: u64,
    /// Data calls per second through the namespace's `vs_store` handles; 0 = unlimited. A token
    /// bucket of capacity max(1, rate), refilled continuously at `rate` per second: every call takes
    /// one token, a call finding none fails with `VS_ERR_RATE_LIMITED`. Must be finite and >= 0.
    pub max_requests_per_second: f64,
}

impl Versioned for vs_quotas {
    const MIN_SIZE: usize = std::mem::size_of::<vs_quotas>();
    const CONSTRUCTOR: &'static str = "vs_quotas_default";
    fn defaults() -> Self {
        vs_quotas {
            struct_size: std::mem::size_of::<vs_quotas>() as u32,
            max_vectors: 0,
            max_storage_bytes: 0,
            max_requests_per_second: 0.0,
        }
    }
}

impl vs_quotas {
    fn to_core(self) -> Quotas {
        Quotas {
            max_vectors: self.max_vectors,
            max_storage_bytes: self.max_storage_bytes,
            max_requests_per_second: self.max_requests_per_second,
        }
    }
}

/// No limits: every field 0 (unlimited). Thread-safe.
#[no_mangle]
pub extern "C" fn vs_quotas_default() -> vs_quotas {
    vs_quotas::defaults()
}

/// The status of a namespace (a `uint32_t`).
pub type vs_namespace_status = u32;
/// The namespace serves data calls.
pub const VS_NAMESPACE_ACTIVE: vs_namespace_status = 0;
/// Every data call through the namespace's handles fails with `VS_ERR_NAMESPACE_SUSPENDED`; the
/// management functions (stats, quotas, backups...) still work.
pub const VS_NAMESPACE_SUSPENDED: vs_namespace_status = 1;

/// Longest namespace id or backup name, in bytes.
pub const VS_MAX_NAMESPACE_ID_LEN: u32 = 64;

/// A namespace manager: many isolated stores under one root directory. Open with
/// `vs_namespaces_open`, release with `vs_namespaces_close`.
///
/// Layout of the root: `namespaces.json` (the registry: ids, names, quotas, status; checksummed and
/// replaced atomically), `ns/<id>/` (a namespace's store), `backups/<id>/<name>/`, `LOCK`.
///
/// Namespace ids and backup names: 1..=64 bytes of ASCII letters, digits, `-`, `_` and `.`, not
/// starting with `.`; anything else (separators, `..`, NUL, spaces, non-ASCII) is
/// `VS_ERR_INVALID_ARGUMENT`, so no name can reach outside the root. The manager never follows a
/// symbolic link inside the root: a link where one of its directories or files should be is
/// `VS_ERR_CORRUPT`.
///
/// Thread safety: every function taking a `vs_namespaces *` may be called from any number of threads
/// at once, and at the same time as data calls through namespace handles, except
/// `vs_namespaces_close`, which must be called once, after every other call on the manager has
/// returned.
pub struct vs_namespaces {
    mgr: NamespaceManager,
}

fn status_arg(st: vs_namespace_status) -> Result<Status> {
    match st {
        VS_NAMESPACE_ACTIVE => Ok(Status::Active),
        VS_NAMESPACE_SUSPENDED => Ok(Status::Suspended),
        s => Err(Error::invalid(format!("status {s} is not a VS_NAMESPACE_* value"))),
    }
}

fn quotas_json(q: &Quotas) -> serde_json::Value {
    json!({
        "max_vectors": q.max_vectors,
        "max_storage_bytes": q.max_storage_bytes,
        "max_requests_per_second": q.max_requests_per_second,
    })
}

fn record_json(r: &NamespaceRecord) -> serde_json::Value {
    json!({
        "id": r.id,
        "name": r.name,
        "status": r.status.name(),
        "created_at": r.created_at,
        "quotas": quotas_json(&r.quotas),
    })
}

fn backup_json(b: &BackupEntry) -> serde_json::Value {
    json!({ "name": b.name, "created_at": b.created_at, "vector_count": b.vector_count })
}

impl BoxedHandle for vs_namespaces {}

/// The manager behind a `vs_namespaces *` (the header's type for the functions that change it).
///
/// # Safety
/// `m` is NULL or a manager from vs_namespaces_open, not yet closed, valid for `'a`.
unsafe fn manager<'a>(m: *const vs_namespaces) -> Result<&'a NamespaceManager> {
    // SAFETY: this function's contract; managers are only ever read through shared references.
    Ok(&unsafe { try_ref(m, "namespaces") }?.mgr)
}

/// The manager behind a `const vs_namespaces *` (read-only functions).
fn manager_ref(m: Option<&vs_namespaces>) -> Result<&NamespaceManager> {
    Ok(&need(m, "namespaces")?.mgr)
}

/// Opens (creating the directory if needed) the namespace manager of directory `root`.
///
/// - `root`: NUL-terminated; borrowed for the call only.
/// - `defaults`: the store options of every namespace created (NULL = `vs_store_options_default()`);
///   an existing namespace keeps its own dimension and metric. Borrowed for the call.
/// - `out`: receives the manager on success; release it with `vs_namespaces_close`.
///
/// Fast whatever the number of namespaces: a namespace's store is opened on its first use (and at
/// most `VS_DEFAULT_MAX_OPEN_STORES` stay open, see `vs_namespaces_set_max_open_stores`).
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL root or out, bad options), `VS_ERR_LOCKED` (the root is
/// already open by a manager, in this process or another), `VS_ERR_CORRUPT` (the registry is damaged,
/// or missing while namespace directories exist: never read as empty), `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespaces_open(
    root: *const c_char,
    defaults: *const vs_store_options,
    out: Option<&mut MaybeUninit<*mut vs_namespaces>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        // SAFETY: the header's contract: `root` is NULL or a NUL-terminated string.
        let root = path_arg(unsafe { try_cstr(root, "root") }?);
        let opts = if defaults.is_null() {
            StoreOptions::default()
        } else {
            // SAFETY: the header's contract: `defaults` is from vs_store_options_default().
            unsafe { try_versioned(defaults, "defaults") }?.to_core()?
        };
        let mgr = NamespaceManager::open(root, &opts)?;
        Ok(Box::new(vs_namespaces { mgr }))
    })
}

/// Closes the manager: closes every namespace's store and releases the root. `vs_store` handles
/// obtained from it stay valid memory but every call through them then fails with `VS_ERR_NOT_FOUND`
/// (close them with `vs_store_close` as usual). NULL is a no-op. Errors while closing are not
/// reported. Must be called exactly once, after every other call on the manager has returned.
#[no_mangle]
pub extern "C" fn vs_namespaces_close(m: Option<Box<vs_namespaces>>) {
    value_call((), || drop(m))
}

/// Default of `vs_namespaces_set_max_open_stores`.
pub const VS_DEFAULT_MAX_OPEN_STORES: u32 = 256;

/// Sets how many namespace stores the manager keeps open at once (default
/// `VS_DEFAULT_MAX_OPEN_STORES`; each open store holds two file descriptors and its records in
/// memory). Past it, opening a store closes the least recently used idle one (never one a call is
/// using); it reopens, transparently, on its next use. Lowering it closes idle stores at once.
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL manager, `max` = 0). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespaces_set_max_open_stores(
    m: *mut vs_namespaces,
    max: usize,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        mgr.set_max_open_stores(max)
    })
}

/// Creates a namespace and its (empty) store.
///
/// - `id`: the namespace id (see `vs_namespaces` for the rules).
/// - `name`: display name, free UTF-8 text without control characters, at most 256 bytes; NULL = "".
/// - `q`: its quotas, from `vs_quotas_default()`; NULL = unlimited.
///
/// The registry is saved (durably) before this returns. Errors: `VS_ERR_INVALID_ARGUMENT` (NULL
/// manager or id, a bad id or name, a NaN, infinite or negative rate), `VS_ERR_ALREADY_EXISTS`,
/// `VS_ERR_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_create(
    m: *mut vs_namespaces,
    id: *const c_char,
    name: *const c_char,
    q: *const vs_quotas,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` and `name` are NULL or NUL-terminated strings, `q` NULL
        // or from vs_quotas_default(), all valid for the call.
        let (id, name, q) =
            unsafe { (try_str(id, "id")?, try_opt_str(name, "name")?, try_versioned(q, "quotas")?) };
        mgr.create(id, name.unwrap_or(""), &q.to_core())
    })
}

/// Gives a `vs_store` handle to a namespace's data: every `vs_store_*` function works on it (close it
/// with `vs_store_close`, which does not close the namespace). All handles to a namespace share one
/// store. Every call through the handle first checks the namespace: deleted (or manager closed) ->
/// `VS_ERR_NOT_FOUND`; suspended -> `VS_ERR_NAMESPACE_SUSPENDED`; over its request rate ->
/// `VS_ERR_RATE_LIMITED`; a write that would pass `max_vectors` or `max_storage_bytes` fails as a whole
/// with `VS_ERR_QUOTA_EXCEEDED` and changes nothing. After `vs_namespace_restore` the handle serves
/// the restored data; after `vs_namespace_delete` it never serves again, even if the id is created
/// again.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL, bad id), `VS_ERR_NOT_FOUND`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_store(
    m: *mut vs_namespaces,
    id: *const c_char,
    out: Option<&mut MaybeUninit<*mut vs_store>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        let ns: Arc<_> = mgr.namespace(id)?;
        Ok(Box::new(vs_store::new(StoreRef::Namespace(ns))))
    })
}

/// Writes every namespace, ordered by id, to `*out_json` (owned: free with `vs_string_free`):
/// `{"namespaces":[{"id":..,"name":..,"status":"active"|"suspended","created_at":UNIX_SECONDS,
/// "quotas":{"max_vectors":N,"max_storage_bytes":N,"max_requests_per_second":R}}, ...]}`.
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL). Thread-safe.
#[no_mangle]
pub extern "C" fn vs_namespace_list_json(
    m: Option<&vs_namespaces>,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let list: Vec<_> = manager_ref(m)?.list().iter().map(record_json).collect();
        Ok(json!({ "namespaces": list }).to_string())
    })
}

/// Writes one namespace, in the shape of an element of `vs_namespace_list_json`, to `*out_json`
/// (owned: free with `vs_string_free`). Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_get_json(
    m: Option<&vs_namespaces>,
    id: *const c_char,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let mgr = manager_ref(m)?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        Ok(record_json(&mgr.get(id)?).to_string())
    })
}

/// Replaces a namespace's quotas (saved durably; they apply from the next call; a changed rate
/// starts with a full bucket). Lowering a quota below the current usage refuses further growth, it removes
/// nothing. `q` NULL = unlimited. Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`, `VS_ERR_IO`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_update_quotas(
    m: *mut vs_namespaces,
    id: *const c_char,
    q: *const vs_quotas,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string, `q` NULL or from
        // vs_quotas_default().
        let (id, q) = unsafe { (try_str(id, "id")?, try_versioned(q, "quotas")?) };
        mgr.update_quotas(id, &q.to_core())
    })
}

/// Sets a namespace's status (`VS_NAMESPACE_ACTIVE` or `VS_NAMESPACE_SUSPENDED`), saved durably.
/// Errors: `VS_ERR_INVALID_ARGUMENT` (also an unknown status), `VS_ERR_NOT_FOUND`, `VS_ERR_IO`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_set_status(
    m: *mut vs_namespaces,
    id: *const c_char,
    st: vs_namespace_status,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        mgr.set_status(id, status_arg(st)?)
    })
}

/// Writes a namespace's usage to `*out_json` (owned: free with `vs_string_free`):
/// `{"id":..,"vector_count":N,"deleted_count":N,"expired_count":N,"storage_bytes":N,"created_at":UNIX_SECONDS,
/// "last_activity_at":UNIX_SECONDS|null,"requests":{"query":{"served":N,"refused":N},"read":{..},
/// "write":{..},"maintenance":{..}}}`.
/// `vector_count`: live records not expired. `deleted_count`: soft-deleted records plus tombstones
/// of deleted or replaced records, held until compaction. `expired_count`: records past their TTL,
/// invisible, not yet removed. `storage_bytes`: the store's bytes on disk
/// (what `max_storage_bytes` limits). Requests (kinds: query = query/explain/estimate; read = get,
/// count, stats; write = every change; maintenance = flush, compaction) are counted since the manager
/// was opened: `served` reached the store, `refused` were refused by the namespace (suspended, rate
/// limited, over a quota). `last_activity_at`: the last data call since the manager was opened.
/// Opens the namespace's store if it was not open yet. Not a data call: not rate limited, works on a
/// suspended namespace. Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`, `VS_ERR_IO`,
/// `VS_ERR_CORRUPT`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_stats_json(
    m: Option<&vs_namespaces>,
    id: *const c_char,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let mgr = manager_ref(m)?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        let st = mgr.stats(id)?;
        let mut requests = serde_json::Map::new();
        for (kind, c) in st.requests {
            requests.insert(kind.name().into(), json!({ "served": c.served, "refused": c.refused }));
        }
        let j = json!({
            "id": st.id,
            "vector_count": st.vector_count,
            "deleted_count": st.deleted_count,
            "expired_count": st.expired_count,
            "storage_bytes": st.storage_bytes,
            "created_at": st.created_at,
            "last_activity_at": st.last_activity_at,
            "requests": requests,
        });
        Ok(j.to_string())
    })
}

/// Deletes a namespace: its registry entry (durably, first), its store directory and its backups.
/// Calls in flight through its handles finish first; every later call through them fails with
/// `VS_ERR_NOT_FOUND`. Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`, `VS_ERR_IO` (the
/// namespace is deleted anyway; leftover files are removed when the id is created again).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_delete(
    m: *mut vs_namespaces,
    id: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        mgr.delete(id)
    })
}

/// Takes a backup of a namespace named `backup_name` (same rules as ids), consistent (exactly the
/// namespace's state at one moment) while the namespace keeps serving: reads go on, writes wait for
/// the copy. Cheap: the snapshot files are hard-linked where the file system allows (copied
/// otherwise), only the log written since the last snapshot is copied. Works on a suspended
/// namespace. Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND` (namespace),
/// `VS_ERR_ALREADY_EXISTS` (backup name), `VS_ERR_IO`, `VS_ERR_CORRUPT` (a symbolic link in the way).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_backup(
    m: *mut vs_namespaces,
    id: *const c_char,
    backup_name: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` and `backup_name` are NULL or NUL-terminated strings.
        let (id, name) = unsafe { (try_str(id, "id")?, try_str(backup_name, "backup_name")?) };
        mgr.backup(id, name).map(|_| ())
    })
}

/// Writes a namespace's backups, oldest first, to `*out_json` (owned: free with `vs_string_free`):
/// `{"backups":[{"name":..,"created_at":UNIX_SECONDS,"vector_count":N}, ...]}` (`vector_count`: live
/// records at backup time). Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`, `VS_ERR_IO`,
/// `VS_ERR_CORRUPT`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_list_backups_json(
    m: Option<&vs_namespaces>,
    id: *const c_char,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let mgr = manager_ref(m)?;
        // SAFETY: the header's contract: `id` is NULL or a NUL-terminated string.
        let id = unsafe { try_str(id, "id") }?;
        let list: Vec<_> = mgr.list_backups(id)?.iter().map(backup_json).collect();
        Ok(json!({ "backups": list }).to_string())
    })
}

/// Replaces a namespace's data with a backup: afterwards it answers exactly as it did when the backup
/// was taken. Calls in flight finish first; every handle then serves the restored data (never the
/// data from before the restore). The backup itself is unchanged and can be restored again. Not
/// refused by quotas (a later write is, if the restored data is over them). Crash-safe: after a
/// crash the namespace holds either its old data or the restored data. Errors:
/// `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND` (namespace or backup), `VS_ERR_IO`,
/// `VS_ERR_CORRUPT`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_restore(
    m: *mut vs_namespaces,
    id: *const c_char,
    backup_name: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` and `backup_name` are NULL or NUL-terminated strings.
        let (id, name) = unsafe { (try_str(id, "id")?, try_str(backup_name, "backup_name")?) };
        mgr.restore(id, name)
    })
}

/// Deletes one backup of a namespace. Errors: `VS_ERR_INVALID_ARGUMENT`, `VS_ERR_NOT_FOUND`,
/// `VS_ERR_IO`, `VS_ERR_CORRUPT`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_namespace_delete_backup(
    m: *mut vs_namespaces,
    id: *const c_char,
    backup_name: *const c_char,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    status_call(err, || {
        // SAFETY: the header's contract: `m` is NULL or an open manager.
        let mgr = unsafe { manager(m) }?;
        // SAFETY: the header's contract: `id` and `backup_name` are NULL or NUL-terminated strings.
        let (id, name) = unsafe { (try_str(id, "id")?, try_str(backup_name, "backup_name")?) };
        mgr.delete_backup(id, name)
    })
}

#[cfg(test)]
mod tests;
