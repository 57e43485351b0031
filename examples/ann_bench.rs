//! ANN benchmark of the HNSW index against hnswlib and FAISS on a dataset written by
//! /work/shared/bench/make_datasets.py (format: /work/shared/bench/README.md).
//!
//! ```text
//! cargo run --release --example ann_bench -- /tmp/annbench/data/glove50.json [--peers] [--threads N]
//!     [--efs 16,32,64,128,256] [--m 16] [--efc 200] [--no-parallel] [--graph-cache FILE]
//!     [--no-quant] [--no-float] [--rerank N] [--json FILE [--plot FILE.png]]
//! ```
//!
//! Two rows of ours: the float32 traversal, and the int8 traversal (codes trained on the base set,
//! `index::quant`) with exact float32 re-ranking of the best 2k = 20 candidates by code distance,
//! as the store does (`--rerank N` re-ranks N, 0 = all `ef`). `--json` writes every curve (ours and the peers') for
//! `examples/ann_plot.py`, which `--plot` runs to draw the recall-QPS chart.
//!
//! `--store` adds the same rows measured through the public `Store` API (load with `upsert_many`,
//! then `Store::query`), so the cost of the store around the index shows.
//!
//! `--graph-cache FILE` loads the 1-thread graph from FILE when it exists (build time then reads 0)
//! and saves it there otherwise: for iterating on search speed without rebuilding. `--cpu-time`
//! times our searches with the thread's CPU clock instead of the wall clock (less noisy on a shared
//! machine, but not comparable with the peers' wall-clock rows); `--passes N` (default 2) is the
//! best-of-N count.
//! ```text
//! ```
//!
//! Builds the index (M=16, efC=200) with 1 thread and then with N threads, reports both build
//! times, peak RSS growth and the bytes of vectors + graph, then recall@10 and single-thread QPS
//! (k=10, one query at a time, best of 2 passes after a warm-up, like peers.py) for each ef. With
//! `--peers` it then runs peers.py on the same file in the same run and prints the ratio of our QPS
//! to each peer's at recall 0.95 (log-linear interpolation between the bracketing ef points).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vecstore::index::hnsw::{Hnsw, HnswParams, SearchStats, SliceSource};
use vecstore::index::quant::{code_level, Codes};
use vecstore::Metric;

const PEERS_PY: &str = "/work/shared/bench/peers.py";
const PYTHON: &str = "/tmp/annbench/venv/bin/python";

struct Args {
    meta: PathBuf,
    peers: bool,
    threads: usize,
    efs: Vec<usize>,
    m: usize,
    efc: usize,
    parallel: bool,
    graph_cache: Option<PathBuf>,
    cpu_time: bool,
    passes: usize,
    store: bool,
    /// Measure the int8 (quantised traversal + exact re-rank) rows; `--no-quant` turns them off.
    quant: bool,
    /// Measure the float32 traversal rows; `--no-float` turns them off.
    float: bool,
    /// Candidates re-ranked exactly (0 = all `ef`; default 2k = 20, as the store does).
    rerank: usize,
    json: Option<PathBuf>,
    plot: Option<PathBuf>,
}

