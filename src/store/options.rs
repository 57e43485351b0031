//! Options a store is opened with.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::index::Metric;
pub use crate::storage::log::LogRecovery;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Acknowledged once the log record is handed to the operating system: survives a crash of the
    /// process (kill -9), not a power loss.
    Process,
    /// Acknowledged after the log record is fsynced: survives a power loss. Slower.
    Sync,
}

/// Whether the graph is searched on int8 codes of the vectors (see `index::quant`): the search
/// walks the graph on one byte per component and re-ranks its final candidates with the exact
/// float32 vectors, so scores stay exact. A choice of this open only: the codes are derived from the
/// vectors (recomputed at open), so a store can be reopened with another setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// int8 codes from dimension `AUTO_INT8_MIN_DIMENSION` (32) up, none below (the default).
    #[default]
    Auto,
    /// Float32 traversal only.
    None,
    /// int8 codes whatever the dimension.
    Int8,
}

impl Quantization {
    /// `"auto"`, `"none"`, `"int8"`.
    pub fn name(self) -> &'static str {
        match self {
            Quantization::Auto => "auto",
            Quantization::None => "none",
            Quantization::Int8 => "int8",
        }
    }

    /// The setting with this name (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Quantization> {
        [Quantization::Auto, Quantization::None, Quantization::Int8]
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(name))
    }
}

/// Parameters of a store. `dimension` 0 means "taken from the first vector written".
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    pub dimension: usize,
    /// `None`: the store's own metric when reopening, cosine when creating.
    pub metric: Option<Metric>,
    pub hnsw_m: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
    pub durability: Durability,
    /// Threads a bulk insert may use: 0 = one per core, 1 = only the caller's thread.
    pub build_threads: usize,
    /// A checkpoint runs when the log grows past this many bytes (and on close).
    pub checkpoint_bytes: u64,
    /// What opening does with a damaged log frame that valid frames follow: refuse (the default) or
    /// salvage every valid frame. A torn tail is dropped either way.
    pub log_recovery: LogRecovery,
    /// int8 codes for the graph search (default `Auto`: by dimension).
    pub quantization: Quantization,
}

/// Default log size that triggers a checkpoint.
pub(crate) const DEFAULT_CHECKPOINT_BYTES: u64 = 16 << 20;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            dimension: 0,
            metric: None,
            hnsw_m: 16,
            ef_construction: 200,
            ef_search: 64,
            durability: Durability::Process,
            build_threads: 1,
            checkpoint_bytes: DEFAULT_CHECKPOINT_BYTES,
            log_recovery: LogRecovery::TolerateTornTail,
            quantization: Quantization::Auto,
        }
    }
}

/// Largest dimension a store accepts (a guard against a garbage length from a foreign caller).
pub(crate) const MAX_DIMENSION: usize = 65_536;
/// Largest k a query accepts.
pub(crate) const MAX_K: usize = 10_000;

impl StoreOptions {
    pub fn validate(&self) -> Result<()> {
        if self.dimension > MAX_DIMENSION {
            return Err(Error::invalid(format!(
                "dimension {} is above the limit of {MAX_DIMENSION}",
                self.dimension
            )));
        }
        if !(2..=256).contains(&self.hnsw_m) {
            return Err(Error::invalid(format!("hnsw_m must be in 2..=256, got {}", self.hnsw_m)));
        }
        if self.ef_construction == 0 || self.ef_construction > 100_000 {
            return Err(Error::invalid(format!(
                "ef_construction must be in 1..=100000, got {}",
                self.ef_construction
            )));
        }
        if self.checkpoint_bytes < 4096 {
            return Err(Error::invalid(format!(
                "checkpoint_bytes must be at least 4096, got {}",
                self.checkpoint_bytes
            )));
        }
        if self.ef_search == 0 || self.ef_search > 100_000 {
            return Err(Error::invalid(format!("ef_search must be in 1..=100000, got {}", self.ef_search)));
        }
        Ok(())
    }
}
