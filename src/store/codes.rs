//! The store's int8 codes (`index::quant`): when they are trained, kept in step with the vectors,
//! retrained, and where their ranges are saved.
//!
//! - The codes are derived data, held in memory beside the vectors (`Inner::codes`). A checkpoint
//!   and a compaction save the codes of every slot in the snapshot (`snap-G.codes`, see
//!   `storage::snapshot`): a checkpoint appends only the rows after `Codes::saved_rows` to the
//!   current codes file (all of them after a retraining). An open reads them back and encodes
//!   only the rows logged since:
//!   encoding 1M x 128 took 0.27-0.30 s of a 1.3 s open, reading the file about 0.05 s
//!   (examples/open_bench.rs, 2026-12-02). A snapshot without codes (older, or written by a store
//!   without them) has them encoded at open.
//! - The trained ranges are saved in [`QUANT_FILE`] (versioned, with a crc; replaced atomically)
//!   whenever they are trained, so that reopening encodes exactly the same codes.
//! - They are first trained once the store holds [`TRAIN_MIN_ROWS`] rows (smaller stores are
//!   searched by exact scan anyway), and retrained when `Codes::needs_retraining` says the data
//!   drifted (too many clipped components) or grew past four times the training sample.
//! - Every write adds the codes of its new rows before they enter the graph (`sync_codes`, from
//!   `index_pending`), so the codes always cover every graph node; compaction keeps the codes of the
//!   surviving rows (`Codes::retain`).

use super::options::Quantization;
use super::Inner;
use crate::index::exact::Scored;
use crate::index::hnsw::SearchStats;
use crate::index::quant::{Codes, Quantizer};
use crate::storage::fsutil::{read_if_exists, write_atomically};

/// The trained ranges of the codes (`Quantizer::to_bytes`).
pub const QUANT_FILE: &str = "vecstore.quant.bin";

/// Codes are trained once the store holds this many rows (below `EXACT_SCAN_MAX_SLOTS` the planner
/// scans anyway).
pub(crate) const TRAIN_MIN_ROWS: usize = 1000;

/// The graph search on codes re-ranks the best `RERANK_FACTOR * k` of its `ef` candidates (by code
/// distance) with exact distances. Measured on glove50-100k and wnminilm (examples/ann_bench.rs
/// `--rerank`): 2k gives the recall of re-ranking all `ef` candidates (to 4 digits) and k alone
/// loses 1-2 points of recall@10.
pub(crate) const RERANK_FACTOR: usize = 2;

/// The scan of the slots a metadata index matched ranks them on their codes and re-ranks the best
/// `SCAN_RERANK_FACTOR * k` with exact distances (`exact::top_k_listed_codes`). Measured with
/// examples/filter_bench.rs on glove50-100k and wnminilm (1%, 10% and 50% filters, 2026-12-02):
/// recall@10 1.000 at every selectivity at 4, where re-ranking only k lost up to 2.6 points
/// (0.974 cosine in the unit test); the re-rank is 40 exact distances per query, under 2% of a
/// 1% scan.
pub(crate) const SCAN_RERANK_FACTOR: usize = 4;

/// `Quantization::Auto` uses int8 codes from this dimension up. Measured (README, ann_bench, same
/// run): int8 traversal + re-rank is 1.6x the float32 QPS at recall 0.95 on glove50 (50-d) and
/// faster still at 384-d, with the same recall at every ef. A code row is padded to 64 bytes (one
/// cache line), so below 32 dimensions it is at least half the float row and saves little; there
/// the float rows are used.
pub const AUTO_INT8_MIN_DIMENSION: usize = 32;

impl Quantization {
    /// Whether a store of dimension `dim` keeps int8 codes under this setting.
    pub fn int8_for(self, dim: usize) -> bool {
        match self {
            Quantization::None => false,
            Quantization::Int8 => true,
            Quantization::Auto => dim >= AUTO_INT8_MIN_DIMENSION,
        }
    }
}

