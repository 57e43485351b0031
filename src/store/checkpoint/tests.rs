//! Checkpoints off the lock, their back-off, and writes that publish without holding readers up.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::{backoff, RETRY_BASE, RETRY_CAP};
use crate::store::options::{Metric, StoreOptions};
use crate::store::*;

fn vector(i: usize, dim: usize) -> Vec<f32> {
    // Distinct, spread-out vectors: a splitmix of (i, j).
    (0..dim)
        .map(|j| {
            let mut z = (i as u64 * 31 + j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z ^= z >> 27;
            (z % 10_000) as f32 / 100.0
        })
        .collect()
}

/// Upserts records `r{n}` of `vector(n, dim)`, no metadata, for every `n` of `ids`.
fn upsert_ids(s: &Store, ids: std::ops::Range<usize>, dim: usize) {
    for n in ids {
        s.upsert(&format!("r{n}"), &vector(n, dim), None).unwrap();
    }
}

fn options(checkpoint_bytes: u64, dim: usize) -> StoreOptions {
    StoreOptions {
        dimension: dim,
        metric: Some(Metric::Euclidean),
        checkpoint_bytes,
        build_threads: 1,
        ..StoreOptions::default()
    }
}

#[test]
fn backoff_doubles_from_the_base_up_to_the_cap() {
    assert_eq!(backoff(1), RETRY_BASE);
    assert_eq!(backoff(2), 2 * RETRY_BASE);
    assert_eq!(backoff(3), 4 * RETRY_BASE);
    assert_eq!(backoff(7), RETRY_CAP);
    assert_eq!(backoff(1000), RETRY_CAP);
}

/// A failing checkpoint (its temporary file's name is taken by a directory, which fails even for
/// root) is recorded, is not retried by every write (back-off), never fails a write, and the next
/// success clears it; nothing acknowledged is lost.
#[test]
fn a_failed_checkpoint_backs_off_writes_go_on_and_the_next_success_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 4;
    let blocker = dir.path().join("snap-000001.vectors.tmp");
    {
        let s = Store::open(dir.path(), &options(4096, dim)).unwrap();
        std::fs::create_dir(&blocker).unwrap();
        let mut i = 0;
        while s.stats().checkpoint_failures == 0 {
            s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
            i += 1;
            assert!(i < 1000, "no checkpoint was attempted");
        }
        let st = s.stats();
        assert_eq!((st.checkpoints, st.checkpoint_failures), (0, 1));
        let why = st.last_checkpoint_error.clone().unwrap();
        assert!(why.contains("snap-000001.vectors.tmp"), "{why}");
        // Every one of these writes finds the log due; within the back-off none retries.
        let log_before = st.log_bytes;
        for _ in 0..200 {
            s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
            i += 1;
        }
        let st = s.stats();
        assert_eq!((st.checkpoints, st.checkpoint_failures), (0, 1), "a write retried within the back-off");
        assert!(st.log_bytes > log_before, "writes go on into the log");
        assert_eq!(s.count(), i);

        // The retry after the back-off fails again (still blocked) and doubles the wait.
        std::thread::sleep(RETRY_BASE + Duration::from_millis(100));
        s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
        i += 1;
        assert_eq!(s.stats().checkpoint_failures, 2);

        // Unblocked: an explicit checkpoint ignores the back-off and its success clears the failure.
        std::fs::remove_dir(&blocker).unwrap();
        s.checkpoint().unwrap();
        let st = s.stats();
        assert_eq!((st.checkpoints, st.checkpoint_failures, st.last_checkpoint_error), (1, 0, None));
        assert!(st.log_bytes <= crate::storage::log::HEADER_LEN, "the log was trimmed: {}", st.log_bytes);
        for _ in 0..100 {
            s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
            i += 1;
        }
        assert!(s.stats().checkpoints >= 2, "due checkpoints run again after a success");
        assert_eq!(s.count(), i);
        s.close().unwrap();
        let s = Store::open(dir.path(), &options(4096, dim)).unwrap();
        assert_eq!(s.count(), i);
        for j in 0..i {
            assert_eq!(s.get(&format!("r{j}")).unwrap().vector, vector(j, dim), "r{j}");
        }
    }
}

