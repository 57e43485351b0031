//! Every Rust snippet of the feature guide (FEATURES.md), as written, run one after the other.
//!
//! Each function below holds one snippet between `// guide:` and `// end of snippet` markers,
//! character for character (`#[rustfmt::skip]` keeps it so; a unit test, `api::tests::
//! guide_snippets_are_in_the_example`, checks it against the guide). Everything else is the glue the
//! guide leaves out, marked `// glue`: imports, `main`, values for the guide's `...` and for the
//! variables a snippet takes as given (`metadata`, `query`, `id`...), the records a snippet expects
//! to exist (`doc-456`, the backup `old-backup-2025-10-01`), and checks that each snippet did what the
//! guide says.
//!
//! The snippets open `./data` and `./namespaces`: `main` first moves into a new temporary directory.
//! Run with `cargo run --release --example guide` (part of `make test`).

use std::error::Error;
use std::time::Duration;

use vecstore::{Code, Metadata, Query, VecStore};

type Res = Result<(), Box<dyn Error>>;

// ---------------------------------------------------------------------------------------------------
// Multi-Tenant Namespaces / Programmatic API
// ---------------------------------------------------------------------------------------------------

// glue: the guide passes namespace ids as `&String`, which clippy would shorten.
#[allow(clippy::unnecessary_to_owned)]
#[rustfmt::skip]
fn namespaces_programmatic_api(metadata: Metadata, query: Query) -> Res {
    // guide:
    use vecstore::{NamespaceManager, NamespaceQuotas};

    let manager = NamespaceManager::new("./namespaces")?;

    // Create namespace with quotas
    manager.create_namespace(
        "customer-123",
        "Acme Corp",
        Some(NamespaceQuotas {
            max_vectors: Some(1_000_000),
            max_requests_per_second: Some(100.0),
            ..Default::default()
        }),
    )?;

    // Upsert to namespace
    manager.upsert(
        &"customer-123".to_string(),
        "doc1".to_string(),
        vec![0.1, 0.2, 0.3],
        metadata,
    )?;

    // Query within namespace
    let results = manager.query(&"customer-123".to_string(), query)?;

    // Get statistics
    let stats = manager.get_stats(&"customer-123".to_string())?;
    println!("Vectors: {}", stats.vector_count);
    // end of snippet

    // glue
    assert_eq!(stats.vector_count, 1);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].id, "doc1");
    assert_eq!(results[0].metadata.get("category"), Some(&"tech".into()));
    let quotas = manager.get_namespace("customer-123")?.quotas;
    assert_eq!((quotas.max_vectors, quotas.max_requests_per_second), (1_000_000, 100.0));
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Batch Operations / Quick Start
// ---------------------------------------------------------------------------------------------------

