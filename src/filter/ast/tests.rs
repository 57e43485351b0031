use super::*;

#[test]
fn int_float_comparison_is_exact() {
    let big = (1i128 << 53) + 1;
    assert_eq!(Num::Int(big).cmp_exact(Num::Float(9007199254740992.0)), Some(Ordering::Greater));
    assert_eq!(Num::Int(3).cmp_exact(Num::Float(3.0)), Some(Ordering::Equal));
    assert_eq!(Num::Int(3).cmp_exact(Num::Float(3.5)), Some(Ordering::Less));
    assert_eq!(Num::Int(-3).cmp_exact(Num::Float(-3.5)), Some(Ordering::Greater));
    assert_eq!(Num::Float(-3.5).cmp_exact(Num::Int(-3)), Some(Ordering::Less));
    assert_eq!(Num::Int(i128::MAX).cmp_exact(Num::Float(1e300)), Some(Ordering::Less));
    assert_eq!(Num::Int(i128::MIN).cmp_exact(Num::Float(-1e300)), Some(Ordering::Greater));
    assert_eq!(Num::Int(u64::MAX as i128).cmp_exact(Num::Float(u64::MAX as f64)), Some(Ordering::Less));
}

#[test]
fn normalization_makes_integral_floats_integers() {
    assert_eq!(Num::Float(2.0).normalized(), Num::Int(2));
    assert_eq!(Num::Float(-0.0).normalized(), Num::Int(0));
    assert_eq!(Num::Float(2.5).normalized(), Num::Float(2.5));
    assert_eq!(Num::Float(1e300).normalized(), Num::Float(1e300));
}

#[test]
fn in_set_sorts_and_dedups() {
    let items = [
        Literal::Str("b".into()),
        Literal::Str("a".into()),
        Literal::Str("b".into()),
        Literal::Num(Num::Float(1.0)),
        Literal::Num(Num::Int(1)),
        Literal::Num(Num::Float(0.5)),
        Literal::Bool(false),
    ];
    let set = InSet::new(&items);
    assert_eq!(set.strings, ["a", "b"]);
    assert_eq!(set.ints, [1]);
    assert_eq!(set.floats, [0.5]);
    assert!(set.has_false && !set.has_true && !set.has_null);
}

#[test]
fn quoting_escapes_what_the_lexer_needs() {
    let lit = Literal::Str("it's a \\ \"x\"\n\u{1}".into());
    assert_eq!(lit.to_string(), r#"'it\'s a \\ "x"\n\u0001'"#);
    let path = Path { segments: vec!["a".into(), "b.c".into(), "and".into(), "x`y".into()].into() };
    assert_eq!(path.to_string(), r"a.`b.c`.`and`.`x\`y`");
}
