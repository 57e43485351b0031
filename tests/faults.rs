//! Faults injected at every file-system step (feature `failpoints`, see `storage::fsutil::fault`).
//!
//!     cargo test --release --features failpoints --test faults -- --nocapture
//!
//! Each workload (a store: log appends in sync mode, checkpoints, compaction, a backup, reopening;
//! a namespace: registry, backup, restore) is run once to count how many times it reaches each fail
//! point. Then for every fail point, every hit n and every error (EIO, ENOSPC, a short write) the
//! workload runs again with the n-th hit failing, and the test checks: the call that hit the fault
//! returned `Code::Io` (or, for a checkpoint a write triggers, the write was acknowledged and the
//! checkpoint left for later); every call after it either worked or returned `Code::Io`; reads kept
//! matching the model of acknowledged writes; and a clean reopen gives exactly that model. A
//! second pass fails a log append and then its rollback (a truncate), which a single fault never
//! reaches. Plus: the maintenance thread's error path, and a real disk-full test on a small tmpfs
//! (mounted by the test when it runs as root, skipped otherwise).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vecstore::storage::fsutil::fault;
use vecstore::namespace::NamespaceManager;
use vecstore::store::Query;
use vecstore::{
    Code, CompactionConfig, Durability, Error, Maintenance, Metric, NewRecord, Quotas, RequestKind, Store,
    StoreOptions,
};

/// The fail points are global to the process: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const DIM: usize = 8;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where the stores go: tmpfs when there is one (fsync is then cheap; what is tested is the code's
/// reaction to each call's failure, not the disk).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

fn options() -> StoreOptions {
    StoreOptions {
        dimension: DIM,
        metric: Some(Metric::Euclidean),
        durability: Durability::Sync,
        checkpoint_bytes: 4096,
        ..StoreOptions::default()
    }
}

fn vector(i: usize, version: usize) -> Vec<f32> {
    (0..DIM).map(|d| (i * 31 + d * 7 + version * 13) as f32 * 0.25).collect()
}

