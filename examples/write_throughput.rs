//! Write throughput: single upserts vs bulk upserts (batches of 1,000), in both durability modes.
//!
//!     cargo run --release --example write_throughput -- [records] [dim]
//!
//! Prints records/s for each mode and the bulk/single ratio. Not a test: numbers vary by machine.

use std::time::Instant;

use vecstore::{Durability, Metric, NewRecord, Store, StoreOptions};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let n = args.first().copied().unwrap_or(20_000);
    let dim = args.get(1).copied().unwrap_or(128);
    let ids: Vec<String> = (0..n).map(|i| format!("doc-{i}")).collect();
    let vectors: Vec<f32> = (0..n * dim).map(|i| ((i * 2654435761) % 1000) as f32 / 1000.0 + 0.001).collect();
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
        println!(
            "{durability:?}: single upsert {single_rate:>10.0} rec/s ({singles} records) | upsert_many x1000 {bulk_rate:>10.0} rec/s | ratio {:.1}x",
            bulk_rate / single_rate
        );
    }
}
