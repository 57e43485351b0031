use super::*;
use crate::store::compact::CompactionConfig;
use crate::store::options::StoreOptions;

#[test]
fn the_thread_expires_and_compacts_within_a_few_intervals_and_stops_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(dir.path(), &StoreOptions { dimension: 2, ..Default::default() }).unwrap());
    store.upsert_with_ttl("short", &[1.0, 0.0], None, 1).unwrap();
    store.upsert("stays", &[0.0, 1.0], None).unwrap();
    store
        .set_compaction_config(CompactionConfig {
            enabled: true,
            min_deleted_records: 1,
            min_deleted_ratio: 1.0,
        })
        .unwrap();
    let m = Maintenance::start(&store, Duration::from_millis(20)).unwrap();
    let start = Instant::now();
    // The TTL ends within 2 s (it is rounded up to whole seconds); then one run expires it and
    // compacts the tombstone away.
    while m.status().compactions == 0 {
        assert!(start.elapsed() < Duration::from_secs(6), "no compaction yet: {:?}", m.status());
        std::thread::sleep(Duration::from_millis(10));
    }
    let st = m.status();
    assert_eq!((st.expired, st.removed, st.errors, st.interval_ms), (1, 0, 0, 20), "{st:?}");
    assert!(st.runs >= 2, "{st:?}");
    assert_eq!(store.get("short").unwrap_err().code, Code::NotFound);
    assert_eq!(store.count(), 1);
    assert_eq!(store.stats().tombstones, 0);
    let t = Instant::now();
    let last = m.stop();
    assert!(t.elapsed() < Duration::from_millis(500), "stop took {:?}", t.elapsed());
    assert!(last.runs >= st.runs);

    // A long interval does not delay a stop: the condition variable wakes the thread.
    let m = Maintenance::start(&store, Duration::from_secs(3600)).unwrap();
    let t = Instant::now();
    drop(m);
    assert!(t.elapsed() < Duration::from_millis(500), "drop took {:?}", t.elapsed());
    assert_eq!(Maintenance::start(&store, Duration::ZERO).unwrap_err().code, Code::InvalidArgument);

    // The thread holds no strong reference between runs: the store closes when its owner
    // drops it (the directory can be opened again), and the thread then ends by itself.
    let m = Maintenance::start(&store, Duration::from_millis(5)).unwrap();
    drop(store);
    let again = Store::open(dir.path(), &StoreOptions::default());
    let again = match again {
        Ok(s) => s,
        Err(_) => {
            // A run may have held the store for a moment: it is released right after.
            std::thread::sleep(Duration::from_millis(100));
            Store::open(dir.path(), &StoreOptions::default()).unwrap()
        }
    };
    assert_eq!(again.count(), 1);
    let t = Instant::now();
    drop(m);
    assert!(t.elapsed() < Duration::from_millis(500));
}
