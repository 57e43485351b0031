use super::*;
use crate::storage::log::Log;

fn upsert(id: &str) -> LogOp {
    LogOp::Upsert { id: id.into(), vector: vec![1.0, 2.0], metadata: "{}".into(), expires_at: 0 }
}

#[test]
fn damage_in_the_middle_is_told_apart_from_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) =
        Log::open(dir.path(), false, 3, crate::storage::log::LogRecovery::TolerateTornTail, |_| Ok(()))
            .unwrap();
    for id in ["a", "b", "c"] {
        log.append(&[upsert(id)]).unwrap();
    }
    drop(log);
    let path = dir.path().join(LOG_FILE);
    let clean = scan_log(dir.path()).unwrap().unwrap();
    assert_eq!((clean.frames.len(), clean.generation, clean.format_version), (3, 3, 2));
    assert!(clean.damage.is_empty() && clean.torn_tail.is_none());

    // A flipped byte in the second frame's payload (past its 8-byte op count): damage, and the third
    // frame is still read.
    let mut bytes = std::fs::read(&path).unwrap();
    let second = clean.frames[1].offset as usize;
    bytes[second + 20] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let scan = scan_log(dir.path()).unwrap().unwrap();
    assert_eq!(scan.frames.len(), 2);
    assert_eq!(scan.frames[1].ops, vec![upsert("c")]);
    assert_eq!(scan.damage.len(), 1);
    assert_eq!(
        (scan.damage[0].offset, scan.damage[0].bytes),
        (clean.frames[1].offset, clean.frames[1].bytes)
    );
    assert_eq!((scan.damage[0].what.as_str(), scan.damage[0].ops), ("checksum mismatch", Some(1)));
    assert!(scan.torn_tail.is_none());
    // Nothing was changed on disk.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // A cut last frame: a torn tail, not damage.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[second + 20] ^= 0x40;
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&path, &bytes).unwrap();
    let scan = scan_log(dir.path()).unwrap().unwrap();
    assert_eq!(scan.frames.len(), 2);
    assert!(scan.damage.is_empty());
    assert_eq!(scan.torn_tail.as_ref().unwrap().offset, clean.frames[2].offset);
    assert!(scan.torn_tail.as_ref().unwrap().cut_short);
}
