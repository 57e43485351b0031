//! The parsed form of a filter, and its canonical text.
//!
//! The tree is built once per query and evaluated against every candidate record, so everything that can
//! be decided at parse time is: field paths are split into segments, `IN` lists are sorted into a
//! [`InSet`] for binary search, and `AND`/`OR` chains are flattened into n-ary nodes (which also keeps
//! the tree shallow).
//!
//! The canonical text ([`fmt::Display`]) uses upper-case keywords, single-quoted strings, one space
//! around operators and parentheses only where precedence needs them. Parsing it gives back the same
//! tree, so `parse(display(f))` displays identically.

use std::cmp::Ordering;
use std::fmt::{self, Display};

/// A boolean expression over conditions. `And`/`Or` hold two or more children, never a child of their
/// own kind (the parser splices those in: `(a OR b) OR c` is `OR[a, b, c]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Condition),
}

/// One leaf: a field path, and the test applied to the value found there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub path: Path,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Cmp(CmpOp, Literal),
    /// `IN` (`negated == false`) or `NOT IN`. `items` keeps the source order for display; `set` answers
    /// membership.
    In {
        negated: bool,
        items: Vec<Literal>,
        set: InSet,
    },
    Contains(Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `field <op> literal` holds, given how the field's value orders against the literal.
    #[inline]
    pub fn accepts(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }
}

/// A field path: `a.b.c` is `["a", "b", "c"]` and walks nested JSON objects. A segment written in
/// backticks may contain any character, dots included (`` `a.b` `` is the single key `"a.b"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    pub segments: Box<[String]>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(Num),
    Bool(bool),
    Null,
}

/// A number literal. Integers are kept exact (`i128` holds every JSON integer serde_json can produce,
/// `i64` and `u64` alike), so `id = 18446744073709551615` is not rounded through `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    /// Always finite: the lexer rejects literals that overflow `f64`.
    Float(f64),
}

/// 2^127 as `f64`: integral floats strictly inside ±2^127 convert to `i128` exactly.
const TWO_POW_127: f64 = 1.7014118346046923e38;

impl Num {
    /// The same number, as an integer when it is an integral float that `i128` holds, so that equal
    /// numbers have one representation (used by [`InSet`]).
    #[inline]
    pub fn normalized(self) -> Num {
        match self {
            Num::Float(f) if f.fract() == 0.0 && f > -TWO_POW_127 && f < TWO_POW_127 => Num::Int(f as i128),
            n => n,
        }
    }

    /// Exact numeric order: integers against floats are compared without rounding the integer.
    #[inline]
    pub fn cmp_exact(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => cmp_int_float(a, b),
            (Num::Float(a), Num::Int(b)) => cmp_int_float(b, a).map(Ordering::reverse),
        }
    }
}

/// Compares an integer with a float exactly. Casting the integer to `f64` would round (2^53 + 1 would
/// equal 2^53 as a float), so compare integral parts as integers and let the fraction break ties.
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_127 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_127 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)),
        ord => Some(ord),
    }
}

/// The literals of an `IN` list, grouped by type and sorted so that membership is a binary search
/// whatever the list's length. Numbers are normalized (`1.0` is stored as the integer 1), so equal
/// numbers meet whichever way they were written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct InSet {
    pub strings: Vec<String>,
    pub ints: Vec<i128>,
    /// Non-integral (or beyond ±2^127) floats, sorted; never NaN.
    pub floats: Vec<f64>,
    pub has_true: bool,
    pub has_false: bool,
    pub has_null: bool,
}

impl InSet {
    pub fn new(items: &[Literal]) -> InSet {
        let mut set = InSet::default();
        for item in items {
            match item {
                Literal::Str(s) => set.strings.push(s.clone()),
                Literal::Num(n) => match n.normalized() {
                    Num::Int(i) => set.ints.push(i),
                    Num::Float(f) => set.floats.push(f),
                },
                Literal::Bool(true) => set.has_true = true,
                Literal::Bool(false) => set.has_false = true,
                Literal::Null => set.has_null = true,
            }
        }
        set.strings.sort_unstable();
        set.strings.dedup();
        set.ints.sort_unstable();
        set.ints.dedup();
        set.floats.sort_unstable_by(|a, b| a.total_cmp(b));
        set.floats.dedup();
        set
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(children) => write_joined(f, children, " OR ", 1),
            Expr::And(children) => write_joined(f, children, " AND ", 2),
            Expr::Not(child) => {
                f.write_str("NOT ")?;
                write_child(f, child, 2)
            }
            Expr::Cond(c) => c.fmt(f),
        }
    }
}

impl Expr {
    /// Binding strength: OR < AND < NOT < a condition.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Not(_) => 3,
            Expr::Cond(_) => 4,
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, children: &[Expr], sep: &str, own: u8) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_child(f, child, own)?;
    }
    Ok(())
}

/// Writes `child`, in parentheses when it binds no tighter than `parent` (a same-kind child is
/// parenthesised too, which only happens in trees built by hand: parsed trees are flattened).
fn write_child(f: &mut fmt::Formatter<'_>, child: &Expr, parent: u8) -> fmt::Result {
    if child.precedence() <= parent {
        write!(f, "({child})")
    } else {
        child.fmt(f)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.path)?;
        match &self.test {
            Test::Cmp(op, lit) => write!(f, "{} {lit}", op.symbol()),
            Test::Contains(lit) => write!(f, "CONTAINS {lit}"),
            Test::In { negated, items, .. } => {
                f.write_str(if *negated { "NOT IN (" } else { "IN (" })?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt(f)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if is_plain_identifier(seg) {
                f.write_str(seg)?;
            } else {
                write_quoted(f, seg, '`')?;
            }
        }
        Ok(())
    }
}

/// Whether `s` can be written bare as a path segment: an identifier that is not a keyword.
pub(crate) fn is_plain_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && super::lexer::Keyword::from_ident(s).is_none()
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_quoted(f, s, '\''),
            Literal::Num(n) => n.fmt(f),
            Literal::Bool(true) => f.write_str("true"),
            Literal::Bool(false) => f.write_str("false"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            // `{:?}` is the shortest text that parses back to the same f64, keeps a `.0` on integral
            // values (so the literal stays a float) and switches to exponent form for huge or tiny ones.
            Num::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// Writes `s` between `quote`s with the escapes the lexer reads back.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str, quote: char) -> fmt::Result {
    use fmt::Write;
    f.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c == quote => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}

#[cfg(test)]
mod tests;