/// One thread writes (single upserts, a few replacements and deletes) through many checkpoints while
/// another queries: every record acknowledged before a query started is found by `get`, and the
/// latest one by a k = 1 query for its own vector (it is usually not linked into the graph yet, or
/// just linked). Reopening gives exactly what was acknowledged. At 8 dimensions the graph is
/// searched on the float rows, at 48 on the int8 codes (trained from 1,000 rows on).
#[test]
fn queries_see_every_acknowledged_write_through_checkpoints_and_half_linked_nodes() {
    acknowledged_writes_are_found_during_checkpoints(8);
}

#[test]
fn queries_on_codes_see_every_acknowledged_write_through_checkpoints_and_half_linked_nodes() {
    acknowledged_writes_are_found_during_checkpoints(48);
}

fn acknowledged_writes_are_found_during_checkpoints(dim: usize) {
    let dir = tempfile::tempdir().unwrap();
    let n = 4000;
    let s = Store::open(dir.path(), &options(32 << 10, dim)).unwrap();

    let acked = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let checked = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..n {
                s.upsert(&format!("r{i}"), &vector(i, dim), Some(&format!(r#"{{"i":{i}}}"#))).unwrap();
                acked.store(i + 1, Ordering::SeqCst);
            }
            done.store(true, Ordering::SeqCst);
        });
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let a = acked.load(Ordering::SeqCst);
                if a == 0 {
                    continue;
                }
                let last = a - 1;
                let v = vector(last, dim);
                let hits =
                    s.query(&Query { vector: &v, k: 1, ef_search: 200, ..Default::default() }).unwrap();
                assert_eq!(hits[0].id, format!("r{last}"), "after {a} acknowledged writes: {hits:?}");
                let probe = (last * 7919) % a;
                assert_eq!(s.get(&format!("r{probe}")).unwrap().vector, vector(probe, dim));
                checked.fetch_add(1, Ordering::Relaxed);
            }
        });
    });
    let st = s.stats();
    assert!(st.checkpoints >= 3, "only {} checkpoints", st.checkpoints);
    assert_eq!(st.checkpoint_failures, 0);
    assert!(checked.load(Ordering::Relaxed) > 10);
    assert_eq!(s.count(), n);
    crate::index::hnsw::assert_sound(&s.inner.read().index);
    assert_eq!(s.inner.read().codes.is_some(), dim >= 32, "searched on codes at {dim} dimensions");
    drop(s);
    let s = Store::open(dir.path(), &options(32 << 10, dim)).unwrap();
    assert_eq!(s.count(), n);
    for i in 0..n {
        assert_eq!(s.get(&format!("r{i}")).unwrap().vector, vector(i, dim), "r{i}");
    }
    let v = vector(n / 2, dim);
    let hits = s.query(&Query { vector: &v, k: 1, ef_search: 200, ..Default::default() }).unwrap();
    assert_eq!(hits[0].id, format!("r{}", n / 2));
}

