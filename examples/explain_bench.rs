//! Query estimate against query explain, and explain's overhead over a plain query, on a dataset
//! written by /work/shared/bench/make_datasets.py (format: /work/shared/bench/README.md).
//!
//! ```text
//! cargo run --release --example explain_bench -- /tmp/annbench/data/glove50.json \
//!     [--store-dir DIR] [--n N] [--nq 1000] [--ef 64] [--threads 1]
//! ```
//!
//! Loads the first N base rows (default: all) into a store in DIR (default
//! /tmp/annbench/explain-store-N; reused when it exists, so only the first run builds), every
//! record with metadata `{"bucket": i % 100}`. Then for no filter and for `bucket < 1`, `< 10`,
//! `< 50` (1%, 10%, 50% selectivity) and every query (k = 10, ef as given):
//! - `Store::estimate_query` (timed: its latency),
//! - `Store::query_explain` (the measured plan, distance calculations and nodes visited),
//! - `Store::query` timed alone (the measured duration),
//!
//! and prints the plan agreement and the medians of estimated / measured per query. Finally it
//! times `query` and `query_explain` alternately, 3 passes over the queries, and prints the median
//! per-query latency of each and their ratio (explain's overhead), plus the same through the JSON
//! each result's explanation is serialised to at the C boundary.
//!
//! Measured 2026-11-25 on glove50-100k (2-core VM shared with other jobs, load 3-5), 1000 queries,
//! k = 10, ef 64; medians of estimated / measured per query:
//!
//! | filter | plan agreement | estimate latency | distances | nodes | duration |
//! |---|---|---|---|---|---|
//! | none | graph 1000/1000 | 2.4 us | 0.85 | 1.01 | 1.17 |
//! | bucket < 1 (1%) | exact_scan 1000/1000 | 362 us | 1.00 | - | 0.85 |
//! | bucket < 10 (10%) | graph 1000/1000 | 190 us | 1.02 | 0.91 | 1.44 |
//! | bucket < 50 (50%) | graph 1000/1000 | 138 us | 0.88 | 1.00 | 1.49 |
//!
//! Explain against a plain query: 87.1 us vs 87.1 us (ratio 1.00) without a filter, 377 vs 379 us
//! (1.00) with the 50% filter; reading all 10 explanations as JSON adds about 15 us (ratio 1.17 and
//! 1.09).

use std::path::PathBuf;
use std::time::Instant;

use vecstore::store::Query;
use vecstore::{Metric, NewRecord, Store, StoreOptions};

