use std::collections::BTreeSet;

use super::*;
use crate::error::Code;

fn record(i: usize) -> SlotRecord {
    SlotRecord {
        id: format!("id-{i}"),
        metadata: format!(r#"{{"n":{i}}}"#),
        state: (i % 3) as u8,
        expires_at: if i.is_multiple_of(2) { 0 } else { 1_700_000_000 + i as u64 },
    }
}

/// A snapshot's worth of distinct contents; `seed` makes two snapshots differ.
struct Data {
    vectors: VectorBlock,
    records: Vec<SlotRecord>,
    graph: Vec<u8>,
}

fn data(dim: usize, n: usize, seed: usize) -> Data {
    let mut vectors = VectorBlock::empty(dim);
    for i in 0..n {
        let row: Vec<f32> = (0..dim).map(|j| (seed * 7919 + i * 31 + j) as f32 * 0.25).collect();
        vectors.push(&row);
    }
    let records = (0..n).map(|i| record(i + seed)).collect();
    let graph = (0..(n * 5 + seed)).map(|i| (i * 13 + seed) as u8).collect();
    Data { vectors, records, graph }
}

fn write(dir: &Path, generation: u64, d: &Data, next_log_generation: u32) -> Manifest {
    write_snapshot(dir, &contents(generation, d, next_log_generation)).unwrap()
}

fn contents(generation: u64, d: &Data, next_log_generation: u32) -> SnapshotContents<'_> {
    SnapshotContents {
        generation,
        vectors: &d.vectors,
        records: RecordsPart::Whole(&d.records),
        graph: GraphPart::Whole(&d.graph),
        codes: None,
        next_log_generation,
        log_start: 0,
    }
}

fn assert_holds(s: &LoadedSnapshot, d: &Data) {
    assert_eq!(s.dimension, d.vectors.dim());
    assert_eq!(
        (s.vectors.len(), s.vectors.mapped_rows(), s.vectors.tail_rows()),
        (d.vectors.len(), d.vectors.len(), 0)
    );
    assert!(s.vectors.rows().eq(d.vectors.rows()));
    assert_eq!(s.records.to_vec(), d.records);
    assert_eq!(&*s.graph, &d.graph[..]);
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

fn gen_files(generation: u64) -> Vec<String> {
    FileKind::REQUIRED.iter().map(|&k| snapshot_file_name(generation, k)).collect()
}

fn expect_corrupt(dir: &Path, file: &str, needle: &str) {
    let err = load_snapshot(dir, None).unwrap_err();
    assert_eq!(err.code, Code::Corrupt, "{}", err.message);
    assert!(err.message.contains(file), "names {file}: {}", err.message);
    assert!(err.message.contains(needle), "expected {needle:?} in: {}", err.message);
}

/// Rewrites the manifest through `edit`, with a correct checksum (to reach the checks behind it).
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
    let mut m = read_manifest(dir).unwrap().unwrap();
    edit(&mut m);
    m.checksum = m.compute_checksum();
    std::fs::write(dir.join(MANIFEST_FILE), serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

#[test]
fn no_manifest_means_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_snapshot(dir.path(), Some(3)).unwrap().is_none());
    assert!(verify_snapshot(dir.path()).unwrap().is_none());
}

#[test]
fn round_trips_in_many_shapes() {
    for (dim, n) in [(1, 0), (4, 0), (1, 1), (1, 50), (3, 17), (1000, 5), (128, 300)] {
        let dir = tempfile::tempdir().unwrap();
        let d = data(dim, n, 1);
        let m = write(dir.path(), 7, &d, 3);
        assert_eq!((m.generation, m.slots, m.dimension, m.log_generation), (7, n as u64, dim, 3));
        let s = load_snapshot(dir.path(), Some(dim)).unwrap().unwrap();
        assert_eq!((s.generation, s.log_generation), (7, 3));
        assert_eq!(s.manifest, m);
        assert_holds(&s, &d);
        assert_eq!(verify_snapshot(dir.path()).unwrap().unwrap(), m);
        let mut expected: BTreeSet<String> = gen_files(7).into_iter().collect();
        expected.insert(MANIFEST_FILE.into());
        assert_eq!(names(dir.path()), expected, "dim {dim} n {n}");
        for kind in FileKind::REQUIRED {
            let len = std::fs::metadata(m.file_path(dir.path(), kind)).unwrap().len();
            assert_eq!(len, m.entry(kind).unwrap().bytes);
        }
    }
}

#[test]
fn a_store_without_a_dimension_yet_snapshots() {
    // A store whose first vector has not arrived has dimension 0 and no slots.
    let dir = tempfile::tempdir().unwrap();
    let d = Data { vectors: VectorBlock::empty(0), records: Vec::new(), graph: Vec::new() };
    write(dir.path(), 1, &d, 1);
    let s = load_snapshot(dir.path(), Some(0)).unwrap().unwrap();
    assert_eq!((s.dimension, s.vectors.len(), s.records.len()), (0, 0, 0));
}

#[test]
fn loaded_snapshots_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LoadedSnapshot>();
    send_sync::<VectorBlock>();
}

#[test]
fn an_empty_graph_and_a_block_with_a_tail_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let first = data(3, 4, 0);
    write(dir.path(), 1, &first, 1);
    // The store's usual shape: rows mapped from the last snapshot, then rows pushed since.
    let mut s = load_snapshot(dir.path(), Some(3)).unwrap().unwrap();
    s.vectors.push(&[9.0, 8.0, 7.0]);
    let mut records = s.records.to_vec();
    records.push(record(99));
    let second = Data { vectors: s.vectors, records, graph: Vec::new() };
    write(dir.path(), 2, &second, 2);
    let loaded = load_snapshot(dir.path(), Some(3)).unwrap().unwrap();
    assert_holds(&loaded, &second);
    assert_eq!(loaded.vectors.get(4), &[9.0, 8.0, 7.0]);
    assert!(loaded.graph.is_empty());
}

#[test]
fn a_new_generation_replaces_the_old_and_deletes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = data(2, 5, 1);
    let b = data(2, 8, 2);
    write(dir.path(), 1, &a, 1);
    // The old snapshot's vectors stay readable through a live mapping while the new one is written
    // and the old file is deleted (the store keeps its mapping until it switches).
    let old = load_snapshot(dir.path(), Some(2)).unwrap().unwrap();
    write(dir.path(), 2, &b, 2);
    assert!(old.vectors.rows().eq(a.vectors.rows()));
    let mut expected: BTreeSet<String> = gen_files(2).into_iter().collect();
    expected.insert(MANIFEST_FILE.into());
    assert_eq!(names(dir.path()), expected);
    let s = load_snapshot(dir.path(), Some(2)).unwrap().unwrap();
    assert_eq!((s.generation, s.log_generation), (2, 2));
    assert_holds(&s, &b);
    // Generations only go forward: rewriting the current one would overwrite live files.
    for g in [1, 2] {
        let err = write_snapshot(dir.path(), &contents(g, &a, 3)).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "{}", err.message);
    }
    // The log generation cannot go back either (equal is a retried checkpoint).
    let err = write_snapshot(dir.path(), &contents(3, &a, 1)).unwrap_err();
    assert!(err.message.contains("log generation 1, older than"), "{}", err.message);
    write(dir.path(), 3, &a, 2);
    // Generations past six digits still name and parse.
    write(dir.path(), 12_345_678, &a, 3);
    assert_eq!(load_snapshot(dir.path(), None).unwrap().unwrap().generation, 12_345_678);
    assert!(names(dir.path()).contains("snap-12345678.graph"));
}

