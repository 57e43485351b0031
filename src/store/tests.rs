use super::*;
use crate::error::Code;
use crate::store::options::{StoreOptions, MAX_K};
use std::path::Path;

use crate::storage::snapshot::FileKind;

fn opts(dim: usize, metric: Metric) -> StoreOptions {
    StoreOptions { dimension: dim, metric: Some(metric), ..StoreOptions::default() }
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn upsert_get_query_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &opts(3, Metric::Cosine)).unwrap();
    s.upsert("a", &[1.0, 0.0, 0.0], Some(r#"{"tag":"x"}"#)).unwrap();
    s.upsert("b", &[0.0, 1.0, 0.0], None).unwrap();
    s.upsert("c", &[1.0, 1.0, 0.0], None).unwrap();
    assert_eq!(s.count(), 3);
    let got = s.get("a").unwrap();
    assert_eq!(got.metadata, r#"{"tag":"x"}"#);
    let hits = s.query(&Query { vector: &[2.0, 0.1, 0.0], k: 2, ..Default::default() }).unwrap();
    assert_eq!(ids(&hits), vec!["a", "c"]);
    assert!(hits[0].score > hits[1].score && hits[0].score <= 1.0 + 1e-6);
    s.delete("a").unwrap();
    assert_eq!(s.get("a").unwrap_err().code, Code::NotFound);
    assert_eq!(s.delete("a").unwrap_err().code, Code::NotFound);
    let hits = s.query(&Query { vector: &[2.0, 0.1, 0.0], k: 5, ..Default::default() }).unwrap();
    assert_eq!(ids(&hits), vec!["c", "b"]);
}

#[test]
fn scores_follow_the_documented_formula_per_metric() {
    let dir = tempfile::tempdir().unwrap();
    for (i, metric) in [Metric::Cosine, Metric::Euclidean, Metric::Dot].into_iter().enumerate() {
        let s = Store::open(dir.path().join(i.to_string()), &opts(2, metric)).unwrap();
        s.upsert("p", &[3.0, 4.0], None).unwrap();
        let hit = &s.query(&Query { vector: &[6.0, 8.0], k: 1, ..Default::default() }).unwrap()[0];
        let want = match metric {
            Metric::Cosine => 1.0,
            Metric::Dot => 3.0 * 6.0 + 4.0 * 8.0,
            Metric::Euclidean => 1.0 / (1.0 + 5.0),
        };
        assert!((hit.score - want).abs() < 1e-5, "{metric:?}: {} vs {want}", hit.score);
    }
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &opts(2, Metric::Cosine)).unwrap();
    s.upsert("a", &[1.0, 0.0], None).unwrap();
    let cases: Vec<(Result<()>, Code)> = vec![
        (s.upsert("b", &[1.0, 0.0, 0.0], None), Code::DimensionMismatch),
        (s.upsert("b", &[f32::NAN, 0.0], None), Code::InvalidArgument),
        (s.upsert("b", &[0.0, 0.0], None), Code::InvalidArgument),
        (s.upsert("", &[1.0, 0.0], None), Code::InvalidArgument),
        (s.upsert("a", &[0.0, 1.0], Some("{bad")), Code::InvalidArgument),
        (s.upsert("a", &[0.0, 1.0], Some("[]")), Code::InvalidArgument),
        (
            s.upsert_many(&[
                NewRecord { id: "c", vector: &[1.0, 1.0], metadata: None },
                NewRecord { id: "d", vector: &[1.0, f32::INFINITY], metadata: None },
            ]),
            Code::InvalidArgument,
        ),
    ];
    for (i, (res, code)) in cases.into_iter().enumerate() {
        assert_eq!(res.unwrap_err().code, code, "case {i}");
    }
    assert_eq!(s.count(), 1);
    assert_eq!(s.get("a").unwrap().vector, vec![1.0, 0.0]);
    assert_eq!(s.get("c").unwrap_err().code, Code::NotFound);
    let q =
        |k, v: &[f32]| s.query(&Query { vector: v, k, ..Default::default() }).map(|_| ()).unwrap_err().code;
    assert_eq!(q(0, &[1.0, 0.0]), Code::InvalidArgument);
    assert_eq!(q(MAX_K + 1, &[1.0, 0.0]), Code::InvalidArgument);
    assert_eq!(q(1, &[1.0, 0.0, 0.0]), Code::DimensionMismatch);
    assert_eq!(q(1, &[f32::NAN, 0.0]), Code::InvalidArgument);
}

#[test]
fn data_survives_reopen_and_the_log_is_compacted_on_close() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), &opts(0, Metric::Euclidean)).unwrap();
        let recs: Vec<(String, Vec<f32>)> =
            (0..100).map(|i| (format!("id{i}"), vec![i as f32, 1.0])).collect();
        let batch: Vec<NewRecord> =
            recs.iter().map(|(id, v)| NewRecord { id, vector: v, metadata: Some(r#"{"n":1}"#) }).collect();
        s.upsert_many(&batch).unwrap();
        for i in 0..50 {
            s.delete(&format!("id{i}")).unwrap();
        }
        s.upsert("id99", &[-1.0, -1.0], None).unwrap();
        assert_eq!(s.dimension(), 2);
        s.close().unwrap();
    }
    let size_after_close = std::fs::metadata(dir.path().join("vecstore.log")).unwrap().len();
    let s = Store::open(dir.path(), &opts(0, Metric::Euclidean)).unwrap();
    assert_eq!(s.count(), 50);
    assert_eq!(s.dimension(), 2);
    assert_eq!(s.get("id99").unwrap().vector, vec![-1.0, -1.0]);
    assert_eq!(s.get("id10").unwrap_err().code, Code::NotFound);
    assert_eq!(s.get("id60").unwrap().metadata, r#"{"n":1}"#);
    let hits = s.query(&Query { vector: &[60.2, 1.0], k: 3, ..Default::default() }).unwrap();
    assert_eq!(ids(&hits), vec!["id60", "id61", "id59"]);
    drop(s);
    assert_eq!(std::fs::metadata(dir.path().join("vecstore.log")).unwrap().len(), size_after_close);
}

#[test]
fn reopening_with_other_dimension_or_metric_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), &opts(4, Metric::Dot)).unwrap().close().unwrap();
    let err = Store::open(dir.path(), &opts(5, Metric::Dot)).err().unwrap();
    assert_eq!(err.code, Code::DimensionMismatch);
    let err = Store::open(dir.path(), &opts(4, Metric::Cosine)).err().unwrap();
    assert_eq!(err.code, Code::InvalidArgument);
    let s = Store::open(dir.path(), &opts(0, Metric::Dot)).unwrap();
    assert_eq!(s.dimension(), 4);
}

