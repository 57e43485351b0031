use super::*;
use crate::store::{NewRecord, Query};
use std::collections::BTreeSet;

fn opts() -> StoreOptions {
    StoreOptions { dimension: 3, ..StoreOptions::default() }
}

fn q(max_vectors: u64, max_storage_bytes: u64, rps: f64) -> Quotas {
    Quotas { max_vectors, max_storage_bytes, max_requests_per_second: rps }
}

fn upsert(ns: &Namespace, id: &str, v: [f32; 3]) -> Result<()> {
    ns.call(RequestKind::Write, |s| s.upsert(id, &v, None))
}

fn ids(ns: &Namespace) -> Vec<String> {
    let mut hits = ns
        .call(RequestKind::Query, |s| {
            s.query(&Query { vector: &[1.0, 0.5, 0.25], k: 100, ..Query::default() })
        })
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect::<Vec<_>>();
    hits.sort();
    hits
}

#[test]
fn namespaces_persist_with_their_settings_and_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
        m.create("a", "Tenant A", &q(10, 0, 0.0)).unwrap();
        m.create("b.2", "B", &Quotas::default()).unwrap();
        m.set_status("b.2", Status::Suspended).unwrap();
        upsert(&m.namespace("a").unwrap(), "x", [1.0, 0.0, 0.0]).unwrap();
        assert_eq!(m.create("a", "again", &Quotas::default()).unwrap_err().code, Code::AlreadyExists);
        m.close().unwrap();
    }
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    let list = m.list();
    assert_eq!(list.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "b.2"]);
    assert_eq!(list[0].name, "Tenant A");
    assert_eq!(list[0].quotas, q(10, 0, 0.0));
    assert_eq!(list[1].status, Status::Suspended);
    assert_eq!(ids(&m.namespace("a").unwrap()), ["x"]);
    let e = m.namespace("b.2").unwrap().call(RequestKind::Read, |s| Ok(s.count())).unwrap_err();
    assert_eq!(e.code, Code::NamespaceSuspended);
    m.set_status("b.2", Status::Active).unwrap();
    assert_eq!(m.namespace("b.2").unwrap().call(RequestKind::Read, |s| Ok(s.count())).unwrap(), 0);
    assert_eq!(m.get("nope").unwrap_err().code, Code::NotFound);
    assert_eq!(m.get("../a").unwrap_err().code, Code::InvalidArgument);
    // A second manager on the same root is refused.
    assert_eq!(NamespaceManager::open(dir.path(), &opts()).err().unwrap().code, Code::Locked);
}

#[test]
fn namespaces_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("a", "", &Quotas::default()).unwrap();
    m.create("b", "", &Quotas::default()).unwrap();
    let (a, b) = (m.namespace("a").unwrap(), m.namespace("b").unwrap());
    upsert(&a, "same", [1.0, 0.0, 0.0]).unwrap();
    upsert(&b, "same", [0.0, 1.0, 0.0]).unwrap();
    upsert(&b, "other", [0.0, 0.0, 1.0]).unwrap();
    assert_eq!(ids(&a), ["same"]);
    assert_eq!(ids(&b), ["other", "same"]);
    let va = a.call(RequestKind::Read, |s| s.get("same")).unwrap().vector;
    assert_eq!(va, [1.0, 0.0, 0.0]);
}

