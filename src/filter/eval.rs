//! Evaluation of a parsed filter against one record's metadata.
//!
//! This runs once per candidate record, possibly millions of times per query, so it never allocates
//! and never clones a JSON value: it walks the pre-split path with borrowed lookups and compares in
//! place. The rules it implements are documented in the module docs of [`crate::filter`].

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::ast::{CmpOp, Condition, Expr, InSet, Literal, Num, Path, Test};

impl Expr {
    pub(crate) fn eval(&self, metadata: &Map<String, Value>) -> bool {
        match self {
            Expr::Or(children) => children.iter().any(|c| c.eval(metadata)),
            Expr::And(children) => children.iter().all(|c| c.eval(metadata)),
            Expr::Not(child) => !child.eval(metadata),
            Expr::Cond(c) => c.eval(metadata),
        }
    }

    /// Calls `f` on every leaf condition, in source order.
    pub(crate) fn for_each_condition<'a>(&'a self, f: &mut impl FnMut(&'a Condition)) {
        match self {
            Expr::Or(children) | Expr::And(children) => children.iter().for_each(|c| c.for_each_condition(f)),
            Expr::Not(child) => child.for_each_condition(f),
            Expr::Cond(c) => f(c),
        }
    }
}

impl Path {
    /// The value at this path, walking nested objects; `None` when any step is missing or not an object.
    #[inline]
    pub(crate) fn resolve<'m>(&self, metadata: &'m Map<String, Value>) -> Option<&'m Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut value = metadata.get(first)?;
        for segment in rest {
            value = value.as_object()?.get(segment)?;
        }
        Some(value)
    }
}

impl Condition {
    /// A missing field makes every test false, `!=` and `NOT IN` included.
    #[inline]
    pub(crate) fn eval(&self, metadata: &Map<String, Value>) -> bool {
        let Some(value) = self.path.resolve(metadata) else {
            return false;
        };
        match &self.test {
            Test::Cmp(CmpOp::Eq, lit) => equal(value, lit),
            // The field exists, so `!=` holds for any other value, of the same type or not.
            Test::Cmp(CmpOp::Ne, lit) => !equal(value, lit),
            Test::Cmp(op, lit) => order(value, lit).is_some_and(|ord| op.accepts(ord)),
            Test::In { negated, set, .. } => set.contains(value) != *negated,
            Test::Contains(lit) => match value {
                Value::String(s) => matches!(lit, Literal::Str(needle) if s.contains(needle.as_str())),
                Value::Array(items) => items.iter().any(|item| equal(item, lit)),
                _ => false,
            },
        }
    }
}

/// How a JSON value orders against a literal, for `<` `<=` `>` `>=`: only numbers against numbers
/// and strings against strings (by bytes, which is code point order) have an order.
#[inline]
fn order(value: &Value, lit: &Literal) -> Option<Ordering> {
    match (value, lit) {
        (Value::Number(n), Literal::Num(l)) => json_num(n)?.cmp_exact(*l),
        (Value::String(s), Literal::Str(l)) => Some(s.as_bytes().cmp(l.as_bytes())),
        _ => None,
    }
}

/// Equality of a JSON value and a literal: same type and same value, numbers by value (`1` = `1.0`).
/// Lists and objects equal no literal.
#[inline]
fn equal(value: &Value, lit: &Literal) -> bool {
    match (value, lit) {
        (Value::Number(n), Literal::Num(l)) => {
            json_num(n).and_then(|n| n.cmp_exact(*l)) == Some(Ordering::Equal)
        }
        (Value::String(s), Literal::Str(l)) => s == l,
        (Value::Bool(b), Literal::Bool(l)) => b == l,
        (Value::Null, Literal::Null) => true,
        _ => false,
    }
}

/// A JSON number as a [`Num`]; integers stay exact.
#[inline]
pub(super) fn json_num(n: &serde_json::Number) -> Option<Num> {
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i as i128))
    } else if let Some(u) = n.as_u64() {
        Some(Num::Int(u as i128))
    } else {
        n.as_f64().map(Num::Float)
    }
}

impl InSet {
    /// Whether `value` equals one of the literals (lists and objects never do).
    #[inline]
    pub(crate) fn contains(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => self.strings.binary_search_by(|x| x.as_str().cmp(s)).is_ok(),
            Value::Number(n) => match json_num(n).map(Num::normalized) {
                Some(Num::Int(i)) => self.ints.binary_search(&i).is_ok(),
                Some(Num::Float(f)) => self.floats.binary_search_by(|x| x.total_cmp(&f)).is_ok(),
                None => false,
            },
            Value::Bool(true) => self.has_true,
            Value::Bool(false) => self.has_false,
            Value::Null => self.has_null,
            Value::Array(_) | Value::Object(_) => false,
        }
    }
}