#[test]
fn bad_contents_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = data(2, 3, 0);
    d.records.pop();
    let err = write_snapshot(dir.path(), &contents(1, &d, 1)).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    let mut d = data(2, 3, 0);
    d.records[1].state = 3;
    let err = write_snapshot(dir.path(), &contents(1, &d, 1)).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(err.message.contains("slot 1"), "{}", err.message);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_dimension_other_than_expected_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &data(3, 2, 0), 1);
    expect_corrupt_with(dir.path(), Some(4), MANIFEST_FILE, "dimension 3, the store has dimension 4");
}

fn expect_corrupt_with(dir: &Path, dim: Option<usize>, file: &str, needle: &str) {
    let err = load_snapshot(dir, dim).unwrap_err();
    assert_eq!(err.code, Code::Corrupt, "{}", err.message);
    assert!(err.message.contains(file) && err.message.contains(needle), "{}", err.message);
}

#[test]
fn a_failed_write_leaves_the_previous_snapshot_and_no_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = data(3, 4, 1);
    write(dir.path(), 1, &a, 1);
    // The graph's temporary name is taken by a directory: the third file cannot be created.
    let blocker = dir.path().join("snap-000002.graph.tmp");
    std::fs::create_dir(&blocker).unwrap();
    let err = write_snapshot(dir.path(), &contents(2, &data(3, 5, 2), 2)).unwrap_err();
    assert_eq!(err.code, Code::Io, "{}", err.message);
    std::fs::remove_dir(&blocker).unwrap();
    let mut expected: BTreeSet<String> = gen_files(1).into_iter().collect();
    expected.insert(MANIFEST_FILE.into());
    assert_eq!(names(dir.path()), expected);
    assert_holds(&load_snapshot(dir.path(), Some(3)).unwrap().unwrap(), &a);
}

// ---- crash windows -------------------------------------------------------------------------------

#[test]
fn a_crash_at_any_step_leaves_a_complete_snapshot() {
    for stop in [StopAfter::TempFiles, StopAfter::DataFiles, StopAfter::Manifest] {
        let dir = tempfile::tempdir().unwrap();
        let a = data(3, 4, 1);
        let b = data(3, 6, 2);
        write(dir.path(), 1, &a, 1);
        assert!(
            write_snapshot_until(dir.path(), &contents(2, &b, 2), stop).unwrap().is_some()
                == (stop == StopAfter::Manifest)
        );
        let s = load_snapshot(dir.path(), Some(3)).unwrap().unwrap();
        let (generation, want) = if stop == StopAfter::Manifest { (2, &b) } else { (1, &a) };
        assert_eq!(s.generation, generation, "{stop:?}");
        assert_holds(&s, want);
        // Opening removed every leftover of the interrupted write.
        let mut expected: BTreeSet<String> = gen_files(generation).into_iter().collect();
        expected.insert(MANIFEST_FILE.into());
        assert_eq!(names(dir.path()), expected, "{stop:?}");
    }
}

#[test]
fn a_crash_while_writing_the_manifest_leaves_the_old_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let a = data(3, 4, 1);
    let b = data(3, 6, 2);
    write(dir.path(), 1, &a, 1);
    write_snapshot_until(dir.path(), &contents(2, &b, 2), StopAfter::DataFiles).unwrap();
    // The manifest's temporary file, complete or torn, is not the manifest.
    let next = serde_json::to_string(&read_manifest(dir.path()).unwrap().unwrap()).unwrap();
    std::fs::write(dir.path().join("vecstore.snapshot.tmp"), &next[..next.len() / 2]).unwrap();
    let s = load_snapshot(dir.path(), Some(3)).unwrap().unwrap();
    assert_eq!(s.generation, 1);
    assert_holds(&s, &a);
    assert!(!dir.path().join("vecstore.snapshot.tmp").exists());
    // And the next write of generation 2 succeeds over whatever was left.
    write(dir.path(), 2, &b, 2);
    assert_holds(&load_snapshot(dir.path(), Some(3)).unwrap().unwrap(), &b);
}

#[test]
fn a_first_snapshot_that_never_committed_is_ignored_and_its_temp_files_removed() {
    let dir = tempfile::tempdir().unwrap();
    let a = data(3, 4, 1);
    write_snapshot_until(dir.path(), &contents(1, &a, 1), StopAfter::TempFiles).unwrap();
    assert_eq!(names(dir.path()).len(), 3);
    assert!(load_snapshot(dir.path(), Some(3)).unwrap().is_none());
    assert!(names(dir.path()).is_empty());
    // Renamed but uncommitted data files are kept when there is no manifest (they could be the only
    // copy of a store whose manifest was lost); the next committed snapshot removes them.
    write_snapshot_until(dir.path(), &contents(1, &a, 1), StopAfter::DataFiles).unwrap();
    assert!(load_snapshot(dir.path(), Some(3)).unwrap().is_none());
    assert_eq!(names(dir.path()), gen_files(1).into_iter().collect());
    write(dir.path(), 2, &a, 1);
    assert!(!names(dir.path()).contains(&snapshot_file_name(1, FileKind::Vectors)));
}

#[test]
fn a_manifest_naming_a_missing_file_is_corrupt_naming_it() {
    for kind in FileKind::REQUIRED {
        let dir = tempfile::tempdir().unwrap();
        let m = write(dir.path(), 4, &data(3, 4, 1), 1);
        std::fs::remove_file(m.file_path(dir.path(), kind)).unwrap();
        expect_corrupt(dir.path(), &snapshot_file_name(4, kind), "missing");
        // Nothing is cleaned up after a failed load.
        assert_eq!(names(dir.path()).len(), 3);
    }
}

#[test]
fn a_failed_load_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &data(3, 4, 1), 1);
    write_snapshot_until(dir.path(), &contents(2, &data(3, 4, 2), 2), StopAfter::TempFiles).unwrap();
    let before = names(dir.path());
    std::fs::write(dir.path().join(MANIFEST_FILE), b"{").unwrap();
    assert_eq!(load_snapshot(dir.path(), None).unwrap_err().code, Code::Corrupt);
    assert_eq!(names(dir.path()), before);
}

// ---- corruption of each file -----------------------------------------------------------------------

/// A directory with one committed snapshot, and the bytes of one of its files for editing.
struct Damaged {
    dir: tempfile::TempDir,
    path: PathBuf,
    name: String,
    good: Vec<u8>,
}

