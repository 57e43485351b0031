//! Arbitrary bytes as record metadata. `canonical_metadata` must never panic, and what it accepts
//! must be canonical: feeding its output back returns the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecstore::store::record::canonical_metadata;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(canonical) = canonical_metadata(Some(&text)) {
        let again = canonical_metadata(Some(&canonical)).expect("canonical metadata is accepted again");
        assert_eq!(again, canonical);
    }
});
