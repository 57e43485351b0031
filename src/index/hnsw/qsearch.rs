//! Search on int8 codes with exact re-ranking (see `index/quant.rs`).
//!
//! The walk is the float search's (greedy descent, then best-first on level 0 with the same
//! acceptance rule), with distances from the codes: a row is a quarter of the float row's bytes, and
//! the int8 dot product is several times cheaper than the float one. The `ef` accepted candidates it
//! ends with are then scored with the exact float32 distance and the best `k` of those returned, so
//! every score is exact and only the choice of candidates is approximate.
//!
//! Compiled once per int8 kernel level (portable, AVX2, AVX-512 VNNI) with the kernel inlined.

use super::*;
use crate::index::quant::{kernels, code_level, CodeLevel, Codes, QueryCode};

/// The int8 dot product of one instruction-set level (zero-sized; see `Space`).
trait CodeDot: Copy {
    fn dot(self, a: &[u8], q: &[i8]) -> i32;
}

#[derive(Clone, Copy)]
struct PortableCode;
impl CodeDot for PortableCode {
    #[inline(always)]
    fn dot(self, a: &[u8], q: &[i8]) -> i32 {
        kernels::portable(a, q)
    }
}

/// Only constructed when `code_level()` found AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2Code;
#[cfg(target_arch = "x86_64")]
impl CodeDot for Avx2Code {
    #[inline(always)]
    fn dot(self, a: &[u8], q: &[i8]) -> i32 {
        // SAFETY: values of this type exist only on CPUs with AVX2; rows and queries are `stride`
        // bytes, a multiple of 64.
        unsafe { kernels::avx2(a, q) }
    }
}

/// Only constructed when `code_level()` found AVX-512 VNNI.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct VnniCode;
#[cfg(target_arch = "x86_64")]
impl CodeDot for VnniCode {
    #[inline(always)]
    fn dot(self, a: &[u8], q: &[i8]) -> i32 {
        // SAFETY: as above, for AVX-512F/BW/VNNI.
        unsafe { kernels::vnni(a, q) }
    }
}

/// The query and the codes, with one kernel: the distance oracle of the walk.
#[derive(Clone, Copy)]
struct Oracle<'a, K> {
    codes: &'a Codes,
    q: &'a QueryCode,
    k: K,
}

impl<K: CodeDot> Oracle<'_, K> {
    #[inline(always)]
    fn d(&self, id: u32) -> f32 {
        let row = self.codes.row(id);
        self.q.distance(self.k.dot(row, self.q.bytes()), row)
    }
}