impl Damaged {
    fn new(kind: FileKind) -> Damaged {
        let dir = tempfile::tempdir().unwrap();
        let m = write(dir.path(), 3, &data(3, 5, 1), 4);
        let path = m.file_path(dir.path(), kind);
        let good = std::fs::read(&path).unwrap();
        Damaged { dir, path, name: snapshot_file_name(3, kind), good }
    }
    fn with(&self, edit: impl FnOnce(&mut Vec<u8>)) -> &Self {
        let mut b = self.good.clone();
        edit(&mut b);
        std::fs::write(&self.path, &b).unwrap();
        self
    }
    fn corrupt(&self, needle: &str) {
        expect_corrupt(self.dir.path(), &self.name, needle);
    }
}

#[test]
fn truncated_or_extended_files_are_corrupt() {
    for kind in FileKind::REQUIRED {
        let d = Damaged::new(kind);
        for cut in [0, 1, 31, 32, 63, 64, d.good.len() - 1].into_iter().filter(|&c| c < d.good.len()) {
            d.with(|b| b.truncate(cut)).corrupt("the snapshot manifest says");
        }
        if kind == FileKind::Vectors {
            // Bytes past a vectors file's committed extent are an append that never committed:
            // ignored, the committed rows load as written.
            d.with(|b| b.extend_from_slice(&[0xab; 13]));
            let s = load_snapshot(d.dir.path(), None).unwrap().unwrap();
            assert_holds(&s, &data(3, 5, 1));
            s.vectors.verify().unwrap();
        } else {
            d.with(|b| b.push(0)).corrupt("the snapshot manifest says");
        }
    }
}

#[test]
fn bad_magic_and_unknown_versions_are_corrupt_naming_both_versions() {
    for kind in FileKind::REQUIRED {
        let d = Damaged::new(kind);
        d.with(|b| b[1] ^= 0x40).corrupt("bad magic");
        let reads = if kind == FileKind::Vectors { "versions 1 and 2" } else { "version 1" };
        d.with(|b| b[8..12].copy_from_slice(&9u32.to_le_bytes()))
            .corrupt(&format!("format version 9 is not supported (this library reads {reads})"));
    }
}

#[test]
fn every_bit_flip_in_records_and_graph_is_caught() {
    for kind in [FileKind::Records, FileKind::Graph] {
        let d = Damaged::new(kind);
        for byte in 0..d.good.len() {
            for bit in [0, 3, 7] {
                d.with(|b| b[byte] ^= 1 << bit);
                let err = load_snapshot(d.dir.path(), None).unwrap_err();
                assert_eq!(err.code, Code::Corrupt, "{kind:?} byte {byte} bit {bit}");
                assert!(err.message.contains(&d.name), "{}", err.message);
            }
        }
        d.with(|b| *b.last_mut().unwrap() ^= 1).corrupt("checksum");
    }
}

#[test]
fn vector_header_damage_is_caught_at_load_and_data_damage_by_verify() {
    let d = Damaged::new(FileKind::Vectors);
    for byte in 0..64 {
        d.with(|b| b[byte] ^= 0x04);
        let err = load_snapshot(d.dir.path(), None).unwrap_err();
        assert_eq!(err.code, Code::Corrupt, "byte {byte}");
        assert!(err.message.contains(&d.name), "{}", err.message);
    }
    // An appendable file keeps its crc in the manifest only: a header that holds one is damaged.
    d.with(|b| b[24] ^= 1).corrupt("row count or checksum in its header");
    // A flipped bit in the data: loadable (not checked at load), caught by verify.
    d.with(|b| b[64 + 9] ^= 0x10);
    let s = load_snapshot(d.dir.path(), None).unwrap().unwrap();
    assert_eq!(s.vectors.verify().unwrap_err().code, Code::Corrupt);
    let err = verify_snapshot(d.dir.path()).unwrap_err();
    assert_eq!(err.code, Code::Corrupt);
    assert!(err.message.contains(&d.name) && err.message.contains("checksum"), "{}", err.message);
}

#[test]
fn counts_that_disagree_are_corrupt() {
    // A well-formed records file with fewer records than the snapshot has slots.
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), 3, &data(3, 5, 1), 4);
    let records_path = m.file_path(dir.path(), FileKind::Records);
    let fewer: Vec<SlotRecord> = (0..4).map(record).collect();
    let w = write_blob_file(&records_path, RECORDS_MAGIC, RECORDS_FORMAT_VERSION, 4, |w| {
        bincode_options().serialize_into(w, &fewer).map_err(std::io::Error::other)
    })
    .unwrap();
    edit_manifest(dir.path(), |m| {
        m.records.bytes = w.bytes;
        m.records.crc32 = w.crc32;
    });
    expect_corrupt(dir.path(), "snap-000003.records", "has 4 records, the snapshot has 5 slots");

    // The header's count disagrees with the payload.
    let w = write_blob_file(&records_path, RECORDS_MAGIC, RECORDS_FORMAT_VERSION, 5, |w| {
        bincode_options().serialize_into(w, &fewer).map_err(std::io::Error::other)
    })
    .unwrap();
    edit_manifest(dir.path(), |m| {
        m.records.bytes = w.bytes;
        m.records.crc32 = w.crc32;
    });
    expect_corrupt(dir.path(), "snap-000003.records", "holds 4 records, its header says 5");

    // The manifest's slot count disagrees with the vector rows.
    edit_manifest(dir.path(), |m| m.slots = 6);
    expect_corrupt(dir.path(), "snap-000003.vectors", "the manifest's 6 rows of dimension 3 need 136 bytes");
    // The manifest's byte count disagrees with its rows.
    edit_manifest(dir.path(), |m| {
        m.slots = 5;
        m.vectors.bytes -= 12;
    });
    expect_corrupt(dir.path(), MANIFEST_FILE, "the vectors are 112 bytes, 5 rows make 124");
}

