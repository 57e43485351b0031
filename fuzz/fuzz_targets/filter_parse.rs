//! Arbitrary text through the filter parser. Whatever parses must print canonical text that parses
//! back to the same filter, prints identically, and evaluates identically on a few fixed records;
//! whatever does not parse must be a FilterSyntax error. Nothing may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use vecstore::filter::{Filter, MAX_FILTER_BYTES};
use vecstore::Code;

fn records() -> &'static [Map<String, Value>] {
    static RECORDS: OnceLock<Vec<Map<String, Value>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        [
            json!({}),
            json!({"a": 1, "b": "x", "c": true, "d": null, "e": [1, "x", null, false], "f": 2.5}),
            json!({"a": -1.5, "b": "", "c": false, "e": "hello world", "category": "tech", "x": 18446744073709551615u64}),
            json!({"a": {"b": {"c": 1}}, "b": ["a", "b"], "a.b": "dotted", "": 0}),
        ]
        .into_iter()
        .map(|v| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        })
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let filter = match Filter::parse(text) {
        Ok(f) => f,
        Err(e) => {
            assert_eq!(e.code, Code::FilterSyntax, "{e:?}");
            assert!(e.message.starts_with("filter syntax error at position "), "{}", e.message);
            return;
        }
    };
    let canonical = filter.to_string();
    if canonical.len() > MAX_FILTER_BYTES {
        return; // documented: canonical text can outgrow the limit of the source
    }
    let again = Filter::parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical text {canonical:?} of {text:?} does not parse: {}", e.message));
    assert_eq!(again.to_string(), canonical);
    assert_eq!(again, filter, "{text:?} -> {canonical:?}");
    for record in records() {
        assert_eq!(filter.matches(record), again.matches(record), "{canonical:?} on {record:?}");
        let explained = filter.explain(record);
        assert_eq!(explained.len(), filter.condition_count());
        assert_eq!(explained, again.explain(record));
    }
    assert!(filter.fields().len() <= filter.condition_count());
});
