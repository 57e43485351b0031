use super::*;
use crate::error::Code;

#[test]
fn good_names_pass() {
    for n in ["a", "customer-123", "A_b.c", "x.", "0", &"z".repeat(64)] {
        check_name(n, "id").unwrap();
    }
}

#[test]
fn hostile_names_are_refused() {
    let long = "a".repeat(65);
    for n in [
        "", ".", "..", "../x", "x/..", "/etc", "a/b", "a\\b", "a\0b", ".hidden", "a b", "é", "a:b", "~",
        "a\nb", &long,
    ] {
        let e = check_name(n, "namespace id").unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument, "{n:?}");
        assert!(e.message.contains("namespace id"), "{}", e.message);
    }
}

#[test]
fn display_names() {
    check_display_name("Acme Corp — ünïcode").unwrap();
    check_display_name("").unwrap();
    assert!(check_display_name("a\nb").is_err());
    assert!(check_display_name(&"x".repeat(257)).is_err());
}