#[test]
fn undecodable_records_with_a_good_checksum_are_corrupt_without_a_huge_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), 3, &data(3, 1, 1), 4);
    let records_path = m.file_path(dir.path(), FileKind::Records);
    let one = bincode_options().serialize(&vec![record(0)]).unwrap();
    // (payload, count in the file header, expected message)
    let mut cases: Vec<(Vec<u8>, u64, &str)> = Vec::new();
    cases.push((u64::MAX.to_le_bytes().to_vec(), 1, "holds 18446744073709551615 records, its header says 1"));
    let mut huge_string = 1u64.to_le_bytes().to_vec();
    huge_string.extend_from_slice(&(u64::MAX / 2).to_le_bytes()); // an id of 2^63 bytes
    huge_string.extend_from_slice(&[0; 17]);
    cases.push((huge_string, 1, "do not decode (record 0)"));
    let mut garbage = 1u64.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[0xff; 40]);
    cases.push((garbage, 1, "do not decode (record 0)"));
    let mut bad_utf8 = one.clone();
    bad_utf8[16] = 0xff; // first byte of the id
    cases.push((bad_utf8, 1, "do not decode (record 0)"));
    let mut trailing = one.clone();
    trailing.push(0);
    cases.push((trailing, 1, "1 bytes left after the last record"));
    cases.push((Vec::new(), 1, "no length"));
    for (payload, count, needle) in cases {
        let w = write_blob_file(&records_path, RECORDS_MAGIC, RECORDS_FORMAT_VERSION, count, |w| {
            w.write_all(&payload)
        })
        .unwrap();
        edit_manifest(dir.path(), |m| {
            m.records.bytes = w.bytes;
            m.records.crc32 = w.crc32;
        });
        expect_corrupt(dir.path(), "snap-000003.records", needle);
    }
    // Counts that the payload cannot hold are refused before the vector is allocated (the loader
    // reaches this only when the manifest's slot count agrees, so it is checked directly).
    let p = Path::new("r");
    let mut claims_many = 1000u64.to_le_bytes().to_vec();
    claims_many.extend_from_slice(&one[8..]);
    let err = decode_records(p, &claims_many, 1000).unwrap_err();
    assert!(err.message.contains("claims 1000 records, more than its"), "{}", err.message);
    let err = decode_records(p, &u64::MAX.to_le_bytes(), u64::MAX).unwrap_err();
    assert!(err.message.contains("more than its 8 bytes can hold"), "{}", err.message);
    assert_eq!(decode_records(p, &one, 1).unwrap(), vec![record(0)]);
}

#[test]
fn an_unknown_slot_state_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), 3, &data(3, 2, 1), 4);
    let mut bad = vec![record(0), record(1)];
    bad[1].state = 7;
    let w = write_blob_file(
        &m.file_path(dir.path(), FileKind::Records),
        RECORDS_MAGIC,
        RECORDS_FORMAT_VERSION,
        2,
        |w| bincode_options().serialize_into(w, &bad).map_err(std::io::Error::other),
    )
    .unwrap();
    edit_manifest(dir.path(), |m| {
        m.records.bytes = w.bytes;
        m.records.crc32 = w.crc32;
    });
    expect_corrupt(dir.path(), "snap-000003.records", "slot 1 has unknown state 7");
}

#[test]
fn blob_files_check_their_own_length_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.graph");
    write_blob_file(&path, GRAPH_MAGIC, GRAPH_FORMAT_VERSION, 3, |w| w.write_all(b"abc")).unwrap();
    let good = std::fs::read(&path).unwrap();
    let read = || read_blob_file(&path, GRAPH_MAGIC, GRAPH_FORMAT_VERSION, "graph");
    assert_eq!(&*read().unwrap().payload, b"abc");
    let mut b = good.clone();
    b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let err = read().err().unwrap();
    assert!(err.code == Code::Corrupt && err.message.contains("payload of 18446744073709551615 bytes"));
    std::fs::write(&path, &good[..20]).unwrap();
    let err = read().err().unwrap();
    assert!(err.code == Code::Corrupt && err.message.contains("shorter than its 32-byte header"));
}

// ---- the manifest ---------------------------------------------------------------------------------

#[test]
fn manifest_damage_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 3, &data(3, 5, 1), 4);
    let path = dir.path().join(MANIFEST_FILE);
    let good = std::fs::read_to_string(&path).unwrap();
    let check = |text: &str, needle: &str| {
        std::fs::write(&path, text).unwrap();
        expect_corrupt(dir.path(), MANIFEST_FILE, needle);
    };
    check("", "not valid JSON");
    check(&good[..good.len() / 2], "not valid JSON");
    check("[]", "format version missing");
    check(
        &good.replace("\"format_version\": 7", "\"format_version\": 8"),
        "format version 8 is not supported (this library reads versions 1 to 7)",
    );
    // A changed number that still parses is caught by the checksum: here the log generation, which
    // would otherwise make open discard (or refuse) the log.
    check(&good.replace("\"log_generation\": 4", "\"log_generation\": 5"), "manifest checksum");
    check(&good.replace("\"slots\": 5", "\"slots\": 6"), "manifest checksum");
    check(&good.replace("\"checksum\"", "\"extra\": 1, \"checksum\""), "unknown field");
    // Names are derived from the generation, never followed blindly.
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.graph.name = "../../etc/passwd".into());
    expect_corrupt(dir.path(), MANIFEST_FILE, "etc/passwd");
    // A file may come from an earlier generation, only from an earlier one, and then its name
    // must be that generation's.
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.records.since = Some(3));
    expect_corrupt(dir.path(), MANIFEST_FILE, "which it cannot be");
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.records.since = Some(1));
    expect_corrupt(
        dir.path(),
        MANIFEST_FILE,
        "\"snap-000003.records\" where \"snap-000001.records\" was expected",
    );
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.vectors.since = Some(3));
    expect_corrupt(dir.path(), MANIFEST_FILE, "which it cannot be");
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.vectors.since = Some(2));
    expect_corrupt(
        dir.path(),
        MANIFEST_FILE,
        "\"snap-000003.vectors\" where \"snap-000002.vectors\" was expected",
    );
    std::fs::write(&path, &good).unwrap();
    assert!(load_snapshot(dir.path(), None).unwrap().is_some());
}

#[test]
fn file_names_parse() {
    assert_eq!(parse_snapshot_file_name("snap-000007.vectors"), Some((7, false)));
    assert_eq!(parse_snapshot_file_name("snap-000007.graph.tmp"), Some((7, true)));
    assert_eq!(parse_snapshot_file_name("snap-123456789.records"), Some((123_456_789, false)));
    for other in ["snap-.graph", "snap-12.other", "snap-1a.graph", "snapshot.json", "snap-1", "vecstore.log"]
    {
        assert_eq!(parse_snapshot_file_name(other), None, "{other}");
    }
}

#[test]
fn files_that_are_not_snapshot_files_are_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["vecstore.log", "vecstore.meta.json", "LOCK", "snap-notes.txt", "snap-1.other"] {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    write(dir.path(), 1, &data(2, 2, 0), 1);
    write(dir.path(), 2, &data(2, 2, 0), 2);
    load_snapshot(dir.path(), None).unwrap().unwrap();
    for name in ["vecstore.log", "vecstore.meta.json", "LOCK", "snap-notes.txt", "snap-1.other"] {
        assert!(dir.path().join(name).exists(), "{name}");
    }
}

/// Code rows for tests: `rows` rows of `CODE_STRIDE` bytes, row `r` depending on `seed` and `r`.
const CODE_STRIDE: usize = 64;
const CODE_HEAD: &[u8] = b"ranges, metric, stride, lineage";

fn code_rows(from: usize, to: usize, seed: usize) -> Vec<u8> {
    (from * CODE_STRIDE..to * CODE_STRIDE).map(|i| (i * 7 + seed * 13) as u8).collect()
}

fn codes_part<'a>(rows: &'a [u8], first_row: u64, drift: [u64; 2]) -> CodesPart<'a> {
    CodesPart { head: CODE_HEAD, row_len: CODE_STRIDE, first_row, rows, drift }
}

