//! Namespaces: many isolated stores under one root directory, each with quotas, a request-rate limit,
//! a status, usage counters and backups.
//!
//! Layout of a root:
//! ```text
//! <root>/LOCK                      held while a manager has the root open (one manager per root)
//! <root>/namespaces.json           the registry (see [`registry`]): ids, names, quotas, status
//! <root>/ns/<id>/                  the namespace's store directory
//! <root>/backups/<id>/<name>/      one backup: store files plus backup.json
//! ```
//! Names starting with `.` under `ns/` and `backups/<id>/` are the manager's temporary directories
//! (no valid id or backup name starts with `.`). Nothing under the root is ever followed through a
//! symbolic link: a link where a directory of this layout should be is refused (`Code::Corrupt`).
//!
//! The manager keeps one [`Namespace`](crate::namespace::Namespace) per namespace; its store is opened lazily, on first use, and
//! then shared by every handle. Data calls go through [`Namespace::call`](crate::namespace::Namespace::call), which applies the status,
//! the rate limit and the counters; the size quotas are checked by the store itself, under its write
//! lock, through the [`GrowthCheck`](crate::store::guard::GrowthCheck) hook, so that a write is refused as a whole before anything is
//! logged.

pub mod backup;
pub mod names;
pub mod quota;
pub mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::storage::dir::{self, EntryKind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{MappedRwLockReadGuard, Mutex, RwLock, RwLockReadGuard};

use crate::error::{Code, Error, Result};
use crate::storage::lock::DirLock;
use crate::store::guard::{Growth, GrowthCheck};
use crate::store::options::StoreOptions;
use crate::store::Store;
use names::{check_display_name, check_name};
pub use quota::{Quotas, RateLimiter, SizeLimits};
pub use registry::{NamespaceRecord, Status};

const NS_DIR: &str = "ns";
/// Namespace stores a manager keeps open at once by default (each holds two file descriptors and
/// its records in memory); past it, the least recently used idle store is closed, and reopened on
/// its next use.
pub const DEFAULT_MAX_OPEN_STORES: usize = 256;
const BACKUPS_DIR: &str = "backups";

/// The kinds of data calls, counted separately in [`NamespaceStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Searches: query, explain, estimate.
    Query,
    /// Reads by id and counters: get, count, stats.
    Read,
    /// Everything that changes records: upsert (single, bulk, with TTL), delete, soft delete,
    /// restore, metadata and TTL updates, batches, TTL expiry.
    Write,
    /// Upkeep: flush, compaction and its configuration.
    Maintenance,
}

impl RequestKind {
    pub const ALL: [RequestKind; 4] =
        [RequestKind::Query, RequestKind::Read, RequestKind::Write, RequestKind::Maintenance];

    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Query => "query",
            RequestKind::Read => "read",
            RequestKind::Write => "write",
            RequestKind::Maintenance => "maintenance",
        }
    }
}

/// Requests of one kind since the manager was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestCounts {
    /// Calls that reached the store (whatever their outcome, except a quota refusal).
    pub served: u64,
    /// Calls refused by the namespace: suspended, rate limited, or over a size quota.
    pub refused: u64,
}

/// Usage of a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceStats {
    pub id: String,
    /// Live records that have not expired (what `count` returns).
    pub vector_count: u64,
    /// Records deleted but still held on disk until compaction: soft-deleted records plus the
    /// tombstones of deleted and replaced ones.
    pub deleted_count: u64,
    /// Records past their TTL, already invisible, not yet removed (by `expire_ttl_records` or
    /// compaction).
    pub expired_count: u64,
    /// Bytes the namespace's store holds on disk (log, snapshot files, description file), the measure
    /// `max_storage_bytes` is checked against. Backups are not counted.
    pub storage_bytes: u64,
    /// Per [`RequestKind`], in the order of [`RequestKind::ALL`]; counted since the manager was opened.
    pub requests: [(RequestKind, RequestCounts); 4],
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last data call through a handle since the manager was opened (None: none).
    pub last_activity_at: Option<u64>,
}

