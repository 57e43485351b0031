//! `vecstore bench DIR --queries FILE [--gt FILE] [--k 10] [--ef 16,32,64,128]`: recall@k and
//! single-thread QPS of the store on the user's own queries, one row per ef_search, so that ef can
//! be tuned on real data. Without `--gt` the exact answers are computed by scanning every record.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::load::npy;
use super::{print_json, table, CliResult, Ctx, Target};
use crate::index::{distance, exact};
use crate::namespace::RequestKind;
use crate::store::options::Metric;
use crate::store::Query;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Query vectors: .npy (float32 2-D), .fvecs, or JSON Lines (an array, or {"vector": [...]}, per line)
    #[arg(long)]
    pub queries: PathBuf,
    /// Exact neighbours: .ivecs (row numbers, ids from --id-prefix) or JSON Lines (an array of ids,
    /// or {"ids": [...]}, per line). Default: computed by an exact scan of the store
    #[arg(long)]
    pub gt: Option<PathBuf>,
    /// With an .ivecs ground truth: the id of row N is PREFIX followed by N (as `import` names rows)
    #[arg(long, default_value = "")]
    pub id_prefix: String,
    /// Neighbours per query
    #[arg(long, short, default_value_t = 10)]
    pub k: usize,
    /// ef_search values to measure, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128")]
    pub ef: Vec<usize>,
    /// Use only the first N queries
    #[arg(long)]
    pub limit: Option<usize>,
}

fn read_vectors(path: &Path) -> CliResult<Vec<Vec<f32>>> {
    let err = |e: String| super::CliError(format!("{}: {e}", path.display()));
    let bytes_of = |p: &Path| std::fs::read(p).map_err(|e| err(e.to_string()));
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => {
            let mut f = BufReader::new(std::fs::File::open(path).map_err(|e| err(e.to_string()))?);
            let (rows, dim) = npy::read_header(&mut f).map_err(err)?;
            let mut data = Vec::new();
            f.read_to_end(&mut data).map_err(|e| err(e.to_string()))?;
            if data.len() as u64 != rows * dim as u64 * 4 {
                return Err(err(format!(
                    "holds {} data bytes, its header says {rows} x {dim} floats",
                    data.len()
                )));
            }
            Ok(data
                .chunks_exact(dim * 4)
                .map(|r| r.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
                .collect())
        }
        Some("fvecs") => {
            let data = bytes_of(path)?;
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < data.len() {
                let d = data
                    .get(pos..pos + 4)
                    .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
                    .ok_or_else(|| err("cut short".into()))?;
                let end = pos + 4 + 4 * d.max(0) as usize;
                let row =
                    data.get(pos + 4..end).ok_or_else(|| err(format!("row {} is cut short", out.len())))?;
                out.push(row.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect());
                pos = end;
            }
            Ok(out)
        }
        _ => {
            let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
            let mut out = Vec::new();
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| err(e.to_string()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
                let arr = v.get("vector").cloned().unwrap_or(v);
                let vec: Vec<f32> = serde_json::from_value(arr)
                    .map_err(|e| err(format!("line {}: not a vector: {e}", i + 1)))?;
                out.push(vec);
            }
            Ok(out)
        }
    }
}

fn read_gt(path: &Path, prefix: &str) -> CliResult<Vec<Vec<String>>> {
    let err = |e: String| super::CliError(format!("{}: {e}", path.display()));
    if path.extension().and_then(|e| e.to_str()) == Some("ivecs") {
        let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let d = data
                .get(pos..pos + 4)
                .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
                .ok_or_else(|| err("cut short".into()))?;
            let end = pos + 4 + 4 * d.max(0) as usize;
            let row = data.get(pos + 4..end).ok_or_else(|| err(format!("row {} is cut short", out.len())))?;
            out.push(
                row.chunks_exact(4)
                    .map(|c| format!("{prefix}{}", i32::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
            );
            pos = end;
        }
        return Ok(out);
    }
    let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| err(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| err(format!("line {}: {e}", i + 1)))?;
        let arr = v.get("ids").cloned().unwrap_or(v);
        let ids: Vec<serde_json::Value> = serde_json::from_value(arr)
            .map_err(|e| err(format!("line {}: not a list of ids: {e}", i + 1)))?;
        out.push(ids.into_iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect());
    }
    Ok(out)
}

/// The query as the store searches it (normalised for cosine).
fn prepared(metric: Metric, q: &[f32]) -> Vec<f32> {
    let mut v = q.to_vec();
    if metric == Metric::Cosine {
        distance::normalize(&mut v);
    }
    v
}