fn metadata(i: usize, version: usize) -> String {
    // Large enough that a checkpoint (4 KiB of log) comes every dozen writes.
    format!(r#"{{"i":{i},"pad":"{}","v":{version}}}"#, "x".repeat(200))
}

type Records = BTreeMap<String, (Vec<f32>, String)>;

/// What the acknowledged calls say the store holds.
#[derive(Clone, Debug, Default)]
struct Model {
    live: Records,
    soft: Records,
    /// Soft-deleted records a compaction that failed may or may not have removed (it is atomic:
    /// all of them or none).
    maybe_compacted: bool,
}

impl Model {
    fn upsert(&mut self, i: usize, version: usize) {
        self.soft.remove(&id(i));
        self.live.insert(id(i), (vector(i, version), metadata(i, version)));
    }
}

fn id(i: usize) -> String {
    format!("r{i:03}")
}

/// What the store shows: every visible record and the number of soft-deleted ones.
fn observe(s: &Store) -> (Records, usize) {
    let mut out = Records::new();
    s.scan(|r| {
        out.insert(r.id.to_string(), (r.vector.to_vec(), r.metadata.to_string()));
        Ok(())
    })
    .unwrap();
    (out, s.stats().soft_deleted)
}

/// Whether the store's contents are the model's; the reason when not.
fn matches(s: &Store, m: &Model) -> std::result::Result<(), String> {
    let (live, soft) = observe(s);
    if live != m.live {
        let missing: Vec<_> = m.live.keys().filter(|k| !live.contains_key(*k)).collect();
        let extra: Vec<_> = live.keys().filter(|k| !m.live.contains_key(*k)).collect();
        let changed: Vec<_> = m.live.keys().filter(|k| live.get(*k).is_some_and(|v| Some(v) != m.live.get(*k))).collect();
        return Err(format!("records differ: missing {missing:?}, extra {extra:?}, changed {changed:?}"));
    }
    if s.count() != m.live.len() {
        return Err(format!("count {} but {} records", s.count(), m.live.len()));
    }
    let soft_ok = soft == m.soft.len() || (m.maybe_compacted && soft == 0);
    if !soft_ok {
        return Err(format!("{soft} soft-deleted records, the model has {}", m.soft.len()));
    }
    // A query answers from the records too.
    if let Some((first, (v, _))) = m.live.iter().next() {
        let hits = s
            .query(&Query { vector: v, k: 1, ..Default::default() })
            .map_err(|e| format!("query failed: {e}"))?;
        if hits.first().map(|h| &h.id) != Some(first) {
            return Err(format!("query for {first}'s vector found {:?}", hits.first().map(|h| &h.id)));
        }
    }
    Ok(())
}

/// One step of the store workload.
#[derive(Clone, Copy, Debug)]
enum Op {
    Upsert(usize, usize),
    UpsertTtl(usize),
    Many(usize, usize),
    Delete(usize),
    SoftDelete(usize),
    Restore(usize),
    Metadata(usize),
    Flush,
    Compact,
    Backup,
    Reopen,
}

fn store_workload() -> Vec<Op> {
    use Op::*;
    let mut ops = Vec::new();
    ops.extend((0..10).map(|i| Upsert(i, 0)));
    ops.push(Many(10, 18));
    ops.extend([UpsertTtl(18), UpsertTtl(19), SoftDelete(2), SoftDelete(3), Restore(3), Delete(4)]);
    ops.extend([Metadata(5), Flush, Upsert(6, 1), SoftDelete(8)]);
    // Soft deletes and restores only before the compaction (see `Model::maybe_compacted`).
    ops.push(Compact);
    ops.extend((20..26).map(|i| Upsert(i, 0)));
    ops.extend([Delete(7), Upsert(0, 2), Backup, Reopen]);
    ops.extend((26..30).map(|i| Upsert(i, 0)));
    ops.extend([Many(30, 34), Upsert(1, 3), Flush]);
    ops
}

/// What one run saw.
#[derive(Default)]
struct Run {
    model: Model,
    /// Backups that succeeded, with the model at that time.
    backups: Vec<(PathBuf, Model)>,
    /// Calls that failed (all with `Code::Io`, or the run reports a violation).
    failed_calls: usize,
    violations: Vec<String>,
}

fn io_only(what: &str, e: &Error, run: &mut Run) {
    run.failed_calls += 1;
    if e.code != Code::Io || e.message.is_empty() {
        run.violations.push(format!("{what}: {:?} {} (want Code::Io)", e.code, e.message));
    }
}

/// Opens the store, retrying after a failure (which must be `Io`: each armed fault fires once, and
/// at most two are armed).
fn open_store(dir: &Path, run: &mut Run) -> Option<Store> {
    for _ in 0..3 {
        match Store::open(dir, &options()) {
            Ok(s) => return Some(s),
            Err(e) => io_only("open", &e, run),
        }
    }
    run.violations.push("open failed three times".into());
    None
}

fn run_store_workload(root: &Path) -> Run {
    let dir = root.join("store");
    let mut run = Run::default();
    let Some(mut s) = open_store(&dir, &mut run) else { return run };
    let mut backups = 0;
    for (k, op) in store_workload().into_iter().enumerate() {
        let mut next = run.model.clone();
        // A write that failed earlier leaves a later one on the same id nothing to act on: skip it.
        let skip = match op {
            Op::Delete(i) | Op::SoftDelete(i) | Op::Metadata(i) => !next.live.contains_key(&id(i)),
            Op::Restore(i) => !next.soft.contains_key(&id(i)),
            _ => false,
        };
        if skip {
            continue;
        }
        let result: vecstore::Result<()> = match op {
            Op::Upsert(i, v) => {
                next.upsert(i, v);
                s.upsert(&id(i), &vector(i, v), Some(&metadata(i, v)))
            }
            Op::UpsertTtl(i) => {
                next.upsert(i, 0);
                s.upsert_with_ttl(&id(i), &vector(i, 0), Some(&metadata(i, 0)), 3600)
            }
            Op::Many(a, b) => {
                let vs: Vec<_> = (a..b).map(|i| (id(i), vector(i, 0), metadata(i, 0))).collect();
                let recs: Vec<_> =
                    vs.iter().map(|(i, v, m)| NewRecord { id: i, vector: v, metadata: Some(m) }).collect();
                (a..b).for_each(|i| next.upsert(i, 0));
                s.upsert_many(&recs)
            }
            Op::Delete(i) => {
                next.live.remove(&id(i));
                s.delete(&id(i))
            }
            Op::SoftDelete(i) => {
                let r = next.live.remove(&id(i)).unwrap();
                next.soft.insert(id(i), r);
                s.soft_delete(&id(i))
            }
            Op::Restore(i) => {
                let r = next.soft.remove(&id(i)).unwrap();
                next.live.insert(id(i), r);
                s.restore(&id(i))
            }
            Op::Metadata(i) => {
                let m = r#"{"changed":true}"#.to_string();
                next.live.get_mut(&id(i)).unwrap().1 = m.clone();
                s.update_metadata(&id(i), Some(&m))
            }
            Op::Flush => s.flush(),
            Op::Compact => {
                next.soft.clear();
                match s.compact() {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        run.model.maybe_compacted = true;
                        Err(e)
                    }
                }
            }
            Op::Backup => {
                backups += 1;
                let dest = root.join(format!("backup-{backups}"));
                std::fs::create_dir(&dest).unwrap();
                let r = s.backup_to(&dest);
                if r.is_ok() {
                    run.backups.push((dest, next.clone()));
                }
                r.map(|_| ())
            }
            Op::Reopen => {
                if let Err(e) = s.close() {
                    io_only("close", &e, &mut run);
                }
                match open_store(&dir, &mut run) {
                    Some(reopened) => s = reopened,
                    None => return run,
                }
                Ok(())
            }
        };
        match result {
            Ok(()) => run.model = next,
            Err(e) => io_only(&format!("step {k} {op:?}"), &e, &mut run),
        }
        // Reads keep working, and show the acknowledged state, whatever failed.
        if let Err(why) = matches(&s, &run.model) {
            run.violations.push(format!("after step {k} {op:?}: {why}"));
        }
    }
    if let Err(e) = s.close() {
        io_only("close", &e, &mut run);
    }
    run
}

