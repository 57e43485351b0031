#[test]
fn header_limits_match_the_core() {
    assert_eq!(super::VS_MAX_K as usize, crate::store::options::MAX_K);
    assert_eq!(super::super::store::VS_MAX_DIMENSION as usize, crate::store::options::MAX_DIMENSION);
}
