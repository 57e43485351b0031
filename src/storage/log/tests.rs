use super::*;

fn upsert(id: &str) -> LogOp {
    LogOp::Upsert { id: id.into(), vector: vec![1.0, 2.0], metadata: "{}".into(), expires_at: 0 }
}

fn replay(dir: &Path) -> (Vec<LogOp>, ReplayReport) {
    let mut ops = Vec::new();
    let (_log, report) = Log::open(dir, false, 0, LogRecovery::TolerateTornTail, |op| {
        ops.push(op);
        Ok(())
    })
    .unwrap();
    (ops, report)
}

#[test]
fn frames_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap();
    let before = log.len_bytes();
    log.append(&[upsert("a"), upsert("b")]).unwrap();
    assert_eq!(log.len_bytes() - before, frame_len(&[upsert("a"), upsert("b")]));
    log.append(&[LogOp::Delete { id: "a".into() }]).unwrap();
    drop(log);
    let (ops, report) = replay(dir.path());
    assert_eq!(ops, vec![upsert("a"), upsert("b"), LogOp::Delete { id: "a".into() }]);
    assert_eq!((report.frames, report.dropped_tail_bytes), (2, 0));
}

#[test]
fn every_torn_tail_is_dropped_and_earlier_frames_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap();
    log.append(&[upsert("a")]).unwrap();
    let good = log.len_bytes();
    log.append(&[upsert("b")]).unwrap();
    let full = log.len_bytes();
    drop(log);
    let path = dir.path().join(LOG_FILE);
    let bytes = std::fs::read(&path).unwrap();
    for cut in good..full {
        std::fs::write(&path, &bytes[..cut as usize]).unwrap();
        let (ops, report) = replay(dir.path());
        assert_eq!(ops, vec![upsert("a")], "cut at {cut}");
        assert_eq!(report.dropped_tail_bytes, cut - good);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good, "tail truncated");
    }
}

#[test]
fn a_flipped_bit_in_the_last_frame_drops_only_that_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap();
    log.append(&[upsert("a")]).unwrap();
    let good = log.len_bytes() as usize;
    log.append(&[upsert("b")]).unwrap();
    drop(log);
    let path = dir.path().join(LOG_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let (ops, _) = replay(dir.path());
    assert_eq!(ops, vec![upsert("a")]);
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, good);
}

#[test]
fn bad_magic_and_unknown_version_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOG_FILE);
    std::fs::write(&path, b"NOTALOG\0\x01\0\0\0\0\0\0\0").unwrap();
    let err = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap_err();
    assert_eq!(err.code, crate::error::Code::Corrupt);
    let mut h = header_bytes(0);
    h[8] = 99;
    std::fs::write(&path, h).unwrap();
    let err = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap_err();
    assert_eq!(err.code, crate::error::Code::Corrupt);
    assert!(err.message.contains("version 99"), "{}", err.message);
    // A version 1 log (the layout before generations) is refused with a hint.
    h[8] = 1;
    std::fs::write(&path, h).unwrap();
    let err = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap_err();
    assert_eq!(err.code, crate::error::Code::Corrupt);
    assert!(err.message.contains("version 1 is not supported"), "{}", err.message);
    assert!(err.message.contains("reads version 2"), "{}", err.message);
}

fn open_at(dir: &Path, expected: u32) -> Result<(Log, ReplayReport, Vec<LogOp>)> {
    let mut ops = Vec::new();
    let (log, report) = Log::open(dir, false, expected, LogRecovery::TolerateTornTail, |op| {
        ops.push(op);
        Ok(())
    })?;
    Ok((log, report, ops))
}

#[test]
fn a_new_log_takes_the_expected_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (log, report, _) = open_at(dir.path(), 7).unwrap();
    assert!(report.created);
    assert_eq!((log.generation(), report.generation, log.len_bytes()), (7, 7, HEADER_LEN));
    drop(log);
    let (log, report, _) = open_at(dir.path(), 7).unwrap();
    assert!(!report.created);
    assert_eq!(log.generation(), 7);
}

