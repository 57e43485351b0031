//! Shared by the store-file fuzz targets: a small template store (snapshot, log frames written after
//! it, soft-deleted, deleted and expiring records), built once per process under /dev/shm, and
//! `check_open`, which writes a copy of it with one file replaced and opens it. Opening must give a
//! usable store or `Code::Corrupt`: never a panic, a hang or a huge allocation (libFuzzer's
//! -rss_limit_mb and -timeout catch the last two).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vecstore::storage::snapshot::{FileKind, Manifest, MANIFEST_FILE};
use vecstore::store::Query;
use vecstore::{Code, Metric, Store, StoreOptions};

pub struct Template {
    pub files: BTreeMap<String, Vec<u8>>,
    pub manifest: Manifest,
    pub work: PathBuf,
}

pub fn scratch_root() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    base.join(format!("vecstore-fuzz-{}", std::process::id()))
}

pub fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let root = scratch_root();
        let _ = std::fs::remove_dir_all(&root);
        let src = root.join("template");
        let opts = StoreOptions {
            dimension: 4,
            metric: Some(Metric::Euclidean),
            checkpoint_bytes: 4096,
            ..StoreOptions::default()
        };
        let s = Store::open(&src, &opts).unwrap();
        for i in 0..60 {
            let v = [i as f32, 1.0, (i % 5) as f32, (i % 7) as f32];
            s.upsert(&format!("r{i}"), &v, Some(&format!(r#"{{"i":{i},"t":"{}"}}"#, "x".repeat(40)))).unwrap();
        }
        s.soft_delete("r3").unwrap();
        s.delete("r4").unwrap();
        s.upsert_with_ttl("r5", &[1.0, 2.0, 3.0, 4.0], None, 3600).unwrap();
        s.set_ttl("r6", 7200).unwrap();
        s.update_metadata("r7", Some(r#"{"tag":"b"}"#)).unwrap();
        // A checkpoint of the few changes above keeps the records and graph files and saves the
        // changes to their journals; the writes after it stay in the log.
        s.checkpoint().unwrap();
        s.upsert("r8", &[8.0, 1.0, 3.0, 1.0], Some(r#"{"tag":"c"}"#)).unwrap();
        s.soft_delete("r9").unwrap();
        s.checkpoint().unwrap();
        // (The records journal may have reached its bound there and every record been written.)
        s.set_ttl("r12", 3600).unwrap();
        s.checkpoint().unwrap();
        s.update_metadata("r10", Some(r#"{"tag":"d"}"#)).unwrap();
        s.delete("r11").unwrap();
        drop(s);
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if name != "LOCK" {
                files.insert(name, std::fs::read(e.path()).unwrap());
            }
        }
        let manifest: Manifest = serde_json::from_slice(&files[MANIFEST_FILE]).expect("the template has a snapshot");
        assert!(manifest.records_journal.is_some() && manifest.graph_journal.is_some(), "the template has journals");
        assert!(files["vecstore.log"].len() > 16, "the template's log holds frames after its snapshot");
        Template { files, manifest, work: root.join("work") }
    })
}

/// The file name of one of the template's snapshot files.
pub fn snapshot_name(kind: FileKind) -> String {
    template().manifest.entry(kind).unwrap_or_else(|| panic!("the template has no {kind:?} file")).name.clone()
}

/// `m` with its checksum recomputed (as the library computes it).
pub fn with_checksum(mut m: Manifest) -> Manifest {
    m.checksum = 0;
    m.checksum = crc32fast::hash(&serde_json::to_vec(&m).unwrap());
    m
}

/// Writes `files` as a store directory and opens it: a store that opens must answer reads.
pub fn check_open(files: &BTreeMap<String, Vec<u8>>) {
    let t = template();
    let dir = t.work.join("store");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    match Store::open(&dir, &StoreOptions::default()) {
        Ok(s) => {
            let _ = s.count();
            let _ = s.stats();
            let _ = s.scan(|_| Ok(()));
            let d = s.dimension();
            if d > 0 {
                let q = vec![0.5f32; d];
                let _ = s.query(&Query { vector: &q, k: 5, ..Default::default() });
                let _ = s.query(&Query { vector: &q, k: 5, filter: Some("i > 3"), ..Default::default() });
                let _ = s.get("r1");
            }
        }
        Err(e) => assert_eq!(e.code, Code::Corrupt, "a damaged store file gave {:?}: {}", e.code, e.message),
    }
}

/// A snapshot file (records, graph: 32-byte blob header; vectors: 64-byte header) from fuzz input:
/// `data[0]` bit 0 = fill in the header's payload crc (and length for a blob) so the parser behind it
/// is reached, bit 1 = also fix the manifest's entry (size, crc) and checksum.
pub fn check_snapshot_file(kind: FileKind, data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else { return };
    let mut body = body.to_vec();
    let (header_len, crc_at) = match kind {
        FileKind::Vectors => (64, 24),
        _ => (32, 12),
    };
    let mut crc = 0;
    if body.len() >= header_len {
        crc = crc32fast::hash(&body[header_len..]);
        if flags & 1 != 0 && kind == FileKind::Vectors && body[8..12] == 2u32.to_le_bytes() {
            // An appendable (version 2) vectors file keeps its extent in the manifest only.
            body[16..28].fill(0);
        } else if flags & 1 != 0 {
            body[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            if kind != FileKind::Vectors {
                let len = (body.len() - header_len) as u64;
                body[24..32].copy_from_slice(&len.to_le_bytes());
            }
        }
    }
    let t = template();
    let mut files = t.files.clone();
    let name = snapshot_name(kind);
    if flags & 2 != 0 {
        let mut m = t.manifest.clone();
        let entry = match kind {
            FileKind::Vectors => Some(&mut m.vectors),
            FileKind::Records => Some(&mut m.records),
            FileKind::Graph => Some(&mut m.graph),
            FileKind::Codes => m.codes.as_mut(),
            FileKind::GraphJournal => m.graph_journal.as_mut(),
            FileKind::RecordsJournal => m.records_journal.as_mut(),
        };
        if let Some(entry) = entry {
            entry.bytes = body.len() as u64;
            entry.crc32 = crc;
        }
        files.insert(MANIFEST_FILE.to_string(), serde_json::to_vec_pretty(&with_checksum(m)).unwrap());
    }
    files.insert(name, body);
    check_open(&files);
}

/// Seed inputs for a snapshot file target: the template's file behind each flag value.
pub fn seed(kind: FileKind) -> Vec<Vec<u8>> {
    let file = &template().files[&snapshot_name(kind)];
    (0u8..4).map(|f| std::iter::once(f).chain(file.iter().copied()).collect()).collect()
}

/// With `VECSTORE_FUZZ_SEEDS=<dir>` set, writes `seeds` there once (as seed-N files) and exits: run
/// the target once that way to make its seed corpus from the template store.
pub fn write_seeds_if_asked(seeds: impl FnOnce() -> Vec<Vec<u8>>) {
    if let Ok(dir) = std::env::var("VECSTORE_FUZZ_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        for (i, s) in seeds().into_iter().enumerate() {
            std::fs::write(Path::new(&dir).join(format!("seed-{i}")), s).unwrap();
        }
        let _ = std::fs::remove_dir_all(scratch_root());
        std::process::exit(0);
    }
}
