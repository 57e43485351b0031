//! The README's "Using it from Rust" program (the README's block is this file's text from `use` on;
//! a unit test checks it). Run it in an empty directory: it creates `./data`.

use std::collections::HashMap;

use vecstore::{parse_filter, BatchOperation, Metadata, Query, VecStore};

fn main() -> vecstore::Result<()> {
    let mut store = VecStore::open("./data")?;

    // The guide's batch quick start: one write lock, one log append, a report per operation.
    let operations = vec![
        BatchOperation::Upsert {
            id: "doc1".into(),
            vector: vec![0.1, 0.2, 0.3],
            metadata: Metadata { fields: HashMap::new() },
        },
        BatchOperation::Upsert {
            id: "doc2".into(),
            vector: vec![0.3, 0.2, 0.1],
            metadata: Metadata::new().with("category", "tech").with("year", 2024),
        },
        BatchOperation::SoftDelete { id: "doc3".into() },
    ];
    let result = store.batch_execute(operations)?;
    println!("✅ {}, ❌ {}", result.succeeded, result.failed); // ✅ 2, ❌ 1
    for e in &result.errors {
        println!("#{} {}: {} ({})", e.index, e.operation, e.error, e.code); // #2 soft_delete(doc3): record not found: doc3 (not_found)
    }

    // One record at a time: ids are anything Into<String>, vectors Vec<f32>, metadata a map.
    store.upsert("doc4", vec![0.2, 0.2, 0.1], Metadata::new().with("category", "tech"))?;

    // Validate and estimate, then run: the filter is parsed once, errors name the position.
    let query =
        Query { vector: vec![0.1, 0.2, 0.3], k: 10, filter: Some(parse_filter("category = 'tech'")?) };
    let estimate = store.estimate_query(&query);
    assert!(estimate.valid, "{:?}", estimate.errors);
    println!("plan {:?}, cost {:.3}, {:?}", estimate.plan, estimate.cost_estimate, estimate.recommendations);

    for r in store.query_explain(query)? {
        println!("{} {:.4} {:?}", r.id, r.score, r.metadata.get("category"));
        println!("  {}", r.explanation.explanation_text);
    }
    Ok(())
}
