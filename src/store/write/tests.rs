//! Soft delete, restore, metadata updates, TTL, batches and the quota hook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::Code;
use crate::store::batch::parse_batch_json;
use crate::store::guard::{Growth, GrowthCheck};
use crate::store::options::StoreOptions;
use crate::store::write::WriteOp;
use crate::store::*;

fn store(dir: &Path) -> Store {
    Store::open(dir, &StoreOptions { dimension: 2, ..StoreOptions::default() }).unwrap()
}

fn hit_ids(s: &Store, filter: Option<&str>) -> Vec<String> {
    let mut ids: Vec<String> = s
        .query(&Query { vector: &[1.0, 0.0], k: 100, filter, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    ids.sort();
    ids
}

fn upsert(id: &str, x: f32) -> WriteOp {
    WriteOp::Upsert { id: id.into(), vector: vec![1.0, x], metadata: None, ttl_seconds: 0 }
}

#[test]
fn soft_delete_hides_a_record_and_restore_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.upsert("a", &[1.0, 0.0], Some(r#"{"n":1}"#)).unwrap();
    s.upsert("b", &[1.0, 0.5], None).unwrap();

    s.soft_delete("a").unwrap();
    assert_eq!(s.get("a").unwrap_err().code, Code::NotFound);
    assert_eq!(s.count(), 1);
    assert_eq!(hit_ids(&s, None), vec!["b"]);
    assert_eq!(s.stats().soft_deleted, 1);
    // A soft-deleted record is no longer live: soft-deleting or updating it again is NotFound.
    assert_eq!(s.soft_delete("a").unwrap_err().code, Code::NotFound);
    assert_eq!(s.update_metadata("a", None).unwrap_err().code, Code::NotFound);

    s.restore("a").unwrap();
    assert_eq!(s.get("a").unwrap().metadata, r#"{"n":1}"#);
    assert_eq!(hit_ids(&s, None), vec!["a", "b"]);
    assert_eq!(s.stats().soft_deleted, 0);
    s.restore("a").unwrap(); // restoring a live record changes nothing

    for e in [s.soft_delete("zz"), s.restore("zz"), s.delete("zz"), s.set_ttl("zz", 5)] {
        assert_eq!(e.unwrap_err().code, Code::NotFound);
    }
    // A hard delete removes a soft-deleted record for good.
    s.soft_delete("b").unwrap();
    s.delete("b").unwrap();
    assert_eq!(s.restore("b").unwrap_err().code, Code::NotFound);
    // And an upsert over a soft-deleted id replaces it with a live record.
    s.soft_delete("a").unwrap();
    s.upsert("a", &[0.0, 1.0], None).unwrap();
    assert_eq!(s.get("a").unwrap().metadata, "{}");
    assert_eq!(s.count(), 1);
}

#[test]
fn update_metadata_replaces_it_and_filters_see_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.upsert("a", &[1.0, 0.0], Some(r#"{"tag":"old","keep":1}"#)).unwrap();
    s.update_metadata("a", Some(r#"{"tag":"new"}"#)).unwrap();
    assert_eq!(s.get("a").unwrap().metadata, r#"{"tag":"new"}"#);
    assert_eq!(hit_ids(&s, Some("tag = 'new'")), vec!["a"]);
    assert!(hit_ids(&s, Some("tag = 'old'")).is_empty());
    // Bad metadata is refused and leaves the record as it was.
    for bad in ["{bad", "[1]", r#"{"x":{"nested":1}}"#] {
        assert_eq!(s.update_metadata("a", Some(bad)).unwrap_err().code, Code::InvalidArgument);
    }
    assert_eq!(s.get("a").unwrap().metadata, r#"{"tag":"new"}"#);
    s.update_metadata("a", None).unwrap();
    assert_eq!(s.get("a").unwrap().metadata, "{}");
}

#[test]
fn every_change_survives_reopening_through_the_log_and_through_a_snapshot() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = store(dir.path());
            for i in 0..10 {
                s.upsert(&format!("r{i}"), &[1.0, i as f32], Some(&format!(r#"{{"i":{i}}}"#))).unwrap();
            }
            s.soft_delete("r1").unwrap();
            s.soft_delete("r2").unwrap();
            s.restore("r2").unwrap();
            s.update_metadata("r3", Some(r#"{"i":33}"#)).unwrap();
            s.set_ttl("r4", 3600).unwrap();
            s.upsert_with_ttl("r5", &[1.0, 5.0], None, 7200).unwrap();
            s.delete("r6").unwrap();
            if checkpoint {
                s.checkpoint().unwrap();
                assert!(s.stats().log_bytes <= crate::storage::log::HEADER_LEN);
            }
        }
        let s = store(dir.path());
        assert_eq!(s.count(), 8, "checkpoint {checkpoint}");
        assert_eq!(s.get("r1").unwrap_err().code, Code::NotFound);
        s.restore("r1").unwrap(); // still soft-deleted, so restorable
        assert_eq!(s.get("r3").unwrap().metadata, r#"{"i":33}"#);
        assert_eq!(s.get("r5").unwrap().metadata, "{}");
        assert_eq!(s.get("r6").unwrap_err().code, Code::NotFound);
        let inner = s.inner.read();
        let expiry = |id: &str| inner.slots[inner.slot_of.get(&inner.slots, id).unwrap() as usize].expires_at;
        let now = now_unix();
        assert!((now + 3598..=now + 3601).contains(&expiry("r4")), "{}", expiry("r4") - now);
        assert!((now + 7198..=now + 7201).contains(&expiry("r5")));
        assert_eq!(expiry("r3"), 0);
    }
}

#[test]
fn expired_records_vanish_from_every_read_and_expire_ttl_records_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(dir.path());
        s.upsert_with_ttl("short", &[1.0, 0.0], Some(r#"{"t":1}"#), 1).unwrap();
        s.upsert("cleared", &[1.0, 0.1], None).unwrap();
        s.set_ttl("cleared", 1).unwrap();
        s.set_ttl("cleared", 0).unwrap(); // 0 removes the expiry
        s.upsert_with_ttl("long", &[1.0, 0.2], None, 3600).unwrap();
        s.upsert_with_ttl("soft", &[1.0, 0.3], None, 1).unwrap();
        s.soft_delete("soft").unwrap();
        s.upsert("plain", &[1.0, 0.4], None).unwrap();
        assert_eq!(s.count(), 4);
        assert_eq!(s.get("short").unwrap().metadata, r#"{"t":1}"#);
        assert_eq!(s.expire_ttl_records().unwrap(), 0);
    }
    // Expiry is rounded up to whole seconds, so a 1 s TTL ends within 2 s. Reopened in between:
    // the expiry times come back from the log.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let s = store(dir.path());
    assert_eq!(s.count(), 3);
    assert_eq!(s.get("short").unwrap_err().code, Code::NotFound);
    assert_eq!(hit_ids(&s, None), vec!["cleared", "long", "plain"]);
    assert_eq!(hit_ids(&s, Some("t = 1")), Vec::<String>::new());
    let st = s.stats();
    assert_eq!((st.count, st.expired, st.soft_deleted), (3, 2, 0));
    // Writes treat an expired record as absent...
    assert_eq!(s.set_ttl("short", 10).unwrap_err().code, Code::NotFound);
    assert_eq!(s.restore("soft").unwrap_err().code, Code::NotFound);
    // ...and expire_ttl_records removes exactly the expired ones, live or soft-deleted.
    assert_eq!(s.expire_ttl_records().unwrap(), 2);
    assert_eq!(s.expire_ttl_records().unwrap(), 0);
    let st = s.stats();
    assert_eq!((st.count, st.expired, st.soft_deleted), (3, 0, 0));
    // An upsert reuses an expired id as a new record.
    s.upsert("short", &[1.0, 0.0], None).unwrap();
    assert_eq!(s.count(), 4);
}

#[test]
fn ttl_limits_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.upsert("a", &[1.0, 0.0], None).unwrap();
    let too_long = crate::store::write::MAX_TTL_SECONDS + 1;
    assert_eq!(s.set_ttl("a", too_long).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(s.upsert_with_ttl("b", &[1.0, 0.0], None, too_long).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(s.count(), 1);
}

#[test]
fn a_batch_applies_every_valid_op_in_order_and_reports_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.upsert("old", &[1.0, 0.0], None).unwrap();
    s.upsert("gone", &[1.0, 0.0], None).unwrap();
    let log_before = s.stats().log_bytes;
    let ops = vec![
        upsert("doc1", 0.1),
        WriteOp::Delete { id: "gone".into() },
        WriteOp::SoftDelete { id: "missing".into() },
        WriteOp::Upsert { id: "bad".into(), vector: vec![1.0, 2.0, 3.0], metadata: None, ttl_seconds: 0 },
        WriteOp::SoftDelete { id: "doc1".into() }, // sees the upsert earlier in the batch
        WriteOp::Restore { id: "doc1".into() },
        WriteOp::UpdateMetadata { id: "old".into(), metadata: Some(r#"{"v":2}"#.into()) },
        WriteOp::Upsert { id: "nan".into(), vector: vec![f32::NAN, 0.0], metadata: None, ttl_seconds: 0 },
        WriteOp::Delete { id: "gone".into() }, // already deleted by op 1
        WriteOp::UpdateMetadata { id: "old".into(), metadata: Some("{bad".into()) },
        WriteOp::SetTtl { id: "doc1".into(), ttl_seconds: 600 },
    ];
    let r = s.batch_execute(&ops).unwrap();
    assert_eq!((r.succeeded, r.failed), (6, 5));
    let failed: Vec<(usize, &str, &str)> =
        r.errors.iter().map(|e| (e.index, e.operation.as_str(), e.code)).collect();
    assert_eq!(
        failed,
        vec![
            (2, "soft_delete(missing)", "not_found"),
            (3, "upsert(bad)", "dimension_mismatch"),
            (7, "upsert(nan)", "invalid_argument"),
            (8, "delete(gone)", "not_found"),
            (9, "update_metadata(old)", "invalid_argument"),
        ]
    );
    assert!(r.errors[0].error.contains("missing"), "{}", r.errors[0].error);
    assert!(r.duration_ms >= 0.0);
    assert_eq!(hit_ids(&s, None), vec!["doc1", "old"]);
    assert_eq!(s.get("old").unwrap().metadata, r#"{"v":2}"#);
    assert!(s.stats().log_bytes > log_before);
    let json = r.to_json();
    assert!(json.contains(r#""operation":"soft_delete(missing)""#), "{json}");
    drop(s);
    let s = store(dir.path());
    assert_eq!(hit_ids(&s, None), vec!["doc1", "old"]);
}

#[test]
fn a_batch_is_a_single_log_frame() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let ops: Vec<WriteOp> = (0..50).map(|i| upsert(&format!("d{i}"), i as f32)).collect();
    assert_eq!(s.batch_execute(&ops).unwrap().succeeded, 50);
    drop(s);
    let (_, report) = crate::storage::log::Log::open(
        dir.path(),
        false,
        0,
        crate::storage::log::LogRecovery::TolerateTornTail,
        |_| Ok(()),
    )
    .expect("log opens");
    assert_eq!(report.frames, 1);
}

#[test]
fn batch_json_requests_parse_and_malformed_ones_are_refused_whole() {
    let ops = parse_batch_json(
        r#"{"operations":[
            {"op":"upsert","id":"doc1","vector":[0.1,0.2],"metadata":{"a":1}},
            {"op":"upsert","id":"doc9","vector":[0.1,0.2],"ttl_seconds":60},
            {"op":"delete","id":"doc2"},
            {"op":"soft_delete","id":"doc3"},
            {"op":"restore","id":"doc4"},
            {"op":"update_metadata","id":"doc5","metadata":{"b":"x"}},
            {"op":"set_ttl","id":"doc6","ttl_seconds":5}
        ]}"#,
    )
    .unwrap();
    assert_eq!(ops.len(), 7);
    assert_eq!(
        ops[0],
        WriteOp::Upsert {
            id: "doc1".into(),
            vector: vec![0.1, 0.2],
            metadata: Some(r#"{"a":1}"#.into()),
            ttl_seconds: 0
        }
    );
    assert!(matches!(&ops[1], WriteOp::Upsert { ttl_seconds: 60, .. }));
    assert_eq!(ops[5], WriteOp::UpdateMetadata { id: "doc5".into(), metadata: Some(r#"{"b":"x"}"#.into()) });
    assert_eq!(parse_batch_json(r#"[{"op":"delete","id":"x"}]"#).unwrap().len(), 1);
    assert!(parse_batch_json("[]").unwrap().is_empty());
    for (bad, needle) in [
        ("{", "not valid JSON"),
        ("42", "array or an object"),
        (r#"{"ops":[]}"#, "operations"),
        (r#"{"operations":[],"extra":1}"#, "extra"),
        (r#"{"operations":{}}"#, "must be an array"),
        (r#"[{"op":"frobnicate","id":"x"}]"#, "operation 0"),
        (r#"[{"op":"delete","id":"x"},{"op":"upsert","id":"y"}]"#, "operation 1"),
        (r#"[{"id":"x"}]"#, "op"),
        (r#"[{"op":"delete","id":7}]"#, "operation 0"),
        (r#"[{"op":"delete","id":"x","vector":[1]}]"#, "vector"),
        (r#"[{"op":"upsert","id":"x","vector":["a"]}]"#, "operation 0"),
    ] {
        let e = parse_batch_json(bad).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument, "{bad}");
        assert!(e.message.contains(needle), "{bad}: {}", e.message);
    }
}

/// A quota of `max` live records and `max_bytes` on disk, counting the checks it ran.
struct Quota {
    max: u64,
    max_bytes: u64,
    checks: AtomicU64,
    last_added: AtomicU64,
}

impl GrowthCheck for Quota {
    fn check(&self, g: &Growth) -> Result<()> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.last_added.store(g.vectors_added, Ordering::SeqCst);
        if g.vectors_before + g.vectors_added > self.max {
            return Err(Error::new(Code::QuotaExceeded, "max_vectors"));
        }
        if g.storage_bytes_before + g.bytes_added > self.max_bytes {
            return Err(Error::new(Code::QuotaExceeded, "max_storage_bytes"));
        }
        Ok(())
    }
}

#[test]
fn the_growth_check_sees_only_real_growth_and_a_refusal_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let quota = Arc::new(Quota { max: 3, max_bytes: u64::MAX, checks: 0.into(), last_added: 0.into() });
    s.set_growth_check(Some(quota.clone()));
    s.upsert("a", &[1.0, 0.0], None).unwrap();
    s.upsert_many(&[
        NewRecord { id: "b", vector: &[1.0, 0.1], metadata: None },
        NewRecord { id: "a", vector: &[1.0, 0.2], metadata: None }, // a replacement: not growth
        NewRecord { id: "b", vector: &[1.0, 0.3], metadata: None }, // a duplicate within the call
    ])
    .unwrap();
    assert_eq!(quota.last_added.load(Ordering::SeqCst), 1);
    assert_eq!(s.count(), 2);

    // Two new records would make 4 > 3: the whole bulk upsert and the whole batch are refused.
    let log_before = s.stats().log_bytes;
    let e = s
        .upsert_many(&[
            NewRecord { id: "c", vector: &[1.0, 0.4], metadata: None },
            NewRecord { id: "d", vector: &[1.0, 0.5], metadata: None },
        ])
        .unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    let e = s.batch_execute(&[upsert("c", 0.4), upsert("a", 0.9), upsert("d", 0.5)]).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert_eq!(s.stats().log_bytes, log_before);
    assert_eq!(hit_ids(&s, None), vec!["a", "b"]);
    assert_eq!(s.get("a").unwrap().vector, {
        let mut v = vec![1.0f32, 0.2];
        crate::index::distance::normalize(&mut v);
        v
    });

    // Deletes are never refused; a restore is growth.
    s.upsert("c", &[1.0, 0.4], None).unwrap();
    s.soft_delete("c").unwrap();
    s.upsert("d", &[1.0, 0.5], None).unwrap();
    assert_eq!(s.restore("c").unwrap_err().code, Code::QuotaExceeded);
    s.delete("d").unwrap();
    s.restore("c").unwrap();
    assert_eq!(s.count(), 3);

    // The storage quota is checked against the bytes the write would add.
    let now = s.storage_bytes();
    assert!(now > 0);
    let tight = Arc::new(Quota { max: 100, max_bytes: now + 10, checks: 0.into(), last_added: 0.into() });
    s.set_growth_check(Some(tight));
    assert_eq!(s.update_metadata("a", Some(r#"{"x":1}"#)).unwrap_err().code, Code::QuotaExceeded);
    assert_eq!(s.get("a").unwrap().metadata, "{}");
    s.soft_delete("a").unwrap();
    s.set_growth_check(None);
    s.restore("a").unwrap();
}

#[test]
fn storage_bytes_counts_the_files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    for i in 0..100 {
        s.upsert(&format!("r{i}"), &[1.0, i as f32], None).unwrap();
    }
    let on_disk = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name() != crate::storage::lock::LOCK_FILE)
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    assert_eq!(s.storage_bytes(), on_disk(dir.path()));
    s.checkpoint().unwrap();
    assert_eq!(s.storage_bytes(), on_disk(dir.path()));
}
