//! The namespace registry (namespaces.json), damaged: opening the manager gives a working manager
//! or Code::Corrupt. `data[0]` bit 0: when the rest parses as a registry, recompute its checksum so
//! that the checks behind it (names, quotas, duplicates) are reached.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use vecstore::namespace::registry::NamespaceRecord;
use vecstore::namespace::NamespaceManager;
use vecstore::{Code, StoreOptions};

/// The registry file's layout (the library's is private): the same fields in the same order.
#[derive(Clone, Serialize, Deserialize)]
struct RegistryFile {
    format_version: u32,
    namespaces: Vec<NamespaceRecord>,
    checksum: u32,
}

fn fix(mut r: RegistryFile) -> Vec<u8> {
    r.checksum = 0;
    r.checksum = crc32fast::hash(&serde_json::to_vec(&r).unwrap());
    serde_json::to_vec_pretty(&r).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let root = common::scratch_root().join("ns");
    common::write_seeds_if_asked(|| {
        let _ = std::fs::remove_dir_all(&root);
        let m = NamespaceManager::open(&root, &StoreOptions::default()).unwrap();
        m.create("alpha", "Alpha", &vecstore::Quotas::default()).unwrap();
        let q = vecstore::Quotas { max_vectors: 10, max_storage_bytes: 1 << 20, max_requests_per_second: 5.0 };
        m.create("beta", "Beta", &q).unwrap();
        m.close().unwrap();
        let reg = std::fs::read(root.join("namespaces.json")).unwrap();
        vec![[&[0u8][..], &reg].concat(), [&[1u8][..], &reg].concat()]
    });
    let Some((&flags, body)) = data.split_first() else { return };
    let mut body = body.to_vec();
    if flags & 1 != 0 {
        if let Ok(r) = serde_json::from_slice::<RegistryFile>(&body) {
            body = fix(r);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("namespaces.json"), &body).unwrap();
    match NamespaceManager::open(&root, &StoreOptions::default()) {
        Ok(m) => {
            for r in m.list() {
                let _ = m.stats(&r.id);
            }
        }
        Err(e) => assert_eq!(e.code, Code::Corrupt, "a damaged registry gave {:?}: {}", e.code, e.message),
    }
});
