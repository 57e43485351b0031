use super::*;

#[test]
fn metadata_is_canonicalised_and_checked() {
    assert_eq!(canonical_metadata(None).unwrap(), "{}");
    assert_eq!(canonical_metadata(Some("  ")).unwrap(), "{}");
    assert_eq!(
        canonical_metadata(Some(r#"{ "a" : [1, "x", true, null] }"#)).unwrap(),
        r#"{"a":[1,"x",true,null]}"#
    );
    assert!(canonical_metadata(Some("[1]")).is_err());
    assert!(canonical_metadata(Some("{\"a\":")).is_err());
    assert!(canonical_metadata(Some(r#"{"a":{"b":1}}"#)).is_err());
    assert!(canonical_metadata(Some(r#"{"a":[[1]]}"#)).is_err());
}

#[test]
fn canonical_metadata_is_stable_when_parsed_again() {
    // Found by fuzz/fuzz_targets/metadata_json.rs: without serde_json's float_roundtrip feature the
    // canonical text of this number parsed back to a different f64.
    for text in [r#"{"a":3333333333333333333333333333333333333333}"#, r#"{"a":6.178787134922198e305}"#] {
        let once = canonical_metadata(Some(text)).unwrap();
        assert_eq!(canonical_metadata(Some(&once)).unwrap(), once, "{text}");
    }
}

#[test]
fn ids_and_vectors_are_checked() {
    assert!(check_id("").is_err());
    assert!(check_id(&"x".repeat(MAX_ID_BYTES + 1)).is_err());
    assert!(check_id("doc-1").is_ok());
    assert!(check_finite(&[1.0, f32::NAN], "v").is_err());
    assert!(check_finite(&[1.0, f32::INFINITY], "v").is_err());
    assert!(check_finite(&[1.0, -2.0], "v").is_ok());
}