/// The committed code bytes of a loaded appendable codes file: its head, then its rows.
fn saved_rows(s: &LoadedSnapshot) -> (Vec<u8>, [u64; 2]) {
    match s.codes.as_ref().expect("the snapshot has codes") {
        SavedCodes::Appendable { payload, drift, packed } => {
            assert!(packed, "a new codes file packs its rows");
            let head_len = 4 + CODE_HEAD.len();
            assert_eq!(&payload[..4], &(CODE_HEAD.len() as u32).to_le_bytes());
            assert_eq!(&payload[4..head_len], CODE_HEAD);
            (payload[head_len..].to_vec(), *drift)
        }
        SavedCodes::Whole(_) => panic!("a format 1 codes file"),
    }
}

#[test]
fn a_codes_file_is_written_loaded_checked_and_removed_with_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3, 6, 1);
    let rows = code_rows(0, 6, 1);
    // The codes must have one row per slot, of whole rows.
    for bad in [&rows[..5 * CODE_STRIDE], &rows[..6 * CODE_STRIDE - 1]] {
        let c = SnapshotContents { codes: Some(codes_part(bad, 0, [0, 0])), ..contents(1, &d, 1) };
        let err = write_snapshot(dir.path(), &c).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "{}", err.message);
        assert!(names(dir.path()).is_empty());
    }

    let c = SnapshotContents { codes: Some(codes_part(&rows, 0, [60, 2])), ..contents(1, &d, 1) };
    let m = write_snapshot(dir.path(), &c).unwrap();
    assert_eq!(m.format_version, MANIFEST_FORMAT_VERSION);
    assert_eq!(m.codes_drift, Some([60, 2]));
    let entry = m.codes.clone().expect("the manifest names the codes");
    assert_eq!(entry.name, snapshot_file_name(1, FileKind::Codes));
    assert_eq!(std::fs::metadata(m.file_path(dir.path(), FileKind::Codes)).unwrap().len(), entry.bytes);
    assert_eq!(blob_format_version(&m.file_path(dir.path(), FileKind::Codes)), Some(CODES_FORMAT_APPENDABLE));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(saved_rows(&s), (rows.clone(), [60, 2]));
    assert_holds(&s, &d);
    drop(s);

    // A damaged or missing codes file is damage, named; so are missing drift counters.
    let path = m.file_path(dir.path(), FileKind::Codes);
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &bad).unwrap();
    expect_corrupt(dir.path(), &entry.name, "checksum");
    bad = good.clone();
    bad[8] = 9; // the version
    std::fs::write(&path, &bad).unwrap();
    expect_corrupt(dir.path(), &entry.name, "format version 9");
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    expect_corrupt(dir.path(), &entry.name, "bytes");
    std::fs::remove_file(&path).unwrap();
    expect_corrupt(dir.path(), &entry.name, "missing");
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.codes_drift = None);
    expect_corrupt(dir.path(), &entry.name, "drift");
    edit_manifest(dir.path(), |m| m.codes_drift = Some([60, 2]));
    load_snapshot(dir.path(), None).unwrap().unwrap();

    // A later snapshot without codes removes the old generation's codes with its other files.
    write(dir.path(), 2, &d, 1);
    assert!(!names(dir.path()).contains(&entry.name));
    assert!(load_snapshot(dir.path(), None).unwrap().unwrap().codes.is_none());
}

#[test]
fn checkpoints_append_code_rows_and_a_crash_after_the_append_leaves_the_old_extent() {
    let dir = tempfile::tempdir().unwrap();
    let first = data(3, 5, 1);
    let all = code_rows(0, 9, 1);
    let c = SnapshotContents {
        codes: Some(codes_part(&all[..5 * CODE_STRIDE], 0, [15, 0])),
        ..contents(1, &first, 1)
    };
    let m1 = write_snapshot(dir.path(), &c).unwrap();
    let file = m1.file_path(dir.path(), FileKind::Codes);
    let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();

    // A crash after the append, before the manifest: the old snapshot, the extra bytes ignored.
    let d = grown(&loaded, 3, 2);
    let c = SnapshotContents {
        codes: Some(codes_part(&all[5 * CODE_STRIDE..8 * CODE_STRIDE], 5, [24, 1])),
        ..contents(2, &d, 1)
    };
    write_snapshot_until(dir.path(), &c, StopAfter::DataFiles).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        m1.codes.as_ref().unwrap().bytes + 3 * CODE_STRIDE as u64
    );
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(s.generation, 1);
    assert_eq!(saved_rows(&s), (all[..5 * CODE_STRIDE].to_vec(), [15, 0]));
    drop(s);

    // The next checkpoint cuts them and appends its own rows: same file, `since` its generation.
    let d = grown(&loaded, 4, 3);
    let c = SnapshotContents {
        codes: Some(codes_part(&all[5 * CODE_STRIDE..9 * CODE_STRIDE], 5, [27, 1])),
        ..contents(2, &d, 1)
    };
    let m2 = write_snapshot(dir.path(), &c).unwrap();
    drop(loaded);
    let entry = m2.codes.clone().unwrap();
    assert_eq!((entry.name.as_str(), entry.since), (m1.codes.as_ref().unwrap().name.as_str(), Some(1)));
    assert_eq!(entry.bytes, m1.codes.as_ref().unwrap().bytes + 4 * CODE_STRIDE as u64);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), entry.bytes);
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(saved_rows(&s), (all.clone(), [27, 1]));
    assert_holds(&s, &d);
    assert!(names(dir.path()).contains(&entry.name), "the appended file is kept");

    // Rows said to be in the file but not there (another head, another row count) are refused,
    // and nothing changes.
    let before = std::fs::read(&file).unwrap();
    let d3 = grown(&s, 1, 4);
    let extra = code_rows(9, 10, 1);
    for (head, first_row) in [(&b"another head"[..], 9u64), (CODE_HEAD, 8)] {
        let rows = if first_row == 9 { extra.clone() } else { code_rows(8, 10, 1) };
        let cp = CodesPart { head, row_len: CODE_STRIDE, first_row, rows: &rows, drift: [0, 0] };
        let err = write_snapshot(dir.path(), &SnapshotContents { codes: Some(cp), ..contents(3, &d3, 1) })
            .unwrap_err();
        assert_eq!(err.code, Code::Internal, "{}", err.message);
        assert_eq!(std::fs::read(&file).unwrap(), before);
        assert_eq!(read_manifest(dir.path()).unwrap().unwrap(), m2);
    }
}