#[test]
fn max_vectors_refuses_growth_as_a_whole_but_not_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &q(3, 0, 0.0)).unwrap();
    let ns = m.namespace("t").unwrap();
    upsert(&ns, "a", [1.0, 0.0, 0.0]).unwrap();
    upsert(&ns, "b", [0.0, 1.0, 0.0]).unwrap();
    // 2 + 2 new > 3: the whole bulk write is refused.
    let v = [0.5f32, 0.5, 0.0];
    let recs = [
        NewRecord { id: "a", vector: &v, metadata: None },
        NewRecord { id: "c", vector: &v, metadata: None },
        NewRecord { id: "d", vector: &v, metadata: None },
    ];
    let e = ns.call(RequestKind::Write, |s| s.upsert_many(&recs)).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert!(e.message.contains("max_vectors is 3"), "{}", e.message);
    assert_eq!(ids(&ns), ["a", "b"]);
    // Exactly up to the limit is fine; then replacing is fine, adding is not.
    ns.call(RequestKind::Write, |s| s.upsert_many(&recs[..2])).unwrap();
    upsert(&ns, "a", [0.0, 0.0, 1.0]).unwrap();
    assert_eq!(upsert(&ns, "e", [0.0, 0.0, 1.0]).unwrap_err().code, Code::QuotaExceeded);
    // A delete makes room.
    ns.call(RequestKind::Write, |s| s.delete("b")).unwrap();
    upsert(&ns, "e", [0.0, 0.0, 1.0]).unwrap();
    // Raising the quota applies at once, and survives a reopen.
    m.update_quotas("t", &q(4, 0, 0.0)).unwrap();
    upsert(&ns, "f", [0.0, 0.0, 1.0]).unwrap();
    assert_eq!(upsert(&ns, "g", [0.0, 0.0, 1.0]).unwrap_err().code, Code::QuotaExceeded);
    let st = m.stats("t").unwrap();
    assert_eq!(st.vector_count, 4);
    let write = st.requests.iter().find(|(k, _)| *k == RequestKind::Write).unwrap().1;
    assert_eq!(write.refused, 3);
    assert_eq!(write.served, 7);
}

#[test]
fn max_storage_bytes_is_measured_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let ns = m.namespace("t").unwrap();
    upsert(&ns, "a", [1.0, 0.0, 0.0]).unwrap();
    let used = m.stats("t").unwrap().storage_bytes;
    assert!(used > 0);
    // Room for roughly one more record of this size, not ten.
    let one = {
        upsert(&ns, "b", [1.0, 0.0, 0.0]).unwrap();
        m.stats("t").unwrap().storage_bytes - used
    };
    let now = m.stats("t").unwrap().storage_bytes;
    m.update_quotas("t", &q(0, now + one + one / 2, 0.0)).unwrap();
    upsert(&ns, "c", [1.0, 0.0, 0.0]).unwrap();
    let e = upsert(&ns, "d", [1.0, 0.0, 0.0]).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert!(e.message.contains("max_storage_bytes"), "{}", e.message);
    assert_eq!(ids(&ns), ["a", "b", "c"]);
    let st = m.stats("t").unwrap();
    assert!(st.storage_bytes <= now + one + one / 2);
    // The on-disk measure matches the files.
    let files: u64 = std::fs::read_dir(dir.path().join("ns/t"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "LOCK")
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(st.storage_bytes, files);
}

#[test]
fn the_rate_limit_refuses_calls_past_the_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &q(0, 0, 3.0)).unwrap();
    let ns = m.namespace("t").unwrap();
    let results: Vec<_> = (0..10).map(|_| ns.call(RequestKind::Read, |s| Ok(s.count()))).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    // 3 tokens, plus at most one refilled if the loop were slow (it is not, but never flaky).
    assert!((3..=4).contains(&ok), "{ok}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code == Code::RateLimited));
    let read = m.stats("t").unwrap().requests[1].1;
    assert_eq!((read.served, read.refused), (ok as u64, 10 - ok as u64));
    assert!(m.stats("t").unwrap().last_activity_at.is_some());
    // Unlimited again.
    m.update_quotas("t", &Quotas::default()).unwrap();
    assert!((0..100).all(|_| ns.call(RequestKind::Read, |s| Ok(s.count())).is_ok()));
    let bad = q(0, 0, f64::NAN);
    assert_eq!(m.update_quotas("t", &bad).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(m.create("u", "", &q(0, 0, -1.0)).unwrap_err().code, Code::InvalidArgument);
}

#[test]
fn a_deleted_namespace_never_serves_through_old_handles() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let old = m.namespace("t").unwrap();
    upsert(&old, "a", [1.0, 0.0, 0.0]).unwrap();
    m.backup("t", "b1").unwrap();
    m.delete("t").unwrap();
    assert!(!dir.path().join("ns/t").exists());
    assert!(!dir.path().join("backups/t").exists());
    let e = upsert(&old, "b", [1.0, 0.0, 0.0]).unwrap_err();
    assert_eq!(e.code, Code::NotFound);
    assert!(e.message.contains("deleted"), "{}", e.message);
    assert_eq!(m.delete("t").unwrap_err().code, Code::NotFound);
    // Re-created: empty, and the old handle still refuses.
    m.create("t", "", &Quotas::default()).unwrap();
    assert_eq!(ids(&m.namespace("t").unwrap()), Vec::<String>::new());
    assert_eq!(old.call(RequestKind::Read, |s| Ok(s.count())).unwrap_err().code, Code::NotFound);
    assert!(m.list_backups("t").unwrap().is_empty());
}