/// A snapshot written from a frozen state while writes went on: the manifest names the freeze point,
/// and every write after it survives a reopen, from the untrimmed log (a crash between the manifest
/// and the trim: a copy of the directory taken then) and from the trimmed one.
#[test]
fn writes_after_the_freeze_point_replay_from_the_untrimmed_or_the_trimmed_log() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let dim = 4;
    let check = |path: &std::path::Path, what: &str| {
        let s = Store::open(path, &options(1 << 30, dim)).unwrap();
        assert_eq!(s.count(), 79, "{what}");
        assert_eq!(s.get("r3").unwrap_err().code, crate::error::Code::NotFound, "{what}");
        for i in (0..80).filter(|&i| i != 3) {
            assert_eq!(s.get(&format!("r{i}")).unwrap().vector, vector(i, dim), "{what}: r{i}");
        }
    };
    {
        let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
        for i in 0..50 {
            s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
        }
        // A checkpoint's freeze, write and publish by hand, with writes between freeze and trim.
        let frozen = {
            let mut log = s.log.lock();
            log.sync().unwrap();
            let inner = s.inner.read();
            inner.freeze(log.generation(), log.len_bytes(), super::GRAPH_JOURNAL_RATIO).unwrap()
        };
        for i in 50..80 {
            s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
        }
        s.delete("r3").unwrap();
        let manifest = crate::storage::snapshot::write_snapshot(dir.path(), &frozen.contents()).unwrap();
        assert_eq!(manifest.slots, 50);
        assert!(manifest.log_start > crate::storage::log::HEADER_LEN);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), crashed.path().join(entry.file_name())).unwrap();
        }
        let mut log = s.log.lock();
        log.set_start(frozen.log_start);
        log.trim().unwrap();
        assert_eq!(log.generation(), frozen.log_generation + 1);
        drop(log);
        s.inner.write().snapshot_generation = frozen.generation;
        s.close().unwrap();
    }
    check(crashed.path(), "untrimmed log");
    check(dir.path(), "trimmed log");
}

/// The vectors file of the current snapshot, from the manifest.
fn vectors_entry(dir: &std::path::Path) -> crate::storage::snapshot::FileEntry {
    crate::storage::snapshot::read_manifest(dir).unwrap().unwrap().vectors
}

/// Checkpoints append the rows written since the last one to the same vectors file (a checkpoint's
/// vector bytes grow with the rows written, not with the store), a backup's hard link to that file is
/// never changed by the checkpoints after it, and both the store and the backup reopen to their
/// states.
#[test]
fn checkpoints_append_to_one_vectors_file_and_never_change_a_backup_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let dim = 8;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    for i in 0..300 {
        s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
    }
    s.checkpoint().unwrap();
    let first = vectors_entry(dir.path());
    assert_eq!(first.bytes, 64 + 300 * dim as u64 * 4);
    for round in 1..=3usize {
        for i in 0..50 {
            let n = 300 + (round - 1) * 50 + i;
            s.upsert(&format!("r{n}"), &vector(n, dim), None).unwrap();
        }
        s.checkpoint().unwrap();
        let e = vectors_entry(dir.path());
        assert_eq!(e.name, first.name, "round {round}: appended to the first file");
        assert_eq!(e.bytes, first.bytes + (round * 50 * dim * 4) as u64);
    }
    // A backup links the file; later checkpoints must leave the linked file as it was.
    let info = s.backup_to(backup.path()).unwrap();
    assert!(info.linked_files >= 1);
    let linked = backup.path().join(&first.name);
    let backed_up = std::fs::read(&linked).unwrap();
    upsert_ids(&s, 450..500, dim);
    s.checkpoint().unwrap();
    let after = vectors_entry(dir.path());
    assert_ne!(after.name, first.name, "a linked file is written afresh, not appended to");
    assert_eq!(std::fs::read(&linked).unwrap(), backed_up);
    // From the fresh (unlinked) file on, checkpoints append again.
    upsert_ids(&s, 500..520, dim);
    s.checkpoint().unwrap();
    assert_eq!(vectors_entry(dir.path()).name, after.name);
    s.close().unwrap();

    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(s.stats().count, 520);
    for n in [0, 299, 300, 449, 450, 519] {
        assert_eq!(s.get(&format!("r{n}")).unwrap().vector, vector(n, dim), "r{n}");
    }
    crate::storage::snapshot::verify_snapshot(dir.path()).unwrap();
    let b = Store::open(backup.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(b.stats().count, 450);
    assert!(b.get("r449").is_ok() && b.get("r450").is_err());
    assert_eq!(b.get("r320").unwrap().vector, vector(320, dim));
}