/// Why a namespace no longer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    Deleted,
    ManagerClosed,
}

// One per namespace: boxing the store would only add an indirection per call.
#[allow(clippy::large_enum_variant)]
enum Slot {
    /// Not opened yet (or a previous open failed): the next call opens it.
    Unopened,
    Open(Store),
    Gone(Gone),
}

/// One namespace: its settings, its store (opened lazily) and its counters. Shared by the manager and
/// every handle to it (`Arc`); a handle to a deleted namespace keeps only this object, whose store
/// is closed and whose calls fail with `Code::NotFound`.
pub struct Namespace {
    id: String,
    dir: PathBuf,
    ns_root: PathBuf,
    options: StoreOptions,
    record: Mutex<NamespaceRecord>,
    suspended: AtomicBool,
    /// Set (before the store is closed) when the namespace is deleted or the manager closed: calls
    /// then fail fast without touching the lock.
    gone: AtomicBool,
    slot: RwLock<Slot>,
    limits: Arc<QuotaGuard>,
    limiter: RateLimiter,
    counters: [[AtomicU64; 2]; 4],
    /// Unix nanoseconds of the last data call (0: none since the manager was opened); also the
    /// recency by which idle stores are closed (a store opened only for stats or a backup goes
    /// first).
    last_activity: AtomicU64,
    /// Whether `slot` holds an open store (readable without the lock).
    is_open: AtomicBool,
    open_stores: Arc<OpenStores>,
    me: Weak<Namespace>,
}

/// The namespaces whose store is open, so that at most `max` stay open.
struct OpenStores {
    max: AtomicUsize,
    list: Mutex<Vec<Weak<Namespace>>>,
    /// Set when a trim left more than `max` open because calls were using the others: the next
    /// call to end trims again, so the bound holds again once those calls are over.
    over: AtomicBool,
}

impl OpenStores {
    /// Closes least recently used idle stores (never `keep`'s, never one a call is using) until at
    /// most `max` are open.
    fn trim(&self, keep: Option<&Namespace>) {
        let max = self.max.load(Ordering::Relaxed);
        let mut candidates: Vec<(u64, Arc<Namespace>)> = {
            let mut list = self.list.lock();
            list.retain(|w| w.upgrade().is_some_and(|ns| ns.is_open.load(Ordering::Relaxed)));
            if list.len() <= max {
                self.over.store(false, Ordering::Relaxed);
                return;
            }
            list.iter()
                .filter_map(Weak::upgrade)
                .filter(|ns| keep.is_none_or(|k| !std::ptr::eq(&**ns, k)))
                .map(|ns| (ns.last_activity.load(Ordering::Relaxed), ns))
                .collect()
        };
        let mut excess = (candidates.len() + usize::from(keep.is_some())).saturating_sub(max);
        candidates.sort_by_key(|c| c.0);
        for (_, ns) in candidates {
            if excess == 0 {
                break;
            }
            if ns.try_close_idle() {
                excess -= 1;
            }
        }
        self.over.store(excess > 0, Ordering::Relaxed);
    }

    fn count(&self) -> usize {
        let mut list = self.list.lock();
        list.retain(|w| w.upgrade().is_some_and(|ns| ns.is_open.load(Ordering::Relaxed)));
        list.len()
    }
}

/// The size quotas as the store sees them.
struct QuotaGuard(SizeLimits);

