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
        let touched: Vec<u64> = if n.is_multiple_of(7) && !n.is_multiple_of(5) {
            (0..3).map(|j| (id + j) % 200).collect()
        } else {
            vec![id]
        };
        // Announce the ids this operation touches before starting it: if the kill lands inside the
        // operation, the parent knows which ids are uncertain.
        writeln!(out, "try {}", touched.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")).unwrap();
        out.flush().unwrap();
        if n.is_multiple_of(5) {
            match store.delete(&name) {
                Ok(()) => writeln!(out, "del {id}").unwrap(),
                Err(e) if e.code == Code::NotFound => {}
                Err(e) => panic!("delete failed: {e}"),
            }
        } else if n.is_multiple_of(7) {
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
        } else {
            let meta = format!("{{\"v\":{version}}}");
            store.upsert(&name, &vector_for(id, version), Some(&meta)).expect("upsert");
            writeln!(out, "put {id} {version}").unwrap();
        }
        writeln!(out, "done").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var("VECSTORE_CRASH_ROUND").unwrap().parse().unwrap();
        child(&dir, round);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // Expected state: id -> Some(version) for a live record, None for a deleted one.
    let mut expected: HashMap<u64, Option<u64>> = HashMap::new();
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
                    expected.insert(id.parse().unwrap(), Some(v.parse().unwrap()));
                }
                ["del", id] => {
                    expected.insert(id.parse().unwrap(), None);
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
                Some(version) => {
                    let rec = got.unwrap_or_else(|e| panic!("round {round}: acknowledged id{id} lost: {e}"));
                    assert_eq!(rec.vector, vector_for(id, version), "round {round}: id{id} has stale data");
                }
                None => assert_eq!(
                    got.err().map(|e| e.code),
                    Some(Code::NotFound),
                    "round {round}: acknowledged delete of id{id} undone"
                ),
            }
        }
        // Resynchronise the expectation with what is actually stored for the ids the in-flight op may
        // have touched.
        for id in in_flight_ids {
            match store.get(&format!("id{id}")) {
                Ok(rec) => {
                    let meta: serde_json::Value = serde_json::from_str(&rec.metadata).unwrap();
                    let version = meta["v"].as_u64().expect("every record carries its version");
                    assert_eq!(rec.vector, vector_for(id, version), "round {round}: id{id} is torn");
                    expected.insert(id, Some(version));
                }
                Err(_) => {
                    expected.insert(id, None);
                }
            }
        }
        drop(store);
    }
    assert!(total_acks > 100, "the children acknowledged only {total_acks} writes: the test proved little");
}
