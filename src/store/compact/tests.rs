use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::store::options::{Metric, StoreOptions};
use crate::store::{NewRecord, Query};
use crate::Code;

fn opts(dim: usize) -> StoreOptions {
    StoreOptions {
        dimension: dim,
        metric: Some(Metric::Euclidean),
        build_threads: 2,
        ..StoreOptions::default()
    }
}

fn lcg(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }
}

/// Clustered data (like embeddings): points spread around 256 overlapping centres, the same for every seed, so
/// that queries (another seed) come from the data's distribution.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut next = lcg(seed);
    let mut centre = lcg(0xC0FFEE);
    let centres: Vec<Vec<f32>> = (0..256).map(|_| (0..dim).map(|_| centre() * 2.0).collect()).collect();
    (0..n)
        .map(|i| {
            let c = &centres[(i * 7919) % centres.len()];
            c.iter().map(|x| x + next()).collect()
        })
        .collect()
}

fn load(s: &Store, rows: &[Vec<f32>], ids: impl Fn(usize) -> String) {
    let names: Vec<String> = (0..rows.len()).map(ids).collect();
    for (chunk_rows, chunk_ids) in rows.chunks(4096).zip(names.chunks(4096)) {
        let recs: Vec<NewRecord> = chunk_rows
            .iter()
            .zip(chunk_ids)
            .map(|(v, id)| NewRecord { id, vector: v, metadata: None })
            .collect();
        s.upsert_many(&recs).unwrap();
    }
}

fn id(i: usize) -> String {
    format!("r{i}")
}

fn top(s: &Store, q: &[f32], k: usize) -> Vec<(String, u32)> {
    s.query(&Query { vector: q, k, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.score.to_bits()))
        .collect()
}

fn brute(rows: &[Vec<f32>], alive: &[bool], q: &[f32], k: usize) -> Vec<String> {
    let mut d: Vec<(f32, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| alive[*i])
        .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|(_, i)| id(i)).collect()
}

/// Recall@10 at `ef` (a low one shows graph quality best).
fn recall(s: &Store, rows: &[Vec<f32>], alive: &[bool], queries: &[Vec<f32>], ef: usize) -> f64 {
    let mut hit = 0;
    for q in queries {
        let want = brute(rows, alive, q, 10);
        let got = s.query(&Query { vector: q, k: 10, ef_search: ef, ..Default::default() }).unwrap();
        hit += got.iter().filter(|h| want.contains(&h.id)).count();
    }
    hit as f64 / (10 * queries.len()) as f64
}

/// Marks slot `s` of `id` as expired an hour ago (a TTL cannot be set in the past).
fn expire_now(s: &Store, id: &str) {
    // In memory only, as the log could not hold it; through `apply`, so the expiry index follows.
    s.inner.write().apply(crate::storage::log::LogOp::SetExpiry { id: id.to_string(), expires_at: now_unix() - 3600 });
}

