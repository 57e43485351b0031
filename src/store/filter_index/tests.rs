//! The metadata index inside the store, checked three ways on every state a store goes through:
//! the index's visible matches, the evaluator's (the acceptance test run on every slot) and a brute
//! force over a model of what the store should hold; and the query results against an exact top-k
//! over the model. Writes cover new records, replacements, soft deletes and restores, metadata
//! updates, deletes, TTL expiry, compaction and reopening.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::filter::tests::{gen_expr, gen_record, naive, render, Gen, Rng};
use crate::filter::Filter;
use crate::store::options::{Metric, StoreOptions};
use crate::store::{Plan, Query, Store};

#[derive(Clone)]
struct Rec {
    vector: Vec<f32>,
    metadata: Map<String, Value>,
    soft_deleted: bool,
    expired: bool,
}

#[derive(Default)]
struct Model {
    recs: BTreeMap<String, Rec>,
}

impl Model {
    fn visible(&self) -> impl Iterator<Item = (&String, &Rec)> {
        self.recs.iter().filter(|(_, r)| !r.soft_deleted && !r.expired)
    }
}

fn opts(dim: usize) -> StoreOptions {
    StoreOptions { dimension: dim, metric: Some(Metric::Euclidean), ..StoreOptions::default() }
}

fn random_vector(rng: &mut Rng, dim: usize) -> Vec<f32> {
    (0..dim).map(|_| (rng.below(2001) as f32 - 1000.0) / 1000.0).collect()
}

fn random_filters(rng: &mut Rng, n: usize) -> Vec<(Gen, Filter, String)> {
    (0..n)
        .map(|_| {
            let g = gen_expr(rng, 3);
            let mut text = String::new();
            render(&g, rng, &mut text);
            let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
            (g, f, text)
        })
        .collect()
}

/// Checks every filter: index == evaluator == brute force, and the query's results are the exact
/// filtered top-k of the model (small stores: every plan is an exact scan, so the ids must agree).
fn check(store: &Store, model: &Model, filters: &[(Gen, Filter, String)], rng: &mut Rng, when: &str) {
    let dim = store.dimension();
    let mut matched_any = 0;
    for (g, f, text) in filters {
        let brute: BTreeSet<String> =
            model.visible().filter(|(_, r)| naive(g, &r.metadata)).map(|(id, _)| id.clone()).collect();
        {
            let inner = store.inner.read();
            let idx = inner.visible_matches(f).expect("the index answers every generated filter");
            let by_index: BTreeSet<String> = idx.iter().map(|s| inner.slots[s as usize].id.clone()).collect();
            let accept = inner.acceptor(Some(f));
            let by_eval: BTreeSet<String> = (0..inner.slots.len() as u32)
                .filter(|&s| accept(s))
                .map(|s| inner.slots[s as usize].id.clone())
                .collect();
            assert_eq!(by_eval, brute, "{when}: evaluator vs brute force for {text}");
            assert_eq!(by_index, brute, "{when}: index vs brute force for {text}");
        }
        matched_any += usize::from(!brute.is_empty());
        let q = random_vector(rng, dim);
        let k = 1 + rng.below(8);
        let hits = store.query(&Query { vector: &q, k, filter: Some(text), ef_search: 0 }).unwrap();
        let mut want: Vec<(f32, &String)> = model
            .visible()
            .filter(|(id, _)| brute.contains(*id))
            .map(|(id, r)| (r.vector.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), id))
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0));
        want.truncate(k);
        assert_eq!(hits.len(), want.len(), "{when}: {text}: k = {k}, {} match", brute.len());
        for (h, (d, id)) in hits.iter().zip(&want) {
            // Equal distances may come in either order: compare the distances, and ids when unique.
            let score = 1.0 / (1.0 + d.sqrt());
            assert!((h.score - score).abs() < 1e-5, "{when}: {text}: {} vs {id}", h.id);
        }
    }
    assert!(matched_any > filters.len() / 4, "{when}: too few filters match anything");
}

/// A random record as a store accepts it: flat (a nested object becomes its value).
fn store_record(rng: &mut Rng) -> Map<String, Value> {
    let mut m = gen_record(rng);
    if let Some(Value::Object(o)) = m.get("o").cloned() {
        m.insert("o".into(), o.get("x").cloned().unwrap_or(Value::Null));
    }
    m
}