#[test]
fn restore_answers_exactly_as_at_backup_time() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &StoreOptions { checkpoint_bytes: 4096, ..opts() }).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let ns = m.namespace("t").unwrap();
    // Enough writes for a checkpoint (snapshot files to link) plus a log tail.
    for i in 0..200 {
        upsert(&ns, &format!("r{i}"), [1.0, i as f32, 0.5]).unwrap();
    }
    ns.call(RequestKind::Write, |s| s.delete("r7")).unwrap();
    let before = ids(&ns);
    let query = |ns: &Namespace| {
        ns.call(RequestKind::Query, |s| {
            s.query(&Query { vector: &[0.3, 2.0, 1.0], k: 5, ..Query::default() })
        })
        .unwrap()
    };
    let top_before = query(&ns);
    let b = m.backup("t", "snap-1").unwrap();
    assert_eq!(b.vector_count, 199);
    assert_eq!(m.backup("t", "snap-1").unwrap_err().code, Code::AlreadyExists);
    // Every snapshot file the manifest names (three, and the journals of the kept records and
    // graph files) is linked into the backup, and nothing else of the snapshots.
    let backup_dir = dir.path().join("backups/t/snap-1");
    let linked: BTreeSet<String> = std::fs::read_dir(&backup_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snap-"))
        .collect();
    let named: BTreeSet<String> = crate::storage::snapshot::read_manifest(&backup_dir)
        .unwrap()
        .unwrap()
        .files()
        .map(|(_, e)| e.name.clone())
        .collect();
    assert_eq!(linked, named);
    assert!(linked.len() >= 3, "{linked:?}");

    for i in 0..50 {
        upsert(&ns, &format!("r{i}"), [0.0, 0.0, 1.0]).unwrap();
        upsert(&ns, &format!("new{i}"), [0.0, 1.0, 1.0]).unwrap();
    }
    assert_ne!(ids(&ns), before);
    m.restore("t", "snap-1").unwrap();
    // The old handle sees the restored data.
    assert_eq!(ids(&ns), before);
    assert_eq!(query(&ns), top_before);
    // Writes after a restore do not change the backup: restore again gives the same.
    upsert(&ns, "after", [1.0, 1.0, 1.0]).unwrap();
    m.restore("t", "snap-1").unwrap();
    assert_eq!(ids(&ns), before);
    // And it survives a reopen of the manager.
    drop(ns);
    m.close().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    let ns = m.namespace("t").unwrap();
    assert_eq!(ids(&ns), before);
    assert_eq!(query(&ns), top_before);
    let list = m.list_backups("t").unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].name.as_str(), list[0].vector_count), ("snap-1", 199));
    assert_eq!(m.restore("t", "nope").unwrap_err().code, Code::NotFound);
    m.delete_backup("t", "snap-1").unwrap();
    assert!(m.list_backups("t").unwrap().is_empty());
    assert_eq!(m.delete_backup("t", "snap-1").unwrap_err().code, Code::NotFound);
    // Hard links: deleting the backup left the namespace's files alone.
    assert_eq!(ids(&ns), before);
}

