use super::*;

fn row(i: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|j| (i * 1000 + j) as f32 * 0.5 - 3.25).collect()
}

fn write(dir: &Path, dim: usize, n: usize) -> (PathBuf, Vec<Vec<f32>>, WrittenFile) {
    let rows: Vec<Vec<f32>> = (0..n).map(|i| row(i, dim)).collect();
    let path = dir.join("v.vectors");
    let w = write_vectors_file(&path, dim, rows.iter().map(|r| r.as_slice())).unwrap();
    (path, rows, w)
}

fn assert_corrupt(r: Result<VectorBlock>, path: &Path, needle: &str) {
    let err = r.unwrap_err();
    assert_eq!(err.code, Code::Corrupt, "{}", err.message);
    assert!(err.message.contains(&path.display().to_string()), "names the file: {}", err.message);
    assert!(err.message.contains(needle), "expected {needle:?} in {}", err.message);
}

#[test]
fn round_trips_in_many_shapes() {
    for (dim, n) in [(1, 0), (1, 1), (1, 37), (3, 5), (128, 300), (1000, 7), (5, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let (path, rows, w) = write(dir.path(), dim, n);
        assert_eq!(w.count, n as u64);
        assert_eq!(w.bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(w.bytes, 64 + (n * dim * 4) as u64);
        for block in
            [VectorBlock::open_mapped(&path, dim).unwrap(), VectorBlock::open_copied(&path, dim).unwrap()]
        {
            assert_eq!((block.len(), block.dim()), (n, dim));
            block.verify().unwrap();
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(block.get(i as u32), r.as_slice(), "dim {dim} row {i}");
            }
            assert!(block.try_get(n as u32).is_none());
            assert_eq!(block.rows().count(), n);
        }
        let mapped = VectorBlock::open_mapped(&path, dim).unwrap();
        assert_eq!((mapped.mapped_rows(), mapped.tail_rows()), (n, 0));
        assert_eq!(mapped.mapped_path(), Some(path.as_path()));
    }
}

#[test]
fn mapped_rows_then_tail_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows, _) = write(dir.path(), 4, 10);
    let mut block = VectorBlock::open_mapped(&path, 4).unwrap();
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
    write_vectors_file(&path2, 4, block.rows()).unwrap();
    let again = VectorBlock::open_mapped(&path2, 4).unwrap();
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
    write_vectors_file(&path, 4, [&r[..]]).unwrap();
    let b = VectorBlock::open_mapped(&path, 4).unwrap();
    assert_eq!(b.get(0)[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(b.get(0), &r[..]);
}

#[test]
fn every_header_corruption_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = write(dir.path(), 3, 4);
    let good = std::fs::read(&path).unwrap();
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        std::fs::write(&path, &b).unwrap();
    };
    let both = |needle: &str| {
        assert_corrupt(VectorBlock::open_mapped(&path, 3), &path, needle);
        assert_corrupt(VectorBlock::open_copied(&path, 3), &path, needle);
    };

    with(&|b| b[0] ^= 1);
    both("bad magic");
    with(&|b| b[8..12].copy_from_slice(&7u32.to_le_bytes()));
    both("version 7 is not supported (this library reads version 1)");
    with(&|b| b[12..16].copy_from_slice(&4u32.to_le_bytes()));
    both("dimension 4, the store has dimension 3");
    with(&|b| b[16] ^= 0x01); // rows 4 -> 5
    both("header says 5 rows");
    with(&|b| b[23] = 0x80); // absurd row count: no overflow, no allocation
    both("impossible");
    with(&|b| b[40] = 1);
    both("reserved");
    // Every single-bit flip anywhere in the header except the crc field is caught at open.
    for byte in (0..64).filter(|i| !(24..28).contains(i)) {
        for bit in 0..8 {
            with(&|b| b[byte] ^= 1 << bit);
            let err = VectorBlock::open_mapped(&path, 3).unwrap_err();
            assert_eq!(err.code, Code::Corrupt, "byte {byte} bit {bit}");
        }
    }
    // Wrong expected dimension on a good file.
    with(&|_| {});
    assert_corrupt(VectorBlock::open_mapped(&path, 8), &path, "the store has dimension 8");
}

#[test]
fn size_mismatches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = write(dir.path(), 3, 4);
    let good = std::fs::read(&path).unwrap();
    for cut in [0, 1, 63, 64, 65, good.len() - 4, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let needle = if cut < 64 { "shorter than its 64-byte header" } else { "header says 4 rows" };
        assert_corrupt(VectorBlock::open_mapped(&path, 3), &path, needle);
        assert_corrupt(VectorBlock::open_copied(&path, 3), &path, needle);
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 4]);
    std::fs::write(&path, &longer).unwrap();
    assert_corrupt(VectorBlock::open_mapped(&path, 3), &path, "header says 4 rows");
}

#[test]
fn data_damage_is_caught_by_verify_not_by_open() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = write(dir.path(), 3, 4);
    let mut b = std::fs::read(&path).unwrap();
    b[64 + 17] ^= 0x20;
    std::fs::write(&path, &b).unwrap();
    let block = VectorBlock::open_mapped(&path, 3).unwrap();
    let err = block.verify().unwrap_err();
    assert_eq!(err.code, Code::Corrupt);
    assert!(err.message.contains("checksum") && err.message.contains(&path.display().to_string()));
    // The copying open reads everything anyway, so it checks the crc.
    assert_corrupt(VectorBlock::open_copied(&path, 3), &path, "checksum");
    // A damaged crc field is also a verify failure.
    let (path, _, _) = write(dir.path(), 3, 4);
    let mut b = std::fs::read(&path).unwrap();
    b[25] ^= 0x01;
    std::fs::write(&path, &b).unwrap();
    assert_eq!(VectorBlock::open_mapped(&path, 3).unwrap().verify().unwrap_err().code, Code::Corrupt);
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = VectorBlock::open_mapped(&dir.path().join("nope.vectors"), 3).unwrap_err();
    assert_eq!(err.code, Code::Io);
}

#[test]
fn the_mapping_survives_the_file_being_replaced_by_rename() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows, _) = write(dir.path(), 3, 4);
    let block = VectorBlock::open_mapped(&path, 3).unwrap();
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