/// Exact top-k ids of every query, by one scan of the store (each record is compared with every query).
fn exact_answers(
    target: &Target,
    queries: &[Vec<f32>],
    k: usize,
    metric: Metric,
) -> CliResult<Vec<Vec<String>>> {
    let qs: Vec<Vec<f32>> = queries.iter().map(|q| prepared(metric, q)).collect();
    // Per query: the k best (similarity, id) so far, worst first.
    let mut best: Vec<Vec<(f32, String)>> = vec![Vec::with_capacity(k + 1); qs.len()];
    target.call(RequestKind::Read, |s| {
        s.scan(|r| {
            for (q, b) in qs.iter().zip(best.iter_mut()) {
                let sim = exact::raw_similarity(metric, q, r.vector);
                if b.len() < k || sim > b[0].0 {
                    let at = b.partition_point(|(x, _)| x.partial_cmp(&sim) == Some(Ordering::Less));
                    b.insert(at, (sim, r.id.to_string()));
                    if b.len() > k {
                        b.remove(0);
                    }
                }
            }
            Ok(())
        })
    })?;
    Ok(best.into_iter().map(|b| b.into_iter().rev().map(|(_, id)| id).collect()).collect())
}

pub fn run(ctx: &Ctx, a: BenchArgs) -> CliResult<()> {
    if a.k == 0 || a.ef.is_empty() {
        crate::cli_bail!("--k must be at least 1 and --ef must list at least one value");
    }
    let target = Target::open(ctx, &a.dir)?;
    let (metric, dim, count) =
        target.call(RequestKind::Read, |s| Ok((s.metric(), s.dimension(), s.count())))?;
    let mut queries = read_vectors(&a.queries)?;
    if let Some(n) = a.limit {
        queries.truncate(n);
    }
    if queries.is_empty() {
        crate::cli_bail!("{} holds no queries", a.queries.display());
    }
    if let Some((i, q)) = queries.iter().enumerate().find(|(_, q)| q.len() != dim) {
        crate::cli_bail!(
            "{}: query {i} has dimension {}, the store has dimension {dim}",
            a.queries.display(),
            q.len()
        );
    }
    let started = Instant::now();
    let gt = match &a.gt {
        Some(p) => {
            let gt = read_gt(p, &a.id_prefix)?;
            if gt.len() < queries.len() {
                crate::cli_bail!(
                    "{} has {} rows, there are {} queries",
                    p.display(),
                    gt.len(),
                    queries.len()
                );
            }
            gt
        }
        None => exact_answers(&target, &queries, a.k, metric)?,
    };
    let gt_secs = started.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    for &ef in &a.ef {
        let mut hits_found = 0usize;
        let mut wanted = 0usize;
        let mut lat = Vec::with_capacity(queries.len());
        let total = Instant::now();
        for (q, truth) in queries.iter().zip(&gt) {
            let t = Instant::now();
            let hits = target.call(RequestKind::Query, |s| {
                s.query(&Query { vector: q, k: a.k, filter: None, ef_search: ef })
            })?;
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            let truth: HashSet<&str> = truth.iter().take(a.k).map(String::as_str).collect();
            wanted += truth.len();
            hits_found += hits.iter().filter(|h| truth.contains(h.id.as_str())).count();
        }
        let secs = total.elapsed().as_secs_f64();
        lat.sort_by(|x, y| x.total_cmp(y));
        let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
        rows.push((
            ef,
            hits_found as f64 / wanted.max(1) as f64,
            queries.len() as f64 / secs,
            pct(0.5),
            pct(0.99),
        ));
    }
    target.finish_read();
    if ctx.json {
        print_json(&json!({
            "records": count, "queries": queries.len(), "k": a.k,
            "ground_truth": if a.gt.is_some() { "file" } else { "exact scan" }, "ground_truth_seconds": gt_secs,
            "rows": rows.iter().map(|(ef, r, qps, p50, p99)| json!({"ef_search": ef, "recall": r, "qps": qps, "p50_ms": p50, "p99_ms": p99})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "{} queries, k={}, {} records, 1 thread; ground truth: {}",
            queries.len(),
            a.k,
            count,
            if a.gt.is_some() { "from file".to_string() } else { format!("exact scan ({gt_secs:.2} s)") }
        );
        let t: Vec<Vec<String>> = rows
            .iter()
            .map(|(ef, r, qps, p50, p99)| {
                vec![
                    ef.to_string(),
                    format!("{r:.4}"),
                    format!("{qps:.0}"),
                    format!("{p50:.3}"),
                    format!("{p99:.3}"),
                ]
            })
            .collect();
        let recall = format!("recall@{}", a.k);
        table::print(&["ef_search", &recall, "QPS", "p50 ms", "p99 ms"], &t, &[0, 1, 2, 3, 4]);
    }
    Ok(())
}
