//! Filtered-search benchmark: recall@10 and single-thread QPS of `Store::query` with filters passing
//! about 1%, 10% and 50% of the records, against the exact filtered top-10, on a dataset written by
//! /work/shared/bench/make_datasets.py (format: /work/shared/bench/README.md). With `--peers` the
//! same filters run in the same process tree on hnswlib (filter callable), FAISS HNSW
//! (`SearchParametersHNSW` + `IDSelectorBitmap`) and FAISS exact (`IndexFlatIP` + `IDSelectorBitmap`
//! / `IDSelectorBatch`), see examples/filter_bench/peers_filtered.py.
//!
//! ```text
//! cargo run --release --example filter_bench -- /tmp/annbench/data/glove50.json --work /tmp/fb/glove50 \
//!     [--efs 10,16,24,32,48,64,96,128,192,256] [--passes 3] [--label NAME] [--json FILE]
//!     [--compare-bin PATH] [--peers]
//! ```
//!
//! The metadata is synthetic and seeded: record i has `tenant = 't<h(i) % 100>'` and
//! `price = h'(i) % 1000` (two independent splitmix64 hashes of i), so
//! - `tenant = 't42'` passes ~1%,
//! - `tenant IN ('t0', 't10', ..., 't90')` (10 tenants) ~10%,
//! - `price < 500` ~50%.
//!
//! `--work DIR` keeps the store (built once with 2 threads; build time is not what this measures),
//! the attributes (`tenant.u32`, `price.u32`) and the exact filtered ground truth (`gt_<f>.i32`, the
//! top-10 ids by exact inner product over the records that pass) for the peers. Every row is the
//! median QPS of `--passes` passes over all queries (one query at a time, one thread) after a warm-up
//! pass; recall@10 = |found ∩ exact filtered top-10| / 10, and the count of short answers (fewer than
//! 10 results although at least 10 records pass) is reported and must be 0.
//!
//! `--compare-bin PATH` runs another build of this same example (e.g. built from main, to measure
//! today's filtered search in the same run) on the same store and ground truth, then prints both
//! side by side with the peers' rows. Only the public Store API is used, so the file builds on main.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vecstore::store::Query;
use vecstore::{Metric, NewRecord, Store, StoreOptions};

const PYTHON: &str = "/tmp/annbench/venv/bin/python";
const K: usize = 10;

struct Args {
    meta: PathBuf,
    work: PathBuf,
    efs: Vec<usize>,
    passes: usize,
    label: String,
    json: Option<PathBuf>,
    compare_bin: Option<PathBuf>,
    peers: bool,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        meta: PathBuf::new(),
        work: PathBuf::new(),
        efs: vec![10, 16, 24, 32, 48, 64, 96, 128, 192, 256],
        passes: 3,
        label: "vecstore".into(),
        json: None,
        compare_bin: None,
        peers: false,
    };
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match x.as_str() {
            "--work" => a.work = PathBuf::from(val("--work")),
            "--efs" => a.efs = val("--efs").split(',').map(|s| s.parse().expect("--efs list")).collect(),
            "--passes" => a.passes = val("--passes").parse().expect("--passes N"),
            "--label" => a.label = val("--label"),
            "--json" => a.json = Some(PathBuf::from(val("--json"))),
            "--compare-bin" => a.compare_bin = Some(PathBuf::from(val("--compare-bin"))),
            "--peers" => a.peers = true,
            _ if x.starts_with("--") => panic!("unknown option {x}"),
            _ => a.meta = PathBuf::from(x),
        }
    }
    assert!(!a.meta.as_os_str().is_empty() && !a.work.as_os_str().is_empty(), "usage: filter_bench DATA.json --work DIR");
    a
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn tenant_of(i: usize) -> u32 {
    (splitmix(i as u64 ^ 0x7E4A_A175) % 100) as u32
}

fn price_of(i: usize) -> u32 {
    (splitmix(i as u64 ^ 0x0051_C3E5_0000) % 1000) as u32
}

/// (name, filter text, test on the attributes).
fn filters() -> Vec<(&'static str, String, Box<dyn Fn(u32, u32) -> bool>)> {
    let ten: Vec<u32> = (0..10).map(|i| i * 10).collect();
    let in_list = ten.iter().map(|t| format!("'t{t}'")).collect::<Vec<_>>().join(", ");
    vec![
        ("1%", "tenant = 't42'".to_string(), Box::new(|t, _| t == 42)),
        ("10%", format!("tenant IN ({in_list})"), Box::new(move |t, _| t % 10 == 0)),
        ("50%", "price < 500".to_string(), Box::new(|_, p| p < 500)),
    ]
}