#[test]
fn a_codes_file_linked_elsewhere_gets_a_fresh_file_with_its_rows_copied() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let all = code_rows(0, 7, 5);
    let first = data(3, 5, 1);
    let c = SnapshotContents {
        codes: Some(codes_part(&all[..5 * CODE_STRIDE], 0, [1, 0])),
        ..contents(1, &first, 1)
    };
    let m1 = write_snapshot(dir.path(), &c).unwrap();
    let file = m1.file_path(dir.path(), FileKind::Codes);
    let link = backup.path().join("codes");
    std::fs::hard_link(&file, &link).unwrap();
    let before = std::fs::read(&link).unwrap();
    let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
    let d = grown(&loaded, 2, 2);
    let c = SnapshotContents {
        codes: Some(codes_part(&all[5 * CODE_STRIDE..], 5, [2, 0])),
        ..contents(2, &d, 1)
    };
    let m2 = write_snapshot(dir.path(), &c).unwrap();
    drop(loaded);
    let entry = m2.codes.clone().unwrap();
    assert_eq!((entry.name, entry.since), (snapshot_file_name(2, FileKind::Codes), None));
    assert_eq!(std::fs::read(&link).unwrap(), before, "the backup's file is unchanged");
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(saved_rows(&s), (all, [2, 0]));
}

#[test]
fn a_format_1_codes_file_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3, 4, 1);
    let rows = code_rows(0, 4, 1);
    let c = SnapshotContents { codes: Some(codes_part(&rows, 0, [1, 0])), ..contents(1, &d, 1) };
    let m = write_snapshot(dir.path(), &c).unwrap();
    // What an older library wrote: a blob file with the payload's crc, count and length in its header.
    let path = m.file_path(dir.path(), FileKind::Codes);
    let payload = b"a format 1 payload".to_vec();
    let w = write_blob_file(&path, CODES_MAGIC, CODES_FORMAT_VERSION, 4, |w| w.write_all(&payload)).unwrap();
    edit_manifest(dir.path(), |m| {
        let e = m.codes.as_mut().unwrap();
        (e.bytes, e.crc32) = (w.bytes, w.crc32);
        m.codes_drift = None;
    });
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    match s.codes.as_ref().unwrap() {
        SavedCodes::Whole(p) => assert_eq!(&p[..], &payload[..]),
        SavedCodes::Appendable { .. } => panic!("read as appendable"),
    }
}

// ---- appended vectors ------------------------------------------------------------------------------

/// `base`'s rows (as loaded: mapped from its vectors file) followed by `extra` new ones in memory,
/// with records to match: what a checkpoint freezes after writes.
fn grown(loaded: &LoadedSnapshot, extra: usize, seed: usize) -> Data {
    let mut vectors = loaded.vectors.freeze();
    let dim = vectors.dim();
    for i in 0..extra {
        let row: Vec<f32> = (0..dim).map(|j| (seed * 104_729 + i * 17 + j) as f32 * 0.5).collect();
        vectors.push(&row);
    }
    let records = (0..vectors.len()).map(|i| record(i + seed)).collect();
    Data { vectors, records, graph: vec![seed as u8; 9] }
}

#[test]
fn a_checkpoint_appends_new_rows_to_the_vectors_file_it_maps() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &data(3, 5, 1), 1);
    let first_len = std::fs::metadata(dir.path().join("snap-000001.vectors")).unwrap().len();
    let mut expected_rows: Vec<Vec<f32>> = data(3, 5, 1).vectors.rows().map(<[f32]>::to_vec).collect();
    for generation in 2..=4u64 {
        let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
        let d = grown(&loaded, 2, generation as usize);
        expected_rows.extend(d.vectors.rows().skip(loaded.vectors.len()).map(<[f32]>::to_vec));
        let m = write(dir.path(), generation, &d, 1);
        drop(loaded);
        assert_eq!(m.vectors.name, "snap-000001.vectors");
        assert_eq!(m.vectors.since, Some(1));
        assert_eq!(m.vectors.bytes, first_len + (generation - 1) * 2 * 12);
        // The old generation's other files are gone, its vectors file stays (the new one names it).
        let mut want: BTreeSet<String> = gen_files(generation).into_iter().collect();
        want.remove(&snapshot_file_name(generation, FileKind::Vectors));
        want.insert("snap-000001.vectors".into());
        want.insert(MANIFEST_FILE.into());
        assert_eq!(names(dir.path()), want);
        let s = load_snapshot(dir.path(), None).unwrap().unwrap();
        assert_holds(&s, &d);
        assert!(s.vectors.rows().eq(expected_rows.iter().map(Vec::as_slice)));
        verify_snapshot(dir.path()).unwrap();
    }
}

#[test]
fn a_crash_after_the_append_leaves_the_old_snapshot_and_the_next_checkpoint_cuts_the_extra_rows() {
    for stop in [StopAfter::TempFiles, StopAfter::DataFiles] {
        let dir = tempfile::tempdir().unwrap();
        let first = data(3, 5, 1);
        write(dir.path(), 1, &first, 1);
        let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
        let d = grown(&loaded, 3, 2);
        write_snapshot_until(dir.path(), &contents(2, &d, 1), stop).unwrap();
        drop(loaded);
        let file = dir.path().join("snap-000001.vectors");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 64 + 8 * 12, "{stop:?}: the rows were appended");
        // The old manifest still names five rows: the appended ones are ignored.
        let s = load_snapshot(dir.path(), None).unwrap().unwrap();
        assert_eq!(s.generation, 1);
        assert_holds(&s, &first);
        verify_snapshot(dir.path()).unwrap();
        // The next checkpoint appends other rows over them.
        let d = grown(&s, 1, 3);
        let m = write(dir.path(), 2, &d, 1);
        drop(s);
        assert_eq!((m.vectors.name.as_str(), m.vectors.bytes), ("snap-000001.vectors", 64 + 6 * 12));
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 64 + 6 * 12);
        assert_holds(&load_snapshot(dir.path(), None).unwrap().unwrap(), &d);
        verify_snapshot(dir.path()).unwrap();
    }
}

#[test]
fn a_vectors_file_linked_elsewhere_or_of_version_1_is_written_afresh_not_appended_to() {
    // Linked: a backup holds a hard link to the file, which must not change under it.
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    write(dir.path(), 1, &data(3, 5, 1), 1);
    let link = backup.path().join("snap-000001.vectors");
    std::fs::hard_link(dir.path().join("snap-000001.vectors"), &link).unwrap();
    let before = std::fs::read(&link).unwrap();
    let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
    let d = grown(&loaded, 2, 2);
    let m = write(dir.path(), 2, &d, 1);
    assert_eq!((m.vectors.name.as_str(), m.vectors.since), ("snap-000002.vectors", None));
    assert_eq!(std::fs::read(&link).unwrap(), before);
    assert_holds(&load_snapshot(dir.path(), None).unwrap().unwrap(), &d);

    // Version 1 (written by an earlier library): read, its header crc checked, then replaced.
    let dir = tempfile::tempdir().unwrap();
    let first = data(3, 5, 1);
    let m = write(dir.path(), 1, &first, 1);
    let path = m.file_path(dir.path(), FileKind::Vectors);
    let w = crate::storage::vectors::write_vectors_file_version(&path, 3, first.vectors.rows(), 1).unwrap();
    assert_eq!((w.bytes, w.crc32), (m.vectors.bytes, m.vectors.crc32));
    let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(loaded.vectors.file_version(), Some(1));
    assert_holds(&loaded, &first);
    let d = grown(&loaded, 2, 2);
    let m = write(dir.path(), 2, &d, 1);
    drop(loaded);
    assert_eq!((m.vectors.name.as_str(), m.vectors.since), ("snap-000002.vectors", None));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(s.vectors.file_version(), Some(2));
    assert_holds(&s, &d);
    // A version 1 header's crc is checked against the manifest's at load.
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), 1, &first, 1);
    let path = m.file_path(dir.path(), FileKind::Vectors);
    crate::storage::vectors::write_vectors_file_version(&path, 3, first.vectors.rows(), 1).unwrap();
    let mut b = std::fs::read(&path).unwrap();
    b[24] ^= 1;
    std::fs::write(&path, &b).unwrap();
    expect_corrupt(dir.path(), "snap-000001.vectors", "differs from the manifest");
}

