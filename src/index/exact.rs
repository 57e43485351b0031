//! Exact (brute-force) top-k search over a contiguous row-major block of vectors.
//!
//! This is the reference every approximate index is measured against, and the path that stays for
//! small stores and very selective filters.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::distance::{dot, l2_squared};
use crate::index::hnsw::Cand;
use crate::index::quant::{code_level, dot_u8_i8, Codes};
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

/// Slots ahead of the one being scored whose vectors [`top_k_listed`] starts fetching.
const PREFETCH_AHEAD: usize = 4;

/// Asks the CPU to bring the cache lines of `bytes` bytes at `p` in (a hint: never faults).
#[inline(always)]
fn prefetch(p: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = p as usize & !63;
        let mut a = start;
        while a < p as usize + bytes {
            // SAFETY: prefetching is a hint and never faults, whatever the address.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(a as *const i8) };
            a += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// The `k` slots of `slots` (every one accepted) most similar to `query`, best first: the exact
/// scan of the slots a metadata index matched. The vectors of the next few slots are prefetched
/// while one is scored, so that their cache misses overlap.
pub fn top_k_listed<V: super::hnsw::VectorSource>(
    metric: Metric,
    vectors: &V,
    slots: &[u32],
    query: &[f32],
    k: usize,
) -> Vec<Scored> {
    if k == 0 {
        return Vec::new();
    }
    let bytes = std::mem::size_of_val(query);
    for &s in slots.iter().take(PREFETCH_AHEAD) {
        prefetch(vectors.vector(s).as_ptr() as *const u8, bytes);
    }
    let mut heap: BinaryHeap<Scored> = BinaryHeap::with_capacity(k + 1);
    for (i, &slot) in slots.iter().enumerate() {
        if let Some(&ahead) = slots.get(i + PREFETCH_AHEAD) {
            prefetch(vectors.vector(ahead).as_ptr() as *const u8, bytes);
        }
        let score = raw_similarity(metric, query, vectors.vector(slot));
        let hit = Scored { row: slot as usize, score };
        if heap.len() == k {
            if hit >= *heap.peek().expect("heap holds k items") {
                continue;
            }
            heap.pop();
        }
        heap.push(hit);
    }
    let mut hits = heap.into_vec();
    hits.sort();
    hits.iter_mut().for_each(|h| h.score = public_score(metric, h.score));
    hits
}

/// [`top_k_listed`] ranking the slots on their int8 `codes` (which must cover every slot listed)
/// and re-ranking the best `rerank` (at least `k`) with exact distances on `vectors`, so every
/// returned score is exact and only the choice of the candidates is approximate. At 384 dimensions
/// a code row is a quarter of the float row's bytes: a scan of a few thousand matching slots reads
/// far fewer cache lines (the float scan is bound by memory, not by arithmetic).
pub fn top_k_listed_codes<V: super::hnsw::VectorSource>(
    metric: Metric,
    vectors: &V,
    codes: &Codes,
    slots: &[u32],
    query: &[f32],
    k: usize,
    rerank: usize,
) -> Vec<Scored> {
    if k == 0 || slots.is_empty() {
        return Vec::new();
    }
    let keep = rerank.max(k);
    let level = code_level();
    let qc = codes.query(query);
    let stride = codes.stride();
    for &s in slots.iter().take(PREFETCH_AHEAD) {
        prefetch(codes.row(s).as_ptr(), stride);
    }
    // Slots by code distance (lower is closer, ties by slot): the heap's top is the farthest kept.
    let mut heap: BinaryHeap<Cand> = BinaryHeap::with_capacity(keep + 1);
    for (i, &slot) in slots.iter().enumerate() {
        if let Some(&ahead) = slots.get(i + PREFETCH_AHEAD) {
            prefetch(codes.row(ahead).as_ptr(), stride);
        }
        let row = codes.row(slot);
        let hit = Cand { dist: qc.distance(dot_u8_i8(level, row, qc.bytes()), row), id: slot };
        if heap.len() == keep {
            if hit >= *heap.peek().expect("heap holds keep items") {
                continue;
            }
            heap.pop();
        }
        heap.push(hit);
    }
    let candidates = heap.into_vec();
    let bytes = std::mem::size_of_val(query);
    for c in &candidates {
        prefetch(vectors.vector(c.id).as_ptr() as *const u8, bytes);
    }
    let mut hits: Vec<Scored> = candidates
        .iter()
        .map(|c| Scored { row: c.id as usize, score: raw_similarity(metric, query, vectors.vector(c.id)) })
        .collect();
    hits.sort();
    hits.truncate(k);
    hits.iter_mut().for_each(|h| h.score = public_score(metric, h.score));
    hits
}

#[cfg(test)]
mod tests;