#[test]
fn a_second_open_is_locked_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let err = Store::open(dir.path(), &StoreOptions::default()).err().unwrap();
    assert_eq!(err.code, Code::Locked);
    drop(s);
    Store::open(dir.path(), &StoreOptions::default()).unwrap();
}

#[test]
fn exact_query_matches_brute_force_on_random_data() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 16;
    let s = Store::open(dir.path(), &opts(dim, Metric::Dot)).unwrap();
    let mut seed = 7u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 2000) as f32 / 1000.0 - 1.0
    };
    let rows: Vec<Vec<f32>> = (0..300).map(|_| (0..dim).map(|_| next()).collect()).collect();
    let names: Vec<String> = (0..rows.len()).map(|i| format!("r{i}")).collect();
    let batch: Vec<NewRecord> =
        names.iter().zip(&rows).map(|(id, v)| NewRecord { id, vector: v, metadata: None }).collect();
    s.upsert_many(&batch).unwrap();
    let q: Vec<f32> = (0..dim).map(|_| next()).collect();
    let mut want: Vec<(f32, usize)> =
        rows.iter().enumerate().map(|(i, v)| (v.iter().zip(&q).map(|(a, b)| a * b).sum(), i)).collect();
    want.sort_by(|a, b| b.0.total_cmp(&a.0));
    let hits = s.query(&Query { vector: &q, k: 10, ..Default::default() }).unwrap();
    let got: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
    let want: Vec<String> = want[..10].iter().map(|w| format!("r{}", w.1)).collect();
    assert_eq!(got, want);
}

