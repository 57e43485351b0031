//! Write throughput: single upserts vs bulk upserts (batches of 1,000), in both durability modes.
//!
//!     cargo run --release --example write_throughput -- [records] [dim]
//!
//! Prints records/s for each mode and the bulk/single ratio, bulk with one thread and with every core
//! (`build_threads` 0). Every record is inserted into the HNSW graph before the call returns, in both
//! paths, so graph insertion (not the log) sets the pace. Not a test: numbers vary by machine.

use std::time::Instant;

use vecstore::{Durability, Metric, NewRecord, Store, StoreOptions};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let n = args.first().copied().unwrap_or(20_000);
    let dim = args.get(1).copied().unwrap_or(128);
    let ids: Vec<String> = (0..n).map(|i| format!("doc-{i}")).collect();
    let mut state = 0x9e3779b97f4a7c15u64;
    let vectors: Vec<f32> = (0..n * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    let meta = r#"{"category":"tech","n":1}"#;
    println!("{n} records of dimension {dim}, metadata {meta}");
    for durability in [Durability::Process, Durability::Sync] {
        // fsync per write is slow: measure it on fewer records.
        let singles = if durability == Durability::Sync { n.min(500) } else { n };
        let opts =
            StoreOptions { dimension: dim, metric: Some(Metric::Cosine), durability, ..Default::default() };

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &opts).unwrap();
        let t = Instant::now();
        for i in 0..singles {
            store.upsert(&ids[i], &vectors[i * dim..(i + 1) * dim], Some(meta)).unwrap();
        }
        let single_rate = singles as f64 / t.elapsed().as_secs_f64();
        drop(store);

        let mut line = format!("{durability:?}: single upsert {single_rate:>8.0} rec/s ({singles} records)");
        for threads in [1, 0] {
            let opts = StoreOptions { build_threads: threads, ..opts.clone() };
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path(), &opts).unwrap();
            let t = Instant::now();
            for start in (0..n).step_by(1000) {
                let end = (start + 1000).min(n);
                let batch: Vec<NewRecord> = (start..end)
                    .map(|i| NewRecord {
                        id: &ids[i],
                        vector: &vectors[i * dim..(i + 1) * dim],
                        metadata: Some(meta),
                    })
                    .collect();
                store.upsert_many(&batch).unwrap();
            }
            let bulk_rate = n as f64 / t.elapsed().as_secs_f64();
            let which = if threads == 1 { "1 thread" } else { "all cores" };
            line += &format!(
                " | upsert_many x1000 ({which}) {bulk_rate:>8.0} rec/s, {:.1}x",
                bulk_rate / single_rate
            );
        }
        println!("{line}");
    }
}
