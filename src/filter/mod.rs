//! The metadata filter language: `category = 'tech' AND (year >= 2020 OR tags CONTAINS 'rust')`.
//!
//! A query's filter is parsed once into a [`Filter`] and then tested against the metadata of every
//! candidate record with [`Filter::matches`], which does not allocate.
//!
//! # Syntax
//!
//! | Form | Meaning |
//! |------|---------|
//! | `field = v`, `!=`, `<`, `<=`, `>`, `>=` | comparison with a literal (`==` and `<>` are accepted for `=` and `!=`) |
//! | `field IN (v1, v2, ...)` | equal to one of the values (one to [`MAX_IN_ITEMS`] values) |
//! | `field NOT IN (v1, ...)` | the field exists and equals none of them |
//! | `field CONTAINS v` | a string field contains the string `v`; a list field has an element equal to `v` |
//! | `a AND b`, `a OR b`, `NOT a`, `( ... )` | boolean logic; precedence `NOT` > `AND` > `OR` |
//!
//! - Keywords (`AND OR NOT IN CONTAINS TRUE FALSE NULL`) are case-insensitive: `and`, `Not In`, `TRUE`.
//! - Literals: strings in single or double quotes, with the escapes `\'` `\"` `` \` `` `\\` `\/` `\n`
//!   `\t` `\r` `\b` `\f` `\0` and `\uXXXX` (a UTF-16 surrogate pair for characters beyond U+FFFF); any
//!   other escape is an error. Numbers: `42`, `-7`, `3.25`, `1e-3`, `-2.5E+4` (a digit is needed on both
//!   sides of a decimal point). `true`, `false`, `null`.
//! - Fields: an identifier `[A-Za-z_][A-Za-z0-9_]*`, or a dotted path `a.b.c` that walks nested JSON
//!   objects. A segment may be written in backticks to hold any character, with the same escapes as
//!   strings: `` `user id` ``, `` `a.b` `` (the single key `"a.b"`, not a path), `` `and` `` (a field
//!   named like a keyword must be quoted when it comes first).
//! - Whitespace between tokens is free; a filter must contain at least one condition.
//!
//! # Semantics
//!
//! - **Missing field** (or a path through something that is not an object): every condition on it is
//!   false, `!=` and `NOT IN` included. `NOT` is plain negation, so `NOT (x = 1)` is true when `x` is
//!   missing, while `x != 1` is false.
//! - **Equality** (`=`, `IN`, `CONTAINS` on lists) needs the same JSON type: numbers are equal by value
//!   whatever their spelling (`1`, `1.0`, `1e0`), compared exactly (integers are not rounded through
//!   floating point), strings byte for byte, booleans and null as themselves. A list or object field
//!   equals no literal: use `CONTAINS` for list membership.
//! - **`!=` and `NOT IN`** are true whenever the field exists and is not equal, including when its type
//!   differs (`'5' != 5` holds) or it is a list.
//! - **Order** (`<`, `<=`, `>`, `>=`) exists only between two numbers and between two strings (by bytes,
//!   which for UTF-8 is Unicode code point order); any other pairing (booleans, null, lists, a string
//!   against a number) makes the condition false.
//! - **`null`**: `x = null` is true when `x` exists and is JSON null; `x != null` when `x` exists and is
//!   anything else. A missing `x` satisfies neither.
//! - **`CONTAINS`**: a string field contains a string literal as a substring (case-sensitive; every string
//!   contains `''`); a list field contains an element equal to the literal; anything else is false.
//!
//! # Errors and limits
//!
//! Every rejection is [`Code::FilterSyntax`] with a message naming the byte position, the column (and the
//! line when the text has several), what was expected and what was found:
//! `filter syntax error at position 14 (column 15): expected a value (string, number, true, false or
//! null), found ')'`. Trailing tokens are an error, as is an empty filter. Limits keep a hostile filter
//! from costing much: at most [`MAX_FILTER_BYTES`] of text, [`MAX_DEPTH`] nested `(` / `NOT`, and
//! [`MAX_IN_ITEMS`] values per `IN` list.
//!
//! # Canonical text
//!
//! `Display` writes the filter in canonical form: upper-case keywords, single-quoted strings, one space
//! around operators, and parentheses only where precedence needs them (`a OR b AND c` stays as is,
//! `(a OR b) AND c` keeps its parentheses, `(a AND b) AND c` becomes `a AND b AND c`). Parsing the
//! canonical text gives the same filter back. It can be longer than the source (spaces are added), so a
//! filter close to [`MAX_FILTER_BYTES`] may have a canonical text over the limit.