#[test]
fn generation_equal_replays_lower_discards_higher_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open_at(dir.path(), 3).unwrap();
    log.append(&[upsert("a")]).unwrap();
    drop(log);

    // Equal: replayed.
    let (log, report, ops) = open_at(dir.path(), 3).unwrap();
    assert_eq!((ops, report.discarded_generation), (vec![upsert("a")], None));
    drop(log);

    // Higher than the snapshot says: refused, and the log is left untouched.
    let before = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    let err = open_at(dir.path(), 2).unwrap_err();
    assert_eq!(err.code, crate::error::Code::Corrupt);
    assert!(err.message.contains("log generation 3 is newer") && err.message.contains("2"));
    assert!(err.message.contains(LOG_FILE), "{}", err.message);
    assert_eq!(std::fs::read(dir.path().join(LOG_FILE)).unwrap(), before);

    // Lower (a crash between snapshot commit and reset): discarded without replay.
    let (mut log, report, ops) = open_at(dir.path(), 4).unwrap();
    assert!(ops.is_empty());
    assert_eq!((report.discarded_generation, report.generation), (Some(3), 4));
    assert_eq!((log.generation(), log.len_bytes()), (4, HEADER_LEN));
    log.append(&[upsert("b")]).unwrap();
    drop(log);
    let (_log, _, ops) = open_at(dir.path(), 4).unwrap();
    assert_eq!(ops, vec![upsert("b")]);
}

#[test]
fn reset_empties_the_log_and_bumps_the_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open_at(dir.path(), 0).unwrap();
    log.append(&[upsert("a"), upsert("b")]).unwrap();
    log.reset(1).unwrap();
    assert_eq!((log.generation(), log.len_bytes()), (1, HEADER_LEN));
    // Appends after a reset land in the new file (the handle followed the rename).
    log.append(&[upsert("c")]).unwrap();
    let len = log.len_bytes();
    assert_eq!(std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(), len);
    // Going back, or staying, is refused.
    assert_eq!(log.reset(1).unwrap_err().code, crate::error::Code::InvalidArgument);
    assert_eq!(log.reset(0).unwrap_err().code, crate::error::Code::InvalidArgument);
    // `rewrite` keeps the generation.
    log.rewrite([upsert("d")].into_iter()).unwrap();
    assert_eq!(log.generation(), 1);
    drop(log);
    let (log, _, ops) = open_at(dir.path(), 1).unwrap();
    assert_eq!(ops, vec![upsert("d")]);
    assert_eq!(log.generation(), 1);
    assert!(!dir.path().join("vecstore.log.tmp").exists());
}

#[test]
fn a_failed_reset_refuses_further_writes_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open_at(dir.path(), 1).unwrap();
    log.append(&[upsert("a")]).unwrap();
    // A directory where the temporary file must go makes the reset fail before the rename.
    let tmp = dir.path().join("vecstore.log.tmp");
    std::fs::create_dir(&tmp).unwrap();
    assert_eq!(log.reset(2).unwrap_err().code, crate::error::Code::Io);
    let err = log.append(&[upsert("b")]).unwrap_err();
    assert_eq!(err.code, crate::error::Code::Io);
    assert!(err.message.contains("could not be reset"), "{}", err.message);
    drop(log);
    std::fs::remove_dir(&tmp).unwrap();
    // Reopened against the snapshot that asked for generation 2: the old log is discarded.
    let (log, report, ops) = open_at(dir.path(), 2).unwrap();
    assert!(ops.is_empty());
    assert_eq!((report.discarded_generation, log.generation()), (Some(1), 2));
}

#[test]
fn a_crash_during_reset_leaves_the_old_log() {
    // A crash before the rename leaves a complete or partial temporary file beside the intact old
    // log; opening ignores (and removes) it and replays the old log.
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open_at(dir.path(), 5).unwrap();
    log.append(&[upsert("a")]).unwrap();
    drop(log);
    let tmp = dir.path().join("vecstore.log.tmp");
    for partial in [&header_bytes(6)[..], &header_bytes(6)[..9], &[][..]] {
        std::fs::write(&tmp, partial).unwrap();
        let (_log, report, ops) = open_at(dir.path(), 5).unwrap();
        assert_eq!((ops, report.generation), (vec![upsert("a")], 5));
        assert!(!tmp.exists());
    }
    // A crash after the rename: the new empty log of generation 6 is the log. Paired with the
    // snapshot that asked for it (6) it is replayed (empty); with the old one (5) it is refused.
    let (mut log, _, _) = open_at(dir.path(), 5).unwrap();
    log.reset(6).unwrap();
    drop(log);
    assert_eq!(open_at(dir.path(), 5).unwrap_err().code, crate::error::Code::Corrupt);
    let (_log, _, ops) = open_at(dir.path(), 6).unwrap();
    assert!(ops.is_empty());
}