#[test]
fn a_backup_is_consistent_while_writes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &StoreOptions { checkpoint_bytes: 8192, ..opts() }).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let ns = m.namespace("t").unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Each bulk write adds two records: a consistent copy always holds an even number.
                let v = [1.0f32, i as f32, 0.0];
                let (a, b) = (format!("a{i}"), format!("b{i}"));
                let recs = [
                    NewRecord { id: &a, vector: &v, metadata: None },
                    NewRecord { id: &b, vector: &v, metadata: None },
                ];
                ns.call(RequestKind::Write, |s| s.upsert_many(&recs)).unwrap();
                i += 1;
            }
        });
        for k in 0..5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            let b = m.backup("t", &format!("b{k}")).unwrap();
            assert_eq!(b.vector_count % 2, 0);
        }
        stop.store(true, Ordering::Relaxed);
    });
    for b in m.list_backups("t").unwrap() {
        m.restore("t", &b.name).unwrap();
        let n = ns.call(RequestKind::Read, |s| Ok(s.count())).unwrap() as u64;
        assert_eq!(n, b.vector_count, "backup {}", b.name);
    }
}

#[cfg(unix)]
#[test]
fn links_planted_inside_the_root_are_refused_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "keep").unwrap();
    let root = dir.path().join("root");
    {
        let m = NamespaceManager::open(&root, &opts()).unwrap();
        m.create("t", "", &Quotas::default()).unwrap();
        m.create("u", "", &Quotas::default()).unwrap();
        upsert(&m.namespace("t").unwrap(), "a", [1.0, 0.0, 0.0]).unwrap();
        m.backup("u", "b").unwrap();
    }
    // ns/t becomes a link to a directory outside.
    std::fs::remove_dir_all(root.join("ns/t")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("ns/t")).unwrap();
    // backups/u becomes a link too.
    std::fs::remove_dir_all(root.join("backups/u")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("backups/u")).unwrap();

    let m = NamespaceManager::open(&root, &opts()).unwrap();
    let e = upsert(&m.namespace("t").unwrap(), "x", [1.0, 0.0, 0.0]).unwrap_err();
    assert_eq!(e.code, Code::Corrupt, "{}", e.message);
    assert!(e.message.contains("symbolic link"), "{}", e.message);
    assert_eq!(m.stats("t").unwrap_err().code, Code::Corrupt);
    assert_eq!(m.list_backups("u").unwrap_err().code, Code::Corrupt);
    assert_eq!(m.backup("u", "c").unwrap_err().code, Code::Corrupt);
    assert_eq!(m.restore("u", "b").unwrap_err().code, Code::Corrupt);
    assert_eq!(m.delete_backup("u", "b").unwrap_err().code, Code::Corrupt);
    // Deleting removes the links, never what they point to.
    m.delete("t").unwrap();
    m.delete("u").unwrap();
    assert_eq!(std::fs::read_to_string(outside.path().join("precious")).unwrap(), "keep");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    // A link inside a store directory is refused too.
    m.create("v", "", &Quotas::default()).unwrap();
    drop(m);
    std::fs::remove_file(root.join("ns/v/vecstore.log")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("precious"), root.join("ns/v/vecstore.log")).unwrap();
    let m = NamespaceManager::open(&root, &opts()).unwrap();
    assert_eq!(m.stats("v").unwrap_err().code, Code::Corrupt);
    assert_eq!(std::fs::read_to_string(outside.path().join("precious")).unwrap(), "keep");
    drop(m);
    // So is a registry or a root lock that is a link.
    for name in ["namespaces.json", "LOCK"] {
        let saved = root.join("saved");
        std::fs::rename(root.join(name), &saved).unwrap();
        std::os::unix::fs::symlink(outside.path().join("precious"), root.join(name)).unwrap();
        let e = NamespaceManager::open(&root, &opts()).err().unwrap();
        assert_eq!(e.code, Code::Corrupt, "{name}: {}", e.message);
        std::fs::remove_file(root.join(name)).unwrap();
        std::fs::rename(&saved, root.join(name)).unwrap();
    }
    NamespaceManager::open(&root, &opts()).unwrap();
    assert_eq!(std::fs::read_to_string(outside.path().join("precious")).unwrap(), "keep");
}

