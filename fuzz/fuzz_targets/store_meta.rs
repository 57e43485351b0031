//! The store's description file (vecstore.meta.json), damaged: a usable store or Code::Corrupt.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::write_seeds_if_asked(|| vec![common::template().files["vecstore.meta.json"].clone()]);
    let mut files = common::template().files.clone();
    files.insert("vecstore.meta.json".to_string(), data.to_vec());
    common::check_open(&files);
});