#[test]
fn rewrite_replaces_the_history_with_the_given_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = Log::open(dir.path(), false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap();
    for i in 0..10 {
        log.append(&[upsert(&format!("{i}"))]).unwrap();
    }
    log.rewrite((0..5000).map(|i| upsert(&format!("r{i}")))).unwrap();
    log.append(&[upsert("after")]).unwrap();
    drop(log);
    let (ops, report) = replay(dir.path());
    assert_eq!(ops.len(), 5001);
    assert_eq!(report.frames, 3, "4096 + 904 ops, then one appended frame");
    assert_eq!(ops[5000], upsert("after"));
}
/// 100 single-op frames; returns the log's bytes and each frame's start offset.
fn hundred_frames(dir: &Path) -> (Vec<u8>, Vec<usize>) {
    let (mut log, _) = Log::open(dir, false, 0, LogRecovery::TolerateTornTail, |_| Ok(())).unwrap();
    let mut starts = Vec::new();
    for i in 0..100 {
        starts.push(log.len_bytes() as usize);
        log.append(&[upsert(&format!("r{i}"))]).unwrap();
    }
    drop(log);
    (std::fs::read(dir.join(LOG_FILE)).unwrap(), starts)
}

fn open_with(dir: &Path, recovery: LogRecovery) -> Result<(Vec<LogOp>, ReplayReport)> {
    let mut ops = Vec::new();
    let (_log, report) = Log::open(dir, false, 0, recovery, |op| {
        ops.push(op);
        Ok(())
    })?;
    Ok((ops, report))
}

#[test]
fn damage_followed_by_valid_frames_is_corrupt_and_leaves_the_file_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, starts) = hundred_frames(dir.path());
    let path = dir.path().join(LOG_FILE);
    // A flipped bit in the payload of frame 50, then one in the length of frame 70 (whose
    // successor can only be found by scanning).
    // The first damage is what the error names, both times.
    for at in [starts[50] + 20, starts[70] + 1] {
        bytes[at] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        let err = open_with(dir.path(), LogRecovery::TolerateTornTail).unwrap_err();
        assert_eq!(err.code, crate::error::Code::Corrupt);
        assert!(err.message.contains(&format!("byte {}", starts[50])), "{}", err.message);
        assert!(err.message.contains("salvage"), "{}", err.message);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the damaged log is left as it is");
    }
}

#[test]
fn salvage_keeps_every_valid_frame_reports_the_damage_and_keeps_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, starts) = hundred_frames(dir.path());
    let path = dir.path().join(LOG_FILE);
    bytes[starts[50] + 20] ^= 0x04; // payload of frame 50: its length is intact
    bytes[starts[70] + 1] ^= 0x04; // length of frame 70
    std::fs::write(&path, &bytes).unwrap();
    let (ops, report) = open_with(dir.path(), LogRecovery::Salvage).unwrap();
    let ids: Vec<String> = ops
        .iter()
        .map(|op| match op {
            LogOp::Upsert { id, .. } => id.clone(),
            _ => unreachable!(),
        })
        .collect();
    let expected: Vec<String> = (0..100).filter(|&i| i != 50 && i != 70).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(report.frames, 98);
    assert_eq!(report.damage.len(), 2);
    assert_eq!(
        report.damage[0],
        Damage { offset: starts[50] as u64, bytes: (starts[51] - starts[50]) as u64, ops: Some(1) }
    );
    assert_eq!(report.damage[1].offset, starts[70] as u64);
    assert_eq!(report.damage[1].bytes, (starts[71] - starts[70]) as u64);
    let copy = report.damaged_copy.clone().expect("a copy of the damaged log");
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    // The log now holds the valid frames only: a default open is clean and replays the same.
    let (again, report) = open_with(dir.path(), LogRecovery::TolerateTornTail).unwrap();
    assert_eq!(again, ops);
    assert!(report.damage.is_empty() && report.dropped_tail_bytes == 0);
}

#[test]
fn zeros_after_a_torn_frame_are_a_torn_tail_not_damage() {
    // A crash can leave zeros past the last write; an all-zero "frame" is empty and never counts
    // as a valid frame following damage.
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, starts) = hundred_frames(dir.path());
    let path = dir.path().join(LOG_FILE);
    bytes.truncate(starts[99] + 5);
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&path, &bytes).unwrap();
    let (ops, report) = open_with(dir.path(), LogRecovery::TolerateTornTail).unwrap();
    assert_eq!(ops.len(), 99);
    assert_eq!(report.dropped_tail_bytes, (bytes.len() - starts[99]) as u64);
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, starts[99]);
}
