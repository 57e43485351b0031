use super::*;

#[test]
fn every_spelling_round_trips() {
    for m in Metric::all() {
        assert_eq!(Metric::from_code(m.code()), Some(m));
        assert_eq!(Metric::from_name(m.name()), Some(m));
        assert_eq!(Metric::from_name(m.label()), Some(m));
        assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{}\"", m.name()));
    }
    assert_eq!(Metric::from_code(3), None);
    assert_eq!(Metric::from_name("l2"), None);
}
