use super::*;

fn row(i: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|j| (i * 1000 + j) as f32 * 0.5 - 3.25).collect()
}

fn write(dir: &Path, dim: usize, n: usize) -> (PathBuf, Vec<Vec<f32>>, WrittenFile) {
    write_version(dir, dim, n, VECTORS_FORMAT_VERSION)
}

fn write_version(dir: &Path, dim: usize, n: usize, version: u32) -> (PathBuf, Vec<Vec<f32>>, WrittenFile) {
    let rows: Vec<Vec<f32>> = (0..n).map(|i| row(i, dim)).collect();
    let path = dir.join("v.vectors");
    let w = write_vectors_file_version(&path, dim, rows.iter().map(|r| r.as_slice()), version).unwrap();
    (path, rows, w)
}

fn open(path: &Path, dim: usize, w: &WrittenFile) -> Result<VectorBlock> {
    VectorBlock::open_mapped(path, dim, Extent::of(w))
}

fn assert_corrupt(r: Result<VectorBlock>, path: &Path, needle: &str) {
    let err = r.unwrap_err();
    assert_eq!(err.code, Code::Corrupt, "{}", err.message);
    assert!(err.message.contains(&path.display().to_string()), "names the file: {}", err.message);
    assert!(err.message.contains(needle), "expected {needle:?} in {}", err.message);
}

#[test]
fn round_trips_in_many_shapes() {
    for ((dim, n), version) in [(1, 0), (1, 1), (1, 37), (3, 5), (128, 300), (1000, 7), (5, 0)]
        .into_iter()
        .flat_map(|shape| [(shape, VECTORS_FORMAT_FIXED), (shape, VECTORS_FORMAT_APPENDABLE)])
    {
        let dir = tempfile::tempdir().unwrap();
        let (path, rows, w) = write_version(dir.path(), dim, n, version);
        assert_eq!(w.count, n as u64);
        assert_eq!(w.bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(w.bytes, 64 + (n * dim * 4) as u64);
        for block in
            [open(&path, dim, &w).unwrap(), VectorBlock::open_copied(&path, dim, Extent::of(&w)).unwrap()]
        {
            assert_eq!((block.len(), block.dim()), (n, dim));
            block.verify().unwrap();
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(block.get(i as u32), r.as_slice(), "dim {dim} row {i}");
            }
            assert!(block.try_get(n as u32).is_none());
            assert_eq!(block.rows().count(), n);
        }
        let mapped = open(&path, dim, &w).unwrap();
        assert_eq!(mapped.file_version(), Some(version));
        assert_eq!(w.crc32, crc32fast::hash(&std::fs::read(&path).unwrap()[64..]));
        assert_eq!((mapped.mapped_rows(), mapped.tail_rows()), (n, 0));
        assert_eq!(mapped.mapped_path(), Some(path.as_path()));
    }
}

#[test]
fn mapped_rows_then_tail_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows, w) = write(dir.path(), 4, 10);
    let mut block = open(&path, 4, &w).unwrap();
    let extra: Vec<Vec<f32>> = (10..15).map(|i| row(i, 4)).collect();
    for (i, r) in extra.iter().enumerate() {
        assert_eq!(block.push(r), 10 + i as u32);
    }
    assert_eq!((block.len(), block.mapped_rows(), block.tail_rows()), (15, 10, 5));
    for (i, r) in rows.iter().chain(&extra).enumerate() {
        assert_eq!(block.get(i as u32), r.as_slice());
    }
    assert_eq!(block.mapped_floats().len(), 40);
    assert_eq!(block.tail_floats().len(), 20);
    // Re-writing a mapped+tail block gives a file with all rows mapped.
    let path2 = dir.path().join("v2.vectors");
    let w2 = write_vectors_file(&path2, 4, block.rows()).unwrap();
    let again = open(&path2, 4, &w2).unwrap();
    assert_eq!((again.mapped_rows(), again.tail_rows()), (15, 0));
    assert!(block.rows().eq(again.rows()));
}

#[test]
fn empty_and_in_memory_blocks() {
    let mut b = VectorBlock::empty(2);
    assert!(b.is_empty() && b.mapped_floats().is_empty());
    assert_eq!(b.push(&[1.0, 2.0]), 0);
    assert_eq!(b.get(0), &[1.0, 2.0]);
    let v = VectorBlock::from_vec(2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(v.get(1), &[3.0, 4.0]);
    assert_eq!(VectorBlock::from_vec(2, vec![1.0]).unwrap_err().code, Code::InvalidArgument);
    assert_eq!(VectorBlock::empty(0).tail_rows(), 0);
}

#[test]
#[should_panic(expected = "wrong dimension")]
fn pushing_the_wrong_dimension_panics() {
    VectorBlock::empty(3).push(&[1.0]);
}

#[test]
fn a_row_of_the_wrong_length_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.vectors");
    let rows = [vec![1.0, 2.0], vec![1.0]];
    let err = write_vectors_file(&path, 2, rows.iter().map(|r| r.as_slice())).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(!path.exists());
}

