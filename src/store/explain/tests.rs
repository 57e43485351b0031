use super::*;
use crate::store::options::StoreOptions;
use crate::store::NewRecord;

fn store_with(n: usize, dim: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions { dimension: dim, ..StoreOptions::default() }).unwrap();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let vecs: Vec<Vec<f32>> = (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let metas: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"bucket":{},"tag":"{}"}}"#, i % 10, if i % 2 == 0 { "even" } else { "odd" }))
        .collect();
    let recs: Vec<NewRecord> =
        (0..n).map(|i| NewRecord { id: &ids[i], vector: &vecs[i], metadata: Some(&metas[i]) }).collect();
    store.upsert_many(&recs).unwrap();
    (dir, store)
}

#[test]
fn explain_returns_what_query_returns_with_real_graph_stats() {
    let (_d, store) = store_with(3000, 8);
    let v = [0.1, -0.2, 0.3, 0.05, 0.0, 0.2, -0.1, 0.4];
    for filter in [None, Some("tag = 'even' OR bucket < 8"), Some("bucket = 4")] {
        let q = Query { vector: &v, k: 10, filter, ef_search: 16 };
        let plain = store.query(&q).unwrap();
        let explained = store.query_explain(&q).unwrap();
        assert_eq!(plain.len(), 10);
        assert_eq!(plain.len(), explained.len());
        for (i, (p, e)) in plain.iter().zip(&explained).enumerate() {
            assert_eq!(p.id, e.id);
            assert_eq!(p.score.to_bits(), e.score.to_bits());
            assert_eq!(p.metadata, e.metadata);
            assert_eq!(e.explanation.rank, i + 1);
            assert_eq!(e.explanation.distance_metric, "Cosine");
            assert!((e.explanation.raw_score - f64::from(p.score)).abs() < 1e-9);
        }
        let gs = explained[0].explanation.graph_stats;
        match filter {
            // 3000 records: the graph answers unfiltered and 90%-selective queries (2700 matches, above
            // the sqrt(4 * ef 16 * 2M 32 * 3000) = 2479 the metadata index's plan would scan) ...
            None | Some("tag = 'even' OR bucket < 8") => {
                assert_eq!(gs.plan, Plan::Graph, "{filter:?}");
                assert!(gs.nodes_visited > 0 && gs.graph_distance_calculations > gs.nodes_visited);
                assert_eq!(gs.exact_scan_distance_calculations, 0);
            }
            // ... a 10% filter is scanned: only its 300 matches, which the metadata index lists.
            _ => {
                assert_eq!(gs.plan, Plan::ExactScan);
                assert_eq!(gs.nodes_visited, 0);
                assert_eq!(gs.distance_calculations, 300);
                assert_eq!(gs.filter_matches, Some(300));
            }
        }
        if let Some(f) = filter {
            for e in &explained {
                let d = e.explanation.filter_details.as_ref().unwrap();
                assert!(d.passed && e.explanation.filter_passed);
                assert_eq!(d.filter_expr, Filter::parse(f).unwrap().to_string());
                let meta: serde_json::Value = serde_json::from_str(&e.metadata).unwrap();
                let even = meta["tag"] == "even";
                let b = meta["bucket"].as_i64().unwrap();
                if f.starts_with("tag") {
                    assert_eq!(d.conditions.len(), 2);
                    assert_eq!(d.conditions[0].matched, even);
                    assert_eq!(d.conditions[1].matched, b < 8);
                    assert!(even || b < 8);
                    assert_eq!(d.matched_conditions.len(), usize::from(even) + usize::from(b < 8));
                } else {
                    assert_eq!(d.matched_conditions, vec!["bucket = 4".to_string()]);
                }
            }
        } else {
            assert!(explained[0].explanation.filter_details.is_none());
        }
    }
}

#[test]
fn the_text_writes_the_score_to_four_decimals() {
    let (_d, store) = store_with(10, 4);
    let q = Query { vector: &[1.0, 0.0, 0.0, 0.0], k: 1, filter: None, ef_search: 0 };
    let mut e = store.query_explain(&q).unwrap().remove(0).explanation;
    for (score, text) in [(0.98766f32, "0.9877"), (-0.5, "-0.5000"), (-0.00004, "0.0000"), (12.5, "12.5000")]
    {
        e.score = score;
        assert!(e.explanation_text().contains(&format!("with score {text} (")), "{}", e.explanation_text());
    }
}

#[test]
fn explain_refuses_what_query_refuses() {
    let (_d, store) = store_with(10, 4);
    for (q, code) in [
        (
            Query { vector: &[1.0, 0.0, 0.0], k: 3, filter: None, ef_search: 0 },
            crate::Code::DimensionMismatch,
        ),
        (
            Query { vector: &[1.0, 0.0, 0.0, 0.0], k: 0, filter: None, ef_search: 0 },
            crate::Code::InvalidArgument,
        ),
        (
            Query { vector: &[1.0, 0.0, 0.0, 0.0], k: 3, filter: Some("a = "), ef_search: 0 },
            crate::Code::FilterSyntax,
        ),
    ] {
        assert_eq!(store.query(&q).unwrap_err().code, code);
        assert_eq!(store.query_explain(&q).unwrap_err().code, code);
    }
    let q = Query { vector: &[1.0, 0.0, 0.0, 0.0], k: 3, filter: None, ef_search: 0 };
    let e = store.query_explain(&q).unwrap();
    assert_eq!(e[0].explanation.graph_stats.plan, Plan::ExactScan);
    assert_eq!(e[0].explanation.graph_stats.distance_calculations, 10);
    let text = e[0].explanation.explanation_text();
    assert!(text.starts_with("Ranked #1 with score"), "{text}");
    assert!(text.ends_with("Exact scan: 10 distance calculations."), "{text}");
    let json = serde_json::to_value(&e[0].explanation).unwrap();
    assert_eq!(json["explanation_text"], text);
    assert_eq!(json["graph_stats"]["plan"], "exact_scan");
    assert_eq!(json["rank"], 1);
}
