use super::*;
use crate::store::options::StoreOptions;
use crate::store::NewRecord;

fn store_with(n: usize, dim: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions { dimension: dim, ..StoreOptions::default() }).unwrap();
    let mut seed = 11u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let vecs: Vec<Vec<f32>> = (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let metas: Vec<String> = (0..n).map(|i| format!(r#"{{"bucket":{}}}"#, i % 100)).collect();
    let recs: Vec<NewRecord> =
        (0..n).map(|i| NewRecord { id: &ids[i], vector: &vecs[i], metadata: Some(&metas[i]) }).collect();
    store.upsert_many(&recs).unwrap();
    (dir, store)
}

#[test]
fn invalid_queries_are_reported_not_refused() {
    let (_d, store) = store_with(50, 4);
    let v = [0.5, 0.1, 0.2, 0.3];
    let cases: Vec<(Query, &str, &str)> = vec![
        (Query { vector: &v[..3], k: 5, filter: None, ef_search: 0 }, "dimension_mismatch", "dimension"),
        (Query { vector: &v, k: 0, filter: None, ef_search: 0 }, "invalid_argument", "k must be"),
        (Query { vector: &v, k: 10_001, filter: None, ef_search: 0 }, "invalid_argument", "k must be"),
        (Query { vector: &v, k: 5, filter: Some("bucket >"), ef_search: 0 }, "filter_syntax", "position"),
        (
            Query { vector: &[0.5, f32::NAN, 0.2, 0.3], k: 5, filter: None, ef_search: 0 },
            "invalid_argument",
            "non-finite",
        ),
        (Query { vector: &v, k: 5, filter: None, ef_search: 100_001 }, "invalid_argument", "ef_search"),
    ];
    for (q, code, text) in cases {
        let e = store.estimate_query(&q);
        assert!(!e.valid, "{q:?}");
        assert_eq!(e.error_codes, vec![code], "{q:?}: {:?}", e.errors);
        assert!(e.errors[0].contains(text), "{:?}", e.errors);
        assert_eq!(e.plan, None);
        // The query itself refuses it with the same code.
        let mut refused = QueryEstimate::invalid();
        refused.push_error(store.query(&q).unwrap_err());
        assert_eq!(refused.error_codes, vec![code]);
    }
    // Every problem is reported, not only the first.
    let e = store.estimate_query(&Query { vector: &v[..3], k: 0, filter: Some("("), ef_search: 0 });
    assert_eq!(e.error_codes, vec!["invalid_argument", "filter_syntax", "dimension_mismatch"]);
}

#[test]
fn the_estimate_predicts_the_plan_and_work_of_the_query() {
    let (_d, small) = store_with(500, 8);
    let (_d2, big) = store_with(4000, 8);
    let v = [0.1, -0.2, 0.3, 0.05, 0.0, 0.2, -0.1, 0.4];
    let cases = [
        (&small, None, Plan::ExactScan),
        (&big, None, Plan::Graph),
        // 90% pass: 3600^2 >= 4 * ef 16 * 2M 32 * 4000 slots (the scan would take up to 2862)
        (&big, Some("bucket < 90"), Plan::Graph),
        (&big, Some("bucket = 7"), Plan::ExactScan), // 1% pass: the scan of the 40 matches
    ];
    for (store, filter, plan) in cases {
        let q = Query { vector: &v, k: 10, filter, ef_search: 16 };
        let est = store.estimate_query(&q);
        assert!(est.valid && est.errors.is_empty(), "{est:?}");
        assert_eq!(est.plan, Some(plan), "{filter:?}: {}", est.plan_reason);
        let got = store.query_explain(&q).unwrap()[0].explanation.graph_stats;
        assert_eq!(got.plan, plan);
        let (e, m) = (est.estimated_distance_calculations as f64, got.distance_calculations as f64);
        assert!(e / m < 3.0 && m / e < 3.0, "{filter:?}: estimated {e}, measured {m}");
        if plan == Plan::Graph {
            let (e, m) = (est.estimated_nodes_visited as f64, got.nodes_visited as f64);
            assert!(e / m < 3.0 && m / e < 3.0, "{filter:?}: estimated {e} nodes, measured {m}");
        } else {
            assert_eq!(est.estimated_nodes_visited, 0);
        }
        assert_eq!(est.will_overfetch, filter.is_some() && plan == Plan::Graph);
        assert!(est.estimated_duration_ms > 0.0 && est.cost_estimate > 0.0 && est.cost_estimate <= 1.0);
        assert_eq!(est.ef_search, 16);
    }
    let sel = big.estimate_query(&Query { vector: &v, k: 10, filter: Some("bucket = 7"), ef_search: 16 });
    assert!((sel.estimated_selectivity - 0.01).abs() < 0.01, "{}", sel.estimated_selectivity);
    assert!(sel.recommendations.iter().any(|r| r.contains("selective")), "{:?}", sel.recommendations);
    // The calibration is measured once and then cached.
    let again = big.estimate_query(&Query { vector: &v, k: 10, filter: None, ef_search: 16 });
    assert_eq!(again.calibration_ms, 0.0);
}

#[test]
fn an_empty_store_estimates_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let e = store.estimate_query(&Query { vector: &[1.0, 2.0], k: 3, filter: None, ef_search: 0 });
    assert!(e.valid);
    assert_eq!(e.plan, Some(Plan::Empty));
    assert_eq!(e.estimated_distance_calculations, 0);
}
