//! The store: one collection of vectors with metadata, in one directory.
//!
//! Reads (get, count, query) share a read lock and run in parallel; writes take the write lock, append
//! to the log, and only then change memory, so a write that returned an error changed nothing and a
//! write that returned success is in the log.

pub mod options;
pub mod record;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::error::{Code, Error, Result};
use crate::index::{distance, exact};
use crate::storage::lock::DirLock;
use crate::storage::log::{Log, LogOp};
use crate::storage::meta::{Meta, META_FORMAT_VERSION};
use options::{Durability, Metric, StoreOptions, MAX_DIMENSION, MAX_K};
use record::{canonical_metadata, check_finite, check_id, Hit, Record};

/// A search request. `filter` is reserved for the filter language (not yet available: a filter is
/// refused rather than ignored). `ef_search` 0 means the store's default.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub vector: &'a [f32],
    pub k: usize,
    pub filter: Option<&'a str>,
    pub ef_search: usize,
}

/// One record to write in a bulk upsert.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub vector: &'a [f32],
    pub metadata: Option<&'a str>,
}

/// Counters for `stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub dimension: usize,
    pub metric: Metric,
    pub log_bytes: u64,
}

/// Largest squared length of a vector in a dot or euclidean store (see `prepare_vector`).
const MAX_SQUARED_NORM: f64 = f32::MAX as f64 / 4.0;

pub struct Store {
    path: PathBuf,
    metric: Metric,
    inner: RwLock<Inner>,
}

/// The records, held as parallel columns: row `r` is `ids[r]`, `metadata[r]` and
/// `vectors[r*dim..(r+1)*dim]`. A delete moves the last row into the hole, so rows stay dense.
struct Inner {
    meta: Meta,
    ids: Vec<String>,
    metadata: Vec<String>,
    vectors: Vec<f32>,
    row_of: HashMap<String, usize>,
    log: Log,
    /// Log operations that no longer describe a live record (replaced or deleted): when there are
    /// any, closing rewrites the log to the current state.
    stale_ops: u64,
    _lock: DirLock,
}

impl Inner {
    fn dim(&self) -> usize {
        self.meta.dimension
    }

    fn apply(&mut self, op: LogOp) {
        match op {
            LogOp::Upsert { id, vector, metadata } => {
                let dim = self.dim();
                if let Some(&row) = self.row_of.get(&id) {
                    self.vectors[row * dim..(row + 1) * dim].copy_from_slice(&vector);
                    self.metadata[row] = metadata;
                    self.stale_ops += 1;
                } else {
                    let row = self.ids.len();
                    self.vectors.extend_from_slice(&vector);
                    self.metadata.push(metadata);
                    self.row_of.insert(id.clone(), row);
                    self.ids.push(id);
                }
            }
            LogOp::Delete { id } => {
                let Some(row) = self.row_of.remove(&id) else { return };
                let dim = self.dim();
                let last = self.ids.len() - 1;
                if row != last {
                    self.vectors.copy_within(last * dim..(last + 1) * dim, row * dim);
                    *self.row_of.get_mut(&self.ids[last]).expect("last row is indexed") = row;
                }
                self.vectors.truncate(last * dim);
                self.ids.swap_remove(row);
                self.metadata.swap_remove(row);
                // The upsert that created the record and this delete are both dead history now.
                self.stale_ops += 2;
            }
        }
    }

    /// Checks a write's dimension against the store's. A store that has none yet (opened with
    /// dimension 0 and never written) accepts any.
    fn check_dimension(&self, dim: usize) -> Result<()> {
        if self.dim() != 0 && self.dim() != dim {
            return Err(Error::dimension(self.dim(), dim));
        }
        Ok(())
    }

    /// Records the dimension fixed by the first write. The log already holds that write, and replay
    /// recovers the dimension from it, so failing to save the meta file loses nothing: it is retried
    /// at the next open or checkpoint.
    fn adopt_dimension(&mut self, dir: &Path, dim: usize) {
        if self.dim() == 0 {
            self.meta.dimension = dim;
            let _ = self.meta.save(dir);
        }
    }

    fn record(&self, row: usize) -> Record {
        let dim = self.dim();
        Record {
            id: self.ids[row].clone(),
            vector: self.vectors[row * dim..(row + 1) * dim].to_vec(),
            metadata: self.metadata[row].clone(),
        }
    }
}