fn graph_bytes(s: &Store) -> Vec<u8> {
    let mut b = Vec::new();
    s.inner.read().index.write_to(&mut b).unwrap();
    b
}

fn manifest(dir: &std::path::Path) -> crate::storage::snapshot::Manifest {
    crate::storage::snapshot::read_manifest(dir).unwrap().unwrap()
}

/// Closes `s`, reopens its directory and checks that the graph is the one it had, word for word,
/// and the snapshot verifies.
fn reopened(s: Store, dir: &std::path::Path, dim: usize) -> Store {
    let want = graph_bytes(&s);
    s.close().unwrap();
    crate::storage::snapshot::verify_snapshot(dir).unwrap();
    let s = Store::open(dir, &options(1 << 30, dim)).unwrap();
    assert_eq!(graph_bytes(&s), want, "the reopened graph is the saved one");
    s.inner.read().index.check_integrity().unwrap();
    s
}

/// Checkpoints save the graph's edits to the journal of a graph file they keep: the journal grows
/// with the writes (upserts, replacements, deletes), not with the store; past GRAPH_JOURNAL_RATIO
/// the whole graph is written and the journal starts again; a failed checkpoint makes the next one
/// write the whole graph; a backup's link to the journal gets a fresh one. Every reopen gives
/// exactly the graph that was saved.
#[test]
fn checkpoints_save_the_graphs_edits_and_a_reopen_replays_them_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let dim = 8;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    let mut n = 0;
    let mut write = |s: &Store, count: usize| {
        for _ in 0..count {
            s.upsert(&format!("r{n}"), &vector(n, dim), None).unwrap();
            if n % 10 == 3 {
                s.upsert(&format!("r{}", n / 2), &vector(n + 100_000, dim), None).unwrap();
            }
            if n % 10 == 7 {
                s.delete(&format!("r{}", n / 3)).unwrap_or(());
            }
            n += 1;
        }
    };
    write(&s, 600);
    s.checkpoint().unwrap();
    let first = manifest(dir.path());
    assert!(first.graph_journal.is_none(), "the first checkpoint writes the whole graph");

    // Two checkpoints of a few writes each: the graph file kept, its journal appended to.
    write(&s, 20);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    let j = m.graph_journal.clone().expect("a journal");
    assert_eq!(m.graph.name, first.graph.name);
    let per_write = (j.bytes - 32) / 20;
    assert!(per_write < 4 * 33 * 8, "{per_write} journal bytes per write");
    write(&s, 20);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!(m.graph.name, first.graph.name);
    assert_eq!(m.graph_journal.as_ref().unwrap().name, j.name);
    assert!(m.graph_journal.as_ref().unwrap().bytes > j.bytes);
    let s = reopened(s, dir.path(), dim);

    // A backup links graph and journal: the next checkpoint copies the journal into a fresh file
    // and leaves the linked one as it was.
    s.backup_to(backup.path()).unwrap();
    let linked = std::fs::read(backup.path().join(&j.name)).unwrap();
    let backed_up = graph_bytes(&s);
    write(&s, 10);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!(m.graph.name, first.graph.name);
    assert_ne!(m.graph_journal.as_ref().unwrap().name, j.name);
    assert_eq!(std::fs::read(backup.path().join(&j.name)).unwrap(), linked);
    let b = Store::open(backup.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(graph_bytes(&b), backed_up, "the backup opens to the graph it was taken with");
    drop(b);

    // A failed checkpoint (its manifest cannot be written, after the journals were appended to)
    // took the journal: the next successful one writes the whole graph.
    let blocker = dir.path().join("vecstore.snapshot.tmp");
    std::fs::create_dir(&blocker).unwrap();
    write(&s, 10);
    assert!(s.checkpoint().is_err());
    std::fs::remove_dir(&blocker).unwrap();
    write(&s, 10);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!((m.graph.since, m.graph_journal.as_ref()), (None, None), "whole after a failure");
    let s = reopened(s, dir.path(), dim);

    // Journals until it would outgrow the graph file, then the whole graph again.
    let whole = m.graph.name.clone();
    let mut rounds = 0;
    loop {
        write(&s, 40);
        s.checkpoint().unwrap();
        let m = manifest(dir.path());
        let journal = m.graph_journal.as_ref().map_or(0, |e| e.bytes);
        assert!(journal as f64 <= super::GRAPH_JOURNAL_RATIO * m.graph.bytes as f64 + 32.0);
        rounds += 1;
        if m.graph.name != whole {
            assert!(m.graph_journal.is_none());
            break;
        }
        assert!(rounds < 50, "the journal never made way for a whole graph");
    }
    assert!(rounds > 1, "{rounds} rounds");
    write(&s, 5);
    s.checkpoint().unwrap();
    assert!(manifest(dir.path()).graph_journal.is_some());
    reopened(s, dir.path(), dim);
}