fn random_writes(store: &Store, model: &mut Model, rng: &mut Rng, n: usize, next_id: &mut usize) {
    let dim = store.dimension();
    for _ in 0..n {
        let ids: Vec<String> = model.recs.keys().cloned().collect();
        let existing = (!ids.is_empty()).then(|| ids[rng.below(ids.len())].clone());
        match (rng.below(100), existing) {
            (0..=39, _) | (_, None) => {
                let id = format!("r{next_id}");
                *next_id += 1;
                let (vector, metadata) = (random_vector(rng, dim), store_record(rng));
                store.upsert(&id, &vector, Some(&Value::Object(metadata.clone()).to_string())).unwrap();
                model.recs.insert(id, Rec { vector, metadata, soft_deleted: false, expired: false });
            }
            (40..=54, Some(id)) => {
                // A replacement: a new slot, the old one a tombstone, soft delete and TTL cleared.
                let (vector, metadata) = (random_vector(rng, dim), store_record(rng));
                store.upsert(&id, &vector, Some(&Value::Object(metadata.clone()).to_string())).unwrap();
                model.recs.insert(id, Rec { vector, metadata, soft_deleted: false, expired: false });
            }
            (55..=64, Some(id)) => {
                let r = model.recs.get_mut(&id).unwrap();
                assert_eq!(store.soft_delete(&id).is_ok(), !r.soft_deleted);
                r.soft_deleted = true;
            }
            (65..=74, Some(id)) => {
                store.restore(&id).unwrap();
                model.recs.get_mut(&id).unwrap().soft_deleted = false;
            }
            (75..=89, Some(id)) => {
                let r = model.recs.get_mut(&id).unwrap();
                let metadata = store_record(rng);
                let res = store.update_metadata(&id, Some(&Value::Object(metadata.clone()).to_string()));
                assert_eq!(res.is_ok(), !r.soft_deleted);
                if res.is_ok() {
                    r.metadata = metadata;
                }
            }
            (_, Some(id)) => {
                store.delete(&id).unwrap();
                model.recs.remove(&id);
            }
        }
    }
}

#[test]
fn index_evaluator_and_brute_force_agree_through_every_kind_of_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let filters = random_filters(&mut rng, 60);
    let mut model = Model::default();
    let mut next_id = 0;
    let dim = 4;
    let store = Store::open(dir.path(), &opts(dim)).unwrap();
    for round in 0..4 {
        random_writes(&store, &mut model, &mut rng, 150, &mut next_id);
        check(&store, &model, &filters, &mut rng, &format!("round {round}"));
    }

    // TTL: some records expire (invisible at once), one is replaced before expire_ttl_records (the
    // replacement has no TTL), then the others are removed.
    let live: Vec<String> = model.visible().map(|(id, _)| id.clone()).collect();
    let expiring: Vec<String> = live.iter().step_by(3).cloned().collect();
    for id in &expiring {
        store.set_ttl(id, 1).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    for id in &expiring {
        model.recs.get_mut(id).unwrap().expired = true;
    }
    check(&store, &model, &filters, &mut rng, "after expiry");
    let replaced = expiring[0].clone();
    let (vector, metadata) = (random_vector(&mut rng, dim), store_record(&mut rng));
    store.upsert(&replaced, &vector, Some(&Value::Object(metadata.clone()).to_string())).unwrap();
    model.recs.insert(replaced, Rec { vector, metadata, soft_deleted: false, expired: false });
    check(&store, &model, &filters, &mut rng, "after replacing an expired record");
    assert_eq!(store.expire_ttl_records().unwrap() as usize, expiring.len() - 1);
    model.recs.retain(|_, r| !r.expired);
    check(&store, &model, &filters, &mut rng, "after expire_ttl_records");

    // Compaction renumbers the slots (and drops soft-deleted records); the index follows.
    store.compact().unwrap();
    model.recs.retain(|_, r| !r.soft_deleted);
    check(&store, &model, &filters, &mut rng, "after compaction");
    random_writes(&store, &mut model, &mut rng, 100, &mut next_id);
    check(&store, &model, &filters, &mut rng, "after writes following compaction");

    // Reopening rebuilds the index from the snapshot and the log.
    drop(store);
    let store = Store::open(dir.path(), &opts(dim)).unwrap();
    check(&store, &model, &filters, &mut rng, "after reopening");
    random_writes(&store, &mut model, &mut rng, 100, &mut next_id);
    check(&store, &model, &filters, &mut rng, "after writes following reopening");
    assert!(store.stats().filter_index_bytes > 0);
}

