//! One HNSW query (k = 10, ef = 64) on 20k random 128-d unit vectors, built with M = 16, efC = 100.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use vecstore::index::distance::normalize;
use vecstore::index::hnsw::{Hnsw, HnswParams, SearchStats, SliceSource};
use vecstore::Metric;

fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut out: Vec<f32> = (0..n * dim)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        })
        .collect();
    for v in out.chunks_exact_mut(dim) {
        normalize(v);
    }
    out
}

fn query(c: &mut Criterion) {
    const DIM: usize = 128;
    let base = data(20_000, DIM, 1);
    let queries = data(100, DIM, 2);
    let src = SliceSource::new(&base, DIM);
    let mut g = Hnsw::new(HnswParams { m: 16, ef_construction: 100, seed: 1 }, Metric::Cosine);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    g.insert_batch(0..src.len() as u32, &src, threads);
    let mut i = 0;
    c.bench_function("hnsw_query_20k_128d_k10_ef64", |b| {
        b.iter(|| {
            i = (i + 1) % 100;
            let q = &queries[i * DIM..(i + 1) * DIM];
            let mut st = SearchStats::default();
            black_box(g.search(&src, black_box(q), 10, 64, &|_| true, &mut st))
        })
    });
}

criterion_group!(benches, query);
criterion_main!(benches);
