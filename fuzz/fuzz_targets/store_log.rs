//! The log (header and frames), damaged: opening the store (default policy: a torn tail is dropped,
//! damage before valid frames is Corrupt) gives a usable store or Code::Corrupt.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::write_seeds_if_asked(|| vec![common::template().files["vecstore.log"].clone()]);
    let mut files = common::template().files.clone();
    files.insert("vecstore.log".to_string(), data.to_vec());
    common::check_open(&files);
});
