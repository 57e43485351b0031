//! Quotas as JSON (what the registry and the server's admin API read): parsing and validation never
//! panic, and valid quotas survive a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecstore::Quotas;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = serde_json::from_slice::<Quotas>(data) {
        if q.validate().is_ok() {
            let again: Quotas = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
            assert_eq!(again, q);
        }
    }
});