// ---- the graph journal ----------------------------------------------------------------------------

fn journal_of(s: &LoadedSnapshot) -> Option<Vec<u8>> {
    s.graph_journal.as_ref().map(|p| p.to_vec())
}

/// A snapshot that saves graph edits keeps the current graph file (named again, `since`) and
/// appends the edits to its journal; a crash after the append leaves the old extent; edits made on
/// another graph or after another journal length are refused and change nothing; a backup's link
/// gets a fresh journal; damage is `Corrupt`; a whole graph drops the journal.
#[test]
fn graph_edits_append_to_the_journal_of_a_kept_graph_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3, 5, 1);
    let m1 = write(dir.path(), 1, &d, 1);
    let journal =
        |edits: &'static [u8], base_crc: u32, after: u64| GraphPart::Journal { edits, base_crc, after };
    let at = |generation, graph| SnapshotContents { graph, ..contents(generation, &d, 1) };

    let m2 = write_snapshot(dir.path(), &at(2, journal(b"abc", m1.graph.crc32, 0))).unwrap();
    assert_eq!((m2.graph.name.as_str(), m2.graph.since), (m1.graph.name.as_str(), Some(1)));
    let j2 = m2.graph_journal.clone().unwrap();
    assert_eq!((j2.name.as_str(), j2.since, j2.bytes), ("snap-000002.graphlog", None, 32 + 3));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_holds(&s, &d);
    assert_eq!(journal_of(&s).as_deref(), Some(&b"abc"[..]));
    drop(s);

    // A crash after the append, before the manifest: generation 2, the extra bytes ignored.
    write_snapshot_until(dir.path(), &at(3, journal(b"de", m1.graph.crc32, 3)), StopAfter::DataFiles)
        .unwrap();
    let path = m2.file_path(dir.path(), FileKind::GraphJournal);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 32 + 5);
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!((s.generation, journal_of(&s).as_deref()), (2, Some(&b"abc"[..])));
    drop(s);

    // Refused, nothing changes: edits of another graph, or after another journal length.
    let before = std::fs::read(&path).unwrap();
    for (base, after) in [(m1.graph.crc32 ^ 1, 3), (m1.graph.crc32, 2)] {
        let err = write_snapshot(dir.path(), &at(3, journal(b"xy", base, after))).unwrap_err();
        assert_eq!(err.code, Code::Internal, "{}", err.message);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(read_manifest(dir.path()).unwrap().unwrap(), m2);
    }

    // The next one appends (the uncommitted bytes cut first): same file, `since` 2.
    let m3 = write_snapshot(dir.path(), &at(3, journal(b"fg", m1.graph.crc32, 3))).unwrap();
    let j3 = m3.graph_journal.clone().unwrap();
    assert_eq!((j3.name.as_str(), j3.since, j3.bytes), (j2.name.as_str(), Some(2), 32 + 5));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(journal_of(&s).as_deref(), Some(&b"abcfg"[..]));
    assert_eq!(s.manifest.graph.name, m1.graph.name, "the graph file is kept");
    drop(s);

    // A second name (a backup's link) makes the next one copy the journal into a fresh file.
    let linked = dir.path().join("backup-link");
    std::fs::hard_link(&path, &linked).unwrap();
    let m4 = write_snapshot(dir.path(), &at(4, journal(b"h", m1.graph.crc32, 5))).unwrap();
    assert_eq!(m4.graph_journal.as_ref().unwrap().name, "snap-000004.graphlog");
    assert_eq!(
        std::fs::read(&linked).unwrap(),
        before[..32].iter().chain(b"abcfg").copied().collect::<Vec<u8>>()
    );
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(journal_of(&s).as_deref(), Some(&b"abcfgh"[..]));
    drop(s);
    assert!(!path.exists(), "the old journal is no longer named, so removed (the link keeps its bytes)");

    // Damage: a changed byte, a cut file, a journal of another graph.
    let path = m4.file_path(dir.path(), FileKind::GraphJournal);
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[33] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    expect_corrupt(dir.path(), "snap-000004.graphlog", "checksum");
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    expect_corrupt(dir.path(), "snap-000004.graphlog", "bytes");
    let mut other = good.clone();
    other[12] ^= 1;
    std::fs::write(&path, &other).unwrap();
    expect_corrupt(dir.path(), "snap-000004.graphlog", "continues graph");
    std::fs::write(&path, &good).unwrap();
    load_snapshot(dir.path(), None).unwrap().unwrap();

    // A whole graph: a fresh graph file, no journal, the old ones removed.
    let m5 = write(dir.path(), 5, &d, 1);
    assert_eq!((m5.graph.name.as_str(), m5.graph_journal.as_ref()), ("snap-000005.graph", None));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert!(s.graph_journal.is_none());
    drop(s);
    assert!(!names(dir.path()).iter().any(|n| n.ends_with(".graphlog") || n == &m1.graph.name));
}

// ---- the records journal --------------------------------------------------------------------------

/// The journal entries giving `records` to their slots.
fn entries(records: &[(u32, SlotRecord)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (s, r) in records {
        encode_records_journal_entry(&mut out, *s, r);
    }
    out
}

/// Contents of generation `generation` whose records are journal entries.
#[allow(clippy::too_many_arguments)]
fn journaled<'a>(
    generation: u64,
    d: &'a Data,
    vectors: &'a VectorBlock,
    entries: &'a [u8],
    slots: u64,
    base_crc: u32,
    after: u64,
) -> SnapshotContents<'a> {
    SnapshotContents {
        records: RecordsPart::Journal { entries, slots, base_crc, after },
        vectors,
        ..contents(generation, d, 1)
    }
}