#[test]
fn huge_finite_vectors_never_give_infinite_or_nan_scores() {
    let dir = tempfile::tempdir().unwrap();
    let cos = Store::open(dir.path().join("c"), &opts(2, Metric::Cosine)).unwrap();
    cos.upsert("big", &[1e20, 1e20], None).unwrap();
    let hit = &cos.query(&Query { vector: &[3e38, 3e38], k: 1, ..Default::default() }).unwrap()[0];
    assert!((hit.score - 1.0).abs() < 1e-6);
    for metric in [Metric::Dot, Metric::Euclidean] {
        let s = Store::open(dir.path().join(metric.name()), &opts(2, metric)).unwrap();
        assert_eq!(s.upsert("x", &[3e38, 3e38], None).unwrap_err().code, Code::InvalidArgument);
        assert_eq!(s.upsert("x", &[1e19, 0.0], None).unwrap_err().code, Code::InvalidArgument);
        s.upsert("a", &[9e18, 0.0], None).unwrap();
        s.upsert("b", &[-9e18, 0.0], None).unwrap();
        let q = Query { vector: &[-9e18, 0.0], k: 2, ..Default::default() };
        for h in s.query(&q).unwrap() {
            assert!(h.score.is_finite(), "{metric:?}: {h:?}");
            if metric == Metric::Euclidean {
                assert!(h.score > 0.0 && h.score <= 1.0, "{h:?}");
            }
        }
        let big_query = Query { vector: &[3e38, 0.0], k: 1, ..Default::default() };
        assert_eq!(s.query(&big_query).unwrap_err().code, Code::InvalidArgument);
    }
}

#[test]
fn dimension_comes_from_the_log_when_the_meta_file_never_got_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &opts(0, Metric::Dot)).unwrap();
    s.upsert("a", &[1.0, 2.0, 3.0], None).unwrap();
    drop(s);
    // Simulate a crash between the log append and the meta file update of the first write.
    let mut meta = crate::store::meta::Meta::load(dir.path()).unwrap().unwrap();
    meta.dimension = 0;
    meta.save(dir.path()).unwrap();
    let s = Store::open(dir.path(), &opts(0, Metric::Dot)).unwrap();
    assert_eq!(s.dimension(), 3);
    assert_eq!(s.get("a").unwrap().vector, vec![1.0, 2.0, 3.0]);
    drop(s);
    assert_eq!(Store::open(dir.path(), &opts(4, Metric::Dot)).err().unwrap().code, Code::DimensionMismatch);
}

#[test]
fn default_options_reopen_a_store_with_its_own_metric() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), &opts(2, Metric::Euclidean)).unwrap().upsert("a", &[1.0, 1.0], None).unwrap();
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(s.metric(), Metric::Euclidean);
    assert_eq!(s.dimension(), 2);
}

#[test]
fn a_missing_meta_file_with_a_nonempty_log_is_corrupt_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), &opts(2, Metric::Euclidean)).unwrap().upsert("a", &[3.0, 4.0], None).unwrap();
    std::fs::remove_file(dir.path().join("vecstore.meta.json")).unwrap();
    let err = Store::open(dir.path(), &StoreOptions::default()).err().unwrap();
    assert_eq!(err.code, Code::Corrupt);
    assert!(err.message.contains("vecstore.meta.json"), "{}", err.message);
    assert!(!dir.path().join("vecstore.meta.json").exists(), "a failed open must not invent a description");
}

/// Random vectors from a seeded xorshift generator.
fn random_rows(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect()
}