fn read_f32(path: &std::path::Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let meta_path = PathBuf::from(args.next().expect("usage: explain_bench DATA/NAME.json [options]"));
    let (mut store_dir, mut n_arg, mut nq_arg, mut ef, mut threads) =
        (None, 0usize, 1000usize, 64usize, 1usize);
    while let Some(a) = args.next() {
        let v = args.next().expect("option value");
        match a.as_str() {
            "--store-dir" => store_dir = Some(PathBuf::from(v)),
            "--n" => n_arg = v.parse().unwrap(),
            "--nq" => nq_arg = v.parse().unwrap(),
            "--ef" => ef = v.parse().unwrap(),
            "--threads" => threads = v.parse().unwrap(),
            _ => panic!("unknown option {a}"),
        }
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    let dim = meta["dim"].as_u64().unwrap() as usize;
    let metric = if meta["metric"] == "l2" { Metric::Euclidean } else { Metric::Cosine };
    let folder = meta_path.parent().unwrap();
    let base = read_f32(&folder.join(meta["files"]["base"].as_str().unwrap()));
    let queries = read_f32(&folder.join(meta["files"]["query"].as_str().unwrap()));
    let n = if n_arg == 0 { base.len() / dim } else { n_arg.min(base.len() / dim) };
    let nq = nq_arg.min(queries.len() / dim);
    let dir = store_dir.unwrap_or_else(|| PathBuf::from(format!("/tmp/annbench/explain-store-{n}")));
    let opts = StoreOptions {
        dimension: dim,
        metric: Some(metric),
        build_threads: threads,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir, &opts).expect("open store");
    if store.count() != n {
        let t = Instant::now();
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let metas: Vec<String> = (0..n).map(|i| format!("{{\"bucket\":{}}}", i % 100)).collect();
        for start in (0..n).step_by(10_000) {
            let end = (start + 10_000).min(n);
            let batch: Vec<NewRecord> = (start..end)
                .map(|i| NewRecord {
                    id: &ids[i],
                    vector: &base[i * dim..(i + 1) * dim],
                    metadata: Some(&metas[i]),
                })
                .collect();
            store.upsert_many(&batch).expect("upsert_many");
        }
        println!("loaded {n} records in {:.1} s ({threads} build threads)", t.elapsed().as_secs_f64());
    }
    println!(
        "store {}: {} records, dim {dim}, {nq} queries, k = 10, ef = {ef}",
        dir.display(),
        store.count()
    );
    let qs: Vec<&[f32]> = queries.chunks_exact(dim).take(nq).collect();

    // A running service: warm up with one plain pass over the queries, so that the mapped store is
    // in memory (the estimate's cost model is measured again when older than a minute anyway).
    let t = Instant::now();
    for q in &qs {
        std::hint::black_box(store.query(&Query { vector: q, k: 10, filter: None, ef_search: ef }).unwrap());
    }
    println!("warm-up: {} plain queries in {:.2} s", qs.len(), t.elapsed().as_secs_f64());
    // The first estimate measures the cost model (cached afterwards).
    let first = store.estimate_query(&Query { vector: qs[0], k: 10, filter: None, ef_search: ef });
    println!("first estimate: calibration took {:.2} ms", first.calibration_ms);

    println!(
        "\n| filter | plan (estimated = measured) | estimate latency median (us) | distances: est/measured (median est, measured) | nodes: est/measured (median est, measured) | duration: est/measured (median est, measured us) |"
    );
    println!("|---|---|---|---|---|---|");
    for filter in [None, Some("bucket < 1"), Some("bucket < 10"), Some("bucket < 50")] {
        let (mut lat, mut dist_r, mut node_r, mut dur_r, mut qt) = (vec![], vec![], vec![], vec![], vec![]);
        let (mut ed, mut md, mut en, mut mn, mut et) = (vec![], vec![], vec![], vec![], vec![]);
        let mut recalibrated = 0;
        let mut agree = 0;
        let mut plans = std::collections::BTreeMap::new();
        for q in &qs {
            let query = Query { vector: q, k: 10, filter, ef_search: ef };
            let t = Instant::now();
            let est = store.estimate_query(&query);
            let json = serde_json::to_string(&est).unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(json);
            if est.calibration_ms > 0.0 {
                recalibrated += 1;
            }
            let ex = store.query_explain(&query).expect("explain");
            let t = Instant::now();
            let hits = store.query(&query).expect("query");
            let took_ms = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(hits);
            qt.push(took_ms * 1e3);
            let gs = ex[0].explanation.graph_stats;
            ed.push(est.estimated_distance_calculations as f64);
            md.push(gs.distance_calculations as f64);
            en.push(est.estimated_nodes_visited as f64);
            mn.push(gs.nodes_visited as f64);
            et.push(est.estimated_duration_ms * 1e3);
            *plans.entry(gs.plan.name()).or_insert(0) += 1;
            if est.plan == Some(gs.plan) {
                agree += 1;
            }
            dist_r.push(est.estimated_distance_calculations as f64 / gs.distance_calculations.max(1) as f64);
            if gs.nodes_visited > 0 {
                node_r.push(est.estimated_nodes_visited as f64 / gs.nodes_visited as f64);
            }
            dur_r.push(est.estimated_duration_ms / took_ms);
        }
        let nodes = if node_r.is_empty() {
            "- (exact scan)".to_string()
        } else {
            format!("{:.2} ({:.0}, {:.0})", median(&mut node_r), median(&mut en), median(&mut mn))
        };
        println!(
            "| {} | {:?}, {agree}/{nq} agree | {:.1} | {:.2} ({:.0}, {:.0}) | {nodes} | {:.2} ({:.1}, {:.1}) |",
            filter.unwrap_or("none"),
            plans,
            median(&mut lat),
            median(&mut dist_r),
            median(&mut ed),
            median(&mut md),
            median(&mut dur_r),
            median(&mut et),
            median(&mut qt),
        );
        if recalibrated > 0 {
            println!("  ({recalibrated} of these estimates measured the cost model again)");
        }
    }

    println!("\nexplain overhead (k = 10, ef = {ef}; 3 passes, query and explain alternating per query)");
    for filter in [None, Some("bucket < 50")] {
        let (mut plain, mut explained, mut json) = (vec![], vec![], vec![]);
        for pass in 0..3 {
            for (i, q) in qs.iter().enumerate() {
                let query = Query { vector: q, k: 10, filter, ef_search: ef };
                // Rotate which runs first, so that none always finds the caches warmed by another.
                for step in 0..3 {
                    match (step + i + pass) % 3 {
                        0 => {
                            let t = Instant::now();
                            std::hint::black_box(store.query(&query).unwrap());
                            plain.push(t.elapsed().as_secs_f64() * 1e6);
                        }
                        1 => {
                            let t = Instant::now();
                            std::hint::black_box(store.query_explain(&query).unwrap());
                            explained.push(t.elapsed().as_secs_f64() * 1e6);
                        }
                        _ => {
                            let t = Instant::now();
                            let ex = store.query_explain(&query).unwrap();
                            let texts: Vec<String> =
                                ex.iter().map(|h| serde_json::to_string(&h.explanation).unwrap()).collect();
                            std::hint::black_box(texts);
                            json.push(t.elapsed().as_secs_f64() * 1e6);
                        }
                    }
                }
            }
        }
        // The serialisation alone, on the last query's results.
        let ex = store.query_explain(&Query { vector: qs[0], k: 10, filter, ef_search: ef }).unwrap();
        let (mut ser, mut text) = (vec![], vec![]);
        for _ in 0..1000 {
            let t = Instant::now();
            for h in &ex {
                std::hint::black_box(serde_json::to_vec(&h.explanation).unwrap());
            }
            ser.push(t.elapsed().as_secs_f64() * 1e6);
            let t = Instant::now();
            for h in &ex {
                std::hint::black_box(h.explanation.explanation_text());
            }
            text.push(t.elapsed().as_secs_f64() * 1e6);
        }
        println!(
            "  filter {:<12} serialising 10 explanations: {:.2} us (of which the texts alone {:.2} us)",
            filter.unwrap_or("none"),
            median(&mut ser),
            median(&mut text)
        );
        let (p, e, j) = (median(&mut plain), median(&mut explained), median(&mut json));
        println!(
            "  filter {:<12} query {p:.1} us, query_explain {e:.1} us (ratio {:.3}), and reading every explanation as JSON {j:.1} us (ratio {:.3})",
            filter.unwrap_or("none"),
            e / p,
            j / p
        );
    }
}
