use super::*;
use crate::error::Code;

fn rec(id: &str) -> NamespaceRecord {
    NamespaceRecord {
        id: id.into(),
        name: format!("name of {id}"),
        quotas: Quotas { max_vectors: 5, max_storage_bytes: 0, max_requests_per_second: 2.5 },
        status: Status::Suspended,
        created_at: 1_700_000_000,
    }
}

#[test]
fn round_trip_and_damage_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path()).unwrap(), None);
    save(dir.path(), vec![rec("a"), rec("b")]).unwrap();
    assert_eq!(load(dir.path()).unwrap().unwrap(), vec![rec("a"), rec("b")]);

    let path = dir.path().join(REGISTRY_FILE);
    let good = std::fs::read_to_string(&path).unwrap();
    // An edited value (valid JSON) fails the checksum.
    std::fs::write(&path, good.replace("name of a", "name of z")).unwrap();
    assert_eq!(load(dir.path()).unwrap_err().code, Code::Corrupt);
    // A torn file does not parse.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    assert_eq!(load(dir.path()).unwrap_err().code, Code::Corrupt);
    std::fs::write(&path, "").unwrap();
    assert_eq!(load(dir.path()).unwrap_err().code, Code::Corrupt);
}

#[test]
fn a_hostile_id_on_disk_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), vec![rec("../escape")]).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert_eq!(e.code, Code::Corrupt);
    save(dir.path(), vec![rec("a"), rec("a")]).unwrap();
    assert_eq!(load(dir.path()).unwrap_err().code, Code::Corrupt);
}
