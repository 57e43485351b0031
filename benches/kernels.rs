//! Distance kernels at common embedding sizes, every kernel variant this CPU can run.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vecstore::index::distance::available_kernels;

fn kernels(c: &mut Criterion) {
    for dim in [50usize, 128, 384, 768] {
        let a: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut g = c.benchmark_group(format!("dim{dim}"));
        g.throughput(Throughput::Elements(dim as u64));
        for k in available_kernels() {
            g.bench_function(format!("dot/{}", k.name), |bench| {
                bench.iter(|| k.dot(black_box(&a), black_box(&b)))
            });
            g.bench_function(format!("l2/{}", k.name), |bench| {
                bench.iter(|| k.l2_squared(black_box(&a), black_box(&b)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
