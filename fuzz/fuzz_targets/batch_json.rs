//! A batch request's JSON: parsing never panics, and a parsed batch run against a store fails only
//! with the errors a caller can cause (never Internal, Corrupt or Io).
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vecstore::store::batch::parse_batch_json;
use vecstore::{Code, Metric, Store, StoreOptions};

fn store() -> &'static Store {
    static S: OnceLock<Store> = OnceLock::new();
    S.get_or_init(|| {
        let dir = common::scratch_root().join("batch");
        let _ = std::fs::remove_dir_all(&dir);
        let opts = StoreOptions { dimension: 3, metric: Some(Metric::Dot), ..StoreOptions::default() };
        Store::open(dir, &opts).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    common::write_seeds_if_asked(|| {
        vec![
            br#"{"operations":[{"op":"upsert","id":"a","vector":[1,2,3],"metadata":{"k":1},"ttl_seconds":60},{"op":"delete","id":"b"},{"op":"soft_delete","id":"a"},{"op":"restore","id":"a"},{"op":"update_metadata","id":"a","metadata":{"x":[1,2]}},{"op":"set_ttl","id":"a","ttl_seconds":0}]}"#.to_vec(),
            br#"[{"op":"upsert","id":"c","vector":[0.5,1e30,-2]}]"#.to_vec(),
        ]
    });
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(ops) = parse_batch_json(text) else { return };
    if let Err(e) = store().batch_execute(&ops) {
        assert!(
            !matches!(e.code, Code::Internal | Code::Corrupt | Code::Io),
            "a batch gave {:?}: {}",
            e.code,
            e.message
        );
    }
});