/// The same measurement through the public Store API: a store in a temporary directory loaded with
/// `upsert_many` (batches of 10,000, one thread), queried one query at a time with `Store::query`,
/// which includes checking and normalising the query, the read lock, and materialising ids, scores
/// and metadata of the hits. Returns the load seconds and (recall, QPS) per ef.
fn store_rows(
    a: &Args,
    metric: Metric,
    base: &[f32],
    queries: &[f32],
    gt: &[i32],
    dim: usize,
    gt_k: usize,
) -> (f64, Vec<(f64, f64)>) {
    use vecstore::store::Query;
    use vecstore::{NewRecord, Store, StoreOptions};
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = StoreOptions {
        dimension: dim,
        metric: Some(metric),
        hnsw_m: a.m,
        ef_construction: a.efc,
        build_threads: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), &opts).expect("open store");
    let n = base.len() / dim;
    let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    // Every record carries `bucket = i % 100`, so `bucket < s` passes s% of them (for --store's
    // filtered rows).
    let metas: Vec<String> = (0..n).map(|i| format!("{{\"bucket\":{}}}", i % 100)).collect();
    let t = Instant::now();
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
    let build = t.elapsed().as_secs_f64();
    println!("Store API load (1 thread): {build:.2} s");
    let k = 10;
    let nq = queries.len() / dim;
    let run = |ef: usize, out: &mut Vec<i32>| -> f64 {
        out.clear();
        let t = Instant::now();
        for q in queries.chunks_exact(dim) {
            let hits =
                store.query(&Query { vector: q, k, ef_search: ef, ..Default::default() }).expect("query");
            out.extend(hits.iter().map(|h| h.id.parse::<i32>().unwrap()));
            out.extend(std::iter::repeat_n(-1, k - hits.len()));
        }
        t.elapsed().as_secs_f64()
    };
    let mut got = Vec::with_capacity(nq * k);
    run(a.efs[0], &mut got);
    let mut curve = Vec::new();
    for &ef in &a.efs {
        let best = (0..a.passes.max(1)).map(|_| run(ef, &mut got)).fold(f64::INFINITY, f64::min);
        let hit: usize = (0..nq)
            .map(|qi| {
                got[qi * k..qi * k + k].iter().filter(|id| gt[qi * gt_k..qi * gt_k + k].contains(id)).count()
            })
            .sum();
        curve.push((hit as f64 / (nq * k) as f64, nq as f64 / best));
    }

    // Filtered queries at 1%, 10% and 50% selectivity, default ef_search, against a brute-force
    // ground truth over the matching records (exact float32 scores).
    let normalised: Vec<f32> = if metric == Metric::Cosine {
        base.chunks_exact(dim)
            .flat_map(|v| {
                let mut v = v.to_vec();
                vecstore::index::distance::normalize(&mut v);
                v
            })
            .collect()
    } else {
        base.to_vec()
    };
    for s in [1usize, 10, 50] {
        let filter = format!("bucket < {s}");
        let mut found = 0usize;
        let mut short = 0usize;
        let mut elapsed = 0.0;
        for q in queries.chunks_exact(dim) {
            let t = Instant::now();
            let hits = store
                .query(&Query { vector: q, k, filter: Some(&filter), ..Default::default() })
                .expect("filtered query");
            elapsed += t.elapsed().as_secs_f64();
            short += usize::from(hits.len() < k);
            let mut qn = q.to_vec();
            if metric == Metric::Cosine {
                vecstore::index::distance::normalize(&mut qn);
            }
            let want = vecstore::index::exact::top_k(metric, &normalised, dim, &qn, k, |i| i % 100 < s);
            for h in &hits {
                let i: usize = h.id.parse().unwrap();
                assert!(i % 100 < s, "filter {filter} returned {i}");
                found += usize::from(want.iter().any(|w| w.row == i));
            }
        }
        println!(
            "filtered `{filter}` ({s}% pass), ef_search 64: recall@10 {:.4}, {:.0} QPS, {short} short answers",
            found as f64 / (nq * k) as f64,
            nq as f64 / elapsed
        );
    }
    (build, curve)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        meta: PathBuf::new(),
        peers: false,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        efs: vec![16, 32, 64, 128, 256],
        m: 16,
        efc: 200,
        parallel: true,
        graph_cache: None,
        cpu_time: false,
        passes: 2,
        store: false,
        quant: true,
        float: true,
        rerank: 2 * 10,
        json: None,
        plot: None,
    };
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match x.as_str() {
            "--peers" => a.peers = true,
            "--no-parallel" => a.parallel = false,
            "--cpu-time" => a.cpu_time = true,
            "--store" => a.store = true,
            "--no-quant" => a.quant = false,
            "--no-float" => a.float = false,
            "--rerank" => a.rerank = val("--rerank").parse().expect("--rerank N"),
            "--json" => a.json = Some(PathBuf::from(val("--json"))),
            "--plot" => a.plot = Some(PathBuf::from(val("--plot"))),
            "--passes" => a.passes = val("--passes").parse().expect("--passes N"),
            "--graph-cache" => a.graph_cache = Some(PathBuf::from(val("--graph-cache"))),
            "--threads" => a.threads = val("--threads").parse().expect("--threads N"),
            "--m" => a.m = val("--m").parse().expect("--m N"),
            "--efc" => a.efc = val("--efc").parse().expect("--efc N"),
            "--efs" => a.efs = val("--efs").split(',').map(|s| s.parse().expect("--efs list")).collect(),
            _ if x.starts_with("--") => panic!("unknown option {x}"),
            _ => a.meta = PathBuf::from(x),
        }
    }
    assert!(!a.meta.as_os_str().is_empty(), "usage: ann_bench DATA/NAME.json [--peers] [--threads N]");
    a
}