/// A store of `n` random records (past the exact-scan size, so queries go through the graph) whose
/// metadata has `bucket = i % 100`.
fn graph_store(dir: &Path, n: usize, dim: usize) -> (Store, Vec<Vec<f32>>) {
    let o = StoreOptions { ef_construction: 64, build_threads: 2, ..opts(dim, Metric::Euclidean) };
    let s = Store::open(dir, &o).unwrap();
    let rows = random_rows(n, dim, 11);
    let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let metas: Vec<String> = (0..n).map(|i| format!(r#"{{"bucket":{}}}"#, i % 100)).collect();
    let batch: Vec<NewRecord> =
        (0..n).map(|i| NewRecord { id: &names[i], vector: &rows[i], metadata: Some(&metas[i]) }).collect();
    s.upsert_many(&batch).unwrap();
    (s, rows)
}

/// The ids of the `k` rows nearest to `q` (squared euclidean) among those `keep` allows.
fn brute_force(rows: &[Vec<f32>], q: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<String> {
    let mut all: Vec<(f32, usize)> = (0..rows.len())
        .filter(|&i| keep(i))
        .map(|i| (rows[i].iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(), i))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all.iter().take(k).map(|(_, i)| format!("r{i}")).collect()
}

fn recall(found: &[Hit], want: &[String]) -> f64 {
    let hits = found.iter().filter(|h| want.contains(&h.id)).count();
    hits as f64 / want.len().max(1) as f64
}

#[test]
fn graph_search_recall_against_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rows) = graph_store(dir.path(), 6000, 12);
    let queries = random_rows(50, 12, 99);
    let mut total = 0.0;
    for q in &queries {
        let hits = s.query(&Query { vector: q, k: 10, ..Default::default() }).unwrap();
        assert_eq!(hits.len(), 10);
        total += recall(&hits, &brute_force(&rows, q, 10, |_| true));
    }
    let r = total / queries.len() as f64;
    assert!(r >= 0.95, "recall@10 = {r}");
}

#[test]
fn filtered_search_is_exact_about_the_filter_at_every_selectivity() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rows) = graph_store(dir.path(), 6000, 12);
    let queries = random_rows(30, 12, 7);
    for (filter, limit) in [("bucket < 1", 1), ("bucket < 10", 10), ("bucket < 50", 50)] {
        let mut total = 0.0;
        for q in &queries {
            let hits =
                s.query(&Query { vector: q, k: 10, filter: Some(filter), ..Default::default() }).unwrap();
            assert_eq!(hits.len(), 10, "{filter}");
            for h in &hits {
                let i: usize = h.id[1..].parse().unwrap();
                assert!(i % 100 < limit, "{filter} returned {}", h.id);
            }
            total += recall(&hits, &brute_force(&rows, q, 10, |i| i % 100 < limit));
        }
        let r = total / queries.len() as f64;
        assert!(r >= 0.95, "{filter}: recall@10 = {r}");
    }
    // A filter that 3 records pass returns those 3, not fewer and not others.
    let hits = s
        .query(&Query {
            vector: &queries[0],
            k: 10,
            filter: Some("bucket = 7 AND r < 0"),
            ..Default::default()
        })
        .unwrap();
    assert!(hits.is_empty());
    let few =
        s.query(&Query { vector: &queries[0], k: 10, filter: Some("bucket = 7"), ..Default::default() });
    assert_eq!(few.unwrap().len(), 10);
}

#[test]
fn recall_holds_after_deleting_30_percent() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rows) = graph_store(dir.path(), 6000, 12);
    let deleted = |i: usize| i % 10 < 3;
    for i in (0..rows.len()).filter(|&i| deleted(i)) {
        s.delete(&format!("r{i}")).unwrap();
    }
    assert_eq!(s.count(), 4200);
    let queries = random_rows(50, 12, 5);
    let mut total = 0.0;
    for q in &queries {
        let hits = s.query(&Query { vector: q, k: 10, ..Default::default() }).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| !deleted(h.id[1..].parse().unwrap())), "a deleted record came back");
        total += recall(&hits, &brute_force(&rows, q, 10, |i| !deleted(i)));
    }
    let r = total / queries.len() as f64;
    assert!(r >= 0.95, "recall@10 after deletes = {r}");
}

