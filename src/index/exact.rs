//! Exact (brute-force) top-k search over a contiguous row-major block of vectors.
//!
//! This is the reference every approximate index is measured against, and the path that stays for
//! small stores and very selective filters.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::distance::{dot, l2_squared};
use crate::index::Metric;

/// A scored row: `row` indexes the block, `score` is "higher is more similar".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub row: usize,
    pub score: f32,
}

// Ordered so that the *worst* hit is the heap's top (a min-heap on score; among equal scores the
// higher row is worse, which makes results deterministic).
impl Eq for Scored {}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.row.cmp(&other.row))
    }
}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The internal similarity used for ranking (cheap to compute, monotone in the public score).
#[inline]
pub fn raw_similarity(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Cosine | Metric::Dot => dot(a, b),
        Metric::Euclidean => -l2_squared(a, b),
    }
}

/// Converts a raw similarity into the public score documented in the header.
#[inline]
pub fn public_score(metric: Metric, raw: f32) -> f32 {
    match metric {
        Metric::Cosine | Metric::Dot => raw,
        Metric::Euclidean => 1.0 / (1.0 + (-raw).max(0.0).sqrt()),
    }
}

/// The `k` rows most similar to `query`, best first, for which `accept(row)` holds.
pub fn top_k(
    metric: Metric,
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
    mut accept: impl FnMut(usize) -> bool,
) -> Vec<Scored> {
    if dim == 0 {
        return Vec::new();
    }
    let rows = super::hnsw::SliceSource::new(&vectors[..vectors.len() / dim * dim], dim);
    top_k_slots(metric, &rows, rows.len(), query, k, |slot| accept(slot as usize))
}

/// [`top_k`] over slots `0..n` of a vector source (vectors that are not one contiguous block).
pub fn top_k_slots<V: super::hnsw::VectorSource>(
    metric: Metric,
    vectors: &V,
    n: usize,
    query: &[f32],
    k: usize,
    mut accept: impl FnMut(u32) -> bool,
) -> Vec<Scored> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Scored> = BinaryHeap::with_capacity(k + 1);
    for slot in 0..n as u32 {
        let score = raw_similarity(metric, query, vectors.vector(slot));
        let row = slot as usize;
        // The top is the worst kept hit: a row that cannot enter skips the (costlier) accept test.
        if heap.len() == k && (Scored { row, score }) >= *heap.peek().expect("heap holds k items") {
            continue;
        }
        if !accept(slot) {
            continue;
        }
        heap.push(Scored { row, score });
        if heap.len() > k {
            heap.pop();
        }
    }
    let mut hits = heap.into_vec();
    hits.sort();
    hits.iter_mut().for_each(|h| h.score = public_score(metric, h.score));
    hits
}

#[cfg(test)]
mod tests;