impl Inner {
    /// The codes when they cover slots `0..slots` (a write encodes its rows before they enter the
    /// graph or a scan, so this fails only for a store without codes).
    pub(super) fn codes_covering(&self, slots: usize) -> Option<&Codes> {
        self.codes.as_ref().filter(|c| c.len() >= slots)
    }

    /// Whether this store keeps codes (its dimension known and the option asking for them).
    pub(super) fn wants_codes(&self) -> bool {
        self.dim() > 0 && self.quantization.int8_for(self.dim())
    }

    /// At open: the saved ranges, if any fit this store (a damaged or foreign file is ignored: the
    /// ranges are retrained, the codes are derived data).
    pub(super) fn load_quantizer(&mut self) {
        if !self.wants_codes() || self.codes.is_some() {
            return;
        }
        if let Ok(Some(bytes)) = read_if_exists(&self.dir.join(QUANT_FILE)) {
            if let Ok(q) = Quantizer::from_bytes(&bytes) {
                if q.dim() == self.dim() {
                    self.codes = Some(Codes::new(q, self.meta.metric));
                }
            }
        }
    }

    /// Encodes the rows written since the last call, training or retraining the ranges when due.
    pub(super) fn sync_codes(&mut self) {
        if !self.wants_codes() {
            self.codes = None;
            return;
        }
        let n = self.vectors.len();
        let metric = self.meta.metric;
        let retrain = match &mut self.codes {
            None => n >= TRAIN_MIN_ROWS,
            Some(c) => {
                c.extend(&self.vectors, n);
                c.needs_retraining(n)
            }
        };
        if retrain {
            let codes = Codes::train(&self.vectors, n, metric);
            // The codes are right whether or not the ranges reach the disk; a failed save is
            // retried at the next training (only reproducibility after a reopen is lost).
            let _ = write_atomically(&self.dir.join(QUANT_FILE), &codes.quantizer().to_bytes());
            self.codes = Some(codes);
        }
    }

    /// The graph search of every query: on the codes when they cover the graph (exact re-ranking,
    /// exact scores), on the float rows otherwise.
    pub(super) fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        stats: &mut SearchStats,
    ) -> Vec<Scored> {
        let mut hits = match self.codes_covering(self.index.len()) {
            Some(c) => self.index.search_codes(&self.vectors, c, query, k, ef, RERANK_FACTOR * k, accept, stats),
            None => self.index.search(&self.vectors, query, k, ef, accept, stats),
        };
        // A write is linking these nodes into the graph right now (see `Store::commit`): the
        // search may or may not meet them, so they are scored exactly and merged. Here rather than
        // in one plan, so that every graph search (unfiltered, filtered, indexed, estimated) finds
        // an acknowledged write.
        let (linked, n) = (self.index.linked(), self.index.len());
        if linked < n {
            stats.distance_calculations += (n - linked) as u64;
            merge_unlinked(self.meta.metric, &self.vectors, linked as u32..n as u32, query, k, accept, &mut hits);
        }
        hits
    }
}

/// Merges into `hits` (best first, at most `k`) the accepted slots of `slots`, scored exactly.
fn merge_unlinked(
    metric: crate::index::Metric,
    vectors: &crate::storage::vectors::VectorBlock,
    slots: std::ops::Range<u32>,
    query: &[f32],
    k: usize,
    accept: &dyn Fn(u32) -> bool,
    hits: &mut Vec<Scored>,
) {
    for s in slots {
        if accept(s) && !hits.iter().any(|h| h.row == s as usize) {
            let raw = crate::index::exact::raw_similarity(metric, query, vectors.get(s));
            hits.push(Scored { row: s as usize, score: crate::index::exact::public_score(metric, raw) });
        }
    }
    hits.sort();
    hits.truncate(k);
}

#[cfg(test)]
mod tests;