impl Store {
    /// Opens the store in `dir`, creating the directory and an empty store if needed.
    ///
    /// On an existing store, `options.dimension` must be 0 or the store's dimension
    /// (`DimensionMismatch` otherwise) and `options.metric`, when given, must be the store's metric
    /// (`InvalidArgument` otherwise; `None` means "the store's", or cosine for a new store). A second
    /// open of the same directory, from this or another process, fails with `Locked` until the first
    /// is closed.
    pub fn open(dir: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        options.validate()?;
        let dir = dir.as_ref();
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid("store path must not be empty"));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
        let lock = DirLock::acquire(dir)?;
        let mut meta = match Meta::load(dir)? {
            Some(meta) => {
                if let Some(metric) = options.metric.filter(|m| *m != meta.metric) {
                    return Err(Error::invalid(format!(
                        "store {} uses metric {}, it was opened with metric {}",
                        dir.display(),
                        meta.metric.name(),
                        metric.name()
                    )));
                }
                meta
            }
            None => {
                // Without its description file a store's log cannot be read safely (the metric
                // decides what the logged vectors mean): refuse rather than guess.
                let log_path = dir.join(crate::storage::log::LOG_FILE);
                if std::fs::metadata(&log_path).is_ok_and(|m| m.len() > crate::storage::log::HEADER_LEN) {
                    return Err(Error::corrupt(
                        &dir.join(crate::storage::meta::META_FILE),
                        "the file is missing but the store's log holds records",
                    ));
                }
                let meta = Meta {
                    format_version: META_FORMAT_VERSION,
                    dimension: options.dimension,
                    metric: options.metric.unwrap_or(Metric::Cosine),
                    hnsw_m: options.hnsw_m,
                    ef_construction: options.ef_construction,
                    ef_search: options.ef_search,
                };
                meta.save(dir)?;
                meta
            }
        };

