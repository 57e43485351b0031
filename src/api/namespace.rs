//! The namespace manager with the guide's method names.

use std::path::Path;

use super::{Metadata, Query, QueryOptions, SearchResult, VecStore};
use crate::error::{Error, Result};
use crate::namespace::backup::BackupEntry;
use crate::namespace::{self as core, NamespaceRecord, NamespaceStats, Quotas, Status};
use crate::store::options::StoreOptions;

/// A namespace's limits; `None` (the default) is no limit.
///
/// ```
/// use vecstore::NamespaceQuotas;
///
/// let q = NamespaceQuotas { max_vectors: Some(1_000_000), max_requests_per_second: Some(100.0), ..Default::default() };
/// assert_eq!(q.max_storage_bytes, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NamespaceQuotas {
    /// Live records the namespace may hold (a replacement of an existing record is not growth).
    pub max_vectors: Option<u64>,
    /// Bytes its store may hold on disk (log, snapshot, description file; backups not counted).
    pub max_storage_bytes: Option<u64>,
    /// Data calls per second (a token bucket of capacity max(1, rate)).
    pub max_requests_per_second: Option<f64>,
}

impl NamespaceQuotas {
    /// The core's quotas, where 0 means unlimited. `Some(0)` has no such spelling (it would read as
    /// unlimited), so it is `InvalidArgument`: use `None` for no limit.
    pub(crate) fn to_core(self) -> Result<Quotas> {
        fn zero(field: &str) -> Error {
            Error::invalid(format!("quotas.{field} is Some(0): use None for no limit"))
        }
        if self.max_vectors == Some(0) {
            return Err(zero("max_vectors"));
        }
        if self.max_storage_bytes == Some(0) {
            return Err(zero("max_storage_bytes"));
        }
        if self.max_requests_per_second == Some(0.0) {
            return Err(zero("max_requests_per_second"));
        }
        Ok(Quotas {
            max_vectors: self.max_vectors.unwrap_or(0),
            max_storage_bytes: self.max_storage_bytes.unwrap_or(0),
            max_requests_per_second: self.max_requests_per_second.unwrap_or(0.0),
        })
    }
}

impl From<Quotas> for NamespaceQuotas {
    /// The core's 0 (unlimited) becomes `None`.
    fn from(q: Quotas) -> NamespaceQuotas {
        NamespaceQuotas {
            max_vectors: (q.max_vectors != 0).then_some(q.max_vectors),
            max_storage_bytes: (q.max_storage_bytes != 0).then_some(q.max_storage_bytes),
            max_requests_per_second: (q.max_requests_per_second != 0.0).then_some(q.max_requests_per_second),
        }
    }
}

/// Many isolated stores under one root directory, with quotas, a status, usage statistics and
/// backups: the guide's names over [`crate::namespace::NamespaceManager`].
///
/// Data calls ([`NamespaceManager::upsert`], [`NamespaceManager::query`], and every method of the
/// [`VecStore`] from [`NamespaceManager::store`]) go through the namespace's status, rate limit and
/// size quotas, exactly as a C `vs_namespace_store` handle's. All methods take `&self` and may be
/// called from any number of threads at once.
///
/// ```
/// use vecstore::{Metadata, NamespaceManager, NamespaceQuotas, Query};
///
/// # fn main() -> vecstore::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let root = dir.path().join("namespaces");
/// let manager = NamespaceManager::new(&root)?;
/// manager.create_namespace("tenant-a", "Tenant A", Some(NamespaceQuotas { max_vectors: Some(1), ..Default::default() }))?;
/// manager.upsert("tenant-a", "doc1", vec![0.1, 0.2], Metadata::default())?;
///
/// let full = manager.upsert("tenant-a", "doc2", vec![0.2, 0.1], Metadata::default()).unwrap_err();
/// assert_eq!(full.code, vecstore::Code::QuotaExceeded);
/// assert_eq!(manager.get_stats("tenant-a")?.vector_count, 1);
///
/// manager.backup_namespace("tenant-a", "before")?;
/// for (name, _created_at, count) in manager.list_namespace_backups("tenant-a")? {
///     assert_eq!((name.as_str(), count), ("before", 1));
/// }
/// let hits = manager.query("tenant-a", Query::new(vec![0.1, 0.2], 5))?;
/// assert_eq!(hits.len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct NamespaceManager {
    inner: core::NamespaceManager,
}

impl std::fmt::Debug for NamespaceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceManager").field("root", &self.inner.root()).finish()
    }
}

impl From<core::NamespaceManager> for NamespaceManager {
    fn from(inner: core::NamespaceManager) -> NamespaceManager {
        NamespaceManager { inner }
    }
}

impl NamespaceManager {
    /// Opens (creating if needed) the manager of directory `root`, with default store options for
    /// the namespaces it creates. `Locked` if another manager (in this process or another) has the
    /// root open; `Corrupt` if the registry is damaged, or missing while namespace data exists.
    pub fn new(root: impl AsRef<Path>) -> Result<NamespaceManager> {
        NamespaceManager::open(root, &StoreOptions::default())
    }