/// A close writes the whole graph when the journal would pass CLOSE_GRAPH_JOURNAL_RATIO times
/// the graph file, where checkpoints kept journaling (up to GRAPH_JOURNAL_RATIO): a store closed
/// cleanly opens with a short journal. The reopened graph is the one closed.
#[test]
fn a_close_writes_the_whole_graph_when_the_journal_is_past_the_close_bound() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 8;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    upsert_ids(&s, 0..2000, dim);
    s.checkpoint().unwrap();
    let first = manifest(dir.path());
    let mut n = 2000;
    let journal_ratio = |m: &crate::storage::snapshot::Manifest| {
        m.graph_journal.as_ref().map_or(0.0, |j| j.bytes as f64 / m.graph.bytes as f64)
    };
    while journal_ratio(&manifest(dir.path())) <= super::CLOSE_GRAPH_JOURNAL_RATIO + 0.1 {
        upsert_ids(&s, n..n + 20, dim);
        n += 20;
        s.checkpoint().unwrap();
        let m = manifest(dir.path());
        assert_eq!(m.graph.name, first.graph.name, "checkpoints journal up to GRAPH_JOURNAL_RATIO");
        assert!(n < 4000, "the journal never grew");
    }
    assert!(journal_ratio(&manifest(dir.path())) < super::GRAPH_JOURNAL_RATIO - 0.2);
    // Enough log for the close to checkpoint (64 KiB), in records with large metadata.
    let pad = "x".repeat(1200);
    for _ in 0..60 {
        s.upsert(&format!("r{n}"), &vector(n, dim), Some(&format!(r#"{{"pad":"{pad}"}}"#))).unwrap();
        n += 1;
    }
    let want = graph_bytes(&s);
    s.close().unwrap();
    let m = manifest(dir.path());
    assert_ne!(m.graph.name, first.graph.name, "the close wrote the whole graph");
    assert!(m.graph_journal.is_none());
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(graph_bytes(&s), want, "the reopened graph is the one closed");
}

/// A store whose graph journal is a format 1 file (LIST entries only, as older versions wrote it)
/// opens to its graph, and the next checkpoint writes the journal again as format 2 with the new
/// edits after the old ones.
#[test]
fn a_format_1_graph_journal_opens_and_the_next_checkpoint_rewrites_it_as_format_2() {
    use crate::storage::snapshot::{blob_format_version, FileKind};
    let dir = tempfile::tempdir().unwrap();
    let dim = 8;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    upsert_ids(&s, 0..300, dim);
    s.checkpoint().unwrap();
    s.inner.read().index.journal_as_format_1();
    // Few enough edits that both journals stay within GRAPH_JOURNAL_RATIO of the graph file.
    upsert_ids(&s, 300..340, dim);
    s.checkpoint().unwrap();
    let want = graph_bytes(&s);
    s.close().unwrap();
    let m = manifest(dir.path());
    assert!(m.graph_journal.is_some(), "the second checkpoint journaled the graph");
    let path = m.file_path(dir.path(), FileKind::GraphJournal);
    assert_eq!(blob_format_version(&path), Some(2));
    // Made a format 1 file: its entries are format 1's already, the header says so now.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    crate::storage::snapshot::verify_snapshot(dir.path()).unwrap();
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(graph_bytes(&s), want, "a format 1 journal replays");
    upsert_ids(&s, 340..360, dim);
    s.checkpoint().unwrap();
    let m2 = manifest(dir.path());
    let path2 = m2.file_path(dir.path(), FileKind::GraphJournal);
    assert_eq!(blob_format_version(&path2), Some(2), "written again as format 2");
    assert!(m2.graph_journal.as_ref().unwrap().bytes > m.graph_journal.as_ref().unwrap().bytes);
    assert_eq!(m2.graph.crc32, m.graph.crc32, "the graph file is kept");
    let s = reopened(s, dir.path(), dim);
    drop(s);
}

/// Every slot's record as the store holds it.
fn records_of(s: &Store) -> Vec<crate::storage::snapshot::SlotRecord> {
    s.inner.read().slots.iter().map(|slot| slot.to_record()).collect()
}

/// Closes `s`, reopens its directory and checks that the records are the ones it had.
fn reopened_records(s: Store, dir: &std::path::Path, dim: usize) -> Store {
    let want = records_of(&s);
    s.close().unwrap();
    crate::storage::snapshot::verify_snapshot(dir).unwrap();
    let s = Store::open(dir, &options(1 << 30, dim)).unwrap();
    let got = records_of(&s);
    let first_difference = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i));
    assert_eq!(
        first_difference.map(|i| (i, got.get(i), want.get(i))),
        None,
        "the reopened records are the saved ones ({} and {} slots)",
        got.len(),
        want.len()
    );
    s
}

