//! What the guide's API costs over the core's fast path, measured side by side on one store.
//!
//! A store of N random vectors (default 20000 x 64, cosine) is searched with the same queries through
//! `vecstore::store::Store::query` (borrowed query, filter as text, metadata returned as JSON text) and
//! through `vecstore::VecStore::query` (owned query, parsed filter, metadata parsed into a map),
//! interleaved query by query so that both see the same machine load; then single upserts through
//! each. Prints the median and p90 per call of each, in microseconds.
//!
//! `cargo run --release --example facade_overhead [-- N DIM QUERIES]`

use std::sync::Arc;
use std::time::Instant;

use vecstore::store::Query as CoreQuery;
use vecstore::{parse_filter, Metadata, NewRecord, Query, Store, StoreOptions, VecStore};

/// A small deterministic generator (xorshift), so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next()).collect()
    }
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 9 / 10])
}

fn main() -> vecstore::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let n = args.first().copied().unwrap_or(20_000);
    let dim = args.get(1).copied().unwrap_or(64);
    let queries = args.get(2).copied().unwrap_or(2000);

    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Arc::new(Store::open(dir.path(), &StoreOptions { dimension: dim, ..StoreOptions::default() })?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ids: Vec<String> = (0..n).map(|i| format!("doc-{i}")).collect();
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(dim)).collect();
    let metas: Vec<String> =
        (0..n).map(|i| format!(r#"{{"category":"{}","rank":{i}}}"#, ["tech", "science"][i % 2])).collect();
    let records: Vec<NewRecord<'_>> =
        (0..n).map(|i| NewRecord { id: &ids[i], vector: &vectors[i], metadata: Some(&metas[i]) }).collect();
    let t = Instant::now();
    for chunk in records.chunks(5000) {
        store.upsert_many(chunk)?;
    }
    println!("built {n} x {dim} in {:.1} s", t.elapsed().as_secs_f64());

    let mut facade = VecStore::from_shared(store.clone());
    let tech = parse_filter("category = 'tech'")?;
    println!("{:<34} {:>12} {:>12}", "call (k = 10)", "median us", "p90 us");
    for filter in [None, Some("category = 'tech'")] {
        let (mut core_t, mut facade_t) = (Vec::new(), Vec::new());
        for i in 0..queries {
            // The same query through both, in alternating order: the second run of a query finds
            // the graph nodes it visits in the cache, which would favour whichever always ran second.
            let v = rng.vector(dim);
            let core = |core_t: &mut Vec<f64>| -> vecstore::Result<()> {
                let t = Instant::now();
                let hits = store.query(&CoreQuery { vector: &v, k: 10, filter, ef_search: 0 })?;
                core_t.push(t.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(hits);
                Ok(())
            };
            let guide = |facade_t: &mut Vec<f64>| -> vecstore::Result<()> {
                let q = Query { vector: v.clone(), k: 10, filter: filter.map(|_| tech.clone()) };
                let t = Instant::now();
                let results = facade.query(q)?;
                facade_t.push(t.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(results);
                Ok(())
            };
            if i % 2 == 0 {
                core(&mut core_t)?;
                guide(&mut facade_t)?;
            } else {
                guide(&mut facade_t)?;
                core(&mut core_t)?;
            }
        }
        let label = if filter.is_some() { "filtered" } else { "unfiltered" };
        let (m, p) = percentiles(core_t);
        println!("{:<34} {m:>12.1} {p:>12.1}", format!("core Store::query, {label}"));
        let (m, p) = percentiles(facade_t);
        println!("{:<34} {m:>12.1} {p:>12.1}", format!("guide VecStore::query, {label}"));
    }

    let (mut core_t, mut facade_t) = (Vec::new(), Vec::new());
    for i in 0..queries.min(1000) {
        let v = rng.vector(dim);
        let id = format!("new-{i}");
        let meta = Metadata::new().with("category", "tech").with("rank", 1);
        let mut core = || -> vecstore::Result<()> {
            let t = Instant::now();
            store.upsert(&id, &v, Some(r#"{"category":"tech","rank":1}"#))?;
            core_t.push(t.elapsed().as_secs_f64() * 1e6);
            Ok(())
        };
        if i % 2 == 0 {
            core()?;
        }
        let t = Instant::now();
        facade.upsert(format!("new-f-{i}"), v.clone(), meta)?;
        facade_t.push(t.elapsed().as_secs_f64() * 1e6);
        if i % 2 == 1 {
            core()?;
        }
    }
    let (m, p) = percentiles(core_t);
    println!("{:<34} {m:>12.1} {p:>12.1}", "core Store::upsert");
    let (m, p) = percentiles(facade_t);
    println!("{:<34} {m:>12.1} {p:>12.1}", "guide VecStore::upsert");
    Ok(())
}
