//! Every write that returned success survives a SIGKILL of the process.
//!
//! The test re-runs its own binary as a child writer (selected by an environment variable). The child
//! upserts and deletes in a loop and prints one line per acknowledged operation; the parent kills it
//! with SIGKILL at a random moment, reopens the store, and checks every acknowledged operation against
//! what the store holds. Repeated many times on the same directory, so recovery also runs on logs that
//! earlier kills left behind.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vecstore::store::write::WriteOp;
use vecstore::{Code, NewRecord, Store, StoreOptions};

const CHILD_ENV: &str = "VECSTORE_CRASH_CHILD_DIR";
const DIM: usize = 8;

fn vector_for(id: u64, version: u64) -> Vec<f32> {
    (0..DIM).map(|i| ((id * 31 + version * 7 + i as u64) % 100_000) as f32 + 0.5).collect()
}

fn options() -> StoreOptions {
    StoreOptions { dimension: DIM, metric: Some(vecstore::Metric::Euclidean), ..StoreOptions::default() }
}

/// The child: writes forever, acknowledging each success on stdout.
///
/// Acknowledgements: `put ID VERSION` (the record now has the vector and metadata of VERSION),
/// `del ID`, `soft ID`, `restore ID` (a soft-deleted record is back, or a live one was left as it
/// was), `meta ID STAMP` (the metadata's "u" is now STAMP, its "v" unchanged).
fn child(dir: &str, round: u64) -> ! {
    use std::io::Write;
    let store = Store::open(dir, &options()).expect("child opens the store");
    let mut out = std::io::stdout().lock();
    let mut n: u64 = 0;
    loop {
        n += 1;
        let id = (n * 7 + round) % 200;
        let name = format!("id{id}");
        let version = round * 1_000_000 + n;
        let kind = n % 9;
        let touched: Vec<u64> =
            if kind == 3 || kind == 8 { (0..3).map(|j| (id + j) % 200).collect() } else { vec![id] };
        // Announce the ids this operation touches before starting it: if the kill lands inside the
        // operation, the parent knows which ids are uncertain.
        writeln!(out, "try {}", touched.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")).unwrap();
        out.flush().unwrap();
        let ok_or_missing = |r: vecstore::Result<()>, what: &str| -> bool {
            match r {
                Ok(()) => true,
                Err(e) if e.code == Code::NotFound => false,
                Err(e) => panic!("{what} failed: {e}"),
            }
        };
        match kind {
            0 => {
                if ok_or_missing(store.delete(&name), "delete") {
                    writeln!(out, "del {id}").unwrap();
                }
            }
            3 => {
                // A bulk write: all of it or none of it.
                let ids: Vec<String> = (0..3).map(|j| format!("id{}", (id + j) % 200)).collect();
                let vecs: Vec<Vec<f32>> = (0..3).map(|j| vector_for((id + j) % 200, version)).collect();
                let meta = format!("{{\"v\":{version}}}");
                let recs: Vec<NewRecord> = ids
                    .iter()
                    .zip(&vecs)
                    .map(|(i, v)| NewRecord { id: i, vector: v, metadata: Some(&meta) })
                    .collect();
                store.upsert_many(&recs).expect("bulk upsert");
                for j in 0..3 {
                    writeln!(out, "put {} {version}", (id + j) % 200).unwrap();
                }
            }
            4 => {
                if ok_or_missing(store.soft_delete(&name), "soft delete") {
                    writeln!(out, "soft {id}").unwrap();
                }
            }
            5 => {
                if ok_or_missing(store.restore(&name), "restore") {
                    writeln!(out, "restore {id}").unwrap();
                }
            }
            2 | 6 => {
                // Keep "v" (which names the vector) and stamp "u".
                if let Ok(rec) = store.get(&name) {
                    let meta: serde_json::Value = serde_json::from_str(&rec.metadata).unwrap();
                    let v = meta["v"].as_u64().unwrap();
                    let text = format!("{{\"v\":{v},\"u\":{version}}}");
                    if ok_or_missing(store.update_metadata(&name, Some(&text)), "update metadata") {
                        writeln!(out, "meta {id} {version}").unwrap();
                    }
                }
            }
            8 => {
                // A batch: upsert, soft delete, restore, each may fail alone; one log frame.
                let (a, b, c) = (id, (id + 1) % 200, (id + 2) % 200);
                let ops = vec![
                    WriteOp::Upsert {
                        id: format!("id{a}"),
                        vector: vector_for(a, version),
                        metadata: Some(format!("{{\"v\":{version}}}")),
                        ttl_seconds: 0,
                    },
                    WriteOp::SoftDelete { id: format!("id{b}") },
                    WriteOp::Restore { id: format!("id{c}") },
                ];
                let result = store.batch_execute(&ops).expect("batch");
                let failed = |i: usize| result.errors.iter().any(|e| e.index == i);
                if !failed(0) {
                    writeln!(out, "put {a} {version}").unwrap();
                }
                if !failed(1) {
                    writeln!(out, "soft {b}").unwrap();
                }
                if !failed(2) {
                    writeln!(out, "restore {c}").unwrap();
                }
            }
            _ => {
                let meta = format!("{{\"v\":{version}}}");
                store.upsert(&name, &vector_for(id, version), Some(&meta)).expect("upsert");
                writeln!(out, "put {id} {version}").unwrap();
            }
        }
        writeln!(out, "done").unwrap();
        out.flush().unwrap();
    }
}

/// What the parent knows of an id.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Live with the vector of `version`, and metadata "u" = `stamp` (None: no "u").
    Live {
        version: u64,
        stamp: Option<u64>,
    },
    /// Soft-deleted (invisible; a restore brings back this record).
    Soft {
        version: u64,
        stamp: Option<u64>,
    },
    Deleted,
    /// Unknowable: an interrupted operation may or may not have soft-deleted or deleted it.
    Unknown,
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var("VECSTORE_CRASH_ROUND").unwrap().parse().unwrap();
        child(&dir, round);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut expected: HashMap<u64, Expect> = HashMap::new();
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut total_acks = 0;
    for round in 0..20u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "acknowledged_writes_survive_sigkill", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("VECSTORE_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(20 + seed % 150);
        let stdout = child.stdout.take().unwrap();
        // The reader signals the first completed operation, so that the random delay before the kill
        // starts once the child is really writing (a slow start on a loaded machine does not turn a
        // round into a no-op).
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut started = false;
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if line == "done" && !started {
                    started = true;
                    let _ = started_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        started_rx.recv_timeout(Duration::from_secs(60)).expect("the child completes a first write");
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        // Ids announced by a `try` line with no `done` after it: the operation the kill interrupted.
        let mut in_flight_ids: Vec<u64> = Vec::new();
        for line in &lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["try", ids @ ..] => in_flight_ids = ids.iter().map(|i| i.parse().unwrap()).collect(),
                ["done"] => in_flight_ids.clear(),
                ["put", id, v] => {
                    expected.insert(
                        id.parse().unwrap(),
                        Expect::Live { version: v.parse().unwrap(), stamp: None },
                    );
                }
                ["del", id] => {
                    expected.insert(id.parse().unwrap(), Expect::Deleted);
                }
                ["soft", id] => {
                    let e = expected.entry(id.parse().unwrap()).or_insert(Expect::Unknown);
                    *e = match *e {
                        Expect::Live { version, stamp } => Expect::Soft { version, stamp },
                        _ => Expect::Unknown, // soft-deleted something it did not know: resync later
                    };
                }
                ["restore", id] => {
                    let e = expected.entry(id.parse().unwrap()).or_insert(Expect::Unknown);
                    *e = match *e {
                        Expect::Soft { version, stamp } | Expect::Live { version, stamp } => {
                            Expect::Live { version, stamp }
                        }
                        _ => Expect::Unknown,
                    };
                }
                ["meta", id, stamp] => {
                    let e = expected.entry(id.parse().unwrap()).or_insert(Expect::Unknown);
                    if let Expect::Live { version, .. } = *e {
                        *e = Expect::Live { version, stamp: Some(stamp.parse().unwrap()) };
                    } else {
                        *e = Expect::Unknown;
                    }
                }
                _ => {} // the test harness's own output, or a line cut by the kill
            }
        }
        total_acks += lines.len();

        // Reopen and check. The one operation in flight at the kill may or may not have landed (all of
        // it or none of it); every acknowledged one must be there.
        let store = Store::open(dir.path(), &options()).expect("reopen after SIGKILL");
        for (&id, &state) in &expected {
            if in_flight_ids.contains(&id) {
                continue;
            }
            let got = store.get(&format!("id{id}"));
            match state {
                Expect::Live { version, stamp } => {
                    let rec = got.unwrap_or_else(|e| panic!("round {round}: acknowledged id{id} lost: {e}"));
                    assert_eq!(rec.vector, vector_for(id, version), "round {round}: id{id} has stale data");
                    let meta: serde_json::Value = serde_json::from_str(&rec.metadata).unwrap();
                    assert_eq!(meta["v"].as_u64(), Some(version), "round {round}: id{id} metadata");
                    assert_eq!(meta["u"].as_u64(), stamp, "round {round}: id{id} metadata update lost");
                }
                Expect::Soft { .. } | Expect::Deleted => assert_eq!(
                    got.err().map(|e| e.code),
                    Some(Code::NotFound),
                    "round {round}: acknowledged delete or soft delete of id{id} undone"
                ),
                Expect::Unknown => {}
            }
        }
        // Soft-deleted records keep their data: count them through stats.
        let soft = expected
            .iter()
            .filter(|(id, e)| matches!(e, Expect::Soft { .. }) && !in_flight_ids.contains(id))
            .count();
        assert!(
            store.stats().soft_deleted >= soft,
            "round {round}: soft-deleted records lost: {} < {soft}",
            store.stats().soft_deleted
        );
        // Resynchronise the expectation with what is actually stored for the ids the in-flight op may
        // have touched.
        for id in in_flight_ids {
            match store.get(&format!("id{id}")) {
                Ok(rec) => {
                    let meta: serde_json::Value = serde_json::from_str(&rec.metadata).unwrap();
                    let version = meta["v"].as_u64().expect("every record carries its version");
                    assert_eq!(rec.vector, vector_for(id, version), "round {round}: id{id} is torn");
                    expected.insert(id, Expect::Live { version, stamp: meta["u"].as_u64() });
                }
                Err(_) => {
                    expected.insert(id, Expect::Unknown);
                }
            }
        }
        drop(store);
    }
    assert!(total_acks > 100, "the children acknowledged only {total_acks} writes: the test proved little");
}
