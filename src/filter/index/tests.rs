//! The metadata index against the evaluator and the naive semantics: random records (with
//! removals and re-insertions, as updates and deletes do them) and random filters using every
//! operator.

use roaring::RoaringBitmap;
use serde_json::{json, Map, Value};

use super::{MetadataIndex, MAX_INDEXED_DEPTH};
use crate::filter::tests::{gen_expr, gen_record, naive, render, Rng};
use crate::filter::Filter;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn matching(records: &[Option<Map<String, Value>>], f: &Filter) -> RoaringBitmap {
    records
        .iter()
        .enumerate()
        .filter(|(_, m)| m.as_ref().is_some_and(|m| f.matches(m)))
        .map(|(s, _)| s as u32)
        .collect()
}

#[test]
fn random_filters_give_the_evaluators_slots_through_updates_and_removals() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut records: Vec<Option<Map<String, Value>>> = Vec::new();
    let mut index = MetadataIndex::new();
    let (mut passed, mut total) = (0u64, 0u64);
    for round in 0..40 {
        // Writes: new slots, metadata replaced in place, slots removed.
        for _ in 0..20 {
            let m = gen_record(&mut rng);
            index.insert(records.len() as u32, &m);
            records.push(Some(m));
        }
        for _ in 0..5 {
            let s = rng.below(records.len());
            if let Some(old) = records[s].take() {
                index.remove(s as u32, &old);
                if rng.chance(50) {
                    let m = gen_record(&mut rng);
                    index.insert(s as u32, &m);
                    records[s] = Some(m);
                }
            }
        }
        for _ in 0..100 {
            let g = gen_expr(&mut rng, 4);
            let mut text = String::new();
            render(&g, &mut rng, &mut text);
            let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
            let got = index.evaluate(&f).expect("every generated path is indexed");
            let want = matching(&records, &f);
            assert_eq!(got, want, "round {round}: {text}");
            index.check_blocks();
            for (s, m) in records.iter().enumerate() {
                if let Some(m) = m {
                    assert_eq!(naive(&g, m), want.contains(s as u32), "{text} on {m:?}");
                }
            }
            passed += got.len();
            total += records.iter().flatten().count() as u64;
        }
    }
    assert!(passed > total / 10 && passed < total * 9 / 10, "{passed} of {total} matched");
    // Removing everything leaves nothing behind.
    for (s, m) in records.iter().enumerate() {
        if let Some(m) = m {
            index.remove(s as u32, m);
        }
    }
    assert!(index.is_empty());
    assert_eq!(index.memory().fields, 0);
}

#[test]
fn numbers_are_keyed_by_exact_value() {
    let records = vec![
        Some(obj(json!({"n": 1}))),
        Some(obj(json!({"n": 1.0}))),
        Some(obj(json!({"n": -0.0}))),
        Some(obj(json!({"n": 9007199254740993u64}))),
        Some(obj(json!({"n": 18446744073709551615u64}))),
        Some(obj(json!({"n": -9223372036854775808i64}))),
        Some(obj(json!({"n": 1e300}))),
        Some(obj(json!({"n": 2.5}))),
        Some(obj(json!({"n": "1"}))),
        Some(obj(json!({"n": [1, 2.5, "x"]}))),
        Some(obj(json!({"m": 1}))),
    ];
    let index = MetadataIndex::build(records.iter().enumerate().map(|(s, m)| (s as u32, m.as_ref().unwrap())));
    for text in [
        "n = 1",
        "n = 1e0",
        "n = 0",
        "n = 9007199254740992",
        "n = 9007199254740993",
        "n > 9007199254740992",
        "n >= 18446744073709551615",
        "n < -9223372036854775807",
        "n > 1e299",
        "n <= 2.5",
        "n < 2.5",
        "n != 1",
        "n IN (1, 2.5, '1')",
        "n NOT IN (1, 2.5)",
        "n CONTAINS 2.5",
        "n CONTAINS 'x'",
        "n CONTAINS '1'",
        "NOT n = 1",
        "n >= '0'",
        "m = 1 OR n = 0",
        "n = null OR n != null",
    ] {
        let f = Filter::parse(text).unwrap();
        assert_eq!(index.evaluate(&f).unwrap(), matching(&records, &f), "{text}");
    }
}

#[test]
fn paths_deeper_than_the_index_are_left_to_the_evaluator() {
    let mut deep = json!(1);
    for _ in 0..MAX_INDEXED_DEPTH + 1 {
        deep = json!({ "a": deep });
    }
    let m = obj(deep);
    let index = MetadataIndex::build([(0, &m)]);
    let at_limit = vec!["a"; MAX_INDEXED_DEPTH].join(".");
    let f = Filter::parse(&format!("{at_limit} != 5")).unwrap();
    assert!(MetadataIndex::answers(&f));
    assert_eq!(index.evaluate(&f).unwrap().len(), 1);
    let beyond = vec!["a"; MAX_INDEXED_DEPTH + 1].join(".");
    let f = Filter::parse(&format!("{beyond} = 1 OR x = 1")).unwrap();
    assert!(!MetadataIndex::answers(&f));
    assert!(index.evaluate(&f).is_none());
    assert!(f.matches(&m), "the evaluator still answers it");
}