/// A store large enough for the graph: broad filters traverse it with the bitmap test, selective
/// ones scan only their matches; both return k results whenever k records match, each passing.
#[test]
fn broad_filters_use_the_graph_and_selective_ones_scan_their_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    let dim = 8;
    let store = Store::open(dir.path(), &opts(dim)).unwrap();
    let n = 5000;
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| random_vector(&mut rng, dim)).collect();
    let records: Vec<(String, String)> =
        (0..n).map(|i| (format!("r{i}"), format!(r#"{{"bucket":{},"tenant":"t{}"}}"#, i % 100, i % 7))).collect();
    let batch: Vec<crate::store::NewRecord<'_>> = records
        .iter()
        .zip(&vectors)
        .map(|((id, m), v)| crate::store::NewRecord { id, vector: v, metadata: Some(m) })
        .collect();
    store.upsert_many(&batch).unwrap();
    for i in (0..n).step_by(10) {
        store.soft_delete(&format!("r{i}")).unwrap();
    }
    for (filter, plan, matches) in [
        ("bucket < 80", Plan::Graph, 4000 - 400),
        ("tenant != 't3'", Plan::Graph, 4286 - 429),
        ("bucket = 7", Plan::ExactScan, 50),
        ("bucket IN (1, 2, 3) AND tenant = 't1'", Plan::ExactScan, 21),
    ] {
        for _ in 0..5 {
            let q = random_vector(&mut rng, dim);
            // At ef 10 the planner scans up to sqrt(4 * 10 * 32 * 5000) = 2530 matches.
            let query = Query { vector: &q, k: 10, filter: Some(filter), ef_search: 10 };
            let hits = store.query_explain(&query).unwrap();
            assert_eq!(hits.len(), 10, "{filter}");
            let stats = hits[0].explanation.graph_stats;
            assert_eq!(stats.plan, plan, "{filter}");
            let f = Filter::parse(filter).unwrap();
            let want_matches = (0..n)
                .filter(|&i| i % 10 != 0 && f.matches(&crate::store::record::parse_metadata(Some(&records[i].1)).unwrap()))
                .count();
            assert!(want_matches.abs_diff(matches) <= 1, "{filter}: {want_matches}");
            assert_eq!(stats.filter_matches, Some(want_matches as u64), "{filter}");
            for h in &hits {
                let i: usize = h.id[1..].parse().unwrap();
                assert!(i % 10 != 0, "{filter}: soft-deleted {} returned", h.id);
                assert!(f.matches(&crate::store::record::parse_metadata(Some(&h.metadata)).unwrap()), "{filter}");
            }
            if plan == Plan::ExactScan {
                assert_eq!(stats.exact_scan_distance_calculations, want_matches as u64);
            }
            let est = store.estimate_query(&query);
            assert!(est.selectivity_exact);
            assert_eq!(est.estimated_matches, want_matches as u64);
            assert_eq!(est.plan, Some(plan));
        }
    }
}

/// Writers and readers at once: every filtered result passes its filter, k results come back while
/// at least k records (written first, never touched) match, and at the end the index agrees with the
/// evaluator.
#[test]
fn the_index_stays_right_under_concurrent_writes_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 4;
    let store = std::sync::Arc::new(Store::open(dir.path(), &opts(dim)).unwrap());
    let mut rng = Rng(0x9E6C_63D0_676A_9A99);
    for i in 0..3000 {
        let v = random_vector(&mut rng, dim);
        store.upsert(&format!("stable{i}"), &v, Some(r#"{"stable":true,"n":1}"#)).unwrap();
    }
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x1234_5678 + w);
                for i in 0..400 {
                    let id = format!("w{w}-{}", rng.below(100));
                    let v = random_vector(&mut rng, dim);
                    let m = format!(r#"{{"n":{},"tags":["a","b{}"]}}"#, i % 5, i % 3);
                    match rng.below(4) {
                        0 | 1 => store.upsert(&id, &v, Some(&m)).unwrap(),
                        2 => {
                            let _ = store.update_metadata(&id, Some(&m));
                        }
                        _ => {
                            let _ = store.soft_delete(&id);
                        }
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0xABCD + r);
                for i in 0..300 {
                    let q = random_vector(&mut rng, dim);
                    let filter = ["stable = true", "n = 1", "tags CONTAINS 'b1' OR stable = true", "n < 3"][i % 4];
                    // ef 10: `stable = true` (3000 matches) takes the graph with the bitmap test.
                    let hits = store.query(&Query { vector: &q, k: 10, filter: Some(filter), ef_search: 10 }).unwrap();
                    let f = Filter::parse(filter).unwrap();
                    assert_eq!(hits.len(), 10, "{filter}");
                    for h in &hits {
                        assert!(f.matches(&crate::store::record::parse_metadata(Some(&h.metadata)).unwrap()));
                    }
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.join().unwrap();
    }
    let inner = store.inner.read();
    for filter in ["stable = true", "n = 1", "tags CONTAINS 'b1'", "n < 3", "NOT tags CONTAINS 'a'"] {
        let f = Filter::parse(filter).unwrap();
        let accept = inner.acceptor(Some(&f));
        let by_eval: roaring::RoaringBitmap = (0..inner.slots.len() as u32).filter(|&s| accept(s)).collect();
        assert_eq!(inner.visible_matches(&f).unwrap(), by_eval, "{filter}");
    }
}
