//! Tests of the filter language through its public API: semantics, errors, limits, canonical text,
//! and randomized checks (a differential test against a naive evaluator, round trips, and garbage input).

use serde_json::{json, Map, Value};

use super::*;

fn meta(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn filter(text: &str) -> Filter {
    Filter::parse(text).unwrap_or_else(|e| panic!("{:?} should parse: {}", short(text), e.message))
}

/// `text` cut for a failure message (some test filters are tens of kilobytes).
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Asserts, for each `(filter, expected)`, whether the filter matches `record`.
fn check(record: Value, cases: &[(&str, bool)]) {
    let record = meta(record);
    for (text, expected) in cases {
        let f = filter(text);
        assert_eq!(f.matches(&record), *expected, "{} on {record:?}", short(text));
        // The canonical text must mean the same thing.
        let again = filter(&f.to_string());
        assert_eq!(again.matches(&record), *expected, "canonical {} on {record:?}", f);
    }
}

/// Asserts that `text` fails at byte `pos` with a message containing `expected`.
fn syntax_error(text: &str, pos: usize, expected: &str) {
    let err = match Filter::parse(text) {
        Ok(f) => panic!("{text:?} should not parse, got {f}"),
        Err(e) => e,
    };
    assert_eq!(err.code, Code::FilterSyntax, "{text:?}");
    let prefix = format!("filter syntax error at position {pos} (");
    assert!(err.message.starts_with(&prefix), "{text:?}: {:?} should start with {prefix:?}", err.message);
    assert!(err.message.contains(expected), "{text:?}: {:?} should contain {expected:?}", err.message);
}

#[test]
fn number_comparisons() {
    let big = u64::MAX;
    check(
        json!({"n": 5, "f": 2.5, "neg": -3, "big": big, "small": i64::MIN}),
        &[
            ("n = 5", true),
            ("n = 5.0", true),
            ("n = 5e0", true),
            ("n = 50e-1", true),
            ("n == 5", true),
            ("n != 5", false),
            ("n <> 5", false),
            ("n != 6", true),
            ("n < 6", true),
            ("n < 5", false),
            ("n <= 5", true),
            ("n > 4.999", true),
            ("n >= 5", true),
            ("n >= 5.0001", false),
            ("f = 2.5", true),
            ("f > 2", true),
            ("f < 3", true),
            ("f = 25e-1", true),
            ("neg = -3", true),
            ("neg < -2.5", true),
            ("neg > -3.5", true),
            ("big = 18446744073709551615", true),
            // As f64 these two are equal; compared exactly they are not.
            ("big = 18446744073709551614", false),
            ("big < 18446744073709551616", true),
            ("big < 18446744073709551615.0", true),
            ("small = -9223372036854775808", true),
            ("small < -9223372036854775807", true),
            ("n < 1e300", true),
            ("n > -1e300", true),
        ],
    );
    // An integer above 2^53 against a float that rounds to it.
    check(
        json!({"i": 9007199254740993u64}),
        &[("i = 9007199254740992.0", false), ("i > 9007199254740992.0", true)],
    );
}

#[test]
fn string_comparisons() {
    check(
        json!({"s": "banana", "u": "é", "e": ""}),
        &[
            ("s = 'banana'", true),
            ("s = \"banana\"", true),
            ("s = 'Banana'", false),
            ("s != 'apple'", true),
            ("s > 'apple'", true),
            ("s < 'banana2'", true),
            ("s < 'c'", true),
            ("s >= 'banana'", true),
            ("s <= 'banan'", false),
            ("s > 'B'", true), // bytes: 'b' (0x62) > 'B' (0x42)
            ("u > 'z'", true), // code point order
            ("u = '\\u00e9'", true),
            ("e = ''", true),
            ("e < 'a'", true),
        ],
    );
}

#[test]
fn booleans_and_null() {
    check(
        json!({"t": true, "f": false, "z": null}),
        &[
            ("t = true", true),
            ("t = TRUE", true),
            ("t = false", false),
            ("t != false", true),
            ("t != true", false),
            ("f = False", true),
            // Booleans have no order.
            ("t > false", false),
            ("t >= true", false),
            ("t <= true", false),
            ("z = null", true),
            ("z = NULL", true),
            ("z != null", false),
            ("t != null", true),
            ("t = null", false),
            ("z < 1", false),
            ("z != 1", true),
            ("z IN (null)", true),
            ("z IN (1, 'x')", false),
            ("z NOT IN (1)", true),
        ],
    );
}

#[test]
fn type_mismatches() {
    check(
        json!({"n": 5, "s": "5", "b": true, "l": [1, 2]}),
        &[
            ("n = '5'", false),
            ("n != '5'", true),
            ("s = 5", false),
            ("s != 5", true),
            ("s < 6", false),
            ("s >= 5", false),
            ("n < '6'", false),
            ("b = 1", false),
            ("b != 1", true),
            ("b = 'true'", false),
            // A list equals no literal; use CONTAINS.
            ("l = 1", false),
            ("l != 1", true),
            ("l < 5", false),
            ("l IN (1, 2)", false),
            ("l NOT IN (1, 2)", true),
            ("n CONTAINS 5", false),
            ("b CONTAINS true", false),
            ("s CONTAINS 5", false),
        ],
    );
}

#[test]
fn missing_fields_make_every_condition_false() {
    let cases: Vec<(&str, bool)> = vec![
        ("x = 1", false),
        ("x != 1", false),
        ("x < 1", false),
        ("x <= 1", false),
        ("x > 1", false),
        ("x >= 1", false),
        ("x = null", false),
        ("x != null", false),
        ("x IN (1, null)", false),
        ("x NOT IN (1)", false),
        ("x CONTAINS 'a'", false),
        // NOT is plain negation.
        ("NOT x = 1", true),
        ("NOT (x != 1)", true),
        ("NOT x NOT IN (1)", true),
        ("x = 1 OR y = 2", false),
        ("x = 1 OR n = 1", true),
        ("n = 1 AND NOT x = 1", true),
        // A path through something that is not an object is missing too.
        ("n.x = 1", false),
        ("n.x != 1", false),
    ];
    check(json!({"n": 1}), &cases);
}

#[test]
fn in_and_not_in() {
    check(
        json!({"c": "tech", "n": 3, "f": 0.5, "b": false}),
        &[
            ("c IN ('news', 'tech')", true),
            ("c IN ('tech')", true),
            ("c IN ('news')", false),
            ("c NOT IN ('news', 'sports')", true),
            ("c NOT IN ('tech', 'x')", false),
            ("c in ('TECH')", false),
            ("n IN (1, 2, 3)", true),
            ("n IN (3.0)", true),
            ("n IN (1, 'x', true, null, 3e0)", true),
            ("n IN ('3')", false),
            ("n NOT IN (1, 2)", true),
            ("f IN (0.5)", true),
            ("f IN (5e-1, 1)", true),
            ("f IN (0.25, 0.75)", false),
            ("f NOT IN (0.5)", false),
            ("b IN (false)", true),
            ("b IN (true, 0)", false),
            ("b NOT IN (true)", true),
        ],
    );
    // A float field equal to an integer literal in the list, and the reverse.
    check(json!({"x": 7.0, "y": 7}), &[("x IN (7)", true), ("y IN (7.0)", true), ("x IN (6, 8)", false)]);
}

#[test]
fn large_in_lists_are_exact() {
    // As many short strings as fit in the length limit.
    let items: Vec<String> = (0..8000).map(|i| format!("'{i}'")).collect();
    let f = filter(&format!("k IN ({})", items.join(",")));
    for i in [0, 1, 4999, 7999] {
        assert!(f.matches(&meta(json!({"k": i.to_string()}))), "{i}");
    }
    for k in ["8000", "k", "", "-1", "01"] {
        assert!(!f.matches(&meta(json!({"k": k}))), "{k}");
    }
    assert!(!f.matches(&meta(json!({"k": 1}))));
    let ints: Vec<String> = (0..MAX_IN_ITEMS).rev().map(|i| (i * 3).to_string()).collect();
    let f = filter(&format!("n IN ({})", ints.join(",")));
    assert!(f.matches(&meta(json!({"n": 29997}))));
    assert!(f.matches(&meta(json!({"n": 0.0}))));
    assert!(!f.matches(&meta(json!({"n": 29998}))));
    assert!(!f.matches(&meta(json!({"n": 3.5}))));
    let nums: Vec<String> =
        (0..5000).map(|i| format!("{}", i * 2)).chain((0..1000).map(|i| format!("{i}.5"))).collect();
    let f = filter(&format!("n NOT IN ({})", nums.join(", ")));
    assert!(!f.matches(&meta(json!({"n": 9998}))));
    assert!(!f.matches(&meta(json!({"n": 9998.0}))));
    assert!(!f.matches(&meta(json!({"n": 999.5}))));
    assert!(f.matches(&meta(json!({"n": 9999}))));
    assert!(f.matches(&meta(json!({"n": 1000.5}))));
    assert!(f.matches(&meta(json!({"n": 0.25}))));
}

#[test]
fn contains() {
    check(
        json!({"s": "hello world", "tags": ["rust", "db", 3, true, null], "nums": [1.5, 2], "empty": []}),
        &[
            ("s CONTAINS 'world'", true),
            ("s CONTAINS 'o w'", true),
            ("s CONTAINS ''", true),
            ("s CONTAINS 'World'", false),
            ("s contains 'xyz'", false),
            ("tags CONTAINS 'rust'", true),
            ("tags CONTAINS 'ru'", false), // elements are compared whole
            ("tags CONTAINS 3", true),
            ("tags CONTAINS 3.0", true),
            ("tags CONTAINS true", true),
            ("tags CONTAINS false", false),
            ("tags CONTAINS null", true),
            ("nums CONTAINS 2.0", true),
            ("nums CONTAINS 1.5", true),
            ("nums CONTAINS 1", false),
            ("empty CONTAINS 1", false),
            ("NOT tags CONTAINS 'go'", true),
        ],
    );
}

#[test]
fn precedence_and_parentheses() {
    // a true, b false, c false.
    let rec = json!({"a": 1, "b": 0, "c": 0});
    check(
        rec,
        &[
            // OR binds looser than AND: a OR (b AND c).
            ("a = 1 OR b = 1 AND c = 1", true),
            ("(a = 1 OR b = 1) AND c = 1", false),
            ("b = 1 AND c = 1 OR a = 1", true),
            ("b = 1 AND (c = 1 OR a = 1)", false),
            // NOT binds tighter than AND: (NOT a) AND b.
            ("NOT a = 1 AND b = 0", false),
            ("NOT (a = 1 AND b = 1)", true),
            ("NOT a = 1 OR b = 0", true),
            ("NOT NOT a = 1", true),
            ("NOT NOT NOT a = 1", false),
            ("((a = 1))", true),
            ("(((a = 1) AND ((b = 0))))", true),
            ("a=1 AND(b=0)AND(c=0)", true),
        ],
    );
}

#[test]
fn keywords_are_case_insensitive() {
    check(
        json!({"a": 1, "t": ["x"], "s": "xy"}),
        &[
            ("a = 1 and a = 1", true),
            ("a = 2 Or a = 1", true),
            ("not a = 2", true),
            ("a iN (1)", true),
            ("a Not In (2)", true),
            ("t cOnTaInS 'x'", true),
            ("a != TRUE AND a != False AND a != nULL", true),
        ],
    );
}

#[test]
fn nested_and_quoted_fields() {
    // The store keeps metadata flat today, but the filter walks nested objects for when it does not.
    let rec = json!({
        "a": {"b": {"c": 1, "and": "k"}, "s": "x"},
        "a.b": 2,
        "user id": "u1",
        "and": true,
        "q`b": 3,
        "": "empty",
    });
    check(
        rec,
        &[
            ("a.b.c = 1", true),
            ("a.b.c != 1", false),
            ("a.s = 'x'", true),
            ("a.b.c.d = 1", false),
            ("a.x = 1", false),
            ("a.b = 1", false),
            ("`a.b` = 2", true),
            ("`a`.`b`.c = 1", true),
            ("a.b.and = 'k'", true),
            ("a.b.`and` = 'k'", true),
            ("`user id` = 'u1'", true),
            ("`and` = true", true),
            ("`q\\`b` = 3", true),
            ("`` = 'empty'", true),
            ("a . b . c = 1", true),
        ],
    );
    assert_eq!(filter("a.b.and = 1").to_string(), "a.b.`and` = 1");
    assert_eq!(filter("`user id` = 1 AND `x` = 2").to_string(), "`user id` = 1 AND x = 2");
}

#[test]
fn string_literal_escapes() {
    check(
        json!({"s": "it's \"q\" \\ \n\t\r\u{8}\u{c}\0/`é😀"}),
        &[
            (r#"s = 'it\'s "q" \\ \n\t\r\b\f\0\/\`\u00e9\ud83d\ude00'"#, true),
            (r#"s = "it's \"q\" \\ \n\t\r\b\f\u0000/`é😀""#, true),
            (r#"s CONTAINS '\u00E9'"#, true),
        ],
    );
}

#[test]
fn canonical_text() {
    let cases = [
        ("category='tech'", "category = 'tech'"),
        ("a = \"x\"", "a = 'x'"),
        ("a == 1", "a = 1"),
        ("a <> 1", "a != 1"),
        ("a<1 and b<=2 or c>3.5 and d>=-4", "a < 1 AND b <= 2 OR c > 3.5 AND d >= -4"),
        ("(a = 1 or b = 2) and c = 3", "(a = 1 OR b = 2) AND c = 3"),
        ("((a = 1 or b = 2)) or (c = 3 or d = 4)", "a = 1 OR b = 2 OR c = 3 OR d = 4"),
        ("(a = 1 and b = 2) and (c = 3)", "a = 1 AND b = 2 AND c = 3"),
        ("(a = 1 and b = 2) or c = 3", "a = 1 AND b = 2 OR c = 3"),
        ("not (a = 1 and b = 2)", "NOT (a = 1 AND b = 2)"),
        ("not (not a = 1)", "NOT NOT a = 1"),
        ("NOT (a = 1) OR NOT (b = 2 OR c = 3)", "NOT a = 1 OR NOT (b = 2 OR c = 3)"),
        ("a in (1,'x' , true,null, 2.50)", "a IN (1, 'x', true, null, 2.5)"),
        ("a not in ( 'x' )", "a NOT IN ('x')"),
        ("t contains 'x'", "t CONTAINS 'x'"),
        ("a = 1e3", "a = 1000.0"),
        ("a = 1e20", "a = 1e20"),
        ("a = -0.000001", "a = -1e-6"),
        ("a = 007", "a = 7"),
        ("a = 'it''s'", ""), // no SQL-style '' escape: two adjacent strings are an error
    ];
    for (text, canonical) in cases {
        if canonical.is_empty() {
            assert!(Filter::parse(text).is_err());
            continue;
        }
        let f = filter(text);
        assert_eq!(f.to_string(), canonical, "{text}");
        let again = filter(canonical);
        assert_eq!(again, f, "{text}");
        assert_eq!(again.to_string(), canonical);
    }
    assert_eq!(filter(r#"s = "it's\n""#).to_string(), r"s = 'it\'s\n'");
    assert_eq!("a = 1".parse::<Filter>().unwrap(), filter("a = 1"));
}

#[test]
fn explain_fields_and_count() {
    let f = filter("category = 'tech' AND (year >= 2020 OR NOT tags CONTAINS 'old') AND category != 'x'");
    let rec = meta(json!({"category": "tech", "year": 2019, "tags": ["new"]}));
    assert!(f.matches(&rec));
    let expected = [
        ("category = 'tech'", true),
        ("year >= 2020", false),
        ("tags CONTAINS 'old'", false),
        ("category != 'x'", true),
    ];
    let got = f.explain(&rec);
    assert_eq!(got.len(), expected.len());
    for (g, (cond, matched)) in got.iter().zip(expected) {
        assert_eq!(g, &ConditionResult { condition: cond.to_string(), matched });
    }
    assert_eq!(f.fields(), ["category", "year", "tags"]);
    assert_eq!(f.condition_count(), 4);
    assert_eq!(filter("a.b = 1 OR `x y` = 2").fields(), ["a.b", "`x y`"]);
}

#[test]
fn syntax_errors_name_position_and_expectation() {
    const VALUE: &str = "expected a value (string, number, true, false or null)";
    const OP: &str = "expected a comparison operator (=, !=, <, <=, >, >=), IN, NOT IN or CONTAINS";
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "expected a field name, NOT or '(', found end of filter"),
        (" \t\n ", 4, "expected a field name, NOT or '(', found end of filter"),
        ("()", 1, "expected a field name, NOT or '(', found ')'"),
        ("a", 1, OP),
        ("a", 1, "found end of filter"),
        ("a # 1", 2, "found character '#'"),
        ("a ! 1", 2, "found character '!'"),
        ("a 1", 2, "found number 1"),
        ("a =", 3, &format!("{VALUE}, found end of filter")),
        ("category = )", 11, &format!("{VALUE}, found ')'")),
        ("a = tech", 4, "found name tech (text values are quoted: 'tech')"),
        ("a = in", 4, "found keyword IN"),
        ("a = 'x' b = 1", 8, "expected end of filter, AND or OR, found name b"),
        ("a = 1 'x'", 6, "expected end of filter, AND or OR, found string 'x'"),
        ("a = 1)", 5, "expected end of filter, AND or OR, found ')' with no '(' to close"),
        ("(a = 1", 6, "expected ')' to close the '(' at position 0, AND or OR, found end of filter"),
        ("((a = 1) OR (b = 2)", 19, "expected ')' to close the '(' at position 0"),
        ("a IN 1", 5, "expected '(' to start the list of values after IN, found number 1"),
        ("a IN", 4, "expected '(' to start the list of values after IN, found end of filter"),
        ("a NOT IN 'x'", 9, "after NOT IN, found string 'x'"),
        ("a IN ()", 6, &format!("{VALUE}, found ')' (an IN list needs at least one value)")),
        ("a IN (1, )", 9, &format!("{VALUE}, found ')'")),
        ("a IN (1 2)", 8, "expected ',' or ')' in the IN list, found number 2"),
        ("a NOT IN (1", 11, "expected ',' or ')' in the NOT IN list, found end of filter"),
        ("a IN (x)", 6, "found name x (text values are quoted: 'x')"),
        ("a NOT 1", 6, "expected IN after NOT, found number 1"),
        ("a NOT CONTAINS 'x'", 6, "expected IN after NOT, found keyword CONTAINS"),
        ("a CONTAINS", 10, &format!("{VALUE}, found end of filter")),
        ("a = 'abc", 4, "expected a closing ' for the string that starts here, found end of filter"),
        ("a = \"abc", 4, "expected a closing \" for the string that starts here"),
        ("a = 'abc\\", 4, "expected a closing ' for the string"),
        ("`abc = 1", 0, "expected a closing ` for the field name that starts here"),
        ("a = 'a\\qb'", 6, "expected an escape after the backslash"),
        ("a = 'a\\qb'", 6, "found 'q'"),
        ("a = '\\u12'", 5, "expected four hex digits after \\u, found '\\''"),
        ("a = '\\ud800'", 11, "expected \\uDC00-\\uDFFF to complete the surrogate pair \\uD800"),
        ("a = '\\ud800\\u0041'", 11, "found \\u0041"),
        ("a = '\\udc00'", 5, "lone low surrogate \\uDC00"),
        ("a = 1.5.2", 7, "expected a space, operator, ',' or ')' after the number, found '.'"),
        ("a = 12abc", 6, "after the number, found 'a'"),
        ("a = 1.", 6, "expected a digit after the decimal point, found end of filter"),
        ("a = .5", 4, "found '.'"),
        ("a = -", 5, "expected a digit after '-', found end of filter"),
        ("a = - 1", 5, "expected a digit after '-', found ' '"),
        ("a = 1e", 6, "expected a digit in the exponent"),
        ("a = 1e+x", 7, "expected a digit in the exponent, found 'x'"),
        ("a = 1e400", 4, "expected a number within the range of a 64-bit float, found 1e400"),
        ("a = +1", 4, "found character '+'"),
        ("AND a = 1", 0, "expected a field name, NOT or '(', found keyword AND"),
        ("true = 1", 0, "found keyword true (a field named true must be quoted: `true`)"),
        ("a = 1 AND", 9, "expected a field name, NOT or '(', found end of filter"),
        ("a = 1 AND NOT", 13, "expected a field name, NOT or '(', found end of filter"),
        ("a = 1 OR OR b = 1", 9, "found keyword OR"),
        ("a. = 1", 3, "expected a field name after '.', found '='"),
        ("a = 'x' AND é = 1", 12, "expected a field name, NOT or '(', found character 'é'"),
        ("a = 1 = 2", 6, "expected end of filter, AND or OR, found '='"),
        ("a = = 'unterminated", 4, &format!("{VALUE}, found '='")),
    ];
    for (text, pos, expected) in cases {
        syntax_error(text, *pos, expected);
    }
}

#[test]
fn error_messages_have_columns_and_lines() {
    let err = Filter::parse("category = )").unwrap_err();
    assert_eq!(
        err.message,
        "filter syntax error at position 11 (column 12): expected a value (string, number, true, false or \
         null), found ')'"
    );
    // Columns count characters, positions count bytes.
    let err = Filter::parse("a = 'é' b").unwrap_err();
    assert!(err.message.starts_with("filter syntax error at position 9 (column 9): "), "{}", err.message);
    let err = Filter::parse("a = 1\n  AND b = )").unwrap_err();
    assert!(
        err.message.starts_with("filter syntax error at position 16 (line 2, column 11): "),
        "{}",
        err.message
    );
    // Long tokens are shortened in messages.
    let long = format!("a = 1 '{}'", "x".repeat(1000));
    let err = Filter::parse(&long).unwrap_err();
    assert!(err.message.len() < 200, "{}", err.message);
}

#[test]
fn nesting_is_limited_without_overflowing_the_stack() {
    let nested = |n: usize| format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert!(filter(&nested(MAX_DEPTH)).matches(&meta(json!({"a": 1}))));
    syntax_error(
        &nested(MAX_DEPTH + 1),
        MAX_DEPTH,
        "expected at most 64 levels of nested parentheses and NOT",
    );
    syntax_error(&"(".repeat(MAX_FILTER_BYTES), MAX_DEPTH, "levels of nested parentheses");

    let nots = |n: usize| format!("{}a = 1", "NOT ".repeat(n));
    assert!(filter(&nots(MAX_DEPTH)).matches(&meta(json!({"a": 1}))));
    syntax_error(&nots(MAX_DEPTH + 1), 4 * MAX_DEPTH, "found keyword NOT nested deeper");
    syntax_error(&"not ".repeat(MAX_FILTER_BYTES / 4), 4 * MAX_DEPTH, "levels of nested");

    // Parentheses and NOT count together.
    let mixed = "NOT (".repeat(MAX_DEPTH / 2) + "a = 1" + &")".repeat(MAX_DEPTH / 2);
    assert!(Filter::parse(&mixed).is_ok());
    let mixed = "NOT (".repeat(MAX_DEPTH / 2 + 1) + "a = 1" + &")".repeat(MAX_DEPTH / 2 + 1);
    assert!(Filter::parse(&mixed).is_err());

    // Long flat chains are not nesting: they parse into one n-ary node.
    let chain = vec!["a = 1"; 5000].join(" OR ");
    assert!(filter(&chain).matches(&meta(json!({"a": 1}))));
}

#[test]
fn length_is_limited() {
    let at_limit = format!("s = '{}'", "x".repeat(MAX_FILTER_BYTES - 6));
    assert_eq!(at_limit.len(), MAX_FILTER_BYTES);
    assert!(Filter::parse(&at_limit).is_ok());
    let over = format!("s = '{}'", "x".repeat(MAX_FILTER_BYTES - 5));
    syntax_error(&over, MAX_FILTER_BYTES, "expected a filter of at most 65536 bytes, found 65537 bytes");
    // The reported position stays on a character boundary.
    let over = format!("s = '{}'", "é".repeat(MAX_FILTER_BYTES / 2));
    let err = Filter::parse(&over).unwrap_err();
    assert_eq!(err.code, Code::FilterSyntax);
}

#[test]
fn in_list_size_is_limited() {
    let list = |n: usize| format!("a IN ({})", vec!["1"; n].join(","));
    assert!(Filter::parse(&list(MAX_IN_ITEMS)).is_ok());
    let text = list(MAX_IN_ITEMS + 1);
    syntax_error(&text, text.len() - 2, "expected at most 10000 values in an IN list, found more");
}

// ---------------------------------------------------------------------------------------------------
// Randomized tests. A tiny xorshift generator keeps them deterministic and dependency-free.

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A generated filter, kept as a tree so a naive evaluator can tell what it should match.
#[derive(Debug)]
pub(crate) enum Gen {
    Or(Vec<Gen>),
    And(Vec<Gen>),
    Not(Box<Gen>),
    Cmp(&'static str, &'static str, Value),
    In(&'static str, bool, Vec<Value>),
    Contains(&'static str, Value),
}

const FIELDS: [&str; 5] = ["a", "b", "s", "tags", "o.x"];

pub(crate) fn gen_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0..=2 => json!(rng.below(5) as i64 - 2),
        3 => json!(rng.pick(&[0.5, 1.0, -1.5, 2.0])),
        4..=6 => json!(rng.pick(&["", "x", "y", "xy", "yx", "it's", "é\n"])),
        7 => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

pub(crate) fn gen_expr(rng: &mut Rng, depth: usize) -> Gen {
    let leaf = depth == 0 || rng.chance(40);
    if leaf {
        let field = rng.pick(&FIELDS);
        return match rng.below(8) {
            0..=4 => Gen::Cmp(field, rng.pick(&["=", "!=", "<", "<=", ">", ">="]), gen_value(rng)),
            5 | 6 => {
                let n = 1 + rng.below(4);
                Gen::In(field, rng.chance(40), (0..n).map(|_| gen_value(rng)).collect())
            }
            _ => Gen::Contains(field, gen_value(rng)),
        };
    }
    match rng.below(3) {
        0 => Gen::Or((0..2 + rng.below(3)).map(|_| gen_expr(rng, depth - 1)).collect()),
        1 => Gen::And((0..2 + rng.below(3)).map(|_| gen_expr(rng, depth - 1)).collect()),
        _ => Gen::Not(Box::new(gen_expr(rng, depth - 1))),
    }
}

pub(crate) fn gen_record(rng: &mut Rng) -> Map<String, Value> {
    let mut m = Map::new();
    for field in ["a", "b", "s"] {
        if rng.chance(80) {
            m.insert(field.into(), gen_value(rng));
        }
    }
    if rng.chance(80) {
        let n = rng.below(4);
        m.insert("tags".into(), Value::Array((0..n).map(|_| gen_value(rng)).collect()));
    }
    if rng.chance(50) {
        m.insert("o".into(), json!({"x": gen_value(rng)}));
    } else if rng.chance(50) {
        m.insert("o".into(), gen_value(rng));
    }
    m
}

/// The documented semantics, written as plainly as possible (values in the generator are small, so
/// comparing numbers as f64 is exact here).
pub(crate) fn naive(g: &Gen, m: &Map<String, Value>) -> bool {
    fn lookup<'m>(m: &'m Map<String, Value>, field: &str) -> Option<&'m Value> {
        let mut parts = field.split('.');
        let mut v = m.get(parts.next()?)?;
        for p in parts {
            v = v.as_object()?.get(p)?;
        }
        Some(v)
    }
    fn eq(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(_), _) | (Value::Object(_), _) => false,
            _ => a == b,
        }
    }
    match g {
        Gen::Or(c) => c.iter().any(|g| naive(g, m)),
        Gen::And(c) => c.iter().all(|g| naive(g, m)),
        Gen::Not(c) => !naive(c, m),
        Gen::Cmp(field, op, lit) => {
            let Some(v) = lookup(m, field) else { return false };
            let ord = match (v, lit) {
                (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().partial_cmp(&y.as_f64().unwrap()),
                (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                _ => None,
            };
            match *op {
                "=" => eq(v, lit),
                "!=" => !eq(v, lit),
                "<" => ord == Some(std::cmp::Ordering::Less),
                "<=" => matches!(ord, Some(o) if o.is_le()),
                ">" => ord == Some(std::cmp::Ordering::Greater),
                ">=" => matches!(ord, Some(o) if o.is_ge()),
                _ => unreachable!(),
            }
        }
        Gen::In(field, negated, items) => match lookup(m, field) {
            None => false,
            Some(v) => items.iter().any(|i| eq(v, i)) != *negated,
        },
        Gen::Contains(field, lit) => match (lookup(m, field), lit) {
            (Some(Value::String(s)), Value::String(needle)) => s.contains(needle.as_str()),
            (Some(Value::Array(items)), _) => items.iter().any(|i| eq(i, lit)),
            _ => false,
        },
    }
}

/// Writes `g` as filter text with random spacing, keyword case, quoting and number spelling, and
/// random redundant parentheses.
pub(crate) fn render(g: &Gen, rng: &mut Rng, out: &mut String) {
    fn space(rng: &mut Rng, out: &mut String, required: bool) {
        let s = rng.pick(&[" ", " ", "  ", "\n", "\t", ""]);
        out.push_str(if required && s.is_empty() { " " } else { s });
    }
    fn keyword(rng: &mut Rng, out: &mut String, k: &str) {
        for c in k.chars() {
            out.push(if rng.chance(50) { c.to_ascii_lowercase() } else { c });
        }
    }
    fn literal(v: &Value, rng: &mut Rng, out: &mut String) {
        match v {
            Value::Null => keyword(rng, out, "NULL"),
            Value::Bool(b) => keyword(rng, out, if *b { "TRUE" } else { "FALSE" }),
            Value::Number(n) => {
                let f = n.as_f64().unwrap();
                let text = match rng.below(3) {
                    _ if n.is_f64() && f.fract() != 0.0 => format!("{f}"),
                    0 => n.to_string(),
                    1 => format!("{}e-1", n.as_f64().unwrap() * 10.0),
                    _ => format!("{f:?}"),
                };
                out.push_str(&text);
            }
            Value::String(s) => {
                let q = if rng.chance(50) { '\'' } else { '"' };
                out.push(q);
                for c in s.chars() {
                    match c {
                        '\n' => out.push_str(if rng.chance(50) { "\\n" } else { "\\u000A" }),
                        '\\' | '\'' | '"' if c == q || c == '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        'é' if rng.chance(50) => out.push_str("\\u00e9"),
                        c => out.push(c),
                    }
                }
                out.push(q);
            }
            _ => unreachable!(),
        }
    }
    fn child(g: &Gen, parent: u8, rng: &mut Rng, out: &mut String) {
        let prec = match g {
            Gen::Or(_) => 1,
            Gen::And(_) => 2,
            Gen::Not(_) => 3,
            _ => 4,
        };
        if prec <= parent || rng.chance(15) {
            out.push('(');
            space(rng, out, false);
            render(g, rng, out);
            space(rng, out, false);
            out.push(')');
        } else {
            render(g, rng, out);
        }
    }
    match g {
        Gen::Or(c) | Gen::And(c) => {
            let (k, prec) = if matches!(g, Gen::Or(_)) { ("OR", 1) } else { ("AND", 2) };
            for (i, g) in c.iter().enumerate() {
                if i > 0 {
                    space(rng, out, true);
                    keyword(rng, out, k);
                    space(rng, out, true);
                }
                child(g, prec, rng, out);
            }
        }
        Gen::Not(c) => {
            keyword(rng, out, "NOT");
            space(rng, out, true);
            child(c, 2, rng, out);
        }
        Gen::Cmp(field, op, lit) => {
            out.push_str(field);
            space(rng, out, false);
            let op = match *op {
                "=" if rng.chance(30) => "==",
                "!=" if rng.chance(30) => "<>",
                op => op,
            };
            out.push_str(op);
            space(rng, out, false);
            literal(lit, rng, out);
        }
        Gen::In(field, negated, items) => {
            out.push_str(field);
            space(rng, out, true);
            if *negated {
                keyword(rng, out, "NOT");
                space(rng, out, true);
            }
            keyword(rng, out, "IN");
            space(rng, out, false);
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    space(rng, out, false);
                }
                literal(item, rng, out);
            }
            out.push(')');
        }
        Gen::Contains(field, lit) => {
            out.push_str(field);
            space(rng, out, true);
            keyword(rng, out, "CONTAINS");
            space(rng, out, true);
            literal(lit, rng, out);
        }
    }
}

#[test]
fn random_filters_match_the_naive_semantics_and_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let records: Vec<_> = (0..40).map(|_| gen_record(&mut rng)).collect();
    let (mut passed, mut total) = (0, 0);
    for _ in 0..3000 {
        let g = gen_expr(&mut rng, 4);
        let mut text = String::new();
        render(&g, &mut rng, &mut text);
        let f = filter(&text);
        let canonical = f.to_string();
        let again = filter(&canonical);
        assert_eq!(again, f, "{text} -> {canonical}");
        assert_eq!(again.to_string(), canonical);
        for r in &records {
            let expected = naive(&g, r);
            passed += expected as usize;
            total += 1;
            assert_eq!(f.matches(r), expected, "{text} on {r:?}");
            assert_eq!(again.matches(r), expected, "{canonical} on {r:?}");
        }
        // explain evaluates each leaf on its own; check it against fresh single-condition filters.
        for c in f.explain(&records[0]) {
            assert_eq!(filter(&c.condition).matches(&records[0]), c.matched, "{}", c.condition);
        }
    }
    // The generator must exercise both outcomes, or the comparison above proves little.
    assert!(passed > total / 10 && passed < total * 9 / 10, "{passed} of {total} matched");
}

/// Parses `text` and, when it parses, checks the canonical round trip; must never panic.
fn parse_anything(text: &str) {
    match Filter::parse(text) {
        Ok(f) => {
            let canonical = f.to_string();
            let again = Filter::parse(&canonical)
                .unwrap_or_else(|e| panic!("{text:?} -> {canonical:?}: {}", e.message));
            assert_eq!(again, f, "{text:?}");
        }
        Err(e) => {
            assert_eq!(e.code, Code::FilterSyntax);
            assert!(e.message.starts_with("filter syntax error at position "), "{}", e.message);
        }
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let fragments = [
        "a",
        "b.c",
        "`x",
        "`",
        "(",
        ")",
        ",",
        ".",
        "=",
        "==",
        "!",
        "!=",
        "<",
        "<>",
        "<=",
        ">",
        ">=",
        " ",
        "\n",
        "'",
        "\"",
        "\\",
        "\\u",
        "\\ud83d",
        "\\ude00",
        "d83d",
        "0",
        "-",
        "1.5",
        "e",
        "E+",
        "9999999999999999999999",
        "1e308",
        "AND",
        "or",
        "Not",
        "IN",
        "not in",
        "CONTAINS",
        "true",
        "NULL",
        "é",
        "😀",
        "\0",
        "'x'",
        "\"y\"",
    ];
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..rng.below(24) {
            text.push_str(rng.pick(&fragments));
        }
        parse_anything(&text);
    }
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
        parse_anything(&String::from_utf8_lossy(&bytes));
    }
    // Mutations of valid filters: delete, duplicate or replace a character.
    for _ in 0..20_000 {
        let g = gen_expr(&mut rng, 3);
        let mut text = String::new();
        render(&g, &mut rng, &mut text);
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + rng.below(3) {
            if chars.is_empty() {
                break;
            }
            let i = rng.below(chars.len());
            match rng.below(3) {
                0 => {
                    chars.remove(i);
                }
                1 => chars.insert(i, chars[i]),
                _ => {
                    chars[i] = rng.pick(&['(', ')', '\'', '"', '\\', '`', '.', '-', 'e', ' ', ',', '!', '='])
                }
            }
        }
        parse_anything(&chars.into_iter().collect::<String>());
    }
}

#[test]
fn float_literals_equal_the_same_text_in_metadata_json() {
    // Metadata arrives as JSON text parsed by serde_json; a filter literal spelled the same way must
    // denote the same f64, or `x = <the number the user stored>` would fail to match.
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut texts: Vec<String> =
        vec!["3.333333333333333e+39".into(), "0.1".into(), "2.2250738585072014e-308".into()];
    for _ in 0..2000 {
        let f = f64::from_bits(rng.next());
        if f.is_finite() {
            texts.push(format!("{f:e}"));
            texts.push(format!("{f:?}"));
        }
        texts.push(format!("{}.{}e{}", rng.next() % 1000, rng.next(), rng.below(600) as i64 - 300));
    }
    for text in texts {
        let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&format!("{{\"x\": {text}}}")) else {
            continue;
        };
        let f = filter(&format!("x = {text}"));
        assert!(f.matches(&m), "{text}: metadata {:?}, filter {f}", m["x"]);
    }
}
