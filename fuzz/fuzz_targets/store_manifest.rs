//! The snapshot manifest, damaged. `data[0]` bit 0: when the rest parses as a manifest, recompute
//! its checksum, so that the checks behind it (names, sizes, generations, dimension) are reached.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use vecstore::storage::snapshot::{Manifest, MANIFEST_FILE};

fuzz_target!(|data: &[u8]| {
    common::write_seeds_if_asked(|| {
        let m = &common::template().files[MANIFEST_FILE];
        vec![[&[0u8][..], m].concat(), [&[1u8][..], m].concat()]
    });
    let Some((&flags, body)) = data.split_first() else { return };
    let mut body = body.to_vec();
    if flags & 1 != 0 {
        if let Ok(m) = serde_json::from_slice::<Manifest>(&body) {
            body = serde_json::to_vec_pretty(&common::with_checksum(m)).unwrap();
        }
    }
    let mut files = common::template().files.clone();
    files.insert(MANIFEST_FILE.to_string(), body);
    common::check_open(&files);
});