/// A snapshot that saves the records that changed keeps the current records file (named again,
/// `since`) and appends the entries to its journal; a load gives each slot its newest record and
/// the slots the journal adds; entries that do not continue the current snapshot are refused and
/// change nothing; damage is `Corrupt`; every record written drops the journal.
#[test]
fn changed_records_append_to_the_journal_of_a_kept_records_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3, 5, 1);
    let m1 = write(dir.path(), 1, &d, 1);
    let loaded = load_snapshot(dir.path(), None).unwrap().unwrap();
    // Two more rows appended to the vectors file this snapshot maps.
    let g = grown(&loaded, 2, 1);
    let mut want = d.records.clone();
    let changed = SlotRecord { state: SlotRecord::DELETED, metadata: "{}".into(), ..d.records[1].clone() };
    let new5 = SlotRecord { id: "five".into(), metadata: r#"{"a":1}"#.into(), state: 0, expires_at: 9 };
    let new6 = SlotRecord { id: "six".into(), metadata: "{}".into(), state: 2, expires_at: 0 };
    let new5b = SlotRecord { metadata: r#"{"a":2}"#.into(), ..new5.clone() };
    // Slot 1 changed, 5 added, 6 added, 5 changed again: the newest record of each slot counts.
    let e = entries(&[
        (1, changed.clone()),
        (5, new5),
        (6, new6.clone()),
        (3, d.records[0].clone()),
        (5, new5b.clone()),
    ]);
    want[1] = changed;
    want[3] = d.records[0].clone();
    want.extend([new5b, new6]);
    let m2 = write_snapshot(dir.path(), &journaled(2, &d, &g.vectors, &e, 7, m1.records.crc32, 0)).unwrap();
    drop(loaded);
    assert_eq!((m2.records.name.as_str(), m2.records.since), (m1.records.name.as_str(), Some(1)));
    let j = m2.records_journal.clone().unwrap();
    assert_eq!((j.name.as_str(), j.bytes, m2.slots), ("snap-000002.recordslog", 32 + e.len() as u64, 7));
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    assert_eq!(s.records.to_vec(), want);
    assert_eq!(s.records.len(), 7);

    // The tools' reading of the same files gives the same records.
    let (mut tools, _) = read_records_file(&m1.file_path(dir.path(), FileKind::Records)).unwrap();
    let j_bytes = read_records_journal(dir.path(), &m2).unwrap();
    apply_records_journal(Path::new("j"), &mut tools, &j_bytes).unwrap();
    assert_eq!(tools, want);

    // Refused, nothing changes: another records file, another journal length, a slot count the
    // entries do not make, entries that skip a slot or do not decode.
    let g3 = grown(&s, 1, 2);
    let more = entries(&[(7, record(70))]);
    let skip = entries(&[(8, record(80))]);
    let wrong_count = entries(&[(2, record(9))]);
    let path = m2.file_path(dir.path(), FileKind::RecordsJournal);
    let before = std::fs::read(&path).unwrap();
    let at3 =
        |entries, slots, base_crc, after| journaled(3, &d, &g3.vectors, entries, slots, base_crc, after);
    for (c, code) in [
        (at3(&more, 8, m1.records.crc32 ^ 1, e.len() as u64), Code::Internal),
        (at3(&more, 8, m1.records.crc32, 1), Code::Internal),
        (at3(&more[..more.len() - 1], 8, m1.records.crc32, e.len() as u64), Code::InvalidArgument),
        (at3(&skip, 8, m1.records.crc32, e.len() as u64), Code::InvalidArgument),
        (at3(&wrong_count, 8, m1.records.crc32, e.len() as u64), Code::InvalidArgument),
    ] {
        let err = write_snapshot(dir.path(), &c).unwrap_err();
        assert_eq!(err.code, code, "{}", err.message);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(read_manifest(dir.path()).unwrap().unwrap(), m2);
    }
    // The next one appends to the same file.
    let m3 = write_snapshot(dir.path(), &at3(&more, 8, m1.records.crc32, e.len() as u64)).unwrap();
    drop(s);
    assert_eq!(m3.records_journal.as_ref().unwrap().name, j.name);
    let s = load_snapshot(dir.path(), None).unwrap().unwrap();
    want.push(record(70));
    assert_eq!(s.records.to_vec(), want);
    drop(s);

    // Damage: a changed byte, a cut file, a journal of another records file, entries the
    // manifest's slot count disagrees with.
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[40] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    expect_corrupt(dir.path(), "snap-000002.recordslog", "checksum");
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    expect_corrupt(dir.path(), "snap-000002.recordslog", "bytes");
    let mut other = good.clone();
    other[12] ^= 1;
    std::fs::write(&path, &other).unwrap();
    expect_corrupt(dir.path(), "snap-000002.recordslog", "continues records");
    std::fs::write(&path, &good).unwrap();
    edit_manifest(dir.path(), |m| m.slots = 9);
    assert_eq!(load_snapshot(dir.path(), None).unwrap_err().code, Code::Corrupt);
    edit_manifest(dir.path(), |m| m.slots = 8);
    load_snapshot(dir.path(), None).unwrap().unwrap();

    // Every record written: a fresh records file, no journal, the old ones removed.
    let m4 = write(dir.path(), 4, &d, 1);
    assert_eq!((m4.records.name.as_str(), m4.records_journal.as_ref()), ("snap-000004.records", None));
    assert!(!names(dir.path()).iter().any(|n| n.ends_with(".recordslog") || n == &m1.records.name));
}

/// Entries that do not decode are refused with the byte they start at, never a panic; a prefix
/// applies up to the first bad entry.
#[test]
fn records_journal_entries_are_checked() {
    let base = vec![record(0), record(1)];
    let good = entries(&[(0, record(5)), (2, record(6)), (3, record(7))]);
    let mut r = base.clone();
    apply_records_journal(Path::new("j"), &mut r, &good).unwrap();
    assert_eq!(r, vec![record(5), record(1), record(6), record(7)]);
    // Cut anywhere: refused unless at the end of an entry; a prefix applies the whole entries.
    let first = entries(&[(0, record(5))]).len();
    let second = first + entries(&[(2, record(6))]).len();
    for cut in 1..good.len() {
        let mut r = base.clone();
        let whole = match cut {
            c if c < first => 0,
            c if c < second => first,
            _ => second,
        };
        let applied = apply_records_journal(Path::new("j"), &mut r, &good[..cut]);
        if cut == whole {
            applied.unwrap();
            continue;
        }
        assert_eq!(applied.unwrap_err().code, Code::Corrupt);
        assert_eq!(r, base, "nothing applied on error");
        let mut r = base.clone();
        let (applied, why) = apply_records_journal_prefix(&mut r, &good[..cut]);
        assert!(why.is_some());
        assert_eq!(applied, whole, "of {cut}");
        assert_eq!(r.len(), if whole == second { 3 } else { 2 });
    }
    // An unknown state, a slot past the end.
    let mut bad_state = record(1);
    bad_state.state = 3;
    for e in [entries(&[(0, bad_state)]), entries(&[(3, record(1))]), entries(&[(u32::MAX, record(1))])] {
        let err = apply_records_journal(Path::new("j"), &mut base.clone(), &e).unwrap_err();
        assert!(err.message.contains("byte 0"), "{}", err.message);
    }
    // Random bytes: refused or applied, never a panic.
    let mut x = 0x1234_5678_9abc_def0u64;
    for _ in 0..2000 {
        let mut e = good.clone();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % e.len() as u64) as usize;
        e[i] ^= (x >> 32) as u8 | 1;
        let _ = apply_records_journal(Path::new("j"), &mut base.clone(), &e);
    }
}