    /// [`NamespaceManager::new`] with the store options of every namespace created (an existing
    /// namespace keeps its dimension and metric).
    pub fn open(root: impl AsRef<Path>, options: &StoreOptions) -> Result<NamespaceManager> {
        Ok(NamespaceManager { inner: core::NamespaceManager::open(root, options)? })
    }

    /// The core manager (the fast path: borrowed arguments, the admin calls the guide does not
    /// name, such as `set_max_open_stores`).
    pub fn core(&self) -> &core::NamespaceManager {
        &self.inner
    }

    /// Creates a namespace (`AlreadyExists` if the id is taken). Ids are 1..=64 ASCII letters,
    /// digits, `-`, `_` and `.`, not starting with `.` (anything else is `InvalidArgument`);
    /// `quotas` `None` is no limit.
    pub fn create_namespace(&self, id: &str, name: &str, quotas: Option<NamespaceQuotas>) -> Result<()> {
        let quotas = quotas.unwrap_or_default().to_core()?;
        self.inner.create(id, name, &quotas)
    }

    /// The namespace's store as a [`VecStore`]: every store method, under the namespace's checks.
    /// The handle stays valid while the manager is open (a deleted namespace's handle answers
    /// `NotFound`).
    pub fn store(&self, namespace: &str) -> Result<VecStore> {
        Ok(VecStore::from_namespace(self.inner.namespace(namespace)?))
    }

    /// Inserts or replaces a record in a namespace ([`VecStore::upsert`]): `QuotaExceeded` over a
    /// size quota, `RateLimited`, `NamespaceSuspended`, `NotFound` for an unknown namespace.
    pub fn upsert(
        &self,
        namespace: &str,
        id: impl Into<String>,
        vector: Vec<f32>,
        metadata: Metadata,
    ) -> Result<()> {
        self.store(namespace)?.handle().upsert_with_ttl(id.into(), vector, metadata, 0)
    }

    /// Queries a namespace ([`VecStore::query`]).
    pub fn query(&self, namespace: &str, query: Query) -> Result<Vec<SearchResult>> {
        self.store(namespace)?.handle().query(&query, &QueryOptions::default())
    }

    /// Usage of a namespace: `vector_count`, `deleted_count`, `expired_count`, `storage_bytes`,
    /// request counts per kind, `created_at`, `last_activity_at`.
    pub fn get_stats(&self, namespace: &str) -> Result<NamespaceStats> {
        self.inner.stats(namespace)
    }

    /// Every namespace (id, display name, quotas, status, creation time), ordered by id.
    pub fn list_namespaces(&self) -> Vec<NamespaceRecord> {
        self.inner.list()
    }

    /// One namespace's id, display name, quotas, status and creation time.
    pub fn get_namespace(&self, namespace: &str) -> Result<NamespaceRecord> {
        self.inner.get(namespace)
    }

    /// Replaces a namespace's quotas; they apply from the next call. Lowering one below the current
    /// usage refuses further growth, never removes data.
    pub fn update_quotas(&self, namespace: &str, quotas: NamespaceQuotas) -> Result<()> {
        self.inner.update_quotas(namespace, &quotas.to_core()?)
    }

    /// Suspends a namespace (data calls fail with `NamespaceSuspended`) or makes it active again.
    pub fn set_status(&self, namespace: &str, status: Status) -> Result<()> {
        self.inner.set_status(namespace, status)
    }

    /// Deletes a namespace, its data and its backups.
    pub fn delete_namespace(&self, namespace: &str) -> Result<()> {
        self.inner.delete(namespace)
    }

    /// Takes a consistent backup of a namespace under `name` while it keeps serving. Backup names
    /// follow the rules of namespace ids; `AlreadyExists` if the name is taken.
    pub fn backup_namespace(&self, namespace: &str, name: &str) -> Result<BackupEntry> {
        self.inner.backup(namespace, name)
    }

    /// A namespace's backups, oldest first, as `(name, created_at, vector_count)`: created_at in Unix
    /// seconds, vector_count the live records when the backup was taken.
    pub fn list_namespace_backups(&self, namespace: &str) -> Result<Vec<(String, u64, u64)>> {
        let list = self.inner.list_backups(namespace)?;
        Ok(list.into_iter().map(|b| (b.name, b.created_at, b.vector_count)).collect())
    }

    /// Replaces a namespace's data with a backup; calls in flight finish first, and every handle
    /// then sees the restored data (`NotFound` for an unknown backup).
    pub fn restore_namespace(&self, namespace: &str, name: &str) -> Result<()> {
        self.inner.restore(namespace, name)
    }

    /// Deletes one backup (`NotFound` if there is none).
    pub fn delete_namespace_backup(&self, namespace: &str, name: &str) -> Result<()> {
        self.inner.delete_backup(namespace, name)
    }

    /// Closes every namespace's store and releases the root, reporting errors that dropping the
    /// manager would ignore.
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}
