//! What the metadata index costs a store's open: the index is rebuilt from every record when a store
//! opens (it is not stored), so its build time is part of every open.
//!
//! ```text
//! cargo run --release --example filter_index_open_bench [-- 100000,1000000 [DIR]]
//! ```
//! For each size N it writes a snapshot of N x 128 random vectors whose records carry realistic
//! metadata (`{"active":..,"lang":..,"n":..,"score":..,"tags":[..],"tenant":..}`) and a synthetic
//! graph (a chain at level 0: valid, cheap to write; its shape does not matter to what is timed
//! here), then reports, each the median of 3 runs:
//! - `parse`: the records' metadata text parsed into maps (what `load_snapshot` does per record);
//! - `index build`: [`MetadataIndex::build`] on those maps (what the store's open adds for the index);
//! - `Store::open`: the whole open of the store (snapshot load, parse, index, codes);
//! - a few filters evaluated on the index (numeric ranges, equality, IN, CONTAINS), median of 21.
//!
//! A plain program rather than a timed test: timings on a shared machine are not pass/fail.

use std::path::Path;
use std::time::Instant;

use serde_json::{Map, Value};
use vecstore::filter::{Filter, MetadataIndex};
use vecstore::index::hnsw::{Hnsw, HnswParams};
use vecstore::storage::snapshot::{write_snapshot, SlotRecord, SnapshotContents};
use vecstore::storage::vectors::VectorBlock;
use vecstore::store::options::{Metric, StoreOptions};
use vecstore::store::record::{canonical_metadata, parse_metadata};
use vecstore::store::Store;

const DIM: usize = 128;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Record `i`'s metadata text, canonical (as a snapshot stores it).
fn metadata(i: usize) -> String {
    let h = splitmix(i as u64);
    const LANGS: [&str; 8] = ["en", "de", "fr", "es", "it", "ja", "pt", "nl"];
    let text = format!(
        r#"{{"tenant":"t{}","lang":"{}","n":{},"score":{},"active":{},"tags":["g{}","g{}"]}}"#,
        h % 1000,
        LANGS[(h >> 10) as usize % LANGS.len()],
        (h >> 16) % 100_000,
        ((h >> 33) % 10_000) as f64 / 100.0,
        !(h >> 50).is_multiple_of(3),
        (h >> 52) % 20,
        (h >> 57) % 50,
    );
    canonical_metadata(Some(&text)).unwrap()
}

/// A valid graph of `n` nodes, all at level 0, each linked to its neighbours in slot order.
fn chain_graph(n: usize, metric: Metric) -> Vec<u8> {
    let params = HnswParams { m: 16, ef_construction: 200, ..HnswParams::default() };
    let mut empty = Vec::new();
    Hnsw::new(params, metric).write_to(&mut empty).unwrap();
    // Header: magic 8, metric, m, ef, reserved (4 each), seed 8, len 8, entry 4, max level 4.
    let mut g = empty[..48].to_vec();
    g[32..40].copy_from_slice(&(n as u64).to_le_bytes());
    g[40..44].copy_from_slice(&0u32.to_le_bytes());
    g[44..48].copy_from_slice(&0u32.to_le_bytes());
    g.extend(std::iter::repeat_n(0u8, n)); // levels
    let m0 = 2 * params.m;
    for i in 0..n as u32 {
        let mut list: Vec<u32> = Vec::with_capacity(m0 + 1);
        let nbrs: Vec<u32> =
            [i.checked_sub(1), (i + 1 < n as u32).then_some(i + 1)].into_iter().flatten().collect();
        list.push(nbrs.len() as u32);
        list.extend(&nbrs);
        list.resize(m0 + 1, 0);
        for w in list {
            g.extend_from_slice(&w.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&g);
    g.extend_from_slice(&crc.to_le_bytes());
    g
}

fn opts() -> StoreOptions {
    StoreOptions { dimension: DIM, metric: Some(Metric::Euclidean), ..StoreOptions::default() }
}

fn write_store(dir: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(dir);
    // An empty store first (its description file and log), then a snapshot written beside it.
    drop(Store::open(dir, &opts()).unwrap());
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<f32> = (0..n * DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let vectors = VectorBlock::from_vec(DIM, data).unwrap();
    let records: Vec<SlotRecord> = (0..n)
        .map(|i| SlotRecord { id: format!("doc-{i}"), metadata: metadata(i), state: 0, expires_at: 0 })
        .collect();
    let graph = chain_graph(n, Metric::Euclidean);
    let contents = SnapshotContents {
        generation: 1,
        vectors: &vectors,
        records: vecstore::storage::snapshot::RecordsPart::Whole(&records),
        graph: vecstore::storage::snapshot::GraphPart::Whole(&graph),
        codes: None,
        next_log_generation: 1,
        log_start: 0,
    };
    write_snapshot(dir, &contents).unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .map(|s| s.split(',').map(|x| x.parse().expect("sizes")).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let root = std::env::args().nth(2).unwrap_or_else(|| "/tmp/vs-filter-index-open-bench".into());
    let filters = [
        "n < 50000",
        "n >= 1000 AND n < 2000",
        "score > 99.5",
        "tenant = 't42'",
        "lang IN ('de', 'fr') AND active = true",
        "tags CONTAINS 'g3'",
    ];
    for n in sizes {
        let dir = Path::new(&root).join(n.to_string());
        let t = Instant::now();
        write_store(&dir, n);
        println!("{n} records: store written in {:.1} s", t.elapsed().as_secs_f64());

        let texts: Vec<String> = (0..n).map(metadata).collect();
        let (mut parse, mut build, mut open) = (Vec::new(), Vec::new(), Vec::new());
        let mut index = MetadataIndex::new();
        for _ in 0..3 {
            let t = Instant::now();
            let maps: Vec<Map<String, Value>> =
                texts.iter().map(|t| parse_metadata(Some(t)).unwrap()).collect();
            parse.push(t.elapsed().as_secs_f64() * 1e3);
            drop(index);
            let t = Instant::now();
            index = MetadataIndex::build(maps.iter().enumerate().map(|(s, m)| (s as u32, m)));
            build.push(t.elapsed().as_secs_f64() * 1e3);
            drop(maps);
            let t = Instant::now();
            let store = Store::open(&dir, &opts()).unwrap();
            open.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(store.count(), n);
        }
        let mem = index.memory();
        println!(
            "  parse {:.0} ms, index build {:.0} ms, Store::open {:.0} ms (median of 3); index {:.1} MB, {} fields, {} postings",
            median(parse),
            median(build),
            median(open),
            mem.bytes as f64 / 1e6,
            mem.fields,
            mem.postings
        );
        for text in filters {
            let f = Filter::parse(text).unwrap();
            let mut times = Vec::new();
            let mut count = 0;
            for _ in 0..21 {
                let t = Instant::now();
                count = index.evaluate(&f).unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
            println!("  {text}: {count} match, evaluate {:.1} us (median of 21)", median(times));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
