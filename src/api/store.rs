//! `VecStore`: one store (or one namespace's store) with the guide's methods.

use std::path::Path;
use std::sync::Arc;

use super::{BatchOperation, ExplainedResult, Metadata, Query, QueryOptions, SearchResult};
use crate::error::{Error, Result};
use crate::namespace::{Namespace, RequestKind};
use crate::store::batch::BatchResult;
use crate::store::compact::{CompactionConfig, CompactionResult};
use crate::store::estimate::QueryEstimate;
use crate::store::options::StoreOptions;
use crate::store::{NewRecord, Stats, Store};

/// A record read back with [`VecStore::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct VectorRecord {
    /// The record's id.
    pub id: String,
    /// Its vector as stored (normalised to unit length in a cosine store).
    pub vector: Vec<f32>,
    /// Its metadata.
    pub metadata: Metadata,
}

/// What a `VecStore` reaches: a store of its own (possibly shared with other `Arc` holders), or a
/// namespace's store through the namespace's checks. The same routing as a C `vs_store` handle.
#[derive(Clone)]
pub(crate) enum Handle {
    Owned(Arc<Store>),
    Namespace(Arc<Namespace>),
}

impl Handle {
    /// Runs `f` on the store: a namespace refuses the call when it is deleted (`NotFound`),
    /// suspended (`NamespaceSuspended`) or over its request rate (`RateLimited`), and counts it
    /// under `kind`; a store a panic left out of step with its log refuses every call (`Internal`).
    pub(crate) fn call<T>(&self, kind: RequestKind, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        match self {
            Handle::Owned(s) => s.ensure_usable().and_then(|()| f(s)),
            Handle::Namespace(ns) => ns.call(kind, |s| s.ensure_usable().and_then(|()| f(s))),
        }
    }

    pub(crate) fn upsert_with_ttl(
        &self,
        id: String,
        vector: Vec<f32>,
        metadata: Metadata,
        ttl_seconds: u64,
    ) -> Result<()> {
        let metadata = metadata.to_core();
        self.call(RequestKind::Write, |s| s.upsert_with_ttl(&id, &vector, metadata.as_deref(), ttl_seconds))
    }

    pub(crate) fn query(&self, query: &Query, options: &QueryOptions) -> Result<Vec<SearchResult>> {
        let hits = query.with_core(options, |q| self.call(RequestKind::Query, |s| s.query(q)))?;
        hits.into_iter().map(SearchResult::from_core).collect()
    }
}

/// A vector store with the feature guide's methods: owned arguments, typed results.
///
/// Open one on a directory with [`VecStore::open`], or get a namespace's with
/// [`NamespaceManager::store`](super::NamespaceManager::store) (then every call goes through the
/// namespace's status, rate limit, quotas and counters, as for a C namespace handle). Every method
/// converts its arguments and calls the core [`Store`]: the errors, batch reports, estimates and
/// explanations are the C ABI's.
///
/// Ids are `impl Into<String>` where a record is written and `impl AsRef<str>` where one is looked
/// up, so `"doc1"`, a `String` and a `&String` all work. Writes take `&mut self` and reads `&self`. The store is `Send + Sync`; to write from several
/// threads at once, share the core store instead (`Arc<Store>`, whose methods all take `&self`) and
/// wrap it with [`VecStore::from_shared`] where the guide's API is wanted.
///
/// ```
/// use vecstore::{Metadata, Query, VecStore};
///
/// # fn main() -> vecstore::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("data");
/// let mut store = VecStore::open(&path)?;
/// store.upsert("a", vec![1.0, 0.0], Metadata::new().with("n", 1))?;
/// store.upsert(String::from("b"), vec![0.0, 1.0], Metadata::default())?;
/// let hits = store.query(Query::new(vec![1.0, 0.1], 1))?;
/// assert_eq!(hits[0].id, "a");
/// assert_eq!(hits[0].metadata.get("n"), Some(&1.into()));
///
/// let err = store.upsert("c", vec![1.0, 0.0, 0.0], Metadata::default()).unwrap_err();
/// assert_eq!(err.code, vecstore::Code::DimensionMismatch);
/// assert_eq!(err.message, "vector has dimension 3, the store has dimension 2");
/// # Ok(())
/// # }
/// ```
pub struct VecStore {
    handle: Handle,
}