impl GrowthCheck for QuotaGuard {
    fn check(&self, g: &Growth) -> Result<()> {
        self.0.check_growth(g.vectors_before, g.vectors_added, g.storage_bytes_before, g.bytes_added)
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Unix nanoseconds from the coarse clock (a few milliseconds of resolution, a few nanoseconds per
/// read instead of tens to hundreds): read on every data call, for `last_activity`.
#[cfg(target_os = "linux")]
fn now_unix_nanos() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_REALTIME_COARSE exists since Linux 2.6.32.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
        (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
    } else {
        precise_unix_nanos()
    }
}

#[cfg(not(target_os = "linux"))]
fn now_unix_nanos() -> u64 {
    precise_unix_nanos()
}

fn precise_unix_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl Namespace {
    fn new(
        root: &Path,
        options: &StoreOptions,
        record: NamespaceRecord,
        open_stores: &Arc<OpenStores>,
    ) -> Arc<Namespace> {
        let ns_root = root.join(NS_DIR);
        Arc::new_cyclic(|me| Namespace {
            dir: ns_root.join(&record.id),
            ns_root,
            id: record.id.clone(),
            options: options.clone(),
            suspended: AtomicBool::new(record.status == Status::Suspended),
            gone: AtomicBool::new(false),
            slot: RwLock::new(Slot::Unopened),
            limits: Arc::new(QuotaGuard(SizeLimits::new(&record.id, &record.quotas))),
            limiter: RateLimiter::new(record.quotas.max_requests_per_second),
            counters: Default::default(),
            last_activity: AtomicU64::new(0),
            is_open: AtomicBool::new(false),
            open_stores: open_stores.clone(),
            me: me.clone(),
            record: Mutex::new(record),
        })
    }

    /// Replaces the slot's state (its write lock held), keeping the open-store bookkeeping.
    fn set_slot(&self, slot: &mut Slot, new: Slot) -> Slot {
        let now_open = matches!(new, Slot::Open(_));
        let old = std::mem::replace(slot, new);
        let was_open = self.is_open.swap(now_open, Ordering::Relaxed);
        if now_open && !was_open {
            // It may still be listed from an earlier opening (entries are pruned lazily).
            let mut list = self.open_stores.list.lock();
            if !list.iter().any(|w| w.ptr_eq(&self.me)) {
                list.push(self.me.clone());
            }
        }
        old
    }

    /// Opens the store into an `Unopened` slot, then closes idle stores past the limit.
    fn open_into(&self, mut slot: parking_lot::RwLockWriteGuard<'_, Slot>) -> Result<()> {
        if matches!(*slot, Slot::Unopened) {
            let store = self.open_store()?;
            self.set_slot(&mut slot, Slot::Open(store));
            drop(slot);
            self.open_stores.trim(Some(self));
        }
        Ok(())
    }

    /// Closes the store if no call is using it (to stay under the open-store limit); it reopens on
    /// its next use. Returns whether it was closed.
    fn try_close_idle(&self) -> bool {
        let Some(mut slot) = self.slot.try_write() else { return false };
        if !matches!(*slot, Slot::Open(_)) {
            return false;
        }
        // Closed under the lock: a reopen must not find the directory still locked.
        if let Slot::Open(store) = self.set_slot(&mut slot, Slot::Unopened) {
            let _ = store.close();
        }
        true
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn gone_error(&self, why: Gone) -> Error {
        match why {
            Gone::Deleted => Error::new(
                Code::NotFound,
                format!("namespace {} was deleted: this handle no longer serves it", self.id),
            ),
            Gone::ManagerClosed => Error::new(
                Code::NotFound,
                format!("namespace {}: its manager was closed, this handle no longer serves it", self.id),
            ),
        }
    }

    fn count(&self, kind: RequestKind, refused: bool) {
        self.counters[kind as usize][usize::from(refused)].fetch_add(1, Ordering::Relaxed);
    }

    /// Runs one data call on the namespace's store: refuses it when the namespace is deleted
    /// (`NotFound`), suspended (`NamespaceSuspended`) or over its request rate (`RateLimited`),
    /// opens the store on first use, and counts the call. The store cannot be closed, restored or
    /// deleted while `f` runs (they wait for it).
    pub fn call<T>(&self, kind: RequestKind, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        if self.gone.load(Ordering::Acquire) {
            // The reason is in the slot; a deleted namespace is the usual one.
            let why = match &*self.slot.read() {
                Slot::Gone(why) => *why,
                _ => Gone::Deleted,
            };
            return Err(self.gone_error(why));
        }
        if self.suspended.load(Ordering::Relaxed) {
            self.count(kind, true);
            return Err(Error::new(
                Code::NamespaceSuspended,
                format!("namespace {} is suspended: data operations are refused", self.id),
            ));
        }
        if !self.limiter.try_take() {
            self.count(kind, true);
            return Err(Error::new(
                Code::RateLimited,
                format!(
                    "namespace {}: over its limit of {} requests per second; try again later",
                    self.id,
                    self.limiter.rate()
                ),
            ));
        }
        let store = self.store()?;
        let result = f(&store);
        drop(store);
        let refused = matches!(&result, Err(e) if e.code == Code::QuotaExceeded);
        self.count(kind, refused);
        self.last_activity.store(now_unix_nanos(), Ordering::Relaxed);
        if self.open_stores.over.load(Ordering::Relaxed) {
            self.open_stores.trim(None);
        }
        result
    }

    /// The open store, opening it on first use.
    fn store(&self) -> Result<MappedRwLockReadGuard<'_, Store>> {
        loop {
            let guard = self.slot.read();
            match &*guard {
                Slot::Open(_) => {
                    return Ok(RwLockReadGuard::map(guard, |s| match s {
                        Slot::Open(store) => store,
                        _ => unreachable!("checked above"),
                    }))
                }
                Slot::Gone(why) => return Err(self.gone_error(*why)),
                Slot::Unopened => {}
            }
            drop(guard);
            self.open_into(self.slot.write())?;
        }
    }

    /// Opens the store directory (with the slot's write lock held): finishes or rolls back an
    /// interrupted restore first, refuses links, installs the quota check.
    fn open_store(&self) -> Result<Store> {
        real_dir(&self.ns_root, true)?;
        backup::recover_restore(&self.ns_root, &self.id)?;
        real_dir(&self.dir, true)?;
        no_links_inside(&self.dir)?;
        let mut options = self.options.clone();
        if self.dir.join(crate::store::meta::META_FILE).exists() {
            // An existing store keeps its own dimension and metric.
            options.dimension = 0;
            options.metric = None;
        }
        let store = Store::open(&self.dir, &options)?;
        store.set_growth_check(Some(self.limits.clone() as Arc<dyn GrowthCheck>));
        Ok(store)
    }

    /// Closes the store for good (deletion, manager close); waits for calls in flight.
    fn close(&self, why: Gone) -> Result<()> {
        self.gone.store(true, Ordering::Release);
        let mut slot = self.slot.write();
        let old = self.set_slot(&mut slot, Slot::Gone(why));
        match old {
            Slot::Open(store) => store.close(),
            _ => Ok(()),
        }
    }

    fn record(&self) -> NamespaceRecord {
        self.record.lock().clone()
    }

    fn stats(&self) -> Result<NamespaceStats> {
        let st = self.store()?.stats();
        let requests = RequestKind::ALL.map(|k| {
            let c = &self.counters[k as usize];
            (k, RequestCounts { served: c[0].load(Ordering::Relaxed), refused: c[1].load(Ordering::Relaxed) })
        });
        let last = self.last_activity.load(Ordering::Relaxed);
        Ok(NamespaceStats {
            id: self.id.clone(),
            vector_count: st.count as u64,
            deleted_count: (st.soft_deleted + st.tombstones) as u64,
            expired_count: st.expired as u64,
            storage_bytes: st.storage_bytes,
            requests,
            created_at: self.record.lock().created_at,
            last_activity_at: (last != 0).then_some(last / 1_000_000_000),
        })
    }
}

/// The namespaces of one root directory. All methods take `&self` and are safe to call from any
/// number of threads at once.
pub struct NamespaceManager {
    root: PathBuf,
    options: StoreOptions,
    entries: RwLock<BTreeMap<String, Arc<Namespace>>>,
    open_stores: Arc<OpenStores>,
    /// Serialises changes to the registry and to namespace directories (create, update, delete,
    /// backup, restore). Data calls never take it.
    admin: Mutex<()>,
    _lock: DirLock,
}

impl NamespaceManager {
    /// Opens (creating if needed) the manager of `root`. `options` are the store options of every
    /// namespace created (an existing namespace keeps its dimension and metric). Stores are opened
    /// lazily, on first use. A second manager on the same root, in this or another process, fails
    /// with `Code::Locked`.
    pub fn open(root: impl AsRef<Path>, options: &StoreOptions) -> Result<NamespaceManager> {
        options.validate()?;
        let root = root.as_ref();
        if root.as_os_str().is_empty() {
            return Err(Error::invalid("namespace root must not be empty"));
        }
        crate::storage::fsutil::create_dir_all(root)?;
        // The root itself may be a link (the caller's choice); nothing inside it may be.
        for name in [crate::storage::lock::LOCK_FILE, registry::REGISTRY_FILE] {
            let path = root.join(name);
            if dir::is_symlink(&path) {
                return Err(Error::corrupt(
                    &path,
                    "is a symbolic link: vecstore never follows links inside a namespace root",
                ));
            }
        }
        let lock = DirLock::acquire(root).map_err(|e| {
            if e.code == Code::Locked {
                Error::new(
                    Code::Locked,
                    format!("namespace root {} is already open (by this or another process)", root.display()),
                )
            } else {
                e
            }
        })?;
        let records = match registry::load(root)? {
            Some(r) => r,
            None => {
                // No registry: a new root. Namespace directories without it mean the registry was
                // lost: refuse rather than present an empty manager over existing data.
                let ns = root.join(NS_DIR);
                if let Ok(entries) = dir::list(&ns) {
                    if entries.iter().any(|e| !e.name.to_string_lossy().starts_with('.')) {
                        return Err(Error::corrupt(
                            &root.join(registry::REGISTRY_FILE),
                            "the namespace registry is missing but namespace directories exist",
                        ));
                    }
                }
                registry::save(root, Vec::new())?;
                Vec::new()
            }
        };
        let open_stores = Arc::new(OpenStores {
            max: AtomicUsize::new(DEFAULT_MAX_OPEN_STORES),
            list: Mutex::new(Vec::new()),
            over: AtomicBool::new(false),
        });
        let entries = records
            .into_iter()
            .map(|r| (r.id.clone(), Namespace::new(root, options, r, &open_stores)))
            .collect();
        Ok(NamespaceManager {
            root: root.to_path_buf(),
            options: options.clone(),
            entries: RwLock::new(entries),
            open_stores,
            admin: Mutex::new(()),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Sets how many namespace stores stay open at once (at least 1; default
    /// [`DEFAULT_MAX_OPEN_STORES`]). Past it, opening a store closes the least recently used idle
    /// one (never one a call is using), which reopens on its next use.
    pub fn set_max_open_stores(&self, max: usize) -> Result<()> {
        if max == 0 {
            return Err(Error::invalid("max_open_stores must be at least 1"));
        }
        self.open_stores.max.store(max, Ordering::Relaxed);
        self.open_stores.trim(None);
        Ok(())
    }

    /// Namespace stores open now.
    pub fn open_stores(&self) -> usize {
        self.open_stores.count()
    }

    fn entry(&self, id: &str) -> Result<Arc<Namespace>> {
        check_name(id, "namespace id")?;
        self.entries
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::new(Code::NotFound, format!("namespace not found: {id}")))
    }

    fn save_registry(&self, entries: &BTreeMap<String, Arc<Namespace>>) -> Result<()> {
        registry::save(&self.root, entries.values().map(|n| n.record()).collect())
    }

    /// Creates a namespace (`AlreadyExists` if the id is taken) and opens its store.
    pub fn create(&self, id: &str, name: &str, quotas: &Quotas) -> Result<()> {
        self.create_with_options(id, name, quotas, &self.options)
    }

    /// [`NamespaceManager::create`] with the store options of this namespace instead of the
    /// manager's (its dimension and metric, say). They apply when its store is created; reopening
    /// keeps the store's own dimension and metric, as for every namespace.
    pub fn create_with_options(
        &self,
        id: &str,
        name: &str,
        quotas: &Quotas,
        options: &StoreOptions,
    ) -> Result<()> {
        options.validate()?;
        check_name(id, "namespace id")?;
        check_display_name(name)?;
        quotas.validate()?;
        let _admin = self.admin.lock();
        if self.entries.read().contains_key(id) {
            return Err(Error::new(Code::AlreadyExists, format!("namespace already exists: {id}")));
        }
        // Leftovers of a namespace of the same id whose deletion was interrupted are not its data.
        let ns_root = self.root.join(NS_DIR);
        real_dir(&ns_root, true)?;
        remove_tree(&ns_root.join(id))?;
        backup::remove_restore_leftovers(&ns_root, id)?;
        let backups = self.root.join(BACKUPS_DIR);
        if real_dir(&backups, false).is_ok() {
            remove_tree(&backups.join(id))?;
        }
        let record = NamespaceRecord {
            id: id.to_string(),
            name: name.to_string(),
            quotas: *quotas,
            status: Status::Active,
            created_at: now_unix(),
        };
        let ns = Namespace::new(&self.root, options, record, &self.open_stores);
        ns.open_into(ns.slot.write())?;
        let mut entries = self.entries.write();
        entries.insert(id.to_string(), ns.clone());
        if let Err(e) = self.save_registry(&entries) {
            entries.remove(id);
            drop(entries);
            let _ = ns.close(Gone::Deleted);
            let _ = remove_tree(&ns.dir);
            return Err(e);
        }
        Ok(())
    }

    /// A shared reference to a namespace, for data calls (`NotFound` if there is none).
    pub fn namespace(&self, id: &str) -> Result<Arc<Namespace>> {
        self.entry(id)
    }

    /// Every namespace, ordered by id.
    pub fn list(&self) -> Vec<NamespaceRecord> {
        self.entries.read().values().map(|n| n.record()).collect()
    }

    pub fn get(&self, id: &str) -> Result<NamespaceRecord> {
        Ok(self.entry(id)?.record())
    }

    /// Changes a namespace's quotas; they apply to the next call (a changed rate starts with a full
    /// bucket). Lowering a quota below the current usage refuses further growth, never removes data.
    pub fn update_quotas(&self, id: &str, quotas: &Quotas) -> Result<()> {
        quotas.validate()?;
        self.change(id, |r| r.quotas = *quotas)
    }

    /// Suspends (data calls fail with `NamespaceSuspended`) or reactivates a namespace.
    pub fn set_status(&self, id: &str, status: Status) -> Result<()> {
        self.change(id, |r| r.status = status)
    }

    /// Changes a namespace's record durably (the registry is saved before memory changes).
    fn change(&self, id: &str, f: impl FnOnce(&mut NamespaceRecord)) -> Result<()> {
        let _admin = self.admin.lock();
        let ns = self.entry(id)?;
        let entries = self.entries.read();
        let mut records: Vec<NamespaceRecord> = entries.values().map(|n| n.record()).collect();
        let mut changed = ns.record();
        f(&mut changed);
        for r in &mut records {
            if r.id == id {
                *r = changed.clone();
            }
        }
        registry::save(&self.root, records)?;
        // Still under the admin lock, so memory and disk agree whatever the order of concurrent
        // changes.
        ns.limits.0.set(&changed.quotas);
        if ns.limiter.rate() != changed.quotas.max_requests_per_second {
            ns.limiter.set_rate(changed.quotas.max_requests_per_second);
        }
        ns.suspended.store(changed.status == Status::Suspended, Ordering::Relaxed);
        *ns.record.lock() = changed;
        Ok(())
    }

    pub fn stats(&self, id: &str) -> Result<NamespaceStats> {
        self.entry(id)?.stats()
    }

    /// Deletes a namespace, its data and its backups. Calls in flight finish first; later calls
    /// through old handles fail with `NotFound`.
    pub fn delete(&self, id: &str) -> Result<()> {
        let _admin = self.admin.lock();
        let ns = self.entry(id)?;
        {
            let mut entries = self.entries.write();
            entries.remove(id);
            if let Err(e) = self.save_registry(&entries) {
                entries.insert(id.to_string(), ns);
                return Err(e);
            }
        }
        // The registry no longer lists it: from here on it is deleted even if removing files fails
        // (a later create of the same id removes the leftovers).
        let _ = ns.close(Gone::Deleted);
        remove_tree(&ns.dir)?;
        backup::remove_restore_leftovers(&ns.ns_root, id)?;
        let backups = self.root.join(BACKUPS_DIR);
        if real_dir(&backups, false).is_ok() {
            remove_tree(&backups.join(id))?;
        }
        Ok(())
    }

    /// Takes a consistent backup of a namespace while it keeps serving (see [`backup`]).
    pub fn backup(&self, id: &str, name: &str) -> Result<backup::BackupEntry> {
        check_name(name, "backup name")?;
        let _admin = self.admin.lock();
        let ns = self.entry(id)?;
        let store = ns.store()?;
        backup::create(&self.root.join(BACKUPS_DIR), id, name, &store)
    }

    /// A namespace's backups, oldest first.
    pub fn list_backups(&self, id: &str) -> Result<Vec<backup::BackupEntry>> {
        self.entry(id)?;
        backup::list(&self.root.join(BACKUPS_DIR), id)
    }

    /// Replaces a namespace's data with a backup. Calls in flight finish first; every handle then
    /// sees the restored data.
    pub fn restore(&self, id: &str, name: &str) -> Result<()> {
        check_name(name, "backup name")?;
        let _admin = self.admin.lock();
        let ns = self.entry(id)?;
        let backup_dir = backup::dir_of(&self.root.join(BACKUPS_DIR), id, name)?;
        let mut slot = ns.slot.write();
        if let Slot::Gone(why) = &*slot {
            return Err(ns.gone_error(*why));
        }
        real_dir(&ns.ns_root, true)?;
        // Build the new directory first; the old data stays in service until it is complete.
        let staged = backup::stage_restore(&backup_dir, &ns.ns_root, id)?;
        if let Slot::Open(store) = ns.set_slot(&mut slot, Slot::Unopened) {
            store.close()?;
        }
        backup::swap_in(&ns.ns_root, id, &staged)?;
        ns.open_into(slot)
    }

    pub fn delete_backup(&self, id: &str, name: &str) -> Result<()> {
        check_name(name, "backup name")?;
        let _admin = self.admin.lock();
        self.entry(id)?;
        let dir = backup::dir_of(&self.root.join(BACKUPS_DIR), id, name)?;
        remove_tree(&dir)
    }

    /// Closes every namespace's store (waiting for calls in flight) and releases the root. Handles
    /// still open then fail with `NotFound`. Dropping the manager does the same, ignoring errors.
    pub fn close(self) -> Result<()> {
        self.close_all()
    }

    fn close_all(&self) -> Result<()> {
        let mut first = Ok(());
        for ns in self.entries.read().values() {
            let r = ns.close(Gone::ManagerClosed);
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for NamespaceManager {
    fn drop(&mut self) {
        let _ = self.close_all();
    }
}

/// Checks that `path` is a directory and not a symbolic link, creating it when `create` and missing.
pub(crate) fn real_dir(path: &Path, create: bool) -> Result<()> {
    match dir::kind_of(path)? {
        Some(EntryKind::Symlink) => Err(Error::corrupt(
            path,
            "is a symbolic link: vecstore never follows links inside a namespace root",
        )),
        Some(EntryKind::Dir) => Ok(()),
        Some(_) => Err(Error::corrupt(path, "should be a directory")),
        None if create => {
            if dir::create_dir(path)? {
                Ok(())
            } else {
                real_dir(path, false)
            }
        }
        None => Err(Error::new(Code::NotFound, format!("{} does not exist", path.display()))),
    }
}

/// Refuses a store directory holding a symbolic link (a store would follow it).
pub(crate) fn no_links_inside(path: &Path) -> Result<()> {
    match dir::list(path)?.into_iter().find(|e| e.kind == EntryKind::Symlink) {
        Some(e) => Err(Error::corrupt(
            &e.path,
            "is a symbolic link: vecstore never follows links inside a namespace root",
        )),
        None => Ok(()),
    }
}

pub(crate) use crate::storage::dir::remove_tree;

#[cfg(test)]
mod tests;