#[test]
fn memory_grows_with_the_postings() {
    let mut index = MetadataIndex::new();
    let empty = index.memory().bytes;
    for s in 0..10_000u32 {
        index.insert(s, &obj(json!({"tenant": format!("t{}", s % 100), "n": s})));
    }
    let m = index.memory();
    assert_eq!(m.fields, 2);
    assert_eq!(m.postings, 100 + 10_000);
    assert!(m.bytes > empty + 10_000 * 4, "{m:?}");
}

/// The bulk build gives exactly the index that inserting the records one by one gives, whatever
/// the slot order (ascending with gaps, as a store gives them, or shuffled), with repeated list
/// elements (`1` and `1.0` are one key), deep nesting, and then keeps working under inserts and
/// removals.
#[test]
fn bulk_build_equals_inserting_one_by_one() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut records: Vec<(u32, Map<String, Value>)> = Vec::new();
    let mut s = 0u32;
    for _ in 0..3000 {
        s += 1 + rng.below(3) as u32;
        records.push((s, gen_record(&mut rng)));
    }
    records.push((s + 1, obj(json!({"tags": [1, 1.0, "x", "x", true, true, null, null, [1], {"a": 1}]}))));
    records.push((s + 2, obj(json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}))));
    records.push((s + 3, obj(json!({"a": 2.5, "b": -0.0, "s": 18446744073709551615u64}))));
    let one_by_one = |records: &[(u32, Map<String, Value>)]| {
        let mut index = MetadataIndex::new();
        for (s, m) in records {
            index.insert(*s, m);
        }
        index
    };
    let built = MetadataIndex::build(records.iter().map(|(s, m)| (*s, m)));
    assert_eq!(built, one_by_one(&records));
    built.check_blocks();
    // Memory too, but for the range blocks (cut where the keys came in).
    let (a, b) = (built.memory(), one_by_one(&records).memory());
    assert_eq!((a.fields, a.postings), (b.fields, b.postings));

    let mut shuffled = records.clone();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i + 1));
    }
    let mut built = MetadataIndex::build(shuffled.iter().map(|(s, m)| (*s, m)));
    assert_eq!(built, one_by_one(&records));

    // Maintenance on the built index: removals and re-insertions, as updates and deletes do them.
    let mut expected = one_by_one(&records);
    for (s, m) in records.iter().step_by(3) {
        built.remove(*s, m);
        expected.remove(*s, m);
        let new = gen_record(&mut rng);
        built.insert(*s, &new);
        expected.insert(*s, &new);
    }
    assert_eq!(built, expected);
    built.check_blocks();
    assert_eq!(MetadataIndex::build(std::iter::empty()), MetadataIndex::new());
}

/// Numeric ranges over many distinct values (so that range blocks split, shrink and vanish), built
/// in bulk and then maintained through inserts, value changes and removals, against a scan; keys
/// come in below, inside and above the existing blocks, integers and fractions mixed.
#[test]
fn numeric_ranges_over_many_values_match_a_scan_through_writes() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let value = |rng: &mut Rng| -> Value {
        let i = rng.below(4000) as i64 - 2000;
        match rng.below(3) {
            0 => json!(i),
            1 => json!(i as f64 + 0.5),
            _ => json!(i as f64),
        }
    };
    let mut records: Vec<Option<Map<String, Value>>> =
        (0..3000).map(|_| Some(obj(json!({"n": value(&mut rng)})))).collect();
    let mut index = MetadataIndex::build(
        records.iter().enumerate().filter_map(|(s, m)| m.as_ref().map(|m| (s as u32, m))),
    );
    for round in 0..30 {
        index.check_blocks();
        for _ in 0..20 {
            let t = rng.below(4400) as i64 - 2200;
            let lit = if rng.chance(50) { format!("{t}") } else { format!("{t}.5") };
            for op in ["<", "<=", ">", ">=", "="] {
                let f = Filter::parse(&format!("n {op} {lit}")).unwrap();
                assert_eq!(
                    index.evaluate(&f).unwrap(),
                    matching(&records, &f),
                    "round {round}: n {op} {lit}"
                );
            }
        }
        for _ in 0..300 {
            let s = rng.below(records.len() + 50);
            if s >= records.len() {
                let m = obj(json!({"n": value(&mut rng)}));
                index.insert(records.len() as u32, &m);
                records.push(Some(m));
            } else if let Some(old) = records[s].take() {
                index.remove(s as u32, &old);
                if rng.chance(70) {
                    // Values drift to the ends over the rounds: new keys below and above every block.
                    let m =
                        obj(json!({"n": value(&mut rng).as_f64().unwrap() * (1.0 + round as f64 / 10.0)}));
                    index.insert(s as u32, &m);
                    records[s] = Some(m);
                }
            }
        }
    }
    for (s, m) in records.iter().enumerate() {
        if let Some(m) = m {
            index.remove(s as u32, m);
        }
    }
    assert!(index.is_empty());
}