fn read_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn read_i32(path: &Path) -> Vec<i32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// (VmRSS, VmHWM) in MiB.
fn rss_mb() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

struct Row {
    recall: f64,
    qps: f64,
}

/// QPS at recall `target`, log-linear between the two ef points that bracket it.
fn qps_at(rows: &[(f64, f64)], target: f64) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = rows.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in pts.windows(2) {
        let ((r0, q0), (r1, q1)) = (w[0], w[1]);
        if r0 <= target && target <= r1 && r1 > r0 {
            let t = (target - r0) / (r1 - r0);
            return Some((q0.ln() + t * (q1.ln() - q0.ln())).exp());
        }
    }
    None
}

fn main() {
    let a = parse_args();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a.meta).expect("read meta")).expect("meta json");
    let dir = a.meta.parent().unwrap_or(Path::new("."));
    let file = |k: &str| dir.join(meta["files"][k].as_str().unwrap_or_else(|| panic!("files.{k}")));
    let n = meta["n"].as_u64().unwrap() as usize;
    let nq = meta["nq"].as_u64().unwrap() as usize;
    let dim = meta["dim"].as_u64().unwrap() as usize;
    let gt_k = meta["gt_k"].as_u64().unwrap() as usize;
    let metric = match meta["metric"].as_str().unwrap() {
        "cosine" | "angular" | "ip" => Metric::Cosine,
        "l2" => Metric::Euclidean,
        m => panic!("unknown metric {m}"),
    };
    let base = read_f32(&file("base"));
    let queries = read_f32(&file("query"));
    let gt = read_i32(&file("gt"));
    assert_eq!(base.len(), n * dim);
    assert_eq!(queries.len(), nq * dim);
    assert_eq!(gt.len(), nq * gt_k);
    let name = meta["name"].as_str().unwrap_or("?");
    let kernel = vecstore::index::distance::kernel().name;
    println!("### {name}: n={n} dim={dim} nq={nq} metric={} kernel={kernel}", meta["metric"]);
    let src = SliceSource::new(&base, dim);
    let params = HnswParams { m: a.m, ef_construction: a.efc, seed: 100 };

    let (rss0, _) = rss_mb();
    let (t, cpu0) = (Instant::now(), thread_cpu_s());
    let cached = a.graph_cache.as_ref().and_then(|p| std::fs::read(p).ok());
    let g = match cached {
        Some(bytes) => Hnsw::read_from(&bytes).expect("cached graph"),
        None => {
            let mut g = Hnsw::new(params, metric);
            g.insert_batch(0..n as u32, &src, 1);
            g
        }
    };
    let build1 = t.elapsed().as_secs_f64();
    let build1_cpu = thread_cpu_s() - cpu0;
    if let Some(p) = &a.graph_cache {
        if !p.exists() {
            let mut f = std::io::BufWriter::new(std::fs::File::create(p).expect("create graph cache"));
            g.write_to(&mut f).expect("write graph cache");
        }
    }
    let (rss1, hwm1) = rss_mb();
    println!(
        "build 1 thread: {build1:.2} s (CPU {build1_cpu:.2} s); RSS growth {:.1} MB (peak {:.1} MB total); vectors {:.1} MB + graph {:.1} MB = {:.1} MB; levels {:?}",
        rss1 - rss0,
        hwm1,
        (n * dim * 4) as f64 / 1048576.0,
        g.memory_bytes() as f64 / 1048576.0,
        (n * dim * 4 + g.memory_bytes()) as f64 / 1048576.0,
        g.level_sizes()
    );
    let mut build_par = None;
    if a.parallel && a.threads > 1 {
        let t = Instant::now();
        let mut gp = Hnsw::new(params, metric);
        gp.insert_batch(0..n as u32, &src, a.threads);
        let s = t.elapsed().as_secs_f64();
        // Recall of the parallel-built graph at ef 64 next to the 1-thread one's (a parallel build
        // that lost nodes would show here).
        let recall_at_64 = |g: &Hnsw| {
            let mut hit = 0usize;
            for (qi, q) in queries.chunks_exact(dim).enumerate() {
                let hits = g.search(&src, q, 10, 64, &|_| true, &mut SearchStats::default());
                let want = &gt[qi * gt_k..qi * gt_k + 10];
                hit += hits.iter().filter(|h| want.contains(&(h.row as i32))).count();
            }
            hit as f64 / (nq * 10) as f64
        };
        println!(
            "build {} threads: {s:.2} s; recall@10 at ef 64: {:.4} ({:.4} for the 1-thread build)",
            a.threads,
            recall_at_64(&gp),
            recall_at_64(&g)
        );
        build_par = Some(s);
        drop(gp);
    }

    let k = 10;
    // int8 codes of every vector (trained on the base set), for the quantised rows.
    let t = Instant::now();
    let codes = a.quant.then(|| Codes::train(&src, n, metric));
    let encode_s = t.elapsed().as_secs_f64();
    if let Some(c) = &codes {
        println!(
            "int8 codes: trained + encoded in {encode_s:.3} s, {:.1} MB ({} B/row), kernel {}",
            c.memory_bytes() as f64 / 1048576.0,
            c.stride(),
            code_level().name()
        );
    }
    let search = |q: &[f32], ef: usize, quant: bool, stats: &mut SearchStats| match (&codes, quant) {
        (Some(c), true) => g.search_codes(&src, c, q, k, ef, a.rerank, &|_| true, stats),
        _ => g.search(&src, q, k, ef, &|_| true, stats),
    };
    let run = |ef: usize, quant: bool, out: &mut Vec<u32>| -> f64 {
        out.clear();
        let mut stats = SearchStats::default();
        let (t, c) = (Instant::now(), thread_cpu_s());
        for q in queries.chunks_exact(dim) {
            let hits = search(q, ef, quant, &mut stats);
            out.extend(hits.iter().map(|h| h.row as u32));
            out.extend(std::iter::repeat_n(u32::MAX, k - hits.len()));
        }
        if a.cpu_time {
            thread_cpu_s() - c
        } else {
            t.elapsed().as_secs_f64()
        }
    };
    let mut ids = Vec::with_capacity(nq * k);
    let measure = |quant: bool, ids: &mut Vec<u32>| -> Vec<Row> {
        run(a.efs[0], quant, ids); // warm-up
        let mut rows = Vec::new();
        for &ef in &a.efs {
            let best = (0..a.passes.max(1)).map(|_| run(ef, quant, ids)).fold(f64::INFINITY, f64::min);
            let mut hit = 0usize;
            for qi in 0..nq {
                let want = &gt[qi * gt_k..qi * gt_k + k];
                hit += ids[qi * k..qi * k + k].iter().filter(|&&id| want.contains(&(id as i32))).count();
            }
            rows.push(Row { recall: hit as f64 / (nq * k) as f64, qps: nq as f64 / best });
        }
        rows
    };
    let rows = if a.float { measure(false, &mut ids) } else { Vec::new() };
    let qrows = if codes.is_some() { measure(true, &mut ids) } else { Vec::new() };
    // Distance evaluations per query at each ef (explains QPS differences independent of noise).
    for quant in [false, true] {
        if (quant && codes.is_none()) || (!quant && !a.float) {
            continue;
        }
        let mut dc = Vec::new();
        for &ef in &a.efs {
            let mut st = SearchStats::default();
            for q in queries.chunks_exact(dim) {
                search(q, ef, quant, &mut st);
            }
            dc.push(format!("ef={ef}: {:.0}", st.distance_calculations as f64 / nq as f64));
        }
        println!(
            "distance calculations per query ({}): {}",
            if quant { "int8 + re-rank" } else { "f32" },
            dc.join(", ")
        );
    }

    let mem_mb = (n * dim * 4 + g.memory_bytes()) as f64 / 1048576.0;
    let codes_mb = codes.as_ref().map_or(0.0, |c| c.memory_bytes() as f64 / 1048576.0);
    let graph_mb = g.memory_bytes() as f64 / 1048576.0;
    let mut table = String::new();
    table += "| index | build s (1 thr) | mem MB | RSS MB | ";
    table += &a.efs.iter().map(|ef| format!("ef={ef} R@10 / QPS")).collect::<Vec<_>>().join(" | ");
    table += " |\n|---|---|---|---|";
    table += &"---|".repeat(a.efs.len());
    table += "\n";
    let cells = |rows: &[(f64, f64)]| {
        rows.iter().map(|(r, q)| format!("{r:.4} / {q:.0}")).collect::<Vec<_>>().join(" | ")
    };
    let ours: Vec<(f64, f64)> = rows.iter().map(|r| (r.recall, r.qps)).collect();
    let ours_q: Vec<(f64, f64)> = qrows.iter().map(|r| (r.recall, r.qps)).collect();
    let build_cell = format!(
        "{build1:.1}{}",
        build_par.map_or(String::new(), |s| format!(" ({:.1} with {} thr)", s, a.threads))
    );
    let cpu_note = if a.cpu_time { ", CPU-time QPS" } else { "" };
    if !ours.is_empty() {
        table += &format!(
            "| vecstore hnsw f32 ({kernel}{cpu_note}) | {build_cell} | {mem_mb:.1} | {:.0} | {} |\n",
            rss1 - rss0,
            cells(&ours)
        );
    }
    if !ours_q.is_empty() {
        table += &format!(
            "| vecstore hnsw int8 + f32 re-rank ({}{cpu_note}) | {build_cell} + {encode_s:.2} encode | {:.1} | - | {} |\n",
            code_level().name(),
            mem_mb + codes_mb,
            cells(&ours_q)
        );
        println!(
            "memory: traversal (codes {codes_mb:.1} MB + graph {graph_mb:.1} MB) = {:.1} MB resident; \
             total with the f32 rows {:.1} MB = {:.3}x (f32 rows + graph)",
            codes_mb + graph_mb,
            mem_mb + codes_mb,
            (mem_mb + codes_mb) / mem_mb
        );
    }
    if a.store {
        let (build, curve) = store_rows(&a, metric, &base, &queries, &gt, dim, gt_k);
        table += &format!(
            "| vecstore Store API (upsert_many + query) | {build:.1} | - | - | {} |\n",
            cells(&curve)
        );
        println!(
            "Store API QPS at recall 0.95: {}",
            qps_at(&curve, 0.95).map_or("not bracketed".into(), |q| format!("{q:.0}"))
        );
    }

    // (label, recall/QPS curve, build seconds)
    type Curve = (String, Vec<(f64, f64)>, f64);
    let mut peer_curves: Vec<Curve> = Vec::new();
    if a.peers {
        let out = std::env::temp_dir().join(format!("ann_bench_peers_{}.json", std::process::id()));
        let status = Command::new(PYTHON)
            .arg(PEERS_PY)
            .arg(&a.meta)
            .args(["--peers", "hnswlib,usearch,faiss", "--M", &a.m.to_string(), "--efc", &a.efc.to_string()])
            .args(["--efs", &a.efs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(",")])
            .arg("--json")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run peers.py");
        assert!(status.success(), "peers.py failed");
        let res: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let _ = std::fs::remove_file(&out);
        for r in res["results"].as_array().unwrap() {
            if r["peer"] == "exhaustive" {
                continue;
            }
            let curve: Vec<(f64, f64)> = r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (x["recall"].as_f64().unwrap(), x["qps"].as_f64().unwrap()))
                .collect();
            let label = format!("{} {}", r["peer"].as_str().unwrap(), r["version"].as_str().unwrap_or(""));
            let build = r["build_s"].as_f64().unwrap();
            table += &format!(
                "| {label} | {build:.1} | {:.1} (index file) | {:.0} | {} |\n",
                r["index_bytes"].as_f64().unwrap() / 1048576.0,
                r["peak_rss_build_mb"].as_f64().unwrap(),
                cells(&curve)
            );
            peer_curves.push((label, curve, build));
        }
    }
    println!("\n{table}");
    let mut ours_all: Vec<(String, &Vec<(f64, f64)>)> = Vec::new();
    if !ours.is_empty() {
        ours_all.push(("vecstore hnsw f32".into(), &ours));
    }
    if !ours_q.is_empty() {
        ours_all.push(("vecstore hnsw int8".into(), &ours_q));
    }
    println!("QPS at recall@10 = 0.95 (log-linear interpolation):");
    for (label, curve) in &ours_all {
        let o = qps_at(curve, 0.95);
        println!("  {label}: {}", o.map_or("not bracketed".into(), |q| format!("{q:.0}")));
        for (peer, pcurve, build) in &peer_curves {
            let p = qps_at(pcurve, 0.95);
            let ratio = match (o, p) {
                (Some(o), Some(p)) => format!("ours/peer = {:.2}x", o / p),
                _ => "ratio n/a".into(),
            };
            println!(
                "    vs {peer}: {} -> {ratio}; build ours/peer = {:.2}x",
                p.map_or("not bracketed".into(), |q| format!("{q:.0}")),
                build1 / build
            );
        }
    }
    if let Some(path) = &a.json {
        let curve_json = |c: &[(f64, f64)]| {
            c.iter().zip(&a.efs).map(|((r, q), ef)| serde_json::json!({"ef": ef, "recall": r, "qps": q})).collect::<Vec<_>>()
        };
        let mut series: Vec<serde_json::Value> = ours_all
            .iter()
            .map(|(l, c)| serde_json::json!({"label": l, "ours": true, "build_s": build1, "rows": curve_json(c)}))
            .collect();
        for (l, c, b) in &peer_curves {
            series.push(serde_json::json!({"label": l, "ours": false, "build_s": b, "rows": curve_json(c)}));
        }
        let doc = serde_json::json!({
            "dataset": name, "n": n, "dim": dim, "nq": nq, "k": k, "m": a.m, "efc": a.efc,
            "kernel": kernel, "int8_kernel": code_level().name(),
            "memory_mb": {"f32_rows": (n * dim * 4) as f64 / 1048576.0, "graph": graph_mb, "codes": codes_mb},
            "series": series,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).expect("write --json");
        println!("wrote {}", path.display());
        if let Some(png) = &a.plot {
            let status = Command::new(PYTHON)
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ann_plot.py"))
                .arg(path)
                .arg(png)
                .status()
                .expect("run ann_plot.py");
            assert!(status.success(), "ann_plot.py failed");
        }
    }
}