#[rustfmt::skip]
fn batch_operations() -> Res {
    use std::collections::HashMap; // glue

    // guide:
    use vecstore::{VecStore, BatchOperation, Metadata};

    let mut store = VecStore::open("./data")?;

    let operations = vec![
        BatchOperation::Upsert {
            id: "doc1".into(),
            vector: vec![0.1, 0.2, 0.3],
            metadata: Metadata { fields: HashMap::new() },
        },
        BatchOperation::Delete { id: "doc2".into() },
        BatchOperation::SoftDelete { id: "doc3".into() },
        BatchOperation::Restore { id: "doc4".into() },
        BatchOperation::UpdateMetadata {
            id: "doc5".into(),
            metadata: Metadata { fields: HashMap::new() },
        },
    ];

    let result = store.batch_execute(operations)?;
    println!("✅ {}, ❌ {}", result.succeeded, result.failed);
    // end of snippet

    // glue: `seed` wrote doc2, doc3 and doc5 and soft-deleted doc4, so every operation applies.
    assert_eq!((result.succeeded, result.failed), (5, 0), "{:?}", result.errors);
    assert_eq!(store.get("doc2").unwrap_err().code, Code::NotFound);
    assert_eq!(store.get("doc3").unwrap_err().code, Code::NotFound); // soft-deleted: invisible
    assert!(store.get("doc4").is_ok()); // restored
    assert!(store.get("doc5")?.metadata.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Query Validation & Cost Estimation / Quick Start
// ---------------------------------------------------------------------------------------------------

#[rustfmt::skip]
fn query_validation() -> Res {
    use vecstore::parse_filter; // glue

    // guide:
    use vecstore::{VecStore, Query};

    let store = VecStore::open("./data")?;

    let query = Query {
        vector: vec![0.1, 0.2, 0.3],
        k: 100,
        filter: Some(parse_filter("category = 'tech'")?),
    };

    // Validate before executing
    let estimate = store.estimate_query(&query);

    if !estimate.valid {
        eprintln!("❌ Query errors: {:?}", estimate.errors);
        return Err(format!("the guide's query is invalid: {:?}", estimate.errors).into());
    }

    println!("💰 Cost: {:.2}", estimate.cost_estimate);
    println!("⏱️  Duration: {:.2}ms", estimate.estimated_duration_ms);
    println!("💡 Tips: {:?}", estimate.recommendations);

    // Now run the actual query
    let results = store.query(query)?;
    // end of snippet

    // glue: half of the seeded records are 'tech'; the other half never come back.
    assert_eq!(results.len(), SEEDED / 2);
    assert!(results.iter().all(|r| r.metadata.get("category") == Some(&"tech".into())));
    assert!((0.0..=1.0).contains(&estimate.cost_estimate));
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Auto-Compaction / Quick Start, then Manual Compaction
// ---------------------------------------------------------------------------------------------------

// glue: the guide ignores set_compaction_config's Result (the setting is saved with the store, which
// can fail); the glue below checks that it took effect.
#[allow(unused_must_use)]
#[rustfmt::skip]
fn auto_compaction() -> Res {
    // guide:
    use vecstore::{VecStore, CompactionConfig};

    let mut store = VecStore::open("./data")?;

    // Configure auto-compaction
    store.set_compaction_config(CompactionConfig {
        enabled: true,
        min_deleted_records: 1000,     // Trigger after 1000 deletions
        min_deleted_ratio: 0.1,        // OR when 10% deleted
    });

    // Check and compact if needed (call periodically)
    let result = store.maybe_compact()?;

    if result.triggered {
        println!("🧹 Compacted {} records in {:.2}ms",
                 result.removed_count, result.duration_ms);
    } else {
        println!("ℹ️  {}", result.reason);
    }
    // end of snippet

    // glue
    assert!(store.compaction_config()?.enabled);
    assert!(!result.reason.is_empty());
    // Manual compaction, on a store with one soft-deleted record left (doc3, from the batch) unless
    // maybe_compact just removed it.
    let before = store.stats()?.soft_deleted as u64;
    let removed = manual_compaction(&mut store)?;
    assert_eq!(removed, before);
    assert_eq!(store.stats()?.soft_deleted, 0);
    Ok(())
}

#[rustfmt::skip]
fn manual_compaction(store: &mut VecStore) -> Result<u64, Box<dyn Error>> {
    // guide:
    // Always compact (ignores thresholds)
    let removed = store.compact()?;
    println!("Removed {} records", removed);
    // end of snippet
    Ok(removed) // glue
}

// ---------------------------------------------------------------------------------------------------
// TTL (Time-To-Live) / Quick Start, then the Background Task Example
// ---------------------------------------------------------------------------------------------------

#[rustfmt::skip]
fn ttl() -> Res {
    use std::collections::HashMap; // glue

    // guide:
    use vecstore::{VecStore, Metadata};

    let mut store = VecStore::open("./data")?;

    // Insert with TTL (expires in 1 hour)
    store.upsert_with_ttl(
        "session-123",
        vec![0.1, 0.2, 0.3],
        Metadata { fields: HashMap::new() },
        3600  // TTL in seconds
    )?;

    // Set TTL on existing record
    store.set_ttl("doc-456", 7200)?;  // 2 hours

    // Expire TTL records (call periodically)
    let expired = store.expire_ttl_records()?;
    println!("⏰ Expired {} records", expired);

    // Optional: Compact after expiration
    if expired > 100 {
        store.maybe_compact()?;
    }
    // end of snippet

    // glue: nothing has expired yet; both records are still there.
    assert_eq!(expired, 0);
    assert!(store.get("session-123").is_ok() && store.get("doc-456").is_ok());
    Ok(())
}

#[rustfmt::skip]
async fn background_task(mut store: VecStore) -> Res {
    // guide:
    use tokio::time::{interval, Duration};

    // Run every hour
    let mut timer = interval(Duration::from_secs(3600));

    loop {
        timer.tick().await;

        // Expire TTL records
        let expired = store.expire_ttl_records()?;

        // Auto-compact if needed
        store.maybe_compact()?;

        println!("Maintenance: {} expired", expired);
    }
    // end of snippet
}

/// glue: runs the hourly loop for three (virtual) hours on tokio's paused clock, after writing a
/// record that has expired by then.
fn background_task_example() -> Res {
    let mut store = VecStore::open("./data")?;
    store.upsert_with_ttl("short-lived", vec![0.3, 0.1, 0.2], Metadata::default(), 1)?;
    // Expiry is in whole seconds of the wall clock: 2.1 s later the record has expired.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(store.get("short-lived").unwrap_err().code, Code::NotFound); // already invisible
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
    let hours =
        async { tokio::time::timeout(Duration::from_secs(3 * 3600 + 1), background_task(store)).await };
    match runtime.block_on(hours) {
        Err(_three_hours_passed) => {}
        Ok(ended) => return Err(format!("the maintenance loop stopped: {ended:?}").into()),
    }
    let store = VecStore::open("./data")?; // the loop's store was dropped with its task
    assert_eq!(store.stats()?.expired, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Backup & Restore / Quick Start
// ---------------------------------------------------------------------------------------------------

/// glue: the backup the snippet deletes.
fn prepare_old_backup() -> Res {
    let manager = vecstore::NamespaceManager::new("./namespaces")?;
    manager.backup_namespace("customer-123", "old-backup-2025-10-01")?;
    Ok(())
}

#[rustfmt::skip]
fn backup_restore() -> Res {
    // guide:
    use vecstore::NamespaceManager;

    let manager = NamespaceManager::new("./namespaces")?;

    // Create backup
    manager.backup_namespace(
        "customer-123",
        "daily-backup-2025-10-19"
    )?;

    // List backups
    let backups = manager.list_namespace_backups("customer-123")?;
    for (name, created_at, count) in backups {
        println!("{}: {} vectors at {}", name, count, created_at);
    }

    // Restore from backup
    manager.restore_namespace(
        "customer-123",
        "daily-backup-2025-10-19"
    )?;

    // Delete old backup
    manager.delete_namespace_backup(
        "customer-123",
        "old-backup-2025-10-01"
    )?;
    // end of snippet

    // glue
    let left: Vec<String> =
        manager.list_namespace_backups("customer-123")?.into_iter().map(|(name, _, _)| name).collect();
    assert_eq!(left, ["daily-backup-2025-10-19"]);
    assert_eq!(manager.get_stats("customer-123")?.vector_count, 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Query Explain / Quick Start
// ---------------------------------------------------------------------------------------------------

#[rustfmt::skip]
fn query_explain() -> Res {
    use vecstore::parse_filter; // glue

    // guide:
    use vecstore::{VecStore, Query};

    let store = VecStore::open("./data")?;

    let query = Query {
        vector: vec![0.1, 0.2, 0.3],
        k: 10,
        filter: Some(parse_filter("category = 'tech'")?),
    };

    // Get explained results
    let explained_results = store.query_explain(query)?;

    for result in explained_results {
        println!("Result: {}", result.id);
        println!("  Score: {}", result.score);
        println!("  Rank: #{}", result.explanation.rank);
        println!("  Explanation: {}", result.explanation.explanation_text);
    }
    // end of snippet

    // glue
    let again = store.query_explain(Query {
        vector: vec![0.1, 0.2, 0.3],
        k: 10,
        filter: Some(parse_filter("category = 'tech'")?),
    })?;
    assert_eq!(again.len(), 10);
    for (i, r) in again.iter().enumerate() {
        assert_eq!(r.explanation.rank, i + 1);
        assert!(r.explanation.explanation_text.starts_with(&format!("Ranked #{} with score", i + 1)));
        let details = r.explanation.filter_details.as_ref().expect("a filtered query explains its filter");
        assert_eq!(details.filter_expr, "category = 'tech'");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Production Deployment / Complete Production Example
// ---------------------------------------------------------------------------------------------------

// glue: as in auto_compaction, the guide ignores set_compaction_config's Result; checked after.
#[allow(unused_must_use)]
#[rustfmt::skip]
fn production_deployment() -> Res {
    use vecstore::{parse_filter, Metadata, Query}; // glue

    // guide:
    use vecstore::{VecStore, CompactionConfig, BatchOperation};
    use tokio::time::{interval, Duration};

    #[tokio::main]
    async fn main() -> anyhow::Result<()> {
        // 1. Open store with auto-compaction
        let mut store = VecStore::open("./data")?;
        store.set_compaction_config(CompactionConfig {
            enabled: true,
            min_deleted_records: 1000,
            min_deleted_ratio: 0.1,
        });

        // 2. Batch insert with TTL for session data
        let operations = vec![
            BatchOperation::Upsert {
                id: "session-1".into(),
                vector: vec![0.1, 0.2, 0.3],
                metadata: Metadata::default(),
            },
            // ... more operations
        ];
        let result = store.batch_execute(operations)?;
        println!("Batch: {} succeeded", result.succeeded);

        // Set TTL on session data (1 hour)
        store.set_ttl("session-1", 3600)?;

        // 3. Validate queries before execution
        let query = Query {
            vector: vec![0.1, 0.2, 0.3],
            k: 100,
            filter: Some(parse_filter("active = true")?),
        };

        let estimate = store.estimate_query(&query);
        if estimate.cost_estimate > 0.5 {
            println!("⚠️  High-cost query: {:.2}", estimate.cost_estimate);
        }

        // 4. Background maintenance task
        let mut timer = interval(Duration::from_secs(3600));
        tokio::spawn(async move {
            loop {
                timer.tick().await;

                // Expire TTL records
                if let Ok(expired) = store.expire_ttl_records() {
                    println!("⏰ Expired {} records", expired);
                }

                // Auto-compact if needed
                if let Ok(result) = store.maybe_compact() {
                    if result.triggered {
                        println!("🧹 Compacted {} records", result.removed_count);
                    }
                }
            }
        });

        Ok(())
    }
    // end of snippet

    // glue: the program's main returns at once; its runtime then drops the task, and the store
    // with it.
    main()?;
    let store = VecStore::open("./data")?;
    assert!(store.compaction_config()?.enabled);
    assert!(store.get("session-1").is_ok());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Migration Guide: Existing Deployments, then Adopting New Features (steps 1 to 4)
// ---------------------------------------------------------------------------------------------------

#[rustfmt::skip]
fn migration_existing(id: String, vector: Vec<f32>, metadata: Metadata, query: Query) -> Res {
    // guide:
    // Existing code works unchanged
    let mut store = VecStore::open("./data")?;
    store.upsert(id, vector, metadata)?;
    let results = store.query(query)?;
    // end of snippet

    // glue
    assert_eq!(results[0].id, "migrated");
    let query = Query { vector: vec![0.9, 0.1, 0.1], k: 5, filter: None };
    adopting_new_features(&mut store, query, "expiring".to_string(), vec![0.5, 0.5, 0.1], Metadata::default(), 60)
}

#[allow(unused_must_use)] // glue: step 1 ignores set_compaction_config's Result, as above
#[rustfmt::skip]
fn adopting_new_features(
    store: &mut VecStore,
    query: Query,
    id: String,
    vector: Vec<f32>,
    metadata: Metadata,
    ttl_seconds: u64,
) -> Res {
    use vecstore::CompactionConfig; // glue

    // guide:
    store.set_compaction_config(CompactionConfig {
        enabled: true,
        min_deleted_records: 1000,
        min_deleted_ratio: 0.1,
    });
    // end of snippet

    // guide:
    let operations = vec![/* ... */];
    let result = store.batch_execute(operations)?;
    // end of snippet
    assert_eq!((result.succeeded, result.failed), (0, 0)); // glue

    // guide:
    let estimate = store.estimate_query(&query);
    if !estimate.valid {
        return Err(format!("invalid query: {:?}", estimate.errors).into());
    }
    // end of snippet

    // guide:
    store.upsert_with_ttl(id, vector, metadata, ttl_seconds)?;
    store.expire_ttl_records()?;
    // end of snippet

    // glue
    assert!(store.get("expiring").is_ok());
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// glue: the program
// ---------------------------------------------------------------------------------------------------

/// Records the snippets read: SEEDED records, half of them 'tech', all `active`; doc2, doc3 and doc5
/// live and doc4 soft-deleted (the batch snippet deletes, soft-deletes, restores and updates them);
/// doc-456 (the TTL snippet sets its TTL).
const SEEDED: usize = 40;

fn seed() -> Res {
    let mut store = VecStore::open("./data")?;
    store.upsert_many((0..SEEDED).map(|i| {
        let category = if i % 2 == 0 { "tech" } else { "science" };
        let x = i as f32 / SEEDED as f32;
        (
            format!("seed-{i}"),
            vec![0.1 + x, 0.2, 0.3 - x / 2.0],
            Metadata::new().with("category", category).with("active", true),
        )
    }))?;
    for id in ["doc2", "doc3", "doc4", "doc5", "doc-456"] {
        store.upsert(id, vec![0.3, 0.2, 0.1], Metadata::new().with("category", "other"))?;
    }
    store.soft_delete("doc4")?;
    Ok(())
}

fn main() -> Res {
    let dir = tempfile::tempdir()?;
    std::env::set_current_dir(dir.path())?;
    seed()?;

    // The values the namespace snippet takes as given.
    let metadata = Metadata::new().with("category", "tech");
    let query = Query { vector: vec![0.1, 0.2, 0.3], k: 10, filter: None };
    namespaces_programmatic_api(metadata, query)?;
    batch_operations()?;
    query_validation()?;
    auto_compaction()?;
    ttl()?;
    background_task_example()?;
    prepare_old_backup()?;
    backup_restore()?;
    query_explain()?;
    production_deployment()?;
    let query = Query { vector: vec![0.9, 0.1, 0.1], k: 1, filter: None };
    migration_existing("migrated".to_string(), vec![0.9, 0.1, 0.1], Metadata::default(), query)?;

    std::env::set_current_dir(std::env::temp_dir())?; // leave the directory before removing it
    println!("every Rust snippet of the guide ran");
    Ok(())
}