fn read_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn write_u32(path: &Path, v: impl Iterator<Item = u32>) {
    let bytes: Vec<u8> = v.flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn read_u32(path: &Path) -> Option<Vec<u32>> {
    let b = std::fs::read(path).ok()?;
    Some(b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The exact filtered top-10 of every query (ids by descending inner product; the data is unit
/// length, so this is the cosine ranking).
fn exact_gt(base: &[f32], queries: &[f32], dim: usize, pass: &[bool]) -> Vec<u32> {
    let ids: Vec<usize> = (0..pass.len()).filter(|&i| pass[i]).collect();
    let mut out = Vec::with_capacity(queries.len() / dim * K);
    for q in queries.chunks_exact(dim) {
        let mut scored: Vec<(f32, usize)> = ids.iter().map(|&i| (dot(q, &base[i * dim..(i + 1) * dim]), i)).collect();
        let k = K.min(scored.len());
        scored.select_nth_unstable_by(k.saturating_sub(1), |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.extend(scored.iter().map(|&(_, i)| i as u32));
        out.extend(std::iter::repeat_n(u32::MAX, K - k));
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a = parse_args();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a.meta).expect("read meta")).expect("meta json");
    let dir = a.meta.parent().unwrap_or(Path::new("."));
    let file = |k: &str| dir.join(meta["files"][k].as_str().unwrap_or_else(|| panic!("files.{k}")));
    let name = meta["name"].as_str().unwrap_or("data").to_string();
    let n = meta["n"].as_u64().unwrap() as usize;
    let dim = meta["dim"].as_u64().unwrap() as usize;
    let base = read_f32(&file("base"));
    let queries = read_f32(&file("query"));
    let nq = queries.len() / dim;
    std::fs::create_dir_all(&a.work).expect("work dir");

    // Attributes and ground truth, shared with the peers and the compared binary.
    let tenant_path = a.work.join("tenant.u32");
    let price_path = a.work.join("price.u32");
    let tenants: Vec<u32> = (0..n).map(tenant_of).collect();
    let prices: Vec<u32> = (0..n).map(price_of).collect();
    if read_u32(&tenant_path).as_deref() != Some(&tenants[..]) {
        write_u32(&tenant_path, tenants.iter().copied());
        write_u32(&price_path, prices.iter().copied());
    }
    let fs = filters();
    let mut gts = Vec::new();
    for (label, _, test) in &fs {
        let path = a.work.join(format!("gt_{}.i32", label.trim_end_matches('%')));
        let gt = match read_u32(&path).filter(|g| g.len() == nq * K) {
            Some(g) => g,
            None => {
                let pass: Vec<bool> = (0..n).map(|i| test(tenants[i], prices[i])).collect();
                let t = Instant::now();
                let g = exact_gt(&base, &queries, dim, &pass);
                eprintln!("ground truth for {label}: {:.1} s", t.elapsed().as_secs_f64());
                write_u32(&path, g.iter().copied());
                g
            }
        };
        gts.push(gt);
    }

    // The store: built once (2 threads), then reopened.
    let store_dir = a.work.join("store");
    let opts = StoreOptions {
        dimension: dim,
        metric: Some(Metric::Cosine),
        build_threads: 2,
        ..StoreOptions::default()
    };
    let built = store_dir.join("vecstore.meta").exists() || std::fs::read_dir(&store_dir).is_ok_and(|mut d| d.next().is_some());
    if !built {
        let store = Store::open(&store_dir, &opts).expect("create store");
        let t = Instant::now();
        for start in (0..n).step_by(10_000) {
            let end = (start + 10_000).min(n);
            let ids: Vec<String> = (start..end).map(|i| i.to_string()).collect();
            let metas: Vec<String> =
                (start..end).map(|i| format!(r#"{{"tenant":"t{}","price":{}}}"#, tenants[i], prices[i])).collect();
            let recs: Vec<NewRecord<'_>> = (start..end)
                .map(|i| NewRecord {
                    id: &ids[i - start],
                    vector: &base[i * dim..(i + 1) * dim],
                    metadata: Some(&metas[i - start]),
                })
                .collect();
            store.upsert_many(&recs).expect("load");
        }
        eprintln!("loaded {n} records in {:.1} s", t.elapsed().as_secs_f64());
        store.close().expect("close");
    }
    let t = Instant::now();
    let store = Store::open(&store_dir, &opts).expect("open store");
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(store.count(), n, "the store in {} holds another dataset", store_dir.display());
    let stats = format!("{:?}", store.stats());
    println!("[{}] {name}: open {open_ms:.0} ms; stats {stats}", a.label);

    let mut rows = Vec::new();
    for ((label, text, test), gt) in fs.iter().zip(&gts) {
        let matching = (0..n).filter(|&i| test(tenants[i], prices[i])).count();
        let q0 = Query { vector: &queries[..dim], k: K, filter: Some(text), ef_search: 0 };
        for &ef in &a.efs {
            let q = |qi: usize| Query { vector: &queries[qi * dim..(qi + 1) * dim], k: K, filter: Some(text.as_str()), ef_search: ef };
            let plan = store
                .query_explain(&Query { ef_search: ef, ..q0.clone() })
                .ok()
                .and_then(|h| h.first().map(|h| format!("{:?}", h.explanation.graph_stats.plan)))
                .unwrap_or_default();
            // Warm-up, then the timed passes.
            let mut found = vec![u32::MAX; nq * K];
            let mut short = 0;
            for qi in 0..nq {
                let hits = store.query(&q(qi)).expect("query");
                short += usize::from(hits.len() < K.min(matching));
                for (j, h) in hits.iter().enumerate() {
                    found[qi * K + j] = h.id.parse().unwrap();
                }
            }
            let mut qps: Vec<f64> = (0..a.passes)
                .map(|_| {
                    let t = Instant::now();
                    for qi in 0..nq {
                        std::hint::black_box(store.query(&q(qi)).expect("query"));
                    }
                    nq as f64 / t.elapsed().as_secs_f64()
                })
                .collect();
            let qps = median(&mut qps);
            let mut hit = 0;
            for qi in 0..nq {
                let want = &gt[qi * K..(qi + 1) * K];
                hit += found[qi * K..(qi + 1) * K].iter().filter(|&&id| id != u32::MAX && want.contains(&id)).count();
            }
            let recall = hit as f64 / (nq * K.min(matching)) as f64;
            println!(
                "[{}] {name} {label:>4} `{text}` ({matching} pass) ef {ef:>3}: recall@10 {recall:.4}  {qps:>8.0} QPS  plan {plan}  short {short}",
                a.label
            );
            rows.push(serde_json::json!({"filter": label, "ef": ef, "recall": recall, "qps": qps, "plan": plan, "short": short}));
            // Past 0.999 a larger ef only costs time.
            if recall >= 0.999 {
                break;
            }
        }
    }
    drop(store);
    let out = serde_json::json!({"label": a.label, "dataset": name, "open_ms": open_ms, "stats": stats, "rows": rows});
    if let Some(path) = &a.json {
        std::fs::write(path, out.to_string()).expect("write json");
    }

    let mut tables = vec![out];
    if let Some(bin) = &a.compare_bin {
        let json = a.work.join("compare.json");
        let status = Command::new(bin)
            .arg(&a.meta)
            .args(["--work", a.work.to_str().unwrap(), "--label", "main", "--passes", &a.passes.to_string()])
            .args(["--efs", &a.efs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(",")])
            .arg("--json")
            .arg(&json)
            .status()
            .expect("run --compare-bin");
        assert!(status.success(), "{} failed", bin.display());
        tables.push(serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap());
    }
    if a.peers {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/filter_bench/peers_filtered.py");
        let json = a.work.join("peers.json");
        let status = Command::new(PYTHON)
            .arg(&script)
            .arg(&a.meta)
            .args(["--work", a.work.to_str().unwrap(), "--passes", &a.passes.to_string(), "--json"])
            .arg(&json)
            .status()
            .expect("run peers_filtered.py");
        assert!(status.success(), "peers_filtered.py failed");
        let peers: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        tables.extend(peers.as_array().cloned().unwrap_or_default());
    }
    summary(&name, &tables, &fs);
}

/// For each filter and each system: QPS at the smallest ef reaching recall 0.95 (or the best recall
/// reached), and our QPS over each other row's.
fn summary(name: &str, tables: &[serde_json::Value], fs: &[(&'static str, String, Box<dyn Fn(u32, u32) -> bool>)]) {
    println!("\n{name}: single-thread QPS at the smallest ef reaching recall@10 >= 0.95 (median of passes)");
    println!("| filter | system | ef | recall@10 | QPS | plan | ours / this |");
    println!("|---|---|---|---|---|---|---|");
    for (label, _, _) in fs {
        let pick = |t: &serde_json::Value| -> Option<(String, f64, f64, String)> {
            let rows: Vec<&serde_json::Value> =
                t["rows"].as_array()?.iter().filter(|r| r["filter"].as_str() == Some(label)).collect();
            let best = rows
                .iter()
                .find(|r| r["recall"].as_f64().unwrap_or(0.0) >= 0.95)
                .or_else(|| rows.iter().max_by(|a, b| a["recall"].as_f64().partial_cmp(&b["recall"].as_f64()).unwrap()))?;
            Some((
                best["ef"].to_string(),
                best["recall"].as_f64()?,
                best["qps"].as_f64()?,
                best["plan"].as_str().unwrap_or("").to_string(),
            ))
        };
        let ours = pick(&tables[0]).map(|p| p.2);
        for t in tables {
            if let Some((ef, recall, qps, plan)) = pick(t) {
                let ratio = ours.map_or(String::new(), |o| format!("{:.2}x", o / qps));
                println!("| {label} | {} | {ef} | {recall:.4} | {qps:.0} | {plan} | {ratio} |", t["label"].as_str().unwrap_or("?"));
            }
        }
    }
}