mod ast;
mod eval;
pub mod index;
mod lexer;
mod parser;
#[cfg(test)]
pub(crate) mod tests;

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{Code, Error, Result};
pub use index::{IndexMemory, MetadataIndex};

/// Longest filter text accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 64 * 1024;
/// Deepest nesting of parentheses and `NOT` accepted; the parser recurses once per level.
pub const MAX_DEPTH: usize = 64;
/// Most values accepted in one `IN` / `NOT IN` list.
pub const MAX_IN_ITEMS: usize = 10_000;

/// A parsed metadata filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: ast::Expr,
}

/// One leaf condition of a filter and its outcome for one record (see [`Filter::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionResult {
    /// The condition in canonical text, e.g. `category = 'tech'`.
    pub condition: String,
    pub matched: bool,
}

impl Filter {
    /// Parses filter text. Errors are [`Code::FilterSyntax`] with the position and what was expected.
    pub fn parse(text: &str) -> Result<Filter> {
        if text.len() > MAX_FILTER_BYTES {
            let err = SyntaxError::new(
                floor_char_boundary(text, MAX_FILTER_BYTES),
                format!("expected a filter of at most {MAX_FILTER_BYTES} bytes, found {} bytes", text.len()),
            );
            return Err(err.into_error(text));
        }
        parser::parse(text).map(|root| Filter { root }).map_err(|e| e.into_error(text))
    }

    /// Whether a record with this metadata passes the filter. Allocation-free; see the module docs for
    /// the rules.
    #[inline]
    pub fn matches(&self, metadata: &Map<String, Value>) -> bool {
        self.root.eval(metadata)
    }

    /// Every leaf condition, in source order, as canonical text, with whether it holds for this record
    /// on its own (each is evaluated, even where `AND`/`OR` would have stopped early), for query explain.
    pub fn explain(&self, metadata: &Map<String, Value>) -> Vec<ConditionResult> {
        let mut out = Vec::new();
        self.root.for_each_condition(&mut |c| {
            out.push(ConditionResult { condition: c.to_string(), matched: c.eval(metadata) })
        });
        out
    }

    /// The distinct field paths the filter refers to, in canonical text and in order of first use.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.root.for_each_condition(&mut |c| {
            let path = c.path.to_string();
            if !out.contains(&path) {
                out.push(path);
            }
        });
        out
    }

    /// The number of leaf conditions (a field used twice counts twice).
    pub fn condition_count(&self) -> usize {
        let mut n = 0;
        self.root.for_each_condition(&mut |_| n += 1);
        n
    }
}

impl fmt::Display for Filter {
    /// The canonical text (see the module docs); it parses back to an equal filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

impl FromStr for Filter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Filter> {
        Filter::parse(s)
    }
}

/// A syntax error before it is turned into an [`Error`]: the byte position and the
/// "expected ..., found ..." text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: usize,
    pub message: String,
}

impl SyntaxError {
    pub(crate) fn new(pos: usize, message: String) -> Self {
        SyntaxError { pos, message }
    }

    fn into_error(self, text: &str) -> Error {
        let pos = floor_char_boundary(text, self.pos);
        let before = &text[..pos];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let place = if text.contains('\n') {
            let line = before.matches('\n').count() + 1;
            format!("line {line}, column {column}")
        } else {
            format!("column {column}")
        };
        Error::new(
            Code::FilterSyntax,
            format!("filter syntax error at position {pos} ({place}): {}", self.message),
        )
    }
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
