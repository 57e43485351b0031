//! How long opening a large store takes, and what it costs in memory.
//!
//! ```text
//! cargo run --release --example open_bench -- [DIR] [N] [DIM]        # default /tmp/vs-open-bench 1000000 128
//! ```
//! The first run creates the store (random vectors, bulk upserts of 10,000 with every core, a low
//! ef_construction of 40 so that building 1M vectors takes minutes, not an hour: the graph's shape and
//! size, which is what opening reads, depend on M, not on ef_construction) and closes it. Then a fresh
//! process (this program with `--open-only`) opens it and reports the open time and its resident memory
//! before opening, after opening and after 1,000 queries, and how much of that is file-backed (the
//! mapped vectors) versus anonymous (heap). Later runs reuse the store (`--checkpoint DIR` rewrites
//! its snapshot in the current format first).

use std::time::Instant;

use vecstore::store::options::{Metric, StoreOptions};
use vecstore::store::{NewRecord, Query, Store};

fn status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn memory() -> String {
    format!(
        "RSS {:.0} MB (file-backed {:.0} MB, anonymous {:.0} MB)",
        status_kb("VmRSS:") as f64 / 1024.0,
        status_kb("RssFile:") as f64 / 1024.0,
        status_kb("RssAnon:") as f64 / 1024.0
    )
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn create(dir: &str, n: usize, dim: usize) {
    let opts = StoreOptions {
        dimension: dim,
        metric: Some(Metric::Cosine),
        ef_construction: 40,
        build_threads: 0,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, &opts).expect("open for create");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let batch = 10_000;
    let start = Instant::now();
    let mut ids = Vec::with_capacity(batch);
    let mut flat = vec![0.0f32; batch * dim];
    for first in (0..n).step_by(batch) {
        let count = batch.min(n - first);
        ids.clear();
        ids.extend((first..first + count).map(|i| format!("v{i}")));
        flat.iter_mut().for_each(|x| *x = rng.next());
        let records: Vec<NewRecord> = (0..count)
            .map(|j| NewRecord { id: &ids[j], vector: &flat[j * dim..(j + 1) * dim], metadata: None })
            .collect();
        store.upsert_many(&records).expect("upsert_many");
        if (first / batch) % 10 == 0 {
            eprintln!("  {} / {n} records, {:.0} s", first + count, start.elapsed().as_secs_f64());
        }
    }
    eprintln!("created {n} x {dim} in {:.1} s", start.elapsed().as_secs_f64());
    let t = Instant::now();
    store.close().expect("close");
    eprintln!("close (checkpoint) took {:.1} s", t.elapsed().as_secs_f64());
}

fn open_only(dir: &str, dim: usize) {
    println!("before open:         {}", memory());
    let start = Instant::now();
    let store = Store::open(dir, &StoreOptions::default()).expect("open");
    let open_s = start.elapsed().as_secs_f64();
    println!("open took {:.3} s for {} records", open_s, store.count());
    println!("after open:          {}", memory());
    let mut rng = Rng(12345);
    let start = Instant::now();
    for _ in 0..1000 {
        let q: Vec<f32> = (0..dim).map(|_| rng.next()).collect();
        let hits = store.query(&Query { vector: &q, k: 10, ..Default::default() }).expect("query");
        assert_eq!(hits.len(), 10);
    }
    let qs = start.elapsed().as_secs_f64();
    println!("after 1000 queries:  {} ({:.0} QPS, cold)", memory(), 1000.0 / qs);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--checkpoint") {
        // Rewrites the snapshot of an existing store in this library's format (one write, then a
        // checkpoint), so that a store made by an older build is timed with today's files.
        let store = Store::open(&args[1], &StoreOptions::default()).expect("open");
        let hits = store.get("v0").expect("v0 exists");
        let record = NewRecord { id: "v0", vector: &hits.vector, metadata: None };
        store.upsert_many(&[record]).expect("upsert");
        store.checkpoint().expect("checkpoint");
        store.close().expect("close");
        return;
    }
    if args.first().map(String::as_str) == Some("--open-only") {
        let dir = &args[1];
        let dim: usize = args[2].parse().expect("dim");
        open_only(dir, dim);
        return;
    }
    let dir = args.first().cloned().unwrap_or_else(|| "/tmp/vs-open-bench".to_string());
    let n: usize = args.get(1).map_or(1_000_000, |s| s.parse().expect("N"));
    let dim: usize = args.get(2).map_or(128, |s| s.parse().expect("DIM"));
    if !std::path::Path::new(&dir).join("vecstore.meta.json").exists() {
        create(&dir, n, dim);
    }
    // A fresh process, so that nothing of the creating process's memory is counted.
    let exe = std::env::current_exe().expect("current exe");
    let status = std::process::Command::new(exe)
        .args(["--open-only", &dir, &dim.to_string()])
        .status()
        .expect("run the open-only child");
    assert!(status.success());
}
