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
mod tests {
    use super::*;

    #[test]
    fn returns_best_first_and_respects_accept() {
        // Four 2-d rows; the query is closest to row 2, then row 0.
        let rows = [1.0, 0.0, 0.0, 1.0, 0.9, 0.1, -1.0, 0.0];
        let hits = top_k(Metric::Dot, &rows, 2, &[1.0, 0.05], 2, |_| true);
        assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 2]);
        let hits = top_k(Metric::Dot, &rows, 2, &[1.0, 0.05], 2, |r| r != 0);
        assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![2, 1]);
        let hits = top_k(Metric::Euclidean, &rows, 2, &[1.0, 0.0], 1, |_| true);
        assert_eq!(hits[0].row, 0);
        assert!((hits[0].score - 1.0).abs() < 1e-6, "distance 0 gives score 1");
    }

    #[test]
    fn matches_a_full_sort_on_random_data() {
        let dim = 7;
        let n = 500;
        let mut seed = 42u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let rows: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        let q: Vec<f32> = (0..dim).map(|_| next()).collect();
        for metric in [Metric::Dot, Metric::Euclidean] {
            let mut all: Vec<(usize, f32)> =
                rows.chunks_exact(dim).enumerate().map(|(i, v)| (i, raw_similarity(metric, &q, v))).collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let hits = top_k(metric, &rows, dim, &q, 10, |_| true);
            let got: Vec<usize> = hits.iter().map(|h| h.row).collect();
            let want: Vec<usize> = all[..10].iter().map(|x| x.0).collect();
            assert_eq!(got, want, "{metric:?}");
        }
    }
}
