//! A 2xx write survives SIGKILL of the server: writers record every acknowledged write (single
//! upserts and batches), the server is killed with SIGKILL at a varying moment, restarted, and every
//! acknowledged record is there with its vector.

mod server_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use server_common::{json, ok, vector, Server};

const DIM: usize = 16;

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_string();
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    let acked: Arc<Mutex<Vec<usize>>> = Arc::default();
    let mut next = 0usize;
    for round in 0..3u64 {
        let s = Server::start(&["--namespaces", "--namespace-root", &root]);
        if round == 0 {
            let (st, _) = json(s.post("/admin/namespaces", &json!({"id": "k", "name": "kill"})));
            assert_eq!(st, 201);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..3usize {
            let (client, base, stop, acked) = (s.client.clone(), s.base.clone(), stop.clone(), acked.clone());
            let start = next + w * 1_000_000;
            writers.push(std::thread::spawn(move || {
                let mut i = start;
                while !stop.load(Ordering::Relaxed) {
                    let (ids, resp) = if w == 2 {
                        // Batches of 50.
                        let ids: Vec<usize> = (i..i + 50).collect();
                        let ops: Vec<_> = ids
                            .iter()
                            .map(
                                |&j| json!({"op": "upsert", "id": format!("r{j}"), "vector": vector(j, DIM)}),
                            )
                            .collect();
                        (
                            ids,
                            client
                                .post(format!("{base}/v1/namespaces/k/batch-execute"))
                                .json(&json!({"operations": ops}))
                                .send(),
                        )
                    } else {
                        (
                            vec![i],
                            client
                                .post(format!("{base}/v1/namespaces/k/upsert"))
                                .json(&json!({"id": format!("r{i}"), "vector": vector(i, DIM)}))
                                .send(),
                        )
                    };
                    i += ids.len();
                    match resp {
                        Ok(r) if r.status().is_success() => acked.lock().unwrap().extend(ids),
                        _ => break, // the server is gone: this write is not acknowledged
                    }
                }
            }));
        }
        // Kill at a varying moment between 0.3 and 1.5 s.
        let wait = 300 + (seed.wrapping_mul(round + 7) % 1200);
        std::thread::sleep(Duration::from_millis(wait));
        s.signal(libc::SIGKILL);
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        drop(s);
        next += 10_000_000;
        // Restart and check every acknowledged write.
        let s = Server::start(&["--namespaces", "--namespace-root", &root]);
        let acked_now = acked.lock().unwrap().clone();
        assert!(!acked_now.is_empty());
        let count = ok(s.get("/v1/namespaces/k/stats"))["count"].as_u64().unwrap() as usize;
        assert!(count >= acked_now.len(), "round {round}: {count} records, {} acknowledged", acked_now.len());
        for &j in &acked_now {
            let r = ok(s.get(&format!("/v1/namespaces/k/vectors/r{j}")));
            let got: Vec<f32> =
                r["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            let want = vector(j, DIM);
            let norm = want.iter().map(|x| x * x).sum::<f32>().sqrt();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w / norm).abs() < 1e-5, "r{j}: stored vector differs");
            }
        }
        eprintln!("round {round}: killed after {wait} ms, {} acknowledged, {count} present", acked_now.len());
        assert_eq!(s.stop(), 0);
    }
}