#[test]
fn special_floats_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.vectors");
    let r = [f32::INFINITY, -0.0, f32::MIN_POSITIVE, f32::MAX];
    let w = write_vectors_file(&path, 4, [&r[..]]).unwrap();
    let b = open(&path, 4, &w).unwrap();
    assert_eq!(b.get(0)[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(b.get(0), &r[..]);
}

#[test]
fn every_header_corruption_is_refused_naming_the_file() {
    for version in [VECTORS_FORMAT_FIXED, VECTORS_FORMAT_APPENDABLE] {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, w) = write_version(dir.path(), 3, 4, version);
        let good = std::fs::read(&path).unwrap();
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            edit(&mut b);
            std::fs::write(&path, &b).unwrap();
        };
        let both = |needle: &str| {
            assert_corrupt(open(&path, 3, &w), &path, needle);
            assert_corrupt(VectorBlock::open_copied(&path, 3, Extent::of(&w)), &path, needle);
        };

        with(&|b| b[0] ^= 1);
        both("bad magic");
        with(&|b| b[8..12].copy_from_slice(&7u32.to_le_bytes()));
        both("version 7 is not supported (this library reads versions 1 and 2)");
        with(&|b| b[12..16].copy_from_slice(&4u32.to_le_bytes()));
        both("dimension 4, the store has dimension 3");
        if version == VECTORS_FORMAT_FIXED {
            with(&|b| b[16] ^= 0x01); // rows 4 -> 5
            both("header says 5 rows");
            with(&|b| b[23] = 0x80); // absurd row count: no overflow, no allocation
            both("impossible");
        } else {
            with(&|b| b[16] ^= 0x01);
            both("row count or checksum in its header");
            with(&|b| b[25] ^= 0x01);
            both("row count or checksum in its header");
        }
        with(&|b| b[40] = 1);
        both("reserved");
        // Every single-bit flip anywhere in the header is caught at open, except in the crc field of
        // a version 1 file (caught by `verify` and by the manifest's copy of the crc).
        for byte in (0..64).filter(|i| version == VECTORS_FORMAT_APPENDABLE || !(24..28).contains(i)) {
            for bit in 0..8 {
                with(&|b| b[byte] ^= 1 << bit);
                let err = open(&path, 3, &w).unwrap_err();
                assert_eq!(err.code, Code::Corrupt, "version {version} byte {byte} bit {bit}");
            }
        }
        // Wrong expected dimension on a good file.
        with(&|_| {});
        assert_corrupt(
            VectorBlock::open_mapped(&path, 8, Extent::of(&w)),
            &path,
            "the store has dimension 8",
        );
    }
}

#[test]
fn size_mismatches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, w) = write_version(dir.path(), 3, 4, VECTORS_FORMAT_FIXED);
    let good = std::fs::read(&path).unwrap();
    for cut in [0, 1, 63, 64, 65, good.len() - 4, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let needle = if cut < 64 { "shorter than its 64-byte header" } else { "header says 4 rows" };
        assert_corrupt(open(&path, 3, &w), &path, needle);
        assert_corrupt(VectorBlock::open_copied(&path, 3, Extent::of(&w)), &path, needle);
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 4]);
    std::fs::write(&path, &longer).unwrap();
    assert_corrupt(open(&path, 3, &w), &path, "header says 4 rows");
    // A version 1 file must say the manifest's row count.
    std::fs::write(&path, &good).unwrap();
    let other = Extent { rows: 3, crc32: w.crc32 };
    assert_corrupt(
        VectorBlock::open_mapped(&path, 3, other),
        &path,
        "header says 4 rows, the snapshot manifest says 3",
    );

    // A version 2 file must hold the manifest's rows; more bytes after them are an uncommitted append.
    let (path, rows, w) = write_version(dir.path(), 3, 4, VECTORS_FORMAT_APPENDABLE);
    let good = std::fs::read(&path).unwrap();
    for cut in [65, good.len() - 4, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        assert_corrupt(open(&path, 3, &w), &path, "the manifest's 4 rows of dimension 3 need 112 bytes");
    }
    let huge = Extent { rows: u64::MAX / 2, crc32: 0 };
    assert_corrupt(VectorBlock::open_mapped(&path, 3, huge), &path, "impossible");
    let mut longer = good.clone();
    longer.extend_from_slice(&[0xff; 20]);
    std::fs::write(&path, &longer).unwrap();
    for block in [open(&path, 3, &w).unwrap(), VectorBlock::open_copied(&path, 3, Extent::of(&w)).unwrap()] {
        assert_eq!(block.len(), 4);
        block.verify().unwrap();
        assert!(block.rows().eq(rows.iter().map(|r| r.as_slice())));
    }
}