/// Every kind of change of a record (soft delete, restore, metadata, expiry, delete, replacement)
/// and new records, on the slots of `s` from `first`.
fn change_records(s: &Store, dim: usize, first: usize, round: usize) {
    for i in first..first + 10 {
        match i % 7 {
            0 => s.soft_delete(&format!("r{i}")).unwrap_or(()),
            1 => s.update_metadata(&format!("r{i}"), Some(&format!(r#"{{"round":{round}}}"#))).unwrap_or(()),
            2 => s.set_ttl(&format!("r{i}"), 3600 + round as u64).unwrap_or(()),
            3 => s.delete(&format!("r{i}")).unwrap_or(()),
            4 => s.upsert(&format!("r{i}"), &vector(i + 7, dim), Some(r#"{"replaced":true}"#)).unwrap(),
            5 => s.restore(&format!("r{}", i - 5)).unwrap_or(()),
            _ => s.upsert(&format!("new{round}-{i}"), &vector(i + 1000 * round, dim), None).unwrap(),
        }
    }
}

/// Checkpoints save the records written since the snapshot to the journal of a records file they
/// keep: the journal grows with the changes, not with the store; past RECORDS_JOURNAL_RATIO every
/// record is written again; a failed checkpoint makes the next one write every record; a backup's
/// link to the journal gets a fresh one; a compaction writes every record. Every reopen gives
/// exactly the records there were.
#[test]
fn checkpoints_save_the_records_that_changed_and_a_reopen_has_exactly_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let dim = 4;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    for i in 0..500 {
        s.upsert(
            &format!("r{i}"),
            &vector(i, dim),
            Some(&format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(40))),
        )
        .unwrap();
    }
    s.checkpoint().unwrap();
    let first = manifest(dir.path());
    assert!(first.records_journal.is_none(), "the first checkpoint writes every record");

    change_records(&s, dim, 10, 1);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!(
        (m.records.name.as_str(), m.records.since),
        (first.records.name.as_str(), Some(first.generation))
    );
    let j = m.records_journal.clone().expect("a records journal");
    assert!(j.bytes < first.records.bytes / 10, "{} bytes of journal for 10 changes", j.bytes);
    change_records(&s, dim, 30, 2);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!(m.records.name, first.records.name);
    assert_eq!(m.records_journal.as_ref().unwrap().name, j.name);
    assert!(m.records_journal.as_ref().unwrap().bytes > j.bytes);
    // The log's writes after the snapshot on top of the journal.
    change_records(&s, dim, 50, 3);
    let s = reopened_records(s, dir.path(), dim);

    // A backup links records and journal: the next checkpoint copies the journal into a fresh file
    // and leaves the linked one as it was; the backup opens to its records.
    s.checkpoint().unwrap();
    let j = manifest(dir.path()).records_journal.unwrap();
    s.backup_to(backup.path()).unwrap();
    let linked = std::fs::read(backup.path().join(&j.name)).unwrap();
    let backed_up = records_of(&s);
    change_records(&s, dim, 70, 4);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!(m.records.name, first.records.name);
    assert_ne!(m.records_journal.as_ref().unwrap().name, j.name);
    assert_eq!(std::fs::read(backup.path().join(&j.name)).unwrap(), linked);
    let b = Store::open(backup.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(records_of(&b), backed_up, "the backup opens to the records it was taken with");
    drop(b);

    // A failed checkpoint took the marks: the next successful one writes every record.
    let blocker = dir.path().join("vecstore.snapshot.tmp");
    std::fs::create_dir(&blocker).unwrap();
    change_records(&s, dim, 90, 5);
    assert!(s.checkpoint().is_err());
    std::fs::remove_dir(&blocker).unwrap();
    change_records(&s, dim, 110, 6);
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_eq!((m.records.since, m.records_journal.as_ref()), (None, None), "every record after a failure");
    let s = reopened_records(s, dir.path(), dim);

    // Journals until it would outgrow the records file, then every record again.
    let whole = m.records.name.clone();
    let mut rounds = 0;
    loop {
        for i in 0..60 {
            s.update_metadata(
                &format!("r{}", 200 + i),
                Some(&format!(r#"{{"round":{rounds},"pad":"{}"}}"#, "y".repeat(60))),
            )
            .unwrap_or(());
        }
        s.checkpoint().unwrap();
        let m = manifest(dir.path());
        let journal = m.records_journal.as_ref().map_or(0, |e| e.bytes);
        assert!(journal as f64 <= super::RECORDS_JOURNAL_RATIO * m.records.bytes as f64 + 32.0);
        rounds += 1;
        if m.records.name != whole {
            assert!(m.records_journal.is_none());
            break;
        }
        assert!(rounds < 50, "the journal never made way for every record");
    }
    assert!(rounds > 1, "{rounds} rounds");
    change_records(&s, dim, 130, 7);
    s.checkpoint().unwrap();
    assert!(manifest(dir.path()).records_journal.is_some());
    let s = reopened_records(s, dir.path(), dim);

    // Compaction writes every record; the next checkpoint journals again.
    s.compact().unwrap();
    let m = manifest(dir.path());
    assert_eq!((m.records.since, m.records_journal.as_ref()), (None, None));
    change_records(&s, dim, 150, 8);
    s.checkpoint().unwrap();
    assert!(manifest(dir.path()).records_journal.is_some());
    reopened_records(s, dir.path(), dim);
}

/// A store that only grows journals its new records past RECORDS_JOURNAL_RATIO times the records
/// file (added slots are not dead bytes), up to RECORDS_JOURNAL_MAX_RATIO, then writes every
/// record; a reopen counts the journal it finds as replacing records (the split is not saved),
/// so the next replacements past the ratio write every record. Every reopen has the records.
#[test]
fn a_growing_store_journals_its_new_records_past_the_ratio_up_to_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 4;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    let add = |s: &Store, from: usize, n: usize| {
        for i in from..from + n {
            s.upsert(&format!("r{i}"), &vector(i, dim), Some(r#"{"k":1}"#)).unwrap();
        }
    };
    add(&s, 0, 100);
    s.checkpoint().unwrap();
    let first = manifest(dir.path());
    let mut next = 100;
    let mut beyond_ratio = false;
    loop {
        add(&s, next, 50);
        next += 50;
        s.checkpoint().unwrap();
        let m = manifest(dir.path());
        if m.records.name != first.records.name {
            assert!(m.records_journal.is_none());
            break;
        }
        let journal = m.records_journal.as_ref().expect("journaled").bytes as f64;
        let file = m.records.bytes as f64;
        beyond_ratio |= journal > super::RECORDS_JOURNAL_RATIO * file;
        assert!(journal <= super::RECORDS_JOURNAL_MAX_RATIO * file + 32.0, "{journal} for a file of {file}");
        assert!(next < 2000, "the journal never made way for every record");
    }
    assert!(beyond_ratio, "added records journaled past the ratio");
    assert!(next > 400, "whole again after {next} records");
    // Grows again on a journal, then a reopen; replacements after it count the journal found.
    add(&s, next, next + 50);
    s.checkpoint().unwrap();
    let grown = manifest(dir.path());
    let j = grown.records_journal.as_ref().expect("journaled").bytes;
    assert!(j as f64 > super::RECORDS_JOURNAL_RATIO * grown.records.bytes as f64);
    let s = reopened_records(s, dir.path(), dim);
    s.update_metadata("r0", Some(r#"{"k":2}"#)).unwrap();
    s.checkpoint().unwrap();
    let m = manifest(dir.path());
    assert_ne!(m.records.name, grown.records.name, "after a reopen the journal counts as replacing");
    assert!(m.records_journal.is_none());
    reopened_records(s, dir.path(), dim);
}

/// Records changed while a checkpoint writes (after its freeze) are saved by the next one: a
/// writer changes old and new records while checkpoints run back to back, and the reopened store
/// has exactly its records.
#[test]
fn records_changed_during_a_checkpoint_are_saved_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 4;
    let s = Store::open(dir.path(), &options(1 << 30, dim)).unwrap();
    for i in 0..300 {
        s.upsert(&format!("r{i}"), &vector(i, dim), None).unwrap();
    }
    s.checkpoint().unwrap();
    let done = AtomicBool::new(false);
    let checkpoints = AtomicUsize::new(0);
    // Checkpoints that saved a journal (the others wrote every record: the ratio's bound).
    let journaled = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                s.checkpoint().unwrap();
                checkpoints.fetch_add(1, Ordering::SeqCst);
                if manifest(dir.path()).records_journal.is_some() {
                    journaled.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        // Until enough checkpoints ran among the writes (a checkpoint needs something in the log).
        let mut round = 0;
        while round < 40 || (checkpoints.load(Ordering::SeqCst) < 20 && round < 20_000) {
            round += 1;
            change_records(&s, dim, (round * 7) % 280, round);
            for i in 0..5 {
                s.update_metadata(&format!("new{}-{}", round.saturating_sub(1), i), Some(r#"{"late":1}"#))
                    .unwrap_or(());
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    assert!(checkpoints.load(Ordering::SeqCst) >= 20, "{} checkpoints", checkpoints.load(Ordering::SeqCst));
    // No close: a copy of the files of the open store (the last checkpoint and the log after it)
    // is what a crash would leave.
    let want = records_of(&s);
    assert!(journaled.load(Ordering::SeqCst) > 0, "no checkpoint saved a journal");
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        if e.file_name() != crate::storage::lock::LOCK_FILE {
            std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
        }
    }
    let c = Store::open(copy.path(), &options(1 << 30, dim)).unwrap();
    assert_eq!(records_of(&c), want);
    drop(s);
}