impl std::fmt::Debug for VecStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.handle {
            Handle::Owned(s) => f.debug_struct("VecStore").field("path", &s.path()).finish(),
            Handle::Namespace(ns) => f.debug_struct("VecStore").field("namespace", &ns.id()).finish(),
        }
    }
}

impl From<Store> for VecStore {
    fn from(store: Store) -> VecStore {
        VecStore::from_shared(Arc::new(store))
    }
}

impl VecStore {
    /// Opens the store in directory `path`, creating it (and an empty store) if needed, with the
    /// default options: the dimension taken from the first vector (or the store's own when
    /// reopening), cosine for a new store, HNSW M 16, ef_construction 200, ef_search 64.
    ///
    /// Errors: `Locked` (the store is already open, by this process or another), `Io`, `Corrupt`
    /// (a damaged file; the message names it). A torn write at the end of the log (from a crash) is
    /// dropped, not an error.
    pub fn open(path: impl AsRef<Path>) -> Result<VecStore> {
        VecStore::open_with(path, &StoreOptions::default())
    }

    /// [`VecStore::open`] with options (dimension, metric, HNSW parameters, durability...).
    /// Reopening with another metric is `InvalidArgument`, with another dimension
    /// `DimensionMismatch`.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<VecStore> {
        Ok(VecStore::from(Store::open(path, options)?))
    }

    /// The guide's API over a core store that the program also uses directly (or hands to
    /// [`Maintenance::start`](crate::Maintenance::start)).
    pub fn from_shared(store: Arc<Store>) -> VecStore {
        VecStore { handle: Handle::Owned(store) }
    }

    pub(crate) fn from_namespace(ns: Arc<Namespace>) -> VecStore {
        VecStore { handle: Handle::Namespace(ns) }
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `f` on the core store behind this handle, the fast path (borrowed vectors, JSON text).
    /// For a namespace's store, the call goes through the namespace's checks and is counted under
    /// `kind`.
    ///
    /// ```
    /// # fn main() -> vecstore::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = vecstore::VecStore::open(dir.path().join("data"))?;
    /// store.with_store(vecstore::RequestKind::Write, |s| s.upsert("a", &[0.5, 0.5], Some(r#"{"n":1}"#)))?;
    /// let json = store.with_store(vecstore::RequestKind::Read, |s| Ok(s.get("a")?.metadata))?;
    /// assert_eq!(json, r#"{"n":1}"#);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_store<T>(&self, kind: RequestKind, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.handle.call(kind, f)
    }

    /// Inserts a record, or replaces the record with the same id (vector and metadata both; a
    /// soft delete and a TTL are cleared).
    ///
    /// Errors (nothing changes): `InvalidArgument` (an empty or too long id, an empty vector, NaN or
    /// infinity, a zero vector in a cosine store, metadata with a nested object),
    /// `DimensionMismatch`, `QuotaExceeded` (in a namespace), `Io`.
    pub fn upsert(&mut self, id: impl Into<String>, vector: Vec<f32>, metadata: Metadata) -> Result<()> {
        self.handle.upsert_with_ttl(id.into(), vector, metadata, 0)
    }

    /// [`VecStore::upsert`] of a record that expires `ttl_seconds` from now (0 = never). Expired
    /// records are invisible to every read at once; [`VecStore::expire_ttl_records`] deletes them.
    pub fn upsert_with_ttl(
        &mut self,
        id: impl Into<String>,
        vector: Vec<f32>,
        metadata: Metadata,
        ttl_seconds: u64,
    ) -> Result<()> {
        self.handle.upsert_with_ttl(id.into(), vector, metadata, ttl_seconds)
    }

    /// Inserts or replaces many records as one write, all or nothing: if any record is invalid,
    /// none is written and the error names the record's index. Within one call a later record with
    /// the same id wins. Much faster than one `upsert` per record.
    pub fn upsert_many<I: Into<String>>(
        &mut self,
        records: impl IntoIterator<Item = (I, Vec<f32>, Metadata)>,
    ) -> Result<()> {
        let owned: Vec<(String, Vec<f32>, Option<String>)> =
            records.into_iter().map(|(id, v, m)| (id.into(), v, m.to_core())).collect();
        let records: Vec<NewRecord<'_>> = owned
            .iter()
            .map(|(id, vector, metadata)| NewRecord { id, vector, metadata: metadata.as_deref() })
            .collect();
        self.handle.call(RequestKind::Write, |s| s.upsert_many(&records))
    }

    /// The record with this id (`NotFound` if there is none, or it is soft-deleted or expired).
    pub fn get(&self, id: impl AsRef<str>) -> Result<VectorRecord> {
        let r = self.handle.call(RequestKind::Read, |s| s.get(id.as_ref()))?;
        Ok(VectorRecord { metadata: Metadata::from_core(&r.metadata)?, id: r.id, vector: r.vector })
    }

    /// Deletes a live or soft-deleted record for good (`NotFound` if there is none).
    pub fn delete(&mut self, id: impl AsRef<str>) -> Result<()> {
        self.handle.call(RequestKind::Write, |s| s.delete(id.as_ref()))
    }

    /// Hides a live record from every read until [`VecStore::restore`]; compaction removes it
    /// (`NotFound` if there is no live record with this id).
    pub fn soft_delete(&mut self, id: impl AsRef<str>) -> Result<()> {
        self.handle.call(RequestKind::Write, |s| s.soft_delete(id.as_ref()))
    }

    /// Undoes a soft delete (`NotFound` if the id is neither soft-deleted nor live).
    pub fn restore(&mut self, id: impl AsRef<str>) -> Result<()> {
        self.handle.call(RequestKind::Write, |s| s.restore(id.as_ref()))
    }

    /// Replaces the metadata of a live record (`NotFound` if there is none).
    pub fn update_metadata(&mut self, id: impl AsRef<str>, metadata: Metadata) -> Result<()> {
        let metadata = metadata.to_core();
        self.handle.call(RequestKind::Write, |s| s.update_metadata(id.as_ref(), metadata.as_deref()))
    }

    /// Makes a live record expire `ttl_seconds` from now; 0 removes its expiry (`NotFound` if there
    /// is no live record with this id).
    pub fn set_ttl(&mut self, id: impl AsRef<str>, ttl_seconds: u64) -> Result<()> {
        self.handle.call(RequestKind::Write, |s| s.set_ttl(id.as_ref(), ttl_seconds))
    }

    /// Deletes every expired record for good and returns how many (they were already invisible).
    pub fn expire_ttl_records(&mut self) -> Result<u64> {
        self.handle.call(RequestKind::Write, |s| s.expire_ttl_records())
    }

    /// Live records (not soft-deleted, not expired).
    pub fn count(&self) -> Result<usize> {
        self.handle.call(RequestKind::Read, |s| Ok(s.count()))
    }

    /// Counters: live, soft-deleted, expired and tombstoned records, dimension, metric, bytes on
    /// disk, what opening replayed.
    pub fn stats(&self) -> Result<Stats> {
        self.handle.call(RequestKind::Read, |s| Ok(s.stats()))
    }

    /// The `query.k` records most similar to `query.vector` that pass `query.filter`, best first.
    /// Fewer than `k` only when fewer records pass. An empty store (no vector written yet) returns
    /// nothing for a vector of any length.
    ///
    /// Errors: `InvalidArgument` (k = 0 or above 10000, an empty, non-finite or zero vector),
    /// `DimensionMismatch`, `FilterSyntax` (only for a filter whose canonical text is over the
    /// 64 KiB limit: [`parse_filter`](super::parse_filter) already checked the syntax).
    pub fn query(&self, query: Query) -> Result<Vec<SearchResult>> {
        self.handle.query(&query, &QueryOptions::default())
    }

    /// [`VecStore::query`] with [`QueryOptions`] (`ef_search`).
    pub fn query_with(&self, query: Query, options: QueryOptions) -> Result<Vec<SearchResult>> {
        self.handle.query(&query, &options)
    }

    /// Runs the query exactly as [`VecStore::query`] does (the same results in the same order with
    /// the same scores, the same errors) and explains each result: raw score, metric, which filter
    /// conditions its metadata satisfies, the search's plan and work, its rank and a line of text.
    pub fn query_explain(&self, query: Query) -> Result<Vec<ExplainedResult>> {
        self.query_explain_with(query, QueryOptions::default())
    }

    /// [`VecStore::query_explain`] with [`QueryOptions`].
    pub fn query_explain_with(&self, query: Query, options: QueryOptions) -> Result<Vec<ExplainedResult>> {
        let hits =
            query.with_core(&options, |q| self.handle.call(RequestKind::Query, |s| s.query_explain(q)))?;
        hits.into_iter().map(ExplainedResult::from_core).collect()
    }

    /// Validates the query and estimates its cost without running it: `valid`, every problem in
    /// `errors` (with `error_codes`), `cost_estimate` in [0, 1], estimated distance calculations and
    /// nodes visited, `will_overfetch`, `recommendations`, `estimated_duration_ms`, and the plan
    /// the query will take. Never fails: a query [`VecStore::query`] would refuse gives
    /// `valid: false`, and so does a call the namespace refuses (suspended, rate limited, deleted:
    /// its message in `errors`, its code in `error_codes`).
    pub fn estimate_query(&self, query: &Query) -> QueryEstimate {
        self.estimate_query_with(query, QueryOptions::default())
    }

    /// [`VecStore::estimate_query`] with [`QueryOptions`].
    pub fn estimate_query_with(&self, query: &Query, options: QueryOptions) -> QueryEstimate {
        query
            .with_core(&options, |q| self.handle.call(RequestKind::Query, |s| Ok(s.estimate_query(q))))
            .unwrap_or_else(QueryEstimate::refused)
    }

    /// Runs the operations in order under one write lock and one log append. Each sees the effect
    /// of the earlier ones; one that fails on its own is reported in the result (index, operation,
    /// message, code) and the others are applied. An error means the batch as a whole was refused
    /// and nothing was applied: `QuotaExceeded` (in a namespace), `Io`, `InvalidArgument` for a
    /// batch over 1 GiB encoded.
    pub fn batch_execute(&mut self, operations: Vec<BatchOperation>) -> Result<BatchResult> {
        let ops: Vec<_> = operations.into_iter().map(BatchOperation::into_core).collect();
        self.handle.call(RequestKind::Write, |s| s.batch_execute(&ops))
    }

    /// Sets when [`VecStore::maybe_compact`] compacts and saves it with the store (it holds after
    /// reopening). `InvalidArgument` for a ratio outside [0, 1]; `Io` if it cannot be saved (the
    /// setting is then unchanged).
    pub fn set_compaction_config(&mut self, config: CompactionConfig) -> Result<()> {
        self.handle.call(RequestKind::Maintenance, |s| s.set_compaction_config(config))
    }

    /// The compaction settings (default: disabled, 1000 records, ratio 0.1).
    pub fn compaction_config(&self) -> Result<CompactionConfig> {
        self.handle.call(RequestKind::Read, |s| Ok(s.compaction_config()))
    }

    /// Compacts when the configuration says so (enabled, and at least `min_deleted_records`
    /// reclaimable slots or at least `min_deleted_ratio` of all slots): `triggered`,
    /// `removed_count`, `duration_ms` and the `reason` in plain words.
    pub fn maybe_compact(&mut self) -> Result<CompactionResult> {
        self.handle.call(RequestKind::Maintenance, |s| s.maybe_compact())
    }

    /// Compacts now, whatever the configuration: removes soft-deleted and expired records and the
    /// tombstones of replaced and deleted ones, repairs the graph, and returns the number of
    /// soft-deleted and expired records removed.
    pub fn compact(&mut self) -> Result<u64> {
        self.handle.call(RequestKind::Maintenance, |s| s.compact())
    }

    /// Makes everything written so far durable against power loss (fsync).
    pub fn flush(&mut self) -> Result<()> {
        self.handle.call(RequestKind::Maintenance, |s| s.flush())
    }

    /// Closes the store and reports errors that dropping it would ignore (see [`Store::close`]).
    /// A store still shared with other `Arc<Store>` holders, and a namespace's store (which stays
    /// open in its manager), are only released.
    pub fn close(self) -> Result<()> {
        match self.handle {
            Handle::Owned(s) => match Arc::try_unwrap(s) {
                Ok(store) => store.close(),
                Err(_) => Ok(()),
            },
            Handle::Namespace(_) => Ok(()),
        }
    }
}

impl QueryEstimate {
    /// The estimate of a query whose call was refused before it reached the store.
    fn refused(e: Error) -> QueryEstimate {
        let mut est = QueryEstimate::invalid();
        est.push_error(e);
        est
    }
}