#[test]
fn hostile_names_never_touch_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let m = NamespaceManager::open(&root, &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let long = "x".repeat(65);
    for bad in ["../evil", "/tmp/evil", "a/b", "..", ".", "", "a\0b", ".hidden", long.as_str()] {
        assert_eq!(m.create(bad, "", &Quotas::default()).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(m.backup("t", bad).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(m.restore("t", bad).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(m.delete_backup("t", bad).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(m.delete(bad).unwrap_err().code, Code::InvalidArgument, "{bad:?}");
    }
    assert!(!dir.path().join("evil").exists());
    let mut top: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["root"]);
}

#[test]
fn a_damaged_or_missing_registry_is_corrupt_never_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
        m.create("t", "", &Quotas::default()).unwrap();
    }
    let reg = dir.path().join(registry::REGISTRY_FILE);
    let text = std::fs::read(&reg).unwrap();
    std::fs::write(&reg, &text[..text.len() - 3]).unwrap();
    assert_eq!(NamespaceManager::open(dir.path(), &opts()).err().unwrap().code, Code::Corrupt);
    std::fs::remove_file(&reg).unwrap();
    assert_eq!(NamespaceManager::open(dir.path(), &opts()).err().unwrap().code, Code::Corrupt);
}

#[test]
fn an_interrupted_restore_is_finished_or_undone_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    upsert(&m.namespace("t").unwrap(), "old", [1.0, 0.0, 0.0]).unwrap();
    m.backup("t", "b").unwrap();
    upsert(&m.namespace("t").unwrap(), "new", [1.0, 0.0, 0.0]).unwrap();
    m.close().unwrap();
    let ns_root = dir.path().join("ns");
    // Crash after staging, before the swap: the old data stays.
    let staged = backup::stage_restore(&dir.path().join("backups/t/b"), &ns_root, "t").unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    assert_eq!(ids(&m.namespace("t").unwrap()), ["new", "old"]);
    assert!(!staged.exists());
    m.close().unwrap();
    // Crash between the two renames: the restore is finished.
    let staged = backup::stage_restore(&dir.path().join("backups/t/b"), &ns_root, "t").unwrap();
    std::fs::rename(ns_root.join("t"), ns_root.join(".old-t")).unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    assert_eq!(ids(&m.namespace("t").unwrap()), ["old"]);
    assert!(!staged.exists() && !ns_root.join(".old-t").exists());
    m.close().unwrap();
    // Leftovers of an interrupted restore of a namespace deleted before it was used again never
    // come back in a new namespace of the same id.
    backup::stage_restore(&dir.path().join("backups/t/b"), &ns_root, "t").unwrap();
    std::fs::rename(ns_root.join("t"), ns_root.join(".old-t")).unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.delete("t").unwrap();
    assert!(!ns_root.join(".old-t").exists() && !ns_root.join(".restore-t").exists());
    for leftover in [".old-t", ".restore-t"] {
        std::fs::create_dir(ns_root.join(leftover)).unwrap();
        std::fs::write(ns_root.join(leftover).join("marker"), "old").unwrap();
    }
    m.create("t", "", &Quotas::default()).unwrap();
    assert_eq!(ids(&m.namespace("t").unwrap()), Vec::<String>::new());
    assert!(!ns_root.join(".old-t").exists() && !ns_root.join(".restore-t").exists());
    assert!(!ns_root.join("t/marker").exists());
}

