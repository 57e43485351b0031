//! A compaction killed at any moment (SIGKILL) leaves either the old store or the compacted one,
//! never a mix, and both answer every read the same way.
//!
//! The test re-runs its own binary as a child (selected by an environment variable) that opens a
//! copy of a prepared store and compacts it; the parent kills it after a random delay spread over the
//! compaction's duration, reopens the copy and checks it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vecstore::store::Query;
use vecstore::{Code, Metric, NewRecord, Store, StoreOptions};

const CHILD_ENV: &str = "VECSTORE_COMPACT_CRASH_DIR";
const DIM: usize = 16;
const LIVE: usize = 1400;
const SOFT: usize = 400;
const DELETED: usize = 200;

fn options() -> StoreOptions {
    StoreOptions { dimension: DIM, metric: Some(Metric::Euclidean), ..StoreOptions::default() }
}

fn vector(i: usize) -> Vec<f32> {
    (0..DIM).map(|j| (((i * 7919 + j * 104_729) % 10_007) as f32 / 10_007.0) - 0.5).collect()
}

fn child(dir: &str) -> ! {
    let store = Store::open(dir, &options()).expect("child opens the store");
    println!("ready");
    let t = Instant::now();
    let removed = store.compact().expect("compaction");
    println!("compacted {removed} in {} us", t.elapsed().as_micros());
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Runs a child on `dir`; kills it `delay` after it is ready (or lets it finish when `None`).
/// Returns the child's lines.
fn run_child(dir: &Path, delay: Option<Duration>) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "a_killed_compaction_leaves_the_old_or_the_new_store",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            let _ = tx.send(line.clone());
            lines.push(line);
        }
        lines
    });
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the child gets ready");
        if line.ends_with("ready") {
            break;
        }
    }
    match delay {
        Some(d) => std::thread::sleep(d),
        None => loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("the child compacts");
            if line.starts_with("compacted") {
                break;
            }
        },
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

fn brute_force(q: &[f32], k: usize) -> Vec<String> {
    let mut d: Vec<(f32, usize)> = (0..LIVE)
        .map(|i| (vector(i).iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|(_, i)| format!("r{i}")).collect()
}

/// Checks a store after a kill; returns true when it is the compacted one.
fn check(dir: &Path) -> bool {
    let s = Store::open(dir, &options()).expect("the store opens after the kill");
    assert_eq!(s.count(), LIVE);
    let st = s.stats();
    let compacted = match (st.soft_deleted, st.tombstones) {
        (0, 0) => true,
        (SOFT, DELETED) => false,
        other => panic!("a mix of old and new state: (soft_deleted, tombstones) = {other:?}"),
    };
    for i in (0..LIVE).step_by(7) {
        assert_eq!(s.get(&format!("r{i}")).unwrap().vector, vector(i));
    }
    for i in LIVE..LIVE + SOFT + DELETED {
        assert_eq!(s.get(&format!("r{i}")).unwrap_err().code, Code::NotFound);
    }
    for i in (0..LIVE).step_by(97) {
        let q = vector(i * 3 + 1);
        let got: Vec<String> = s
            .query(&Query { vector: &q, k: 10, ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(got, brute_force(&q, 10));
    }
    // Soft-deleted records are restorable in the old state, gone in the new one: all, or none.
    // (Restored ones are soft-deleted again, so the store stays as the kill left it.)
    let restored = (LIVE..LIVE + SOFT).filter(|i| s.restore(&format!("r{i}")).is_ok()).count();
    assert_eq!(restored, if compacted { 0 } else { SOFT });
    if !compacted {
        for i in LIVE..LIVE + SOFT {
            s.soft_delete(&format!("r{i}")).unwrap();
        }
    }
    compacted
}

#[test]
fn a_killed_compaction_leaves_the_old_or_the_new_store() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    {
        let s = Store::open(&base, &options()).unwrap();
        let n = LIVE + SOFT + DELETED;
        let ids: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let vecs: Vec<Vec<f32>> = (0..n).map(vector).collect();
        let recs: Vec<NewRecord> =
            ids.iter().zip(&vecs).map(|(id, v)| NewRecord { id, vector: v, metadata: None }).collect();
        s.upsert_many(&recs).unwrap();
        for id in &ids[LIVE..LIVE + SOFT] {
            s.soft_delete(id).unwrap();
        }
        for id in &ids[LIVE + SOFT..] {
            s.delete(id).unwrap();
        }
    }
    // How long a whole compaction takes here (the child's own measure).
    let full = root.path().join("full");
    copy_dir(&base, &full);
    let lines = run_child(&full, None);
    let micros: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("compacted ").and_then(|r| r.split_whitespace().nth(2)?.parse().ok()))
        .expect("the child reports its compaction");
    assert!(check(&full), "a finished compaction leaves the compacted store");

    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let (mut old, mut new) = (0, 0);
    for round in 0..12 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % (micros + micros / 4 + 1));
        let dir = root.path().join(format!("round{round}"));
        copy_dir(&base, &dir);
        run_child(&dir, Some(delay));
        if check(&dir) {
            new += 1;
        } else {
            old += 1;
        }
        // A second compaction after the kill finishes the job.
        let s = Store::open(&dir, &options()).unwrap();
        s.compact().unwrap();
        drop(s);
        assert!(check(&dir));
    }
    eprintln!("compaction takes {micros} us; after kills: {old} old stores, {new} compacted ones");
}
