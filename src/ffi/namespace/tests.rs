#[test]
fn header_limits_match_the_core() {
    assert_eq!(super::VS_MAX_NAMESPACE_ID_LEN as usize, crate::namespace::names::MAX_NAME_LEN);
    assert_eq!(super::VS_DEFAULT_MAX_OPEN_STORES as usize, crate::namespace::DEFAULT_MAX_OPEN_STORES);
}