        // Replay into a list first: the log is opened before `Inner` (which owns it) exists.
        // A store created with dimension 0 takes its dimension from the first logged vector.
        let mut staged = Vec::new();
        let mut dim = meta.dimension;
        let sync = options.durability == Durability::Sync;
        let log_path = dir.join(crate::storage::log::LOG_FILE);
        // No snapshots yet: the log is the whole history, generation 0.
        let (log, _report) = Log::open(dir, sync, 0, |op| {
            if let LogOp::Upsert { vector, .. } = &op {
                if dim == 0 {
                    dim = vector.len();
                } else if vector.len() != dim {
                    return Err(Error::corrupt(
                        &log_path,
                        format!("a logged vector has dimension {}, the store has {dim}", vector.len()),
                    ));
                }
            }
            staged.push(op);
            Ok(())
        })?;
        if options.dimension != 0 && dim != 0 && options.dimension != dim {
            return Err(Error::new(
                Code::DimensionMismatch,
                format!(
                    "store {} has dimension {dim}, it was opened with dimension {}",
                    dir.display(),
                    options.dimension
                ),
            ));
        }
        if dim == 0 {
            dim = options.dimension;
        }
        if dim != meta.dimension {
            meta.dimension = dim;
            meta.save(dir)?;
        }
        let metric = meta.metric;
        let mut inner = Inner {
            meta,
            ids: Vec::new(),
            metadata: Vec::new(),
            vectors: Vec::new(),
            row_of: HashMap::new(),
            log,
            stale_ops: 0,
            _lock: lock,
        };
        for op in staged {
            inner.apply(op);
        }
        Ok(Store { path: dir.to_path_buf(), metric, inner: RwLock::new(inner) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The store's dimension (0 while an empty store waits for its first vector).
    pub fn dimension(&self) -> usize {
        self.inner.read().dim()
    }

    /// Checks a vector and returns it as stored (normalised for cosine).
    fn prepare_vector(&self, vector: &[f32], what: &str) -> Result<Vec<f32>> {
        if vector.is_empty() {
            return Err(Error::invalid(format!("{what} is empty")));
        }
        if vector.len() > MAX_DIMENSION {
            return Err(Error::invalid(format!(
                "{what} has {} values, above the limit of {MAX_DIMENSION}",
                vector.len()
            )));
        }
        check_finite(vector, what)?;
        let mut v = vector.to_vec();
        match self.metric {
            Metric::Cosine => {
                if !distance::normalize(&mut v) {
                    return Err(Error::invalid(format!(
                        "{what} is all zeros: cosine similarity is undefined for it"
                    )));
                }
            }
            Metric::Dot | Metric::Euclidean => {
                // Bounding every vector's squared length by MAX/4 keeps every dot product and every
                // squared distance (at most (|a| + |b|)^2) finite, so no score is ever inf or NaN.
                let squared = distance::squared_norm_f64(&v);
                if squared > MAX_SQUARED_NORM {
                    return Err(Error::invalid(format!(
                        "{what} is too long (squared length {squared:.3e}, the limit is {MAX_SQUARED_NORM:.3e}): \
                         its scores would overflow"
                    )));
                }
            }
        }
        Ok(v)
    }

    fn prepare_record(&self, r: &NewRecord<'_>) -> Result<LogOp> {
        check_id(r.id)?;
        let vector = self.prepare_vector(r.vector, "vector")?;
        let metadata = canonical_metadata(r.metadata)?;
        Ok(LogOp::Upsert { id: r.id.to_string(), vector, metadata })
    }

    /// Inserts a record, or replaces the record with the same id.
    pub fn upsert(&self, id: &str, vector: &[f32], metadata: Option<&str>) -> Result<()> {
        self.upsert_many(&[NewRecord { id, vector, metadata }])
    }

    /// Inserts or replaces many records as one write: every record is checked first, and if any is
    /// invalid nothing is written. Within one call a later record with the same id wins.
    pub fn upsert_many(&self, records: &[NewRecord<'_>]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::with_capacity(records.len());
        let dim = records[0].vector.len();
        for (i, r) in records.iter().enumerate() {
            if r.vector.len() != dim {
                return Err(Error::new(
                    Code::DimensionMismatch,
                    format!("record {i} has dimension {}, record 0 has dimension {dim}", r.vector.len()),
                ));
            }
            let op = self.prepare_record(r).map_err(|e| {
                if records.len() > 1 {
                    Error::new(e.code, format!("record {i} ({:?}): {}", r.id, e.message))
                } else {
                    e
                }
            })?;
            ops.push(op);
        }
        let mut inner = self.inner.write();
        inner.check_dimension(dim)?;
        inner.log.append(&ops)?;
        inner.adopt_dimension(&self.path, dim);
        for op in ops {
            inner.apply(op);
        }
        Ok(())
    }

    /// The record with this id (`NotFound` if there is none).
    pub fn get(&self, id: &str) -> Result<Record> {
        check_id(id)?;
        let inner = self.inner.read();
        let row = *inner.row_of.get(id).ok_or_else(|| Error::not_found(id))?;
        Ok(inner.record(row))
    }

    /// Deletes the record for good (`NotFound` if there is none).
    pub fn delete(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let mut inner = self.inner.write();
        if !inner.row_of.contains_key(id) {
            return Err(Error::not_found(id));
        }
        let op = LogOp::Delete { id: id.to_string() };
        inner.log.append(std::slice::from_ref(&op))?;
        inner.apply(op);
        Ok(())
    }

    /// Number of live records.
    pub fn count(&self) -> usize {
        self.inner.read().ids.len()
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.read();
        Stats {
            count: inner.ids.len(),
            dimension: inner.dim(),
            metric: self.metric,
            log_bytes: inner.log.len_bytes(),
        }
    }

    /// The `k` records most similar to the query vector, best first.
    pub fn query(&self, q: &Query<'_>) -> Result<Vec<Hit>> {
        if q.k == 0 || q.k > MAX_K {
            return Err(Error::invalid(format!("k must be in 1..={MAX_K}, got {}", q.k)));
        }
        if q.ef_search > 100_000 {
            return Err(Error::invalid(format!("ef_search must be at most 100000, got {}", q.ef_search)));
        }
        if let Some(f) = q.filter {
            return Err(Error::invalid(format!(
                "metadata filters are not supported by this version of vecstore (got filter {f:?})"
            )));
        }
        let query = self.prepare_vector(q.vector, "query vector")?;
        let inner = self.inner.read();
        let dim = inner.dim();
        if dim == 0 {
            return Ok(Vec::new()); // nothing written yet, any dimension is still possible
        }
        if query.len() != dim {
            return Err(Error::dimension(dim, query.len()));
        }
        let hits = exact::top_k(self.metric, &inner.vectors, dim, &query, q.k, |_| true);
        Ok(hits
            .into_iter()
            .map(|h| Hit {
                id: inner.ids[h.row].clone(),
                score: h.score,
                metadata: inner.metadata[h.row].clone(),
            })
            .collect())
    }

    /// Makes everything written so far durable against power loss (fsync).
    pub fn flush(&self) -> Result<()> {
        self.inner.write().log.sync()
    }

    /// Closes the store: rewrites the log to the current state when it holds dead history, and
    /// releases the directory lock. Dropping a store does the same and ignores errors.
    pub fn close(self) -> Result<()> {
        self.checkpoint()
    }

    fn checkpoint(&self) -> Result<()> {
        let mut inner = self.inner.write();
        if inner.stale_ops == 0 {
            return inner.log.sync();
        }
        // Stream the records straight into the rewrite (the log is a different field from the
        // columns, so it can be borrowed mutably beside them): no second copy of every vector.
        let Inner { ids, vectors, metadata, meta, log, .. } = &mut *inner;
        let dim = meta.dimension;
        log.rewrite(ids.iter().enumerate().map(|(row, id)| LogOp::Upsert {
            id: id.clone(),
            vector: vectors[row * dim..(row + 1) * dim].to_vec(),
            metadata: metadata[row].clone(),
        }))?;
        inner.stale_ops = 0;
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.checkpoint();
    }
}

#[cfg(test)]
mod tests;
