//! The `vecstore` command-line tool, run as a user runs it: the built binary on temporary stores.
//!
//! Built only with the `cli` feature (`cargo test --release --features cli --test cli`; `make test-cli`).
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vecstore");

/// Runs `vecstore ARGS` in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("vecstore runs")
}

fn run(args: &[&str]) -> Output {
    run_in(Path::new("."), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects exit code 0; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "vecstore {args:?}\nstdout: {}\nstderr: {}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Runs with --json and parses stdout.
fn json(args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = ok(&a);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("vecstore {args:?} printed no JSON ({e}): {out}"))
}

/// Runs and expects exit code `code`; returns stderr.
fn fails(code: i32, args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "vecstore {args:?}\nstdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    stderr(&o)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A deterministic generator (the tests need no random crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
    }
}

/// The embeddings file of the README's session: `n` records of dimension `dim` in three clusters,
/// with category and year metadata.
pub fn demo_embeddings(path: &Path, n: usize, dim: usize) {
    let mut g = Lcg(42);
    let cats = ["tech", "sport", "news"];
    let centres: Vec<Vec<f32>> = (0..3).map(|_| (0..dim).map(|_| g.unit()).collect()).collect();
    let mut text = String::new();
    for i in 0..n {
        let c = i % 3;
        let v: Vec<f32> = centres[c].iter().map(|x| x + 0.3 * g.unit()).collect();
        let line = serde_json::json!({"id": format!("doc-{i}"), "vector": v,
            "metadata": {"category": cats[c], "year": 2015 + (i % 10) as i64}});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn info(dir: &Path) -> Value {
    json(&["info", p(dir)])
}

fn live(dir: &Path) -> u64 {
    info(dir)["counts"]["live"].as_u64().unwrap()
}

#[test]
fn import_then_export_round_trips_exactly() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("in.jsonl");
    // Random finite f32 bit patterns of moderate magnitude (every exponent from 2^-40 to 2^40, every
    // mantissa), odd ids, metadata of every kind.
    let mut g = Lcg(7);
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1500 {
        let v: Vec<f32> = (0..24)
            .map(|_| {
                let exp = 127 - 40 + (g.next() % 81) as u32;
                f32::from_bits(((g.next() % 2) as u32) << 31 | exp << 23 | (g.next() as u32 & 0x7f_ffff))
            })
            .collect();
        let id = match i % 4 {
            0 => format!("doc-{i}"),
            1 => format!("ünï \"quoted\" {i}"),
            2 => format!("tab\there {i}"),
            _ => format!("{i}"),
        };
        let md = serde_json::json!({"n": i, "f": i as f64 / 7.0, "s": format!("x{i}"), "b": i % 2 == 0,
                                    "z": null, "l": ["a", 1, true]});
        let mut rec = serde_json::json!({"id": id, "vector": v});
        if i % 5 != 0 {
            rec["metadata"] = md.clone();
        }
        lines.push(rec.to_string());
        expected.push((id, v, if i % 5 != 0 { md } else { serde_json::json!({}) }));
    }
    std::fs::write(&src, lines.join("\n") + "\n").unwrap();
    let store = t.path().join("store");
    let r = json(&["import", p(&store), p(&src), "--metric", "euclidean", "--batch", "400"]);
    assert_eq!(r["imported"], 1500);
    assert_eq!(r["batches"], 4);
    assert!(r["records_per_second"].as_f64().unwrap() > 0.0);

    let out = t.path().join("out.jsonl");
    let r = json(&["export", p(&store), p(&out)]);
    assert_eq!(r["exported"], 1500);
    let text = std::fs::read_to_string(&out).unwrap();
    let got: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), expected.len());
    for (g, (id, v, md)) in got.iter().zip(&expected) {
        assert_eq!(g["id"].as_str().unwrap(), id);
        let gv: Vec<f32> = serde_json::from_value(g["vector"].clone()).unwrap();
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&gv), bits(v), "vector of {id} changed");
        assert_eq!(g.get("metadata").cloned().unwrap_or(serde_json::json!({})), *md, "metadata of {id}");
    }
    // The export imports back into an identical export.
    let store2 = t.path().join("store2");
    ok(&["import", p(&store2), p(&out), "--metric", "euclidean"]);
    let out2 = t.path().join("out2.jsonl");
    ok(&["export", p(&store2), p(&out2)]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

fn write_npy(path: &Path, rows: usize, dim: usize, data: &[f32]) {
    write_npy_typed(path, "<f4", rows, dim, data)
}

fn write_npy_typed(path: &Path, descr: &str, rows: usize, dim: usize, data: &[f32]) {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    for x in data {
        b.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn npy_and_fvecs_import_and_npy_export() {
    let t = tempfile::tempdir().unwrap();
    let (rows, dim) = (700, 12);
    let mut g = Lcg(3);
    let data: Vec<f32> = (0..rows * dim).map(|_| g.unit()).collect();
    let npy = t.path().join("x.npy");
    write_npy(&npy, rows, dim, &data);
    let store = t.path().join("s");
    let r = json(&["import", p(&store), p(&npy), "--metric", "dot", "--id-prefix", "row-"]);
    assert_eq!(r["imported"], rows);
    let rec = json(&["get", p(&store), "row-5"]);
    let v: Vec<f32> = serde_json::from_value(rec["vector"].clone()).unwrap();
    assert_eq!(v, data[5 * dim..6 * dim].to_vec());
    let i = info(&store);
    assert_eq!((i["dimension"].as_u64(), i["metric"].as_str()), (Some(dim as u64), Some("dot")));

    // Export to .npy + ids, import that with --ids: the same array and ids.
    let out = t.path().join("y.npy");
    ok(&["export", p(&store), p(&out)]);
    let ids = t.path().join("y.ids.txt");
    let id_lines = std::fs::read_to_string(&ids).unwrap();
    assert_eq!(id_lines.lines().count(), rows);
    assert_eq!(id_lines.lines().nth(7), Some("row-7"));
    let bytes = std::fs::read(&out).unwrap();
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert!(String::from_utf8_lossy(&bytes[10..10 + hl]).contains(&format!("({rows}, {dim})")));
    let floats: Vec<f32> =
        bytes[10 + hl..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(floats, data);
    let store2 = t.path().join("s2");
    ok(&["import", p(&store2), p(&out), "--ids", p(&ids), "--metric", "dot"]);
    let rec = json(&["get", p(&store2), "row-9"]);
    let v: Vec<f32> = serde_json::from_value(rec["vector"].clone()).unwrap();
    assert_eq!(v, data[9 * dim..10 * dim].to_vec());
    // An ids file with too few lines is refused.
    let short = t.path().join("short.txt");
    std::fs::write(&short, "a\nb\n").unwrap();
    let err = fails(1, &["import", p(&t.path().join("s3")), p(&out), "--ids", p(&short)]);
    assert!(err.contains("fewer ids"), "{err}");

    // .fvecs.
    let fv = t.path().join("x.fvecs");
    let mut b = Vec::new();
    for r in 0..rows {
        b.extend_from_slice(&(dim as i32).to_le_bytes());
        for x in &data[r * dim..(r + 1) * dim] {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(&fv, b).unwrap();
    let store3 = t.path().join("s4");
    ok(&["import", p(&store3), p(&fv), "--metric", "dot"]);
    assert_eq!(live(&store3), rows as u64);
    let v: Vec<f32> = serde_json::from_value(json(&["get", p(&store3), "699"])["vector"].clone()).unwrap();
    assert_eq!(v, data[699 * dim..].to_vec());
    // A .npy of another dtype is refused, saying what it holds.
    let bad = t.path().join("bad.npy");
    write_npy_typed(&bad, "<f8", 1, 2, &[1.0, 2.0, 3.0, 4.0]);
    let err = fails(1, &["import", p(&t.path().join("s5")), p(&bad)]);
    assert!(err.contains("'<f8'") && err.contains("bad.npy"), "{err}");
}

#[test]
fn a_bad_line_stops_the_import_at_the_last_committed_batch() {
    let t = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..40)
        .map(|i| serde_json::json!({"id": format!("r{i}"), "vector": [i as f32 + 1.0, 1.0, 2.0]}).to_string())
        .collect();
    lines[24] = r#"{"id": "r24", "vector": [1.0, 2.0]}"#.into(); // line 25: wrong dimension
    lines[31] = r#"{"id": "r31", "vector": [1.0, 2.0, "x"]}"#.into(); // line 32: not a number
    let src = t.path().join("in.jsonl");
    std::fs::write(&src, lines.join("\n")).unwrap();
    let store = t.path().join("s");
    let err = fails(1, &["import", p(&store), p(&src), "--batch", "10", "--metric", "euclidean"]);
    assert!(err.contains("line 25") && err.contains("dimension 2"), "{err}");
    assert!(err.contains("up to line 20"), "{err}");
    assert_eq!(live(&store), 20, "exactly the two committed batches");

    // --skip-bad reports both bad lines and loads the rest.
    let store2 = t.path().join("s2");
    let o = run(&["import", p(&store2), p(&src), "--batch", "10", "--skip-bad"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 25") && err.contains("line 32") && err.contains("skipped"), "{err}");
    assert!(stdout(&o).contains("imported 38 records (2 bad records skipped)"), "{}", stdout(&o));
    assert_eq!(live(&store2), 38);
}

/// A store of 2,500 records (enough for the graph search), closed.
fn demo_store(t: &Path) -> PathBuf {
    let src = t.join("emb.jsonl");
    demo_embeddings(&src, 2500, 16);
    let store = t.join("demo");
    ok(&["import", p(&store), p(&src)]);
    store
}

#[test]
fn read_commands_print_tables_and_json() {
    let t = tempfile::tempdir().unwrap();
    let store = demo_store(t.path());
    let i = info(&store);
    assert_eq!(i["dimension"], 16);
    assert_eq!(i["metric"], "cosine");
    assert_eq!(i["hnsw"]["m"], 16);
    assert_eq!(i["counts"]["live"], 2500);
    assert_eq!(i["snapshot"]["generation"], 1);
    let files: Vec<&str> =
        i["files"].as_array().unwrap().iter().map(|f| f["role"].as_str().unwrap()).collect();
    for role in ["description", "manifest", "log", "vectors", "records", "graph"] {
        assert!(files.contains(&role), "{role} in {files:?}");
    }
    let table = ok(&["info", p(&store)]);
    assert!(table.contains("2500 live, 0 soft-deleted, 0 expired, 0 tombstones"), "{table}");

    let g = json(&["get", p(&store), "doc-4"]);
    assert_eq!(g["metadata"]["category"], "sport");
    assert_eq!(g["vector"].as_array().unwrap().len(), 16);

    // Query by id with a filter: every result passes it, the record itself first when it passes.
    let q = json(&[
        "query",
        p(&store),
        "--id",
        "doc-3",
        "--k",
        "5",
        "--filter",
        "category = 'tech' AND year >= 2016",
    ]);
    let rows = q["results"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["id"], "doc-3");
    for r in rows {
        assert_eq!(r["metadata"]["category"], "tech");
        assert!(r["metadata"]["year"].as_i64().unwrap() >= 2016);
    }
    let scores: Vec<f64> = rows.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let e = json(&[
        "query",
        p(&store),
        "--id",
        "doc-3",
        "--k",
        "3",
        "--filter",
        "category = 'tech'",
        "--explain",
    ]);
    let r0 = &e["results"][0];
    assert_eq!(r0["explanation"]["rank"], 1);
    assert!(r0["explanation"]["explanation_text"].as_str().unwrap().starts_with("Ranked #1"));
    let text =
        ok(&["query", p(&store), "--id", "doc-3", "--k", "3", "--filter", "category = 'tech'", "--explain"]);
    assert!(
        text.contains(
            "#1 doc-3: Ranked #1 with score 1.0000 (Cosine). Passed filter (1 of 1 conditions matched)."
        ),
        "{text}"
    );

    let est = json(&["query", p(&store), "--id", "doc-3", "--estimate"]);
    assert_eq!(est["valid"], true);
    assert_eq!(est["plan"], "graph");
    let err = fails(1, &["query", p(&store), "--vector", "[1,2,3]", "--filter", "category = "]);
    assert!(err.contains("filter") || err.contains("dimension"), "{err}");
    let err = fails(1, &["query", p(&store), "--vector", "[1,2,3]"]);
    assert!(err.contains("dimension 3"), "{err}");
    let err = fails(1, &["get", p(&store), "missing-id"]);
    assert!(err.contains("missing-id"), "{err}");
    let err = fails(1, &["info", p(&t.path().join("nowhere"))]);
    assert!(err.contains("nowhere"), "{err}");
    let err = fails(1, &["get", p(t.path()), "x"]);
    assert!(err.contains("is not a vecstore store"), "{err}");
    assert!(!t.path().join("vecstore.meta.json").exists(), "a read never creates a store");
    // Usage errors exit with 2.
    fails(2, &["query", p(&store)]);
    fails(2, &["frobnicate"]);
    fails(2, &["get", p(&store)]);
    // Every subcommand has --help.
    for sub in [
        "info",
        "import",
        "export",
        "get",
        "query",
        "delete",
        "soft-delete",
        "restore",
        "set-ttl",
        "expire",
        "compact",
        "verify",
        "recover",
        "ns",
        "backup",
        "backups",
        "delete-backup",
        "bench",
        "completions",
    ] {
        assert!(ok(&[sub, "--help"]).contains("Usage: vecstore"), "{sub}");
    }
    assert!(ok(&["completions", "bash"]).contains("_vecstore"));
    assert!(ok(&["completions", "zsh"]).contains("#compdef vecstore"));
    assert!(ok(&["completions", "fish"]).contains("complete -c vecstore"));
}

#[test]
fn write_commands_change_what_they_say() {
    let t = tempfile::tempdir().unwrap();
    let store = demo_store(t.path());
    let s = p(&store);
    assert_eq!(json(&["delete", s, "doc-1", "doc-2"])["succeeded"], 2);
    assert_eq!(json(&["soft-delete", s, "doc-3", "doc-4", "doc-5"])["succeeded"], 3);
    let i = info(&store);
    assert_eq!((i["counts"]["live"].as_u64(), i["counts"]["soft_deleted"].as_u64()), (Some(2495), Some(3)));
    assert_eq!(i["counts"]["tombstones"], 2);
    assert_eq!(i["log"]["frames_since_snapshot"], 2);
    fails(1, &["get", s, "doc-3"]);
    ok(&["restore", s, "doc-3"]);
    ok(&["get", s, "doc-3"]);
    // An unknown id fails alone, named on stderr; the others apply.
    let o = run(&["delete", s, "doc-6", "no-such-id"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-id"), "{}", stderr(&o));
    fails(1, &["get", s, "doc-6"]);

    ok(&["set-ttl", s, "doc-7", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    fails(1, &["get", s, "doc-7"]);
    assert_eq!(info(&store)["counts"]["expired"], 1);
    assert_eq!(json(&["expire", s])["expired"], 1);
    assert_eq!(info(&store)["counts"]["expired"], 0);

    let r = json(&["compact", s, "--if-needed"]);
    assert_eq!(r["triggered"], false, "auto compaction is off by default");
    let r = json(&["compact", s]);
    assert_eq!(r["soft_deleted"], 2);
    assert_eq!(r["slots_after"], 2494);
    let i = info(&store);
    assert_eq!((i["counts"]["live"].as_u64(), i["counts"]["tombstones"].as_u64()), (Some(2494), Some(0)));
    ok(&["verify", s]);
}

/// Flips one byte of `file` at `at` (from the end when negative).
fn flip(file: &Path, at: i64) {
    let mut b = std::fs::read(file).unwrap();
    let i = if at < 0 { (b.len() as i64 + at) as usize } else { at as usize };
    b[i] ^= 0x20;
    std::fs::write(file, b).unwrap();
}

#[test]
fn verify_names_the_damaged_file_of_every_kind() {
    let t = tempfile::tempdir().unwrap();
    let clean = demo_store(t.path());
    // Three separate writes: three log frames after the snapshot.
    for id in ["doc-10", "doc-11", "doc-12"] {
        ok(&["delete", p(&clean), id]);
    }
    let v = json(&["verify", p(&clean)]);
    assert_eq!(v["ok"], true);
    assert!(v["damage"].as_array().unwrap().is_empty());
    assert_eq!(v["checked"].as_array().unwrap().len(), 6);
    assert!(ok(&["verify", p(&clean)]).contains("verified, no damage"));

    let log_frames = info(&clean)["log"]["frames_since_snapshot"].as_u64().unwrap();
    assert_eq!(log_frames, 3);
    // The second frame's payload: 16-byte header, then the first frame.
    let log_len = std::fs::metadata(clean.join("vecstore.log")).unwrap().len() as i64;
    let frame = (log_len - 16) / 3;
    let cases: [(&str, i64); 7] = [
        ("snap-000001.vectors", 64 + 4 * 16 * 100 + 5), // data, which opening does not check
        ("snap-000001.vectors", 13),                    // header
        ("snap-000001.records", 200),
        ("snap-000001.graph", 5000),
        ("vecstore.snapshot.json", 40),
        ("vecstore.meta.json", 10),
        ("vecstore.log", 16 + frame + 12),
    ];
    for (i, (file, at)) in cases.iter().enumerate() {
        let copy = t.path().join(format!("damaged-{i}"));
        std::fs::create_dir(&copy).unwrap();
        for e in std::fs::read_dir(&clean).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
        flip(&copy.join(file), *at);
        let o = run(&["verify", p(&copy)]);
        assert_eq!(o.status.code(), Some(1), "{file} at {at}: {}", stdout(&o));
        assert!(stderr(&o).contains(file), "{file}: {}", stderr(&o));
        assert!(stdout(&o).contains(&format!("DAMAGED  {file}")), "{file}: {}", stdout(&o));
        let j: Value = serde_json::from_slice(&run(&["--json", "verify", p(&copy)]).stdout).unwrap();
        assert_eq!(j["ok"], false);
        assert!(j["damage"].as_array().unwrap().iter().any(|d| d["file"] == *file), "{file}: {j}");
        if *file == "vecstore.log" {
            let d = j["damage"].as_array().unwrap().iter().find(|d| d["file"] == "vecstore.log").unwrap();
            assert_eq!(d["offset"].as_i64(), Some(16 + frame), "{d}");
        }
    }
    // A torn tail (an unfinished append) is not damage.
    let torn = t.path().join("torn");
    std::fs::create_dir(&torn).unwrap();
    for e in std::fs::read_dir(&clean).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), torn.join(e.file_name())).unwrap();
    }
    let log = torn.join("vecstore.log");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(len - 5).unwrap();
    let out = ok(&["verify", p(&torn)]);
    assert!(out.contains("unfinished write"), "{out}");
}

#[test]
fn recover_salvages_into_a_new_directory_and_says_what_was_lost() {
    let t = tempfile::tempdir().unwrap();
    let store = demo_store(t.path());
    for id in ["doc-10", "doc-11", "doc-12"] {
        ok(&["delete", p(&store), id]);
    }
    ok(&["soft-delete", p(&store), "doc-20"]);
    // Damage the second of four log frames: the delete of doc-11 is lost, the later frames are not.
    let log = store.join("vecstore.log");
    let log_len = std::fs::metadata(&log).unwrap().len() as i64;
    let first = info(&store);
    assert_eq!(first["log"]["frames_since_snapshot"], 4);
    let before = std::fs::read(&log).unwrap();
    let frame = (log_len - 16) / 4; // the three deletes are the same size; the soft delete too
    flip(&log, 16 + frame + 12);
    fails(1, &["verify", p(&store)]);
    let damaged_log = std::fs::read(&log).unwrap();

    let out_dir = t.path().join("salvaged");
    let o = run(&["recover", p(&store), p(&out_dir)]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("lost: the writes in log bytes {}..{} (", 16 + frame, 16 + 2 * frame)),
        "{text}"
    );
    assert!(text.contains("log recovery 'salvage'"), "{text}");
    assert!(text.contains("recovered 2497 live and 1 soft-deleted records"), "{text}");
    // The damaged store is untouched; the new one opens, verifies and holds what survived.
    assert_ne!(before, damaged_log);
    assert_eq!(std::fs::read(&log).unwrap(), damaged_log);
    ok(&["verify", p(&out_dir)]);
    ok(&["get", p(&out_dir), "doc-11"]); // its delete was in the damaged frame
    fails(1, &["get", p(&out_dir), "doc-12"]); // a later frame still applied
    fails(1, &["get", p(&out_dir), "doc-20"]);
    ok(&["restore", p(&out_dir), "doc-20"]); // still soft-deleted, not lost
    ok(&["get", p(&out_dir), "doc-20"]);
    let q = json(&["query", p(&out_dir), "--id", "doc-5", "--k", "3"]);
    assert_eq!(q["results"][0]["id"], "doc-5");

    // Never in place, never into a non-empty directory.
    let err = fails(1, &["recover", p(&store), p(&store)]);
    assert!(err.contains("never writes in place"), "{err}");
    let err = fails(1, &["recover", p(&store), p(&out_dir)]);
    assert!(err.contains("not empty"), "{err}");

    // A damaged records file loses the snapshot's records, and says so; the log's upserts survive.
    let store2 = t.path().join("demo2");
    ok(&["import", p(&store2), p(&t.path().join("emb.jsonl"))]);
    let src = t.path().join("one.jsonl");
    std::fs::write(&src, format!("{{\"id\":\"late\",\"vector\":{:?}}}\n", vec![0.5f32; 16])).unwrap();
    ok(&["import", p(&store2), p(&src)]);
    flip(&store2.join("snap-000001.records"), 100);
    let out2 = t.path().join("salvaged2");
    let text = ok(&["recover", p(&store2), p(&out2)]);
    assert!(text.contains("lost: every record of snapshot generation 1 (2500 slots)"), "{text}");
    assert!(text.contains("recovered 1 live"), "{text}");
    ok(&["get", p(&out2), "late"]);
    ok(&["verify", p(&out2)]);
}

#[test]
fn namespaces_and_backups_from_a_shell() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = p(&root);
    let err = fails(1, &["ns", "list", r]);
    assert!(err.contains("not a namespace root"), "{err}");
    ok(&["ns", "create", r, "acme", "--name", "Acme Corp", "--max-vectors", "3000", "--dimension", "16"]);
    ok(&["ns", "create", r, "globex"]);
    let l = json(&["ns", "list", r]);
    let ids: Vec<&str> =
        l["namespaces"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme", "globex"]);
    let s = json(&["ns", "show", r, "acme"]);
    assert_eq!((s["name"].as_str(), s["quotas"]["max_vectors"].as_u64()), (Some("Acme Corp"), Some(3000)));
    fails(1, &["ns", "create", r, "acme"]);
    fails(1, &["ns", "create", r, "../evil"]);

    // Data commands inside a namespace.
    let src = t.path().join("emb.jsonl");
    demo_embeddings(&src, 2500, 16);
    ok(&["--namespace", "acme", "import", r, p(&src)]);
    let st = json(&["ns", "stats", r, "acme"]);
    assert_eq!(st["vector_count"], 2500);
    assert!(st["storage_bytes"].as_u64().unwrap() > 0);
    assert_eq!(json(&["--namespace", "acme", "info", r])["counts"]["live"], 2500);
    ok(&["--namespace", "acme", "verify", r]);
    let q = json(&["--namespace", "acme", "query", r, "--id", "doc-1", "--k", "2"]);
    assert_eq!(q["results"][0]["id"], "doc-1");
    // The quota applies: 2500 + 2500 new ids > 3000, and nothing of the refused batch is written.
    let more = t.path().join("more.jsonl");
    let text = std::fs::read_to_string(&src).unwrap().replace("\"doc-", "\"more-");
    std::fs::write(&more, text).unwrap();
    let err = fails(1, &["--namespace", "acme", "import", r, p(&more), "--batch", "1000"]);
    assert!(err.contains("quota"), "{err}");
    assert_eq!(json(&["ns", "stats", r, "acme"])["vector_count"], 2500);
    let q = json(&["ns", "quotas", r, "acme", "--max-vectors", "0", "--max-requests-per-second", "50"]);
    assert_eq!((q["max_vectors"].as_u64(), q["max_requests_per_second"].as_f64()), (Some(0), Some(50.0)));

    // Suspend refuses data calls; resume serves again.
    ok(&["ns", "suspend", r, "acme"]);
    let err = fails(1, &["--namespace", "acme", "get", r, "doc-1"]);
    assert!(err.contains("suspended"), "{err}");
    ok(&["ns", "resume", r, "acme"]);
    ok(&["--namespace", "acme", "get", r, "doc-1"]);

    // Backups: take one, change the data, restore it.
    let b = json(&["backup", r, "acme", "before"]);
    assert_eq!(b["vector_count"], 2500);
    ok(&["--namespace", "acme", "delete", r, "doc-1", "doc-2"]);
    ok(&["--namespace", "acme", "soft-delete", r, "doc-3"]);
    ok(&["--namespace", "acme", "restore", r, "doc-3"]);
    let bl = json(&["backups", r, "acme"]);
    assert_eq!(bl["backups"][0]["name"], "before");
    let err = fails(1, &["restore", r, "acme"]);
    assert!(err.contains("NAMESPACE BACKUP"), "{err}");
    let out = ok(&["restore", r, "acme", "before"]);
    assert!(out.contains("2500 records"), "{out}");
    ok(&["--namespace", "acme", "get", r, "doc-1"]);
    ok(&["delete-backup", r, "acme", "before"]);
    assert!(json(&["backups", r, "acme"])["backups"].as_array().unwrap().is_empty());
    fails(1, &["delete-backup", r, "acme", "before"]);
    ok(&["ns", "delete", r, "globex"]);
    fails(1, &["ns", "show", r, "globex"]);
    fails(1, &["--namespace", "globex", "get", r, "x"]);
}

#[test]
fn bench_measures_recall_against_the_exact_answers() {
    let t = tempfile::tempdir().unwrap();
    let store = demo_store(t.path());
    // Queries near stored records, as JSON Lines.
    let mut g = Lcg(99);
    let src = std::fs::read_to_string(t.path().join("emb.jsonl")).unwrap();
    let qs: Vec<String> = src
        .lines()
        .step_by(50)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let v: Vec<f32> = serde_json::from_value::<Vec<f32>>(v["vector"].clone())
                .unwrap()
                .iter()
                .map(|x| x + 0.05 * g.unit())
                .collect();
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    let qf = t.path().join("q.jsonl");
    std::fs::write(&qf, qs.join("\n")).unwrap();
    let b = json(&["bench", p(&store), "--queries", p(&qf), "--k", "10", "--ef", "10,200"]);
    assert_eq!(b["queries"], 50);
    let rows = b["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let recall_hi = rows[1]["recall"].as_f64().unwrap();
    assert!(recall_hi >= 0.95, "recall at ef 200: {recall_hi}");
    assert!(rows[0]["recall"].as_f64().unwrap() <= recall_hi + 1e-9);
    assert!(rows.iter().all(|r| r["qps"].as_f64().unwrap() > 0.0));
    // A ground-truth file of the exact answers gives recall 1 at a large ef on its own rows; a wrong
    // one gives 0.
    let exact: Vec<String> = (0..50).map(|_| "[\"nobody\"]".to_string()).collect();
    let gt = t.path().join("gt.jsonl");
    std::fs::write(&gt, exact.join("\n")).unwrap();
    let b = json(&["bench", p(&store), "--queries", p(&qf), "--gt", p(&gt), "--ef", "64"]);
    assert_eq!(b["rows"][0]["recall"].as_f64(), Some(0.0));
    let table = ok(&["bench", p(&store), "--queries", p(&qf), "--ef", "32"]);
    assert!(table.contains("recall@10") && table.contains("QPS"), "{table}");
}

/// The README's "Command line" session, as a user types it: every `$ vecstore ...` line of the
/// block is run in a directory holding `embeddings.jsonl`, and its output must match the README's
/// (timings and the progress bar aside: each run of digits is compared as one `#`, bar lines are
/// skipped).
#[test]
fn the_readme_session_runs_as_written() {
    // How the README's session was made: this writes the same file where it is asked for.
    if let Ok(path) = std::env::var("VECSTORE_README_EMBEDDINGS") {
        demo_embeddings(Path::new(&path), 5000, 32);
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("## Command line").nth(1).expect("README has a Command line section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
    let t = tempfile::tempdir().unwrap();
    demo_embeddings(&t.path().join("embeddings.jsonl"), 5000, 32);
    let mut commands = 0;
    let mut chunks = block.split("$ ").skip(1).peekable();
    // A run of digits, whatever its length, is one `#`: a faster machine prints a rate with more digits.
    let mask = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if !c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('#') {
                out.push('#');
            }
        }
        out
    };
    let relevant = |s: &str| !s.contains("ETA") && !s.trim().is_empty();
    while let Some(chunk) = chunks.next() {
        let (cmd, expected) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let args = shell_words(cmd);
        assert_eq!(args[0], "vecstore", "{cmd}");
        let o = run_in(t.path(), &args[1..].iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(0), "{cmd}\n{}", stderr(&o));
        let got: Vec<String> =
            stdout(&o).lines().filter(|l| relevant(l)).map(|l| mask(l).trim_end().to_string()).collect();
        let want: Vec<String> =
            expected.lines().filter(|l| relevant(l)).map(|l| mask(l).trim_end().to_string()).collect();
        assert_eq!(got, want, "output of `{cmd}` differs from the README");
        commands += 1;
    }
    assert!(commands >= 4, "the session shows import, info, query and verify");
}

/// Splits a command line like a shell does for the README's commands (single and double quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.trim().chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, ' ') => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}
