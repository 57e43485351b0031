use super::*;

fn toks(src: &str) -> Vec<Tok<'_>> {
    let mut lx = Lexer::new(src);
    let mut out = Vec::new();
    loop {
        let t = lx.next_token().unwrap();
        if t.tok == Tok::Eof {
            return out;
        }
        out.push(t.tok);
    }
}

#[test]
fn operators_and_punctuation() {
    assert_eq!(
        toks("= == != <> < <= > >= ( ) , ."),
        vec![
            Tok::Eq,
            Tok::Eq,
            Tok::Ne,
            Tok::Ne,
            Tok::Lt,
            Tok::Le,
            Tok::Gt,
            Tok::Ge,
            Tok::LParen,
            Tok::RParen,
            Tok::Comma,
            Tok::Dot
        ]
    );
    assert_eq!(toks("a!b"), vec![Tok::Ident("a"), Tok::Invalid('!'), Tok::Ident("b")]);
    assert_eq!(toks("é#"), vec![Tok::Invalid('é'), Tok::Invalid('#')]);
}

#[test]
fn numbers() {
    assert_eq!(
        toks("0 -7 3.25 1e3 -2.5E-2 007 1E+2"),
        vec![
            Tok::Num(Num::Int(0)),
            Tok::Num(Num::Int(-7)),
            Tok::Num(Num::Float(3.25)),
            Tok::Num(Num::Float(1000.0)),
            Tok::Num(Num::Float(-0.025)),
            Tok::Num(Num::Int(7)),
            Tok::Num(Num::Float(100.0)),
        ]
    );
    assert_eq!(toks("18446744073709551615"), vec![Tok::Num(Num::Int(u64::MAX as i128))]);
    assert_eq!(toks(&"9".repeat(50)), vec![Tok::Num(Num::Float(1e50))]);
    for bad in ["-", "-x", "1.", "1.e3", "1e", "1e+", "12abc", "1.2.3", "1e999", "5_"] {
        assert!(Lexer::new(bad).next_token().is_err(), "{bad}");
    }
}

#[test]
fn strings_and_escapes() {
    assert_eq!(toks(r#"'a\'b' "c\"d""#), vec![Tok::Str("a'b".into()), Tok::Str("c\"d".into())]);
    assert_eq!(toks(r"'\\\/\n\t\r\b\f\0\`'"), vec![Tok::Str("\\/\n\t\r\u{8}\u{c}\0`".into())]);
    assert_eq!(toks(r"'\u00e9\u00E9\ud83d\ude00'"), vec![Tok::Str("éé😀".into())]);
    assert_eq!(toks("'é \"x\"'"), vec![Tok::Str("é \"x\"".into())]);
    assert_eq!(toks(r"`a.b\``"), vec![Tok::QuotedName("a.b`".into())]);
    for bad in [r"'abc", r"'\q'", r"'\u12'", r"'\u12G4'", r"'\ud83d'", r"'\ud83d\u0041'", r"'\ude00'", r"'\"]
    {
        assert!(Lexer::new(bad).next_token().is_err(), "{bad}");
    }
}

#[test]
fn keywords_ignore_case() {
    for (s, k) in [("and", Keyword::And), ("Or", Keyword::Or), ("cOnTaInS", Keyword::Contains)] {
        assert_eq!(Keyword::from_ident(s), Some(k));
    }
    assert_eq!(Keyword::from_ident("andx"), None);
}
