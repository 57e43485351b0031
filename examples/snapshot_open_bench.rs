//! Measures how long opening a large snapshot takes and what it costs in memory.
//!
//! ```text
//! cargo run --release --example snapshot_open_bench -- write DIR [ROWS] [DIM] [GRAPH_BYTES]
//! cargo run --release --example snapshot_open_bench -- open DIR
//! ```
//! `write` builds a snapshot of ROWS x DIM random vectors (default 1,000,000 x 128), one record per row
//! and GRAPH_BYTES of graph (default 128 MiB, about what an HNSW graph with M = 16 takes for 1M nodes).
//! `open` (run it in a fresh process, optionally after evicting the files from the page cache) loads
//! it and prints the time and resident memory of each step: `load_snapshot` (which maps the vectors),
//! then touching 10,000 random rows, then `verify` (the vector data crc, which reads every page).

use std::path::Path;
use std::time::Instant;

use vecstore::storage::snapshot::{load_snapshot, write_snapshot, SlotRecord, SnapshotContents};
use vecstore::storage::vectors::VectorBlock;

/// (VmRSS, RssAnon, RssFile) in MiB, from /proc/self/status.
fn rss() -> (f64, f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("RssAnon:"), field("RssFile:"))
}

/// CPU time of this (single-threaded) process so far, in ms, from /proc/self/schedstat: unlike wall
/// time it does not grow when other processes compete for the cores.
fn cpu_ms() -> f64 {
    let s = std::fs::read_to_string("/proc/self/schedstat").unwrap_or_default();
    s.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()).map_or(f64::NAN, |ns| ns / 1e6)
}

/// Wall clock and CPU time at the start of a step.
struct Mark(Instant, f64);
fn mark() -> Mark {
    Mark(Instant::now(), cpu_ms())
}

fn report(step: &str, start: Mark) {
    let (total, anon, file) = rss();
    println!(
        "{step:<40} wall {:>7.1} ms  cpu {:>7.1} ms   RSS {total:>6.1} MiB (anon {anon:>6.1}, file {file:>6.1})",
        start.0.elapsed().as_secs_f64() * 1e3,
        cpu_ms() - start.1
    );
}

/// xorshift: cheap, deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn write(dir: &Path, rows: usize, dim: usize, graph_bytes: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let start = mark();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut data = Vec::with_capacity(rows * dim);
    data.extend((0..rows * dim).map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5));
    let vectors = VectorBlock::from_vec(dim, data).unwrap();
    let records: Vec<SlotRecord> = (0..rows)
        .map(|i| SlotRecord {
            id: format!("doc-{i}"),
            metadata: format!(r#"{{"n":{i}}}"#),
            state: 0,
            expires_at: 0,
        })
        .collect();
    let graph: Vec<u8> = (0..graph_bytes).map(|_| rng.next() as u8).collect();
    report("generate", start);
    let start = mark();
    let generation = vecstore::storage::snapshot::read_manifest(dir).unwrap().map_or(1, |m| m.generation + 1);
    let contents = SnapshotContents {
        generation,
        vectors: &vectors,
        records: vecstore::storage::snapshot::RecordsPart::Whole(&records),
        graph: vecstore::storage::snapshot::GraphPart::Whole(&graph),
        codes: None,
        next_log_generation: 1,
        log_start: 0,
    };
    let m = write_snapshot(dir, &contents).unwrap();
    report("write_snapshot (with fsyncs)", start);
    println!(
        "files: vectors {} MiB, records {} MiB, graph {} MiB",
        m.vectors.bytes >> 20,
        m.records.bytes >> 20,
        m.graph.bytes >> 20
    );
}

fn open(dir: &Path) {
    report("before open", mark());
    let start = mark();
    let s = load_snapshot(dir, None).unwrap().expect("a snapshot");
    report("load_snapshot (map + records + graph)", start);
    println!(
        "  {} rows x {} mapped, {} records, {} graph bytes",
        s.vectors.len(),
        s.dimension,
        s.records.len(),
        s.graph.len()
    );

    let start = mark();
    let v = VectorBlock::open_mapped(
        &s.manifest.file_path(dir, vecstore::storage::snapshot::FileKind::Vectors),
        s.dimension,
        s.manifest.vectors_extent(),
    )
    .unwrap();
    report("open_mapped alone (second mapping)", start);
    drop(v);

    // Where load_snapshot's time goes, roughly, redone piece by piece (the loader decodes records into a
    // pre-sized vector, a little cheaper than the plain `bincode::deserialize` used here).
    use vecstore::storage::snapshot::FileKind;
    let start = mark();
    let graph = std::fs::read(s.manifest.file_path(dir, FileKind::Graph)).unwrap();
    std::hint::black_box(crc32fast::hash(&graph[32..]));
    report("  of which: read + crc graph", start);
    drop(graph);
    let start = mark();
    let records = std::fs::read(s.manifest.file_path(dir, FileKind::Records)).unwrap();
    std::hint::black_box(crc32fast::hash(&records[32..]));
    report("  of which: read + crc records", start);
    let start = mark();
    let decoded: Vec<SlotRecord> = bincode::deserialize(&records[32..]).unwrap();
    report("  of which: decode records", start);
    drop((records, decoded));

    let start = mark();
    let mut rng = Rng(42);
    let mut sum = 0.0f32;
    for _ in 0..10_000 {
        sum += s.vectors.get((rng.next() % s.vectors.len() as u64) as u32)[0];
    }
    report("10k random rows touched", start);

    let start = mark();
    s.vectors.verify().unwrap();
    report("verify (vector data crc)", start);
    std::hint::black_box(sum);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: snapshot_open_bench write DIR [ROWS] [DIM] [GRAPH_BYTES] | open DIR";
    let dir = Path::new(args.get(2).expect(usage));
    let num = |i: usize, default: usize| args.get(i).map_or(default, |s| s.parse().expect(usage));
    match args.get(1).map(String::as_str) {
        Some("write") => write(dir, num(3, 1_000_000), num(4, 128), num(5, 128 << 20)),
        Some("open") => open(dir),
        _ => panic!("{usage}"),
    }
}