/// A clean reopen (no fault armed) gives exactly the model; so does every backup that succeeded.
fn verify_store(root: &Path, run: &mut Run) {
    let dirs: Vec<(PathBuf, Model)> = std::iter::once((root.join("store"), run.model.clone()))
        .chain(run.backups.iter().cloned())
        .collect();
    for (dir, model) in dirs {
        match Store::open(&dir, &options()) {
            Ok(s) => {
                if let Err(why) = matches(&s, &model) {
                    run.violations.push(format!("reopened {}: {why}", dir.display()));
                }
                // And it takes writes again.
                if let Err(e) = s.upsert("after", &vector(99, 0), None) {
                    run.violations.push(format!("reopened {}: a write failed: {e}", dir.display()));
                }
            }
            Err(e) => run.violations.push(format!("reopen of {} failed: {e}", dir.display())),
        }
    }
}

/// The namespace workload: create (registry), writes, backup, writes, restore, writes, close.
fn run_namespace_workload(root: &Path) -> Run {
    let mut run = Run::default();
    let opts = options();
    let quotas = Quotas { max_vectors: 1_000_000, max_storage_bytes: 1 << 30, max_requests_per_second: 0.0 };
    let open = |run: &mut Run| match NamespaceManager::open(root, &opts) {
        Ok(m) => Some(m),
        Err(e) => {
            io_only("namespace manager open", &e, run);
            NamespaceManager::open(root, &opts).map_err(|e| run.violations.push(format!("reopen: {e}"))).ok()
        }
    };
    let Some(m) = open(&mut run) else { return run };
    if let Err(e) = m.create("ns", "ns", &quotas) {
        io_only("create", &e, &mut run);
        // Created or not, atomically: the registry names it only if it was saved.
        if m.namespace("ns").is_err() {
            if let Err(e) = m.create("ns", "ns", &quotas) {
                run.violations.push(format!("create after a failed create: {e}"));
                return run;
            }
        }
    }
    let call = |m: &NamespaceManager, f: &dyn Fn(&Store) -> vecstore::Result<()>| {
        m.namespace("ns").and_then(|ns| ns.call(RequestKind::Write, f))
    };
    let observe_ns = |m: &NamespaceManager| -> std::result::Result<(Records, usize), String> {
        let ns = m.namespace("ns").map_err(|e| e.to_string())?;
        ns.call(RequestKind::Read, |s| Ok(observe(s))).map_err(|e| e.to_string())
    };
    let mut backup: Option<Model> = None;
    let steps: Vec<&str> = ["w0", "w1", "w2", "w3", "backup", "w4", "w5", "d0", "restore", "w6", "w7"].to_vec();
    let mut written = 0;
    for step in steps {
        let mut next = run.model.clone();
        let r = match step {
            "backup" => match m.backup("ns", "b1") {
                Ok(_) => {
                    backup = Some(next.clone());
                    Ok(())
                }
                Err(e) => {
                    // A failed backup is not listed, or it is listed and complete.
                    if m.list_backups("ns").map(|l| !l.is_empty()).unwrap_or(false) {
                        backup = Some(next.clone());
                    }
                    Err(e)
                }
            },
            "restore" => match &backup {
                None => continue,
                Some(b) => {
                    let before = run.model.clone();
                    next = b.clone();
                    let r = m.restore("ns", "b1");
                    if r.is_err() {
                        // Not acknowledged: the namespace holds the old data or the backup's.
                        match observe_ns(&m) {
                            Ok((live, _)) if live == before.live => {}
                            Ok((live, _)) if live == b.live => run.model = b.clone(),
                            Ok(_) => run.violations.push("after a failed restore: neither state".into()),
                            Err(e) => run.violations.push(format!("reads fail after a failed restore: {e}")),
                        }
                    }
                    r
                }
            },
            // Nothing to delete when the write of r000 failed.
            "d0" if !next.live.contains_key(&id(0)) => continue,
            "d0" => {
                next.live.remove(&id(0));
                call(&m, &|s| s.delete(&id(0)))
            }
            _ => {
                let batch: Vec<usize> = (written..written + 3).collect();
                written += 3;
                batch.iter().for_each(|&i| next.upsert(i, 0));
                call(&m, &|s| {
                    for &i in &batch {
                        s.upsert(&id(i), &vector(i, 0), Some(&metadata(i, 0)))?;
                    }
                    Ok(())
                })
            }
        };
        match r {
            Ok(()) => run.model = next,
            Err(e) => {
                io_only(step, &e, &mut run);
                // A batch of three single upserts may have stopped part way: take what it wrote.
                if step.starts_with('w') {
                    if let Ok((live, _)) = observe_ns(&m) {
                        for (k, v) in &next.live {
                            if !run.model.live.contains_key(k) && live.get(k) == Some(v) {
                                run.model.live.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
        }
        match observe_ns(&m) {
            Ok((live, _)) if live == run.model.live => {}
            Ok(_) => run.violations.push(format!("after {step}: the namespace's records differ from the model")),
            Err(e) => run.violations.push(format!("after {step}: reads fail: {e}")),
        }
    }
    if let Err(e) = m.close() {
        io_only("close", &e, &mut run);
    }
    run
}

fn verify_namespace(root: &Path, run: &mut Run) {
    match NamespaceManager::open(root, &options()) {
        Ok(m) => {
            let got = m.namespace("ns").and_then(|ns| ns.call(RequestKind::Read, |s| Ok(observe(s).0)));
            match got {
                Ok(live) if live == run.model.live => {}
                Ok(_) => run.violations.push("reopened namespace differs from the model".into()),
                Err(e) => run.violations.push(format!("reopened namespace: {e}")),
            }
        }
        Err(e) => run.violations.push(format!("namespace manager reopen failed: {e}")),
    }
}

/// Arms `name` so that its n-th evaluation (1-based) fails with `kind`, then any extra points.
fn arm(name: &str, n: u64, kind: &str) {
    let spec = if n == 1 { format!("1*return({kind})") } else { format!("{}*off->1*return({kind})", n - 1) };
    fail::cfg(name, &spec).unwrap();
}

fn disarm_all() {
    for name in fault::NAMES {
        fail::remove(name);
    }
}

struct Tally {
    injected: u64,
    survived: u64,
    failed_calls: u64,
    violations: Vec<String>,
}

/// Runs `workload` with every (fail point, hit, error kind) armed in turn, verifying each run.
fn enumerate(
    label: &str,
    workload: fn(&Path) -> Run,
    verify: fn(&Path, &mut Run),
    names: &[&str],
    extra: Option<(&str, &str)>,
) -> Tally {
    disarm_all();
    let dir = scratch();
    fault::reset_hits();
    let mut clean = workload(dir.path());
    verify(dir.path(), &mut clean);
    assert!(clean.violations.is_empty(), "{label}: the workload fails without faults: {:?}", clean.violations);
    assert_eq!(clean.failed_calls, 0, "{label}: calls failed without faults");
    let hits = fault::hits();
    println!("{label}: fail point evaluations of one clean run: {hits:?}");
    let mut t = Tally { injected: 0, survived: 0, failed_calls: 0, violations: Vec::new() };
    for &name in names {
        let total = hits.get(name).copied().unwrap_or(0);
        let kinds: &[&str] = if name == "fs::write" { &["eio", "enospc", "short"] } else { &["eio", "enospc"] };
        for n in 1..=total {
            for &kind in kinds {
                let dir = scratch();
                fault::reset_hits();
                arm(name, n, kind);
                if let Some((second, kind2)) = extra {
                    fail::cfg(second, &format!("1*return({kind2})")).unwrap();
                }
                let mut run = workload(dir.path());
                let reached = fault::hits().get(name).copied().unwrap_or(0) >= n;
                disarm_all();
                verify(dir.path(), &mut run);
                if !reached {
                    continue; // the run took another path before the n-th hit (not counted)
                }
                t.injected += 1;
                t.failed_calls += run.failed_calls as u64;
                if run.violations.is_empty() {
                    t.survived += 1;
                } else {
                    for v in run.violations {
                        t.violations.push(format!("{label}: {name} hit {n} ({kind}): {v}"));
                    }
                }
            }
        }
    }
    println!(
        "{label}: {} faults injected, {} survived, {} calls returned Code::Io",
        t.injected, t.survived, t.failed_calls
    );
    t
}

fn check(t: Tally) {
    assert!(t.injected > 0);
    let shown: Vec<_> = t.violations.iter().take(30).collect();
    assert!(t.violations.is_empty(), "{} violations, first ones:\n{shown:#?}", t.violations.len());
    assert_eq!(t.injected, t.survived);
}

#[test]
fn store_survives_a_fault_at_every_step() {
    let _g = serial();
    check(enumerate("store", run_store_workload, verify_store, &fault::NAMES, None));
}

/// A log append fails, and so does its rollback: the log refuses writes until a reopen, which drops
/// the torn frame.
#[test]
fn store_survives_a_failed_append_whose_rollback_fails() {
    let _g = serial();
    // A failed write or sync is what a truncate rolls back.
    let first = ["fs::write", "fs::sync"];
    check(enumerate("store+truncate", run_store_workload, verify_store, &first, Some(("fs::truncate", "eio"))));
}

#[test]
fn namespace_survives_a_fault_at_every_step() {
    let _g = serial();
    check(enumerate("namespace", run_namespace_workload, verify_namespace, &fault::NAMES, None));
}

/// The maintenance thread meets a failing disk: the run's error is counted and kept in its status,
/// the thread goes on, a later run does the work, and nothing acknowledged is lost.
#[test]
fn maintenance_thread_reports_io_errors_and_recovers() {
    let _g = serial();
    disarm_all();
    let dir = scratch();
    let opts = StoreOptions { durability: Durability::Process, ..options() };
    let store = std::sync::Arc::new(Store::open(dir.path().join("s"), &opts).unwrap());
    store
        .set_compaction_config(CompactionConfig { enabled: true, min_deleted_records: 1, min_deleted_ratio: 0.0 })
        .unwrap();
    for i in 0..20 {
        store.upsert(&id(i), &vector(i, 0), Some(&metadata(i, 0))).unwrap();
    }
    for i in 20..30 {
        store.upsert_with_ttl(&id(i), &vector(i, 0), None, 1).unwrap();
    }
    // The first write of the expiry's log append fails; a later run expires the records and
    // compacts them away.
    fail::cfg("fs::write", "1*return(eio)").unwrap();
    let m = Maintenance::start(&store, Duration::from_millis(20)).unwrap();
    let wait = |what: &str, done: &dyn Fn(&vecstore::MaintenanceStatus) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let st = m.status();
            if done(&st) {
                return st;
            }
            assert!(Instant::now() < deadline, "maintenance did not {what}: {st:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let st = wait("recover from a failed write", &|st| st.errors == 1 && st.expired == 10 && st.compactions == 1);
    assert!(st.last_error.as_deref().unwrap().contains("Input/output error"), "{st:?}");
    assert_eq!(store.count(), 20);
    // Then a compaction whose rename fails (ENOSPC): counted, and a later run compacts.
    for i in 0..5 {
        store.soft_delete(&id(i)).unwrap();
    }
    fail::cfg("fs::rename", "1*return(enospc)").unwrap();
    let st = wait("recover from a failed compaction", &|st| st.errors == 2 && st.compactions == 2);
    assert!(st.last_error.as_deref().unwrap().contains("No space left"), "{st:?}");
    let st = m.stop();
    disarm_all();
    println!("maintenance: {st:?}");
    assert_eq!(store.count(), 15);
    let store = std::sync::Arc::into_inner(store).unwrap();
    store.close().unwrap();
    let s = Store::open(dir.path().join("s"), &opts).unwrap();
    let (live, soft) = observe(&s);
    assert_eq!((live.len(), soft), (15, 0));
    for i in 5..20 {
        assert_eq!(live[&id(i)], (vector(i, 0), metadata(i, 0)));
    }
}

/// A real full disk: a 2 MiB tmpfs (mounted here when running as root), a ballast file, a store
/// filled until a write fails with `Code::Io` naming ENOSPC; reads go on, the ballast is removed,
/// writes work again, and a reopen has every acknowledged record.
#[test]
fn disk_full_on_a_small_tmpfs() {
    let _g = serial();
    disarm_all();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("disk_full_on_a_small_tmpfs: SKIPPED (needs root to mount a tmpfs; id -u is not 0)");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("run mount");
    assert!(status.success(), "mount -t tmpfs failed although running as root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());

    let ballast = mnt.join("ballast");
    std::fs::write(&ballast, vec![1u8; 256 << 10]).unwrap();
    let dir = mnt.join("store");
    let opts = StoreOptions { checkpoint_bytes: 256 << 10, durability: Durability::Process, ..options() };
    let s = Store::open(&dir, &opts).unwrap();
    let mut acked = Records::new();
    let mut full = None;
    for i in 0..100_000 {
        let (v, m) = (vector(i, 0), metadata(i, 0));
        match s.upsert(&format!("d{i}"), &v, Some(&m)) {
            Ok(()) => {
                acked.insert(format!("d{i}"), (v, m));
            }
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("the disk never filled");
    assert_eq!(e.code, Code::Io, "{e}");
    assert!(e.message.contains("No space left"), "the error names ENOSPC: {}", e.message);
    println!("disk full after {} records: {}", acked.len(), e.message);
    assert_eq!(observe(&s).0, acked, "reads go on and show every acknowledged record");

    std::fs::remove_file(&ballast).unwrap();
    for i in 0..200 {
        let (v, m) = (vector(i, 5), metadata(i, 5));
        s.upsert(&format!("e{i}"), &v, Some(&m)).expect("writes work again once space is freed");
        acked.insert(format!("e{i}"), (v, m));
    }
    s.flush().unwrap();
    // Closing checkpoints; on a nearly full disk that may fail (Io), never losing the log.
    if let Err(e) = s.close() {
        assert_eq!(e.code, Code::Io, "{e}");
    }
    let s = Store::open(&dir, &opts).unwrap();
    assert_eq!(observe(&s).0, acked, "a reopen has every acknowledged record");
    drop(s);
}