#[test]
fn compaction_removes_soft_deleted_expired_and_tombstones_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let rows = clustered(300, 8, 1);
    let s = Store::open(dir.path(), &opts(8)).unwrap();
    load(&s, &rows, id);
    for i in 0..30 {
        s.soft_delete(&id(i)).unwrap();
    }
    for i in 30..40 {
        s.delete(&id(i)).unwrap();
    }
    for (i, row) in rows.iter().enumerate().take(45).skip(40) {
        s.upsert(&id(i), row, Some(r#"{"v":2}"#)).unwrap(); // replaced: a tombstone each
    }
    for i in 45..52 {
        expire_now(&s, &id(i));
    }
    s.upsert_with_ttl("keeps-its-ttl", &rows[0], None, 3600).unwrap();
    let before = s.stats();
    assert_eq!((before.count, before.soft_deleted, before.expired, before.tombstones), (254, 30, 7, 15));
    let queries = clustered(20, 8, 99);
    let answers: Vec<_> = queries.iter().map(|q| top(&s, q, 10)).collect();

    let report = s.compact_report().unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!((report.removed, report.soft_deleted, report.expired, report.tombstones), (37, 30, 7, 15));
    assert_eq!((report.slots_before, report.slots_after), (306, 254));
    let after = s.stats();
    assert_eq!((after.count, after.soft_deleted, after.expired, after.tombstones), (254, 0, 0, 0));
    assert_eq!(s.inner.read().slots.len(), 254);
    assert_eq!(s.inner.read().index.len(), 254);
    // Soft-deleted records are gone for good: restore finds nothing.
    for i in 0..30 {
        assert_eq!(s.restore(&id(i)).unwrap_err().code, Code::NotFound);
    }
    for i in 45..52 {
        assert_eq!(s.get(&id(i)).unwrap_err().code, Code::NotFound);
    }
    assert_eq!(s.get(&id(41)).unwrap().metadata, r#"{"v":2}"#);
    assert_eq!(s.get(&id(100)).unwrap().vector, rows[100]);
    assert!(s.inner.read().expiring() == 1, "the record with a future TTL keeps it");
    for (q, want) in queries.iter().zip(&answers) {
        assert_eq!(&top(&s, q, 10), want, "the same answers (small store: exact scan)");
    }
    // Nothing left to reclaim: a second compaction removes nothing and writes nothing.
    let generation = s.inner.read().snapshot_generation;
    assert_eq!(s.compact().unwrap(), 0);
    assert_eq!(s.inner.read().snapshot_generation, generation);
    // Writes go on after it and everything survives a reopen.
    s.upsert("new", &rows[5], None).unwrap();
    s.soft_delete(&id(60)).unwrap();
    drop(s);
    let s = Store::open(dir.path(), &opts(8)).unwrap();
    assert_eq!(s.count(), 254);
    assert_eq!(s.restore(&id(60)), Ok(()));
    assert_eq!(s.restore(&id(100)), Ok(())); // live: a no-op
    assert_eq!(s.restore(&id(3)).unwrap_err().code, Code::NotFound);
    assert_eq!(s.stats().tombstones, 0);
}

#[test]
fn recall_after_compacting_30_percent_matches_a_fresh_build_and_survives_reopen() {
    let dim = 24;
    let n = 12_000;
    let rows = clustered(n, dim, 7);
    let queries = clustered(100, dim, 1234);
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("a"), &opts(dim)).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    load(&s, &rows, id);
    let mut alive = vec![true; n];
    for (i, a) in alive.iter_mut().enumerate() {
        if (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60 < 5 {
            // about 31%: soft-delete two thirds of them, hard-delete the rest
            if i % 3 == 0 {
                s.delete(&id(i)).unwrap();
            } else {
                s.soft_delete(&id(i)).unwrap();
            }
            *a = false;
        }
    }
    let dead = alive.iter().filter(|a| !**a).count();
    assert!((0.28..0.34).contains(&(dead as f64 / n as f64)), "{dead}");
    let r_before = recall(&s, &rows, &alive, &queries, 10);
    let report = s.compact_report().unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!(report.slots_after as usize, n - dead);
    let r_after = recall(&s, &rows, &alive, &queries, 10);

    let fresh = Store::open(dir.path().join("b"), &opts(dim)).unwrap();
    let survivors: Vec<usize> = (0..n).filter(|&i| alive[i]).collect();
    let srows: Vec<Vec<f32>> = survivors.iter().map(|&i| rows[i].clone()).collect();
    let t = std::time::Instant::now();
    load(&fresh, &srows, |j| id(survivors[j]));
    eprintln!("fresh build {:?}", t.elapsed());
    let r_fresh = recall(&fresh, &rows, &alive, &queries, 10);
    eprintln!("recall@10 before {r_before:.4} after {r_after:.4} fresh {r_fresh:.4}; {report:?}");
    assert!(r_after >= r_fresh - 0.01, "after compaction {r_after}, fresh build {r_fresh}");
    assert!(r_after >= 0.9, "{r_after}");
    eprintln!("graph: {:?}", report.graph_outcome);

    // Reopening loads the compacted graph: identical answers.
    let answers: Vec<_> = queries.iter().map(|q| top(&s, q, 10)).collect();
    drop(s);
    let s = Store::open(dir.path().join("a"), &opts(dim)).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!(s.count(), n - dead);
    for (q, want) in queries.iter().zip(&answers) {
        assert_eq!(&top(&s, q, 10), want);
    }
}

#[test]
fn queries_run_during_compaction_and_never_see_removed_records() {
    let dim = 16;
    let n = 6000;
    let rows = clustered(n, dim, 3);
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Store::open(dir.path(), &opts(dim)).unwrap());
    load(&s, &rows, id);
    let mut alive = vec![true; n];
    for i in (0..n).filter(|i| i % 10 < 3) {
        s.soft_delete(&id(i)).unwrap();
        alive[i] = false;
    }
    let queries = Arc::new(clustered(50, dim, 77));
    let r_before = recall(&s, &rows, &alive, &queries, 64);
    let done = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (s, done, ran, queries) = (s.clone(), done.clone(), ran.clone(), queries.clone());
            std::thread::spawn(move || {
                let mut i = t;
                while !done.load(Ordering::Relaxed) {
                    let hits = top(&s, &queries[i % queries.len()], 10);
                    assert_eq!(hits.len(), 10);
                    for (h, _) in &hits {
                        let k: usize = h[1..].parse().unwrap();
                        assert!(k % 10 >= 3, "a soft-deleted record {h} was returned");
                    }
                    ran.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    while ran.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    let at_start = ran.load(Ordering::Relaxed);
    let report = s.compact_report().unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    let during = ran.load(Ordering::Relaxed) - at_start;
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let r_after = recall(&s, &rows, &alive, &queries, 64);
    eprintln!(
        "{during} queries ran during a {:?} compaction (exclusive {:?}); recall {r_before:.4} -> {r_after:.4}",
        report.duration, report.exclusive
    );
    assert!(during > 0, "queries ran while the compaction built the new state");
    assert!(report.exclusive < report.duration / 2, "{report:?}");
    assert!(r_after >= r_before - 0.01, "{r_before} -> {r_after}");
}

#[test]
fn maybe_compact_follows_the_thresholds_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let rows = clustered(100, 4, 5);
    let s = Store::open(dir.path(), &opts(4)).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    load(&s, &rows, id);
    for i in 0..5 {
        s.soft_delete(&id(i)).unwrap();
    }
    // Disabled (the default): never, whatever is reclaimable.
    assert_eq!(s.compaction_config(), CompactionConfig::default());
    let r = s.maybe_compact().unwrap();
    assert!(!r.triggered && r.removed_count == 0 && r.reason.contains("disabled"), "{r:?}");
    assert_eq!(s.stats().soft_deleted, 5);

    // 5 of 100 slots: below 6 records and below 10%.
    let cfg = CompactionConfig { enabled: true, min_deleted_records: 6, min_deleted_ratio: 0.1 };
    s.set_compaction_config(cfg).unwrap();
    let r = s.maybe_compact().unwrap();
    assert!(!r.triggered && r.reason.contains("below both"), "{r:?}");
    assert!(r.reason.contains("5 of 100 slots"), "{}", r.reason);
    // A replacement adds a tombstone and a slot: 6 of 101 reaches min_deleted_records.
    s.upsert(&id(50), &rows[51], None).unwrap();
    let r = s.maybe_compact().unwrap();
    assert!(r.triggered && r.reason.contains("min_deleted_records"), "{r:?}");
    assert_eq!((r.removed_count, r.tombstones_removed), (5, 1));
    assert_eq!(s.restore(&id(0)).unwrap_err().code, Code::NotFound);
    // Nothing to reclaim now.
    let r = s.maybe_compact().unwrap();
    assert!(!r.triggered && r.reason.contains("nothing to reclaim"), "{r:?}");

    // The ratio alone: 10 of 95 slots >= 10% with min_deleted_records far away.
    s.set_compaction_config(CompactionConfig { min_deleted_records: 1_000_000, ..cfg }).unwrap();
    for i in 10..19 {
        s.soft_delete(&id(i)).unwrap();
    }
    let r = s.maybe_compact().unwrap();
    assert!(!r.triggered, "9 of 95 is below 10%: {r:?}");
    s.delete(&id(19)).unwrap();
    let r = s.maybe_compact().unwrap();
    assert!(r.triggered && r.reason.contains("min_deleted_ratio"), "{r:?}");
    assert_eq!((r.removed_count, r.tombstones_removed), (9, 1));
    assert_eq!(s.count(), 85);

    // Bad settings are refused and change nothing.
    let bad = CompactionConfig { min_deleted_ratio: f64::NAN, ..cfg };
    assert_eq!(s.set_compaction_config(bad).unwrap_err().code, Code::InvalidArgument);
    let bad = CompactionConfig { min_deleted_ratio: 1.5, ..cfg };
    assert_eq!(s.set_compaction_config(bad).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(s.compaction_config().min_deleted_records, 1_000_000);
}

#[test]
fn the_compaction_config_is_persisted_and_old_meta_files_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CompactionConfig { enabled: true, min_deleted_records: 42, min_deleted_ratio: 0.25 };
    {
        let s = Store::open(dir.path(), &opts(3)).unwrap();
        crate::index::hnsw::assert_sound(&s.inner.read().index);
        s.set_compaction_config(cfg).unwrap();
    }
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!(s.compaction_config(), cfg);
    drop(s);
    // A description file written before the setting existed.
    let path = dir.path().join(crate::store::meta::META_FILE);
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("compaction").unwrap();
    std::fs::write(&path, v.to_string()).unwrap();
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!(s.compaction_config(), CompactionConfig::default());
    assert_eq!(s.dimension(), 3);
}

fn store_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn compaction_replaces_the_snapshot_generation_and_leaves_no_stray_files() {
    let dir = tempfile::tempdir().unwrap();
    let rows = clustered(500, 4, 9);
    let s = Store::open(dir.path(), &opts(4)).unwrap();
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    load(&s, &rows, id);
    for i in 0..100 {
        s.soft_delete(&id(i)).unwrap();
    }
    s.compact().unwrap();
    let g = s.inner.read().snapshot_generation;
    assert!(g >= 1);
    let files = store_files(dir.path());
    let snaps: Vec<&String> = files.iter().filter(|f| f.starts_with("snap-")).collect();
    assert_eq!(snaps.len(), 3, "only the new generation's files: {files:?}");
    assert!(snaps.iter().all(|f| f.starts_with(&format!("snap-{g:06}."))), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with(".tmp")), "{files:?}");
}

#[test]
fn the_rebuild_fallback_gives_a_good_graph_too_for_every_metric() {
    let dim = 12;
    let rows = clustered(3300, dim, 21); // 2200 kept: above the exact-scan size, so the graph answers
    let queries = clustered(50, dim, 22);
    let dir = tempfile::tempdir().unwrap();
    for (m, metric) in [Metric::Dot, Metric::Cosine].into_iter().enumerate() {
        let path = dir.path().join(m.to_string());
        let o = StoreOptions {
            dimension: dim,
            metric: Some(metric),
            build_threads: 2,
            ..StoreOptions::default()
        };
        let s = Store::open(&path, &o).unwrap();
        crate::index::hnsw::assert_sound(&s.inner.read().index);
        load(&s, &rows, id);
        for i in (0..3300).filter(|i| i % 3 == 0) {
            s.soft_delete(&id(i)).unwrap();
        }
        let report = s.compact_report_with(super::CompactOptions { force_rebuild: true }).unwrap();
        crate::index::hnsw::assert_sound(&s.inner.read().index);
        assert!(report.graph_outcome.rebuilt, "{report:?}");
        assert_eq!(s.inner.read().index.len(), 2200);
        // The graph's answers against the exact scan.
        let mut hit = 0;
        for q in &queries {
            let exact: Vec<String> = {
                let inner = s.inner.read();
                let mut pq = q.clone();
                if metric == Metric::Cosine {
                    crate::index::distance::normalize(&mut pq);
                }
                crate::index::exact::top_k_slots(metric, &inner.vectors, inner.slots.len(), &pq, 10, |_| true)
                    .iter()
                    .map(|h| inner.slots[h.row].id.clone())
                    .collect()
            };
            let got = s.query(&Query { vector: q, k: 10, ..Default::default() }).unwrap();
            hit += got.iter().filter(|h| exact.contains(&h.id)).count();
        }
        let r = hit as f64 / 500.0;
        assert!(r >= 0.95, "{metric:?}: recall {r}");
        let answers: Vec<_> = queries.iter().map(|q| top(&s, q, 10)).collect();
        drop(s);
        let s = Store::open(&path, &o).unwrap();
        crate::index::hnsw::assert_sound(&s.inner.read().index);
        for (q, want) in queries.iter().zip(&answers) {
            assert_eq!(&top(&s, q, 10), want);
        }
    }
}