impl Hnsw {
    /// [`Hnsw::search`] walking the graph on `codes` (which must cover every node: otherwise this
    /// is the float search) and re-ranking the final candidates with exact distances on `vectors`,
    /// so the scores are exact float32 ones. `rerank` caps how many of the `ef` candidates are
    /// re-ranked (the best by code distance; at least `k`; 0 = all of them).
    #[allow(clippy::too_many_arguments)]
    pub fn search_codes<V: VectorSource>(
        &self,
        vectors: &V,
        codes: &Codes,
        query: &[f32],
        k: usize,
        ef: usize,
        rerank: usize,
        accept: &dyn Fn(u32) -> bool,
        stats: &mut SearchStats,
    ) -> Vec<Scored> {
        if codes.len() < self.len() || codes.metric() != self.metric || codes.dim() != query.len() {
            return self.search(vectors, query, k, ef, accept, stats);
        }
        if k == 0 || self.entry == NONE {
            return Vec::new();
        }
        let ef = ef.max(k);
        let qc = codes.query(query);
        let mut scratch = self.take_scratch();
        match code_level() {
            CodeLevel::Portable => {
                self.walk_codes(Oracle { codes, q: &qc, k: PortableCode }, ef, accept, &mut scratch, stats)
            }
            // SAFETY: `code_level()` detected the features each trampoline enables.
            #[cfg(target_arch = "x86_64")]
            CodeLevel::Avx2 => unsafe {
                self.walk_codes_avx2(Oracle { codes, q: &qc, k: Avx2Code }, ef, accept, &mut scratch, stats)
            },
            #[cfg(target_arch = "x86_64")]
            CodeLevel::Avx512Vnni => unsafe {
                self.walk_codes_vnni(Oracle { codes, q: &qc, k: VnniCode }, ef, accept, &mut scratch, stats)
            },
        }
        // Re-rank: the best `rerank` candidates by code distance, scored exactly.
        let sorted = &mut scratch.sorted;
        sorted.clear();
        sorted.extend(scratch.results.drain());
        sorted.sort_unstable();
        let keep = if rerank == 0 { sorted.len() } else { rerank.max(k).min(sorted.len()) };
        sorted.truncate(keep);
        let dim = query.len();
        for c in sorted.iter() {
            prefetch(vectors.vector(c.id).as_ptr() as *const u8, 4 * dim, 64);
        }
        let kern = kernel();
        let euclid = self.metric == Metric::Euclidean;
        for c in sorted.iter_mut() {
            let v = vectors.vector(c.id);
            c.dist = if euclid { kern.l2_squared(query, v) } else { -kern.dot(query, v) };
        }
        stats.distance_calculations += sorted.len() as u64;
        sorted.sort_unstable();
        let out = sorted
            .iter()
            .take(k)
            .map(|c| Scored { row: c.id as usize, score: public_score(self.metric, -c.dist) })
            .collect();
        self.give_scratch(scratch);
        out
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn walk_codes_avx2<K: CodeDot>(
        &self,
        o: Oracle<'_, K>,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ) {
        self.walk_codes(o, ef, accept, scratch, stats)
    }

    /// # Safety
    /// The CPU must support AVX2, AVX-512F, AVX-512BW and AVX-512 VNNI.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
    unsafe fn walk_codes_vnni<K: CodeDot>(
        &self,
        o: Oracle<'_, K>,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ) {
        self.walk_codes(o, ef, accept, scratch, stats)
    }

    /// Greedy descent of the upper levels, then the best-first search of level 0, on codes; leaves
    /// the accepted candidates in `scratch.results`.
    #[inline(always)]
    fn walk_codes<K: CodeDot>(
        &self,
        o: Oracle<'_, K>,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ) {
        let mut cur = Cand { dist: o.d(self.entry), id: self.entry };
        stats.distance_calculations += 1;
        // Never descend through a node still being linked (see `Hnsw::greedy`).
        let linked = self.linked() as u32;
        for level in (1..=self.max_level).rev() {
            stats.levels += 1;
            loop {
                let mut moved = false;
                stats.nodes_visited += 1;
                for a in self.neighbours(cur.id, level) {
                    let id = a.load(Relaxed);
                    if id >= linked {
                        continue;
                    }
                    let d = o.d(id);
                    stats.distance_calculations += 1;
                    if d < cur.dist {
                        cur = Cand { dist: d, id };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
                stats.upper_hops += 1;
            }
        }
        self.layer0_codes(o, cur, ef, accept, scratch, stats);
    }

    /// `search_layer` on level 0 with code distances (the same walk, see there).
    #[inline(always)]
    fn layer0_codes<K: CodeDot>(
        &self,
        o: Oracle<'_, K>,
        ep: Cand,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ) {
        let Scratch { visited, candidates, results, fresh, .. } = scratch;
        visited.reset(self.len());
        candidates.clear();
        results.clear();
        visited.insert(ep.id);
        candidates.push(Reverse(ep));
        if accept(ep.id) {
            results.push(ep);
        }
        let mut worst = if results.len() >= ef {
            results.peek().map_or(f32::INFINITY, |c| c.dist)
        } else {
            f32::INFINITY
        };
        let stride = o.codes.stride();
        let block_bytes = 4 * (self.m0 + 1);
        while let Some(Reverse(c)) = candidates.pop() {
            if c.dist > worst {
                break;
            }
            stats.nodes_visited += 1;
            if let Some(Reverse(next)) = candidates.peek() {
                prefetch(self.block(next.id, 0).as_ptr() as *const u8, block_bytes, 4);
            }
            fresh.clear();
            for a in self.neighbours(c.id, 0) {
                let id = a.load(Relaxed);
                if visited.insert(id) {
                    prefetch(o.codes.row(id).as_ptr(), stride, 16);
                    fresh.push(id);
                }
            }
            for &id in fresh.iter() {
                let d = o.d(id);
                stats.distance_calculations += 1;
                if d < worst {
                    candidates.push(Reverse(Cand { dist: d, id }));
                    if accept(id) {
                        results.push(Cand { dist: d, id });
                        if results.len() > ef {
                            results.pop();
                        }
                        if results.len() >= ef {
                            worst = results.peek().map_or(f32::INFINITY, |c| c.dist);
                        }
                    }
                }
            }
        }
    }
}