#[test]
fn many_threads_in_many_namespaces_with_creates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    for t in 0..4 {
        m.create(&format!("n{t}"), "", &Quotas::default()).unwrap();
    }
    std::thread::scope(|s| {
        for t in 0..4 {
            let m = &m;
            s.spawn(move || {
                let ns = m.namespace(&format!("n{t}")).unwrap();
                for i in 0..200 {
                    upsert(&ns, &format!("r{i}"), [t as f32 + 1.0, i as f32, 1.0]).unwrap();
                    if i % 10 == 0 {
                        assert!(!ids(&ns).is_empty());
                    }
                }
                assert_eq!(ns.call(RequestKind::Read, |s| Ok(s.count())).unwrap(), 200);
            });
        }
        let m = &m;
        s.spawn(move || {
            for i in 0..20 {
                let id = format!("tmp{i}");
                m.create(&id, "", &Quotas::default()).unwrap();
                let ns = m.namespace(&id).unwrap();
                upsert(&ns, "a", [1.0, 0.0, 0.0]).unwrap();
                m.delete(&id).unwrap();
                assert_eq!(upsert(&ns, "a", [1.0, 0.0, 0.0]).unwrap_err().code, Code::NotFound);
            }
        });
    });
    assert_eq!(m.list().len(), 4);
}

#[test]
fn closing_the_manager_stops_outstanding_handles() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let ns = m.namespace("t").unwrap();
    m.close().unwrap();
    assert_eq!(ns.call(RequestKind::Read, |s| Ok(s.count())).unwrap_err().code, Code::NotFound);
    // The store was closed, so a new manager can open it.
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    assert_eq!(m.namespace("t").unwrap().call(RequestKind::Read, |s| Ok(s.count())).unwrap(), 0);
}

#[test]
fn a_batch_over_quota_changes_nothing_and_a_restore_is_growth() {
    use crate::store::write::WriteOp;
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &q(2, 0, 0.0)).unwrap();
    let ns = m.namespace("t").unwrap();
    upsert(&ns, "a", [1.0, 0.0, 0.0]).unwrap();
    let up = |id: &str| WriteOp::Upsert {
        id: id.into(),
        vector: vec![0.0, 1.0, 0.0],
        metadata: None,
        ttl_seconds: 0,
    };
    let batch = [up("b"), up("c"), WriteOp::SoftDelete { id: "nope".into() }];
    let e = ns.call(RequestKind::Write, |s| s.batch_execute(&batch)).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert_eq!(ids(&ns), ["a"]);
    ns.call(RequestKind::Write, |s| s.soft_delete("a")).unwrap();
    ns.call(RequestKind::Write, |s| s.batch_execute(&batch[..2])).unwrap();
    let e = ns.call(RequestKind::Write, |s| s.restore("a")).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    let st = m.stats("t").unwrap();
    assert_eq!((st.vector_count, st.deleted_count), (2, 1));
    assert_eq!(st.requests[2].1, RequestCounts { served: 3, refused: 2 });
}