#[test]
fn data_damage_is_caught_by_verify_not_by_open() {
    for version in [VECTORS_FORMAT_FIXED, VECTORS_FORMAT_APPENDABLE] {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, w) = write_version(dir.path(), 3, 4, version);
        let mut b = std::fs::read(&path).unwrap();
        b[64 + 17] ^= 0x20;
        std::fs::write(&path, &b).unwrap();
        let block = open(&path, 3, &w).unwrap();
        let err = block.verify().unwrap_err();
        assert_eq!(err.code, Code::Corrupt);
        assert!(err.message.contains("checksum") && err.message.contains(&path.display().to_string()));
        // The copying open reads everything anyway, so it checks the crc.
        assert_corrupt(VectorBlock::open_copied(&path, 3, Extent::of(&w)), &path, "checksum");
    }
    // A damaged crc field of a version 1 file is also a verify failure.
    let dir = tempfile::tempdir().unwrap();
    let (path, _, w) = write_version(dir.path(), 3, 4, VECTORS_FORMAT_FIXED);
    let mut b = std::fs::read(&path).unwrap();
    b[25] ^= 0x01;
    std::fs::write(&path, &b).unwrap();
    assert_eq!(open(&path, 3, &w).unwrap().verify().unwrap_err().code, Code::Corrupt);
    // A version 2 file checks against the manifest's crc.
    let (path, _, w) = write_version(dir.path(), 3, 4, VECTORS_FORMAT_APPENDABLE);
    let wrong = Extent { rows: 4, crc32: w.crc32 ^ 1 };
    let err = VectorBlock::open_mapped(&path, 3, wrong).unwrap().verify().unwrap_err();
    assert!(err.message.contains("the snapshot manifest says"), "{}", err.message);
}

#[test]
fn appends_extend_the_file_without_disturbing_a_mapping_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows, w) = write(dir.path(), 3, 4);
    let old = open(&path, 3, &w).unwrap();
    let more: Vec<Vec<f32>> = (4..9).map(|i| row(i, 3)).collect();
    let w2 = append_vectors_file(&path, 3, &w, more.iter().map(|r| r.as_slice())).unwrap();
    assert_eq!((w2.count, w2.bytes), (9, 64 + 9 * 12));
    assert_eq!(w2.bytes, std::fs::metadata(&path).unwrap().len());
    // The continued crc is the crc of all the data, as a fresh file of the nine rows has it.
    let all: Vec<Vec<f32>> = rows.iter().chain(&more).cloned().collect();
    let fresh = dir.path().join("fresh.vectors");
    let wf = write_vectors_file(&fresh, 3, all.iter().map(|r| r.as_slice())).unwrap();
    assert_eq!(w2.crc32, wf.crc32);
    // The old mapping still reads its four rows; a new one reads nine.
    assert!(old.rows().eq(rows.iter().map(|r| r.as_slice())));
    let new = open(&path, 3, &w2).unwrap();
    new.verify().unwrap();
    assert!(new.rows().eq(all.iter().map(|r| r.as_slice())));

    // An append that was not committed (here: bytes past the extent) is cut by the next one.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&[0xee; 30]).unwrap();
    drop(f);
    assert_eq!(open(&path, 3, &w2).unwrap().len(), 9);
    let last = row(9, 3);
    let w3 = append_vectors_file(&path, 3, &w2, [last.as_slice()]).unwrap();
    assert_eq!(w3.bytes, std::fs::metadata(&path).unwrap().len());
    let b = open(&path, 3, &w3).unwrap();
    b.verify().unwrap();
    assert_eq!(b.get(9), last.as_slice());
    assert!(old.rows().eq(rows.iter().map(|r| r.as_slice())));

    // Zero rows appended: the same extent.
    assert_eq!(append_vectors_file(&path, 3, &w3, std::iter::empty()).unwrap(), w3);
    // A row of the wrong dimension is refused.
    assert_eq!(append_vectors_file(&path, 3, &w3, [&[1.0f32][..]]).unwrap_err().code, Code::InvalidArgument);
    // A version 1 file cannot be appended to, nor a base that does not fit the file.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let (v1, _, w1) = write_version(&sub, 3, 2, VECTORS_FORMAT_FIXED);
    assert!(append_vectors_file(&v1, 3, &w1, [last.as_slice()]).unwrap_err().message.contains("version 1"));
    let bad = WrittenFile { bytes: w3.bytes + 12, crc32: w3.crc32, count: w3.count + 1 };
    assert_eq!(append_vectors_file(&path, 3, &bad, [last.as_slice()]).unwrap_err().code, Code::Corrupt);
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = VectorBlock::open_mapped(&dir.path().join("nope.vectors"), 3, Extent { rows: 0, crc32: 0 })
        .unwrap_err();
    assert_eq!(err.code, Code::Io);
}

#[test]
fn the_mapping_survives_the_file_being_replaced_by_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows, w) = write(dir.path(), 3, 4);
    let block = open(&path, 3, &w).unwrap();
    let other = dir.path().join("other.vectors");
    write_vectors_file(&other, 3, [&[9.0f32, 9.0, 9.0][..]]).unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert_eq!(block.get(3), rows[3].as_slice());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(block.get(0), rows[0].as_slice());
}

#[test]
fn decode_le_matches_the_written_bytes() {
    let floats = [1.5f32, -2.0, 1e-30];
    let bytes: Vec<u8> = floats.iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(decode_le(&bytes), floats);
}