#[test]
fn queries_run_while_other_threads_insert_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = graph_store(dir.path(), 3000, 8);
    let s = std::sync::Arc::new(s);
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for (i, v) in random_rows(300, 8, 100 + w).iter().enumerate() {
                    // Half new records, half replacements of existing ones.
                    let id =
                        if i % 2 == 0 { format!("w{w}-{i}") } else { format!("r{}", i * 7 + w as usize) };
                    s.upsert(&id, v, Some(r#"{"bucket":1}"#)).unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let s = s.clone();
            std::thread::spawn(move || {
                for q in random_rows(200, 8, 200 + r) {
                    let filter = (r == 1).then_some("bucket = 1");
                    let hits = s.query(&Query { vector: &q, k: 10, filter, ..Default::default() }).unwrap();
                    assert_eq!(hits.len(), 10);
                    if filter.is_some() {
                        assert!(hits.iter().all(|h| h.metadata == r#"{"bucket":1}"#));
                    }
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.join().unwrap();
    }
    assert_eq!(s.count(), 3000 + 300);
}

fn answers(s: &Store, queries: &[Vec<f32>], filter: Option<&str>) -> Vec<Vec<(String, u32)>> {
    queries
        .iter()
        .map(|q| {
            let hits = s.query(&Query { vector: q, k: 10, filter, ..Default::default() }).unwrap();
            hits.into_iter().map(|h| (h.id, h.score.to_bits())).collect()
        })
        .collect()
}

#[test]
fn reopening_a_checkpointed_store_gives_identical_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rows) = graph_store(dir.path(), 4000, 8);
    for i in (0..rows.len()).step_by(9) {
        s.delete(&format!("r{i}")).unwrap();
    }
    s.upsert("r1", &rows[2], Some(r#"{"bucket":3}"#)).unwrap();
    let queries = random_rows(20, 8, 3);
    let before = (answers(&s, &queries, None), answers(&s, &queries, Some("bucket < 30")), s.count());
    s.close().unwrap();
    assert!(dir.path().join("vecstore.snapshot.json").exists());
    assert_eq!(std::fs::metadata(dir.path().join("vecstore.log")).unwrap().len(), 16, "the log was emptied");
    // The graph was built with two threads (not reproducible node for node): equal answers mean it
    // was loaded, not rebuilt.
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let after = (answers(&s, &queries, None), answers(&s, &queries, Some("bucket < 30")), s.count());
    assert_eq!(before, after);
    // Writes after the snapshot land in the log and survive an unclean end (no checkpoint): a copy
    // of the directory taken while the store is open is what a crash would leave.
    s.upsert("late", &rows[5], None).unwrap();
    s.delete("r2").unwrap();
    let crashed = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), crashed.path().join(entry.file_name())).unwrap();
    }
    drop(s);
    let s = Store::open(crashed.path(), &StoreOptions::default()).unwrap();
    // (a euclidean store keeps vectors as given)
    assert_eq!(s.get("late").unwrap().vector, rows[5]);
    assert_eq!(s.get("r2").unwrap_err().code, Code::NotFound);
    assert_eq!(s.count(), after.2);
}

#[test]
fn a_size_triggered_checkpoint_and_damaged_snapshot_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions { checkpoint_bytes: 4096, ..opts(4, Metric::Dot) };
    let s = Store::open(dir.path(), &o).unwrap();
    for i in 0..200 {
        s.upsert(&format!("k{i}"), &[i as f32, 1.0, 2.0, 3.0], Some(r#"{"a":1}"#)).unwrap();
    }
    assert!(dir.path().join("vecstore.snapshot.json").exists(), "writes past 4096 bytes checkpointed");
    assert!(std::fs::metadata(dir.path().join("vecstore.log")).unwrap().len() <= 4096 + 200);
    drop(s);
    let s = Store::open(dir.path(), &o).unwrap();
    assert_eq!(s.count(), 200);
    assert_eq!(s.get("k150").unwrap().vector, vec![150.0, 1.0, 2.0, 3.0]);
    drop(s);
    // Damage each snapshot file in turn: opening fails with Corrupt naming it, and works again once
    // the file is restored.
    let manifest = crate::storage::snapshot::read_manifest(dir.path()).unwrap().unwrap();
    for kind in [FileKind::Records, FileKind::Graph, FileKind::Vectors] {
        let path = manifest.file_path(dir.path(), kind);
        let original = std::fs::read(&path).unwrap();
        let mut damaged = original.clone();
        let at = if kind == FileKind::Vectors { 20 } else { damaged.len() - 3 }; // header crc / payload
        damaged[at] ^= 0x40;
        std::fs::write(&path, &damaged).unwrap();
        let err = Store::open(dir.path(), &o).err().expect("damaged snapshot must not open");
        assert_eq!(err.code, Code::Corrupt, "{kind:?}: {}", err.message);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(err.message.contains(name), "{kind:?}: {}", err.message);
        std::fs::write(&path, &original).unwrap();
        assert_eq!(Store::open(dir.path(), &o).unwrap().count(), 200);
    }
}

#[test]
fn a_damaged_middle_log_frame_is_corrupt_and_salvage_keeps_every_other_record() {
    // The report that opened this: 100 single upserts, one bit flipped in the middle of the log; the
    // reopen used to succeed with 49 records and cut the log in half.
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &opts(4, Metric::Cosine)).unwrap();
    let mut frame_starts = Vec::new();
    for i in 0..100 {
        frame_starts.push(s.stats().log_bytes as usize);
        s.upsert(&format!("r{i}"), &[1.0, i as f32, 0.5, 0.25], Some(r#"{"n":1}"#)).unwrap();
    }
    drop(s); // the log is small: closing does not checkpoint, so the 100 frames stay in the log
    let log_path = dir.path().join(crate::storage::log::LOG_FILE);
    let mut bytes = std::fs::read(&log_path).unwrap();
    assert_eq!(bytes.len() as usize, frame_starts[99] + (frame_starts[99] - frame_starts[98]));
    bytes[frame_starts[50] + 30] ^= 0x01;
    std::fs::write(&log_path, &bytes).unwrap();

    let err = Store::open(dir.path(), &StoreOptions::default()).err().expect("damage refuses the open");
    assert_eq!(err.code, Code::Corrupt);
    assert!(err.message.contains(&format!("byte {}", frame_starts[50])), "{}", err.message);
    assert_eq!(std::fs::read(&log_path).unwrap(), bytes, "every later frame is still on disk");

    let salvage = StoreOptions { log_recovery: crate::LogRecovery::Salvage, ..StoreOptions::default() };
    let s = Store::open(dir.path(), &salvage).unwrap();
    assert_eq!(s.count(), 99);
    assert_eq!(s.get("r50").unwrap_err().code, Code::NotFound);
    assert!(s.get("r99").unwrap().vector[1] > 0.0);
    let st = s.stats();
    assert_eq!((st.replayed_frames, st.replay_damaged_regions), (99, 1));
    assert_eq!(st.replay_dropped_bytes as usize, frame_starts[51] - frame_starts[50]);
    let report = s.replay_report();
    assert_eq!(report.damage[0].ops, Some(1));
    assert!(report.damaged_copy.as_ref().is_some_and(|p| std::fs::read(p).unwrap() == bytes));
    drop(s);
    // Salvaged once, the store opens cleanly with the default policy.
    let s = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(s.count(), 99);
    assert_eq!(s.stats().replay_damaged_regions, 0);
}