#[test]
fn idle_stores_past_the_limit_are_closed_and_reopen_on_use() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    assert_eq!(m.set_max_open_stores(0).unwrap_err().code, Code::InvalidArgument);
    m.set_max_open_stores(2).unwrap();
    for i in 0..5 {
        let id = format!("n{i}");
        m.create(&id, "", &Quotas::default()).unwrap();
        upsert(&m.namespace(&id).unwrap(), &format!("r{i}"), [1.0, i as f32, 0.0]).unwrap();
        assert!(m.open_stores() <= 2, "{} open", m.open_stores());
    }
    // Every namespace still answers with its own data (reopened on use), and stats work too.
    for i in 0..5 {
        let id = format!("n{i}");
        assert_eq!(ids(&m.namespace(&id).unwrap()), [format!("r{i}")]);
        assert_eq!(m.stats(&id).unwrap().vector_count, 1);
        assert!(m.open_stores() <= 2);
    }
    // The least recently used is the one closed: n4 was used last, n3 before it.
    let (n3, n4) = (m.namespace("n3").unwrap(), m.namespace("n4").unwrap());
    ids(&n3);
    std::thread::sleep(std::time::Duration::from_millis(30)); // past the coarse clock's resolution
    ids(&n4);
    ids(&m.namespace("n0").unwrap());
    assert!(n4.is_open.load(Ordering::Relaxed));
    assert!(!n3.is_open.load(Ordering::Relaxed));
    // A store a call is using is never closed under it, even past the limit.
    m.set_max_open_stores(1).unwrap();
    let a = m.namespace("n1").unwrap();
    let b = m.namespace("n2").unwrap();
    a.call(RequestKind::Read, |sa| {
        let n = b
            .call(RequestKind::Read, |sb| {
                assert_eq!(m.open_stores(), 2, "both in use: over the limit rather than closed under a call");
                Ok(sb.count())
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(sa.count(), 1); // still open and usable
                                   // Once b's call is over the limit holds again: b (idle) was closed, a (in use) was not.
        assert_eq!(m.open_stores(), 1);
        assert!(a.is_open.load(Ordering::Relaxed) && !b.is_open.load(Ordering::Relaxed));
        Ok(())
    })
    .unwrap();
    // A restore and a delete keep the bookkeeping right.
    m.backup("n1", "b").unwrap();
    m.restore("n1", "b").unwrap();
    m.delete("n2").unwrap();
    assert!(m.open_stores() <= 1, "{}", m.open_stores());
    assert_eq!(ids(&a), ["r1"]);
}

#[test]
fn threads_keep_their_data_while_stores_are_closed_and_reopened_under_them() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.set_max_open_stores(2).unwrap();
    for t in 0..4 {
        m.create(&format!("n{t}"), "", &Quotas::default()).unwrap();
    }
    std::thread::scope(|s| {
        for t in 0..4 {
            let m = &m;
            s.spawn(move || {
                let ns = m.namespace(&format!("n{t}")).unwrap();
                for i in 0..100 {
                    upsert(&ns, &format!("r{i}"), [t as f32 + 1.0, i as f32, 1.0]).unwrap();
                    assert_eq!(ns.call(RequestKind::Read, |s| Ok(s.count())).unwrap(), i + 1);
                }
            });
        }
    });
    assert!(m.open_stores() <= 2);
    for t in 0..4 {
        assert_eq!(m.stats(&format!("n{t}")).unwrap().vector_count, 100);
    }
}

#[test]
fn stats_count_live_deleted_and_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    let m = NamespaceManager::open(dir.path(), &opts()).unwrap();
    m.create("t", "", &Quotas::default()).unwrap();
    let before = m.stats("t").unwrap();
    assert_eq!((before.vector_count, before.deleted_count, before.expired_count), (0, 0, 0));
    assert_eq!(before.last_activity_at, None);
    let ns = m.namespace("t").unwrap();
    for id in ["a", "b", "c", "d"] {
        upsert(&ns, id, [1.0, 0.0, 0.0]).unwrap();
    }
    upsert(&ns, "a", [0.0, 1.0, 0.0]).unwrap(); // replaced: one tombstone
    ns.call(RequestKind::Write, |s| s.delete("b")).unwrap(); // another
    ns.call(RequestKind::Write, |s| s.soft_delete("c")).unwrap();
    ns.call(RequestKind::Write, |s| s.upsert_with_ttl("e", &[0.0, 0.0, 1.0], None, 1)).unwrap();
    let st = m.stats("t").unwrap();
    assert_eq!((st.vector_count, st.deleted_count, st.expired_count), (3, 3, 0));
    std::thread::sleep(std::time::Duration::from_millis(2050));
    let st = m.stats("t").unwrap();
    assert_eq!((st.vector_count, st.deleted_count, st.expired_count), (2, 3, 1));
    assert!(st.last_activity_at.unwrap() >= st.created_at);
    assert!(st.storage_bytes > before.storage_bytes);
}
