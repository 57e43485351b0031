//! Batches against single calls: 1,000 operations as 1,000 calls, as one `batch_execute`, and (for
//! upserts) as one `upsert_many`, in both durability modes, on a store already holding records.
//!
//!     cargo run --release --example batch_bench -- [preloaded] [dim] [rounds]
//!
//! Two kinds of operation are timed: upserts of new records (every one is inserted into the HNSW
//! graph before the call returns, so graph insertion sets a floor that batching cannot remove) and
//! metadata updates (no graph work: what is left is the per-call cost a batch saves: the lock, the
//! log append, the fsync in sync mode). Every timing is the median of `rounds` rounds, each on new
//! ids. "Batching overhead per op" is (batch_execute - upsert_many) / 1000: what the batch API's
//! per-op checks and bookkeeping cost over the bulk-upsert path. Not a test: numbers vary.

use std::time::Instant;

use vecstore::store::write::WriteOp;
use vecstore::{Durability, Metric, NewRecord, Store, StoreOptions};

const OPS: usize = 1000;

struct Rng(u64);
impl Rng {
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let preloaded = args.first().copied().unwrap_or(10_000);
    let dim = args.get(1).copied().unwrap_or(128);
    let rounds = args.get(2).copied().unwrap_or(5);
    let meta = r#"{"category":"tech","n":1}"#;
    let mut rng = Rng(0x9e3779b97f4a7c15);
    println!("{OPS} operations per timing, store preloaded with {preloaded} x {dim} (cosine, M 16, efC 200,");
    println!("build_threads 1), median of {rounds} rounds; times in ms for all {OPS} operations\n");
    println!(
        "{:<8} {:<16} {:>10} {:>14} {:>12} {:>9} {:>14}",
        "mode", "operation", "1000 calls", "batch_execute", "upsert_many", "speedup", "batch ms/op"
    );
    for durability in [Durability::Process, Durability::Sync] {
        let opts =
            StoreOptions { dimension: dim, metric: Some(Metric::Cosine), durability, ..Default::default() };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &opts).unwrap();
        for start in (0..preloaded).step_by(1000) {
            let vs: Vec<Vec<f32>> = (start..(start + 1000).min(preloaded)).map(|_| rng.vector(dim)).collect();
            let ids: Vec<String> = (start..start + vs.len()).map(|i| format!("pre-{i}")).collect();
            let recs: Vec<NewRecord> = ids
                .iter()
                .zip(&vs)
                .map(|(id, v)| NewRecord { id, vector: v, metadata: Some(meta) })
                .collect();
            store.upsert_many(&recs).unwrap();
        }

        let (mut single, mut batch, mut many) = (Vec::new(), Vec::new(), Vec::new());
        let (mut single_meta, mut batch_meta) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let fresh = |tag: &str, rng: &mut Rng| -> Vec<(String, Vec<f32>)> {
                (0..OPS).map(|i| (format!("{tag}-{round}-{i}"), rng.vector(dim))).collect()
            };
            let recs = fresh("single", &mut rng);
            let t = Instant::now();
            for (id, v) in &recs {
                store.upsert(id, v, Some(meta)).unwrap();
            }
            single.push(t.elapsed().as_secs_f64() * 1e3);

            let ops: Vec<WriteOp> = fresh("batch", &mut rng)
                .into_iter()
                .map(|(id, vector)| WriteOp::Upsert {
                    id,
                    vector,
                    metadata: Some(meta.into()),
                    ttl_seconds: 0,
                })
                .collect();
            let t = Instant::now();
            let r = store.batch_execute(&ops).unwrap();
            batch.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.succeeded, OPS);

            let recs = fresh("many", &mut rng);
            let new: Vec<NewRecord> =
                recs.iter().map(|(id, v)| NewRecord { id, vector: v, metadata: Some(meta) }).collect();
            let t = Instant::now();
            store.upsert_many(&new).unwrap();
            many.push(t.elapsed().as_secs_f64() * 1e3);

            // Metadata updates of preloaded records: no graph work.
            let ids: Vec<String> = (0..OPS).map(|i| format!("pre-{}", (i * 7 + round) % preloaded)).collect();
            let new_meta = format!(r#"{{"category":"tech","n":{round}}}"#);
            let t = Instant::now();
            for id in &ids {
                store.update_metadata(id, Some(&new_meta)).unwrap();
            }
            single_meta.push(t.elapsed().as_secs_f64() * 1e3);
            let ops: Vec<WriteOp> = ids
                .iter()
                .map(|id| WriteOp::UpdateMetadata { id: id.clone(), metadata: Some(new_meta.clone()) })
                .collect();
            let t = Instant::now();
            let r = store.batch_execute(&ops).unwrap();
            batch_meta.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.succeeded, OPS);
        }
        let (s, b, m) = (median(single), median(batch), median(many));
        println!(
            "{:<8} {:<16} {:>10.1} {:>14.1} {:>12.1} {:>8.1}x {:>14.4}",
            format!("{durability:?}"),
            "upsert (new)",
            s,
            b,
            m,
            s / b,
            b / OPS as f64
        );
        println!(
            "{:<8} {:<16} batching overhead over upsert_many: {:.4} ms/op",
            "",
            "",
            (b - m) / OPS as f64
        );
        let (sm, bm) = (median(single_meta), median(batch_meta));
        println!(
            "{:<8} {:<16} {:>10.1} {:>14.1} {:>12} {:>8.1}x {:>14.4}",
            format!("{durability:?}"),
            "update_metadata",
            sm,
            bm,
            "-",
            sm / bm,
            bm / OPS as f64
        );
    }
}
