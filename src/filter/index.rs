//! The metadata index: per-field postings of slots, so that a filter is answered with bitmap
//! operations instead of evaluating it on every record's JSON.
//!
//! For every field path (`a`, and `a.b` inside a nested object) the index keeps
//! - `exists`: the slots where the path resolves (whatever the value's type);
//! - `values`: value -> slots, for scalar values (strings, numbers, booleans, null), with strings and
//!   numbers in sorted maps so that `<`, `<=`, `>`, `>=` are range unions;
//! - `elements`: the same for the scalar elements of list values (`tags CONTAINS 'rust'`).
//!
//! Every operator of the filter language is answered exactly as [`Filter::matches`] would answer it
//! record by record (the differential tests check it): `!=` and `NOT IN` are `exists` minus the
//! equal slots, `NOT` is every indexed slot minus its operand, substring `CONTAINS` unions the
//! distinct strings of the field that contain the needle. Numbers are keyed by exact value (`1` and
//! `1.0` are one key, integers are never rounded through `f64`). Paths deeper than
//! [`MAX_INDEXED_DEPTH`] segments are not indexed: [`MetadataIndex::evaluate`] returns `None` for a
//! filter that uses one, and the caller evaluates that filter record by record.
//!
//! The index knows slots (`u32`) and metadata maps, nothing of the store: the store tells it what
//! each slot holds ([`MetadataIndex::insert`], [`MetadataIndex::remove`]) and keeps visibility
//! (deletes, expiry) itself.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use roaring::{MultiOps, RoaringBitmap};
use serde_json::{Map, Value};

use blocks::NumBlocks;

use super::ast::{CmpOp, Condition, Expr, Literal, Num, Test};
use super::eval::json_num;
use super::Filter;

/// Longest field path (in segments) that is indexed; objects nested deeper are not walked.
pub const MAX_INDEXED_DEPTH: usize = 8;

/// A number as an index key: normalized (integral floats are integers) and totally ordered by exact
/// value, as the evaluator compares numbers.
#[derive(Debug, Clone, Copy)]
struct NumKey(Num);

impl NumKey {
    fn new(n: Num) -> NumKey {
        NumKey(n.normalized())
    }
}

impl PartialEq for NumKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for NumKey {}
impl PartialOrd for NumKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for NumKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Never NaN: JSON has none and the lexer rejects non-finite literals.
        self.0.cmp_exact(other.0).unwrap_or(Ordering::Equal)
    }
}

/// Consistent with the exact equality above because keys are normalized: an integral float is an
/// `Int` (`-0.0` too), so equal keys have the same variant and the same bits, and a `Float` (not
/// integral, or beyond `i128`) never equals an `Int`. The bulk build groups numbers by hash.
impl std::hash::Hash for NumKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.0 {
            Num::Int(i) => (0u8, i).hash(state),
            Num::Float(f) => (1u8, f.to_bits()).hash(state),
        }
    }
}

/// Value -> slots for one kind of occurrence (scalar values, or list elements) of one field.
#[derive(Debug, Default, Clone)]
// Equality only for the tests: the bulk build must give what inserting one by one gives.
#[cfg_attr(test, derive(PartialEq))]
struct Postings {
    strings: BTreeMap<String, RoaringBitmap>,
    nums: BTreeMap<NumKey, RoaringBitmap>,
    trues: RoaringBitmap,
    falses: RoaringBitmap,
    nulls: RoaringBitmap,
}

/// Adds `s` to a bitmap: an append when it is the largest (the common case: new records take new
/// slots), an insert otherwise.
#[inline]
fn add(bm: &mut RoaringBitmap, s: u32) {
    if bm.try_push(s).is_err() {
        bm.insert(s);
    }
}

impl Postings {
    /// The bitmap of a scalar value, created when missing; `None` for lists and objects.
    fn entry(&mut self, v: &Value) -> Option<&mut RoaringBitmap> {
        Some(match v {
            Value::String(s) => {
                if !self.strings.contains_key(s.as_str()) {
                    self.strings.insert(s.clone(), RoaringBitmap::new());
                }
                self.strings.get_mut(s.as_str()).expect("just inserted")
            }
            Value::Number(n) => self.nums.entry(NumKey::new(json_num(n)?)).or_default(),
            Value::Bool(true) => &mut self.trues,
            Value::Bool(false) => &mut self.falses,
            Value::Null => &mut self.nulls,
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    fn insert(&mut self, v: &Value, s: u32) {
        if let Some(bm) = self.entry(v) {
            add(bm, s);
        }
    }

    fn remove(&mut self, v: &Value, s: u32) {
        match v {
            Value::String(k) => {
                if let Some(bm) = self.strings.get_mut(k.as_str()) {
                    bm.remove(s);
                    if bm.is_empty() {
                        self.strings.remove(k.as_str());
                    }
                }
            }
            Value::Number(n) => {
                let Some(key) = json_num(n).map(NumKey::new) else { return };
                if let Some(bm) = self.nums.get_mut(&key) {
                    bm.remove(s);
                    if bm.is_empty() {
                        self.nums.remove(&key);
                    }
                }
            }
            Value::Bool(true) => {
                self.trues.remove(s);
            }
            Value::Bool(false) => {
                self.falses.remove(s);
            }
            Value::Null => {
                self.nulls.remove(s);
            }
            Value::Array(_) | Value::Object(_) => {}
        }
    }

    /// The slots whose value equals the literal (same type, numbers by value).
    fn equal(&self, lit: &Literal) -> Option<&RoaringBitmap> {
        match lit {
            Literal::Str(s) => self.strings.get(s.as_str()),
            Literal::Num(n) => self.nums.get(&NumKey::new(*n)),
            Literal::Bool(true) => Some(&self.trues),
            Literal::Bool(false) => Some(&self.falses),
            Literal::Null => Some(&self.nulls),
        }
    }

    /// The slots whose value orders against the literal as `op` asks (numbers against numbers,
    /// strings against strings; nothing else has an order).
    fn range(&self, op: CmpOp, lit: &Literal) -> RoaringBitmap {
        match lit {
            Literal::Num(n) => self.nums.range(bounds(op, NumKey::new(*n))).map(|(_, bm)| bm).union(),
            Literal::Str(s) => self.strings.range::<str, _>(bounds(op, s.as_str())).map(|(_, bm)| bm).union(),
            Literal::Bool(_) | Literal::Null => RoaringBitmap::new(),
        }
    }

    fn heap_bytes(&self) -> usize {
        let bm = |b: &RoaringBitmap| b.serialized_size();
        // A B-tree entry costs about its key and value plus a share of its node.
        const ENTRY: usize = 16;
        self.strings.iter().map(|(k, b)| k.capacity() + 24 + bm(b) + ENTRY + 32).sum::<usize>()
            + self.nums.values().map(|b| bm(b) + 24 + ENTRY + 32).sum::<usize>()
            + bm(&self.trues)
            + bm(&self.falses)
            + bm(&self.nulls)
    }
}

/// The bounds of the values that order against `t` as `op` asks.
fn bounds<T>(op: CmpOp, t: T) -> (Bound<T>, Bound<T>) {
    match op {
        CmpOp::Lt => (Bound::Unbounded, Bound::Excluded(t)),
        CmpOp::Le => (Bound::Unbounded, Bound::Included(t)),
        CmpOp::Gt => (Bound::Excluded(t), Bound::Unbounded),
        CmpOp::Ge => (Bound::Included(t), Bound::Unbounded),
        CmpOp::Eq | CmpOp::Ne => unreachable!("range is only called for an order"),
    }
}

/// Everything indexed under one field path.
#[derive(Debug, Default, Clone)]
struct Field {
    /// Slots where the path resolves, whatever the value.
    exists: RoaringBitmap,
    /// Scalar values.
    values: Postings,
    /// Scalar elements of list values.
    elements: Postings,
    /// Range blocks over `values.nums`, for `<`, `<=`, `>`, `>=` on numbers.
    num_blocks: NumBlocks,
}

// Equality only for the tests: the bulk build must index what inserting one by one indexes. The
// blocks are left out: where they are cut depends on the order keys came in (the tests check them
// against the postings instead).
#[cfg(test)]
impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.exists == other.exists && self.values == other.values && self.elements == other.elements
    }
}

impl Field {
    /// Indexes the scalar (or object) value `v` of slot `s`.
    fn insert_value(&mut self, v: &Value, s: u32) {
        match v {
            Value::Number(n) => {
                let Some(key) = json_num(n).map(NumKey::new) else { return };
                let new_key = !self.values.nums.contains_key(&key);
                add(self.values.nums.entry(key).or_default(), s);
                self.num_blocks.insert(&self.values.nums, key, s, new_key);
            }
            v => self.values.insert(v, s),
        }
    }

    fn remove_value(&mut self, v: &Value, s: u32) {
        if let Value::Number(n) = v {
            let Some(key) = json_num(n).map(NumKey::new) else { return };
            if !self.values.nums.contains_key(&key) {
                return;
            }
            self.values.remove(v, s);
            self.num_blocks.remove(&key, s, !self.values.nums.contains_key(&key));
        } else {
            self.values.remove(v, s);
        }
    }

    /// The slots whose scalar value orders against `lit` as `op` asks.
    fn range(&self, op: CmpOp, lit: &Literal) -> RoaringBitmap {
        match lit {
            Literal::Num(n) => {
                let (lo, hi) = bounds(op, NumKey::new(*n));
                self.num_blocks.range(&self.values.nums, lo, hi)
            }
            lit => self.values.range(op, lit),
        }
    }
}

type Paths = HashMap<Box<[String]>, Field, foldhash::fast::RandomState>;

/// Per-field postings of the slots of a store (see the module docs).
#[derive(Debug, Default, Clone)]
// Equality only for the tests: the bulk build must give what inserting one by one gives.
#[cfg_attr(test, derive(PartialEq))]
pub struct MetadataIndex {
    fields: Paths,
    /// Every slot indexed (the universe of `NOT`).
    all: RoaringBitmap,
}

/// What [`MetadataIndex::memory`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexMemory {
    /// Approximate heap bytes of the postings, keys and maps.
    pub bytes: usize,
    /// Distinct field paths indexed.
    pub fields: usize,
    /// Distinct (field, value) postings.
    pub postings: usize,
}

impl MetadataIndex {
    pub fn new() -> MetadataIndex {
        MetadataIndex::default()
    }

    /// Builds the index of `(slot, metadata)` pairs, each slot at most once (ascending slots build
    /// fastest): the same index as inserting them one by one, built in bulk (see the private `build`
    /// module).
    pub fn build<'a>(records: impl IntoIterator<Item = (u32, &'a Map<String, Value>)>) -> MetadataIndex {
        build::build(records)
    }

    /// Slots indexed.
    pub fn len(&self) -> u64 {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Indexes slot `s` holding `metadata` (a slot must not be indexed twice without a `remove`).
    pub fn insert(&mut self, s: u32, metadata: &Map<String, Value>) {
        add(&mut self.all, s);
        let mut path = Vec::new();
        walk(&mut self.fields, &mut path, metadata, &mut |field, v| {
            add(&mut field.exists, s);
            match v {
                Value::Array(items) => items.iter().for_each(|item| field.elements.insert(item, s)),
                v => field.insert_value(v, s),
            }
        });
    }

    /// Removes slot `s`, which was indexed holding `metadata`.
    pub fn remove(&mut self, s: u32, metadata: &Map<String, Value>) {
        if !self.all.remove(s) {
            return;
        }
        let mut path = Vec::new();
        let mut emptied = Vec::new();
        walk(&mut self.fields, &mut path, metadata, &mut |field, v| {
            field.exists.remove(s);
            match v {
                Value::Array(items) => items.iter().for_each(|item| field.elements.remove(item, s)),
                v => field.remove_value(v, s),
            }
            if field.exists.is_empty() {
                emptied.push(());
            }
        });
        if !emptied.is_empty() {
            self.fields.retain(|_, f| !f.exists.is_empty());
        }
    }

    /// The slots that pass `filter`, exactly as [`Filter::matches`] decides on their metadata;
    /// `None` when the filter uses a path the index does not hold ([`MAX_INDEXED_DEPTH`]).
    pub fn evaluate(&self, filter: &Filter) -> Option<RoaringBitmap> {
        self.expr(&filter.root).map(Cow::into_owned)
    }

    /// Whether [`MetadataIndex::evaluate`] can answer this filter.
    pub fn answers(filter: &Filter) -> bool {
        let mut ok = true;
        filter.root.for_each_condition(&mut |c| ok &= c.path.segments.len() <= MAX_INDEXED_DEPTH);
        ok
    }

    fn expr(&self, e: &Expr) -> Option<Cow<'_, RoaringBitmap>> {
        Some(match e {
            Expr::Cond(c) => self.condition(c)?,
            Expr::Not(child) => Cow::Owned(&self.all - self.expr(child)?.as_ref()),
            Expr::And(children) => {
                let mut parts = children.iter().map(|c| self.expr(c)).collect::<Option<Vec<_>>>()?;
                // Smallest first: every intersection is then at most that small.
                parts.sort_by_key(|b| b.len());
                let mut it = parts.into_iter();
                let mut acc = it.next().expect("AND has children").into_owned();
                for b in it {
                    if acc.is_empty() {
                        break;
                    }
                    acc &= b.as_ref();
                }
                Cow::Owned(acc)
            }
            Expr::Or(children) => {
                let parts = children.iter().map(|c| self.expr(c)).collect::<Option<Vec<_>>>()?;
                Cow::Owned(parts.iter().map(|b| b.as_ref()).union())
            }
        })
    }

    fn condition(&self, c: &Condition) -> Option<Cow<'_, RoaringBitmap>> {
        if c.path.segments.len() > MAX_INDEXED_DEPTH {
            return None;
        }
        let Some(field) = self.fields.get(&c.path.segments[..]) else {
            // No indexed slot has this field: every condition on it is false.
            return Some(Cow::Owned(RoaringBitmap::new()));
        };
        Some(match &c.test {
            Test::Cmp(CmpOp::Eq, lit) => borrowed(field.values.equal(lit)),
            Test::Cmp(CmpOp::Ne, lit) => Cow::Owned(match field.values.equal(lit) {
                Some(eq) => &field.exists - eq,
                None => field.exists.clone(),
            }),
            Test::Cmp(op, lit) => Cow::Owned(field.range(*op, lit)),
            Test::In { negated, set, .. } => {
                let v = &field.values;
                let nums = set.ints.iter().map(|&i| NumKey::new(Num::Int(i)));
                let floats = set.floats.iter().map(|&f| NumKey::new(Num::Float(f)));
                let mut parts: Vec<&RoaringBitmap> = set
                    .strings
                    .iter()
                    .filter_map(|s| v.strings.get(s.as_str()))
                    .chain(nums.chain(floats).filter_map(|k| v.nums.get(&k)))
                    .collect();
                if set.has_true {
                    parts.push(&v.trues);
                }
                if set.has_false {
                    parts.push(&v.falses);
                }
                if set.has_null {
                    parts.push(&v.nulls);
                }
                let any = if parts.len() == 1 { Cow::Borrowed(parts[0]) } else { Cow::Owned(parts.union()) };
                if *negated {
                    Cow::Owned(&field.exists - any.as_ref())
                } else {
                    any
                }
            }
            Test::Contains(Literal::Str(needle)) => {
                // A string field containing the needle, or a list with an element equal to it.
                let substrings = field.values.strings.iter().filter(|(k, _)| k.contains(needle.as_str()));
                let element = field.elements.strings.get(needle.as_str());
                let parts: Vec<&RoaringBitmap> = substrings.map(|(_, b)| b).chain(element).collect();
                Cow::Owned(parts.union())
            }
            Test::Contains(lit) => borrowed(field.elements.equal(lit)),
        })
    }

    /// Approximate memory of the index.
    pub fn memory(&self) -> IndexMemory {
        let mut m = IndexMemory { fields: self.fields.len(), ..IndexMemory::default() };
        m.bytes = self.all.serialized_size();
        for (path, f) in &self.fields {
            m.bytes += path.iter().map(|s| s.capacity() + 24).sum::<usize>()
                + 64
                + f.exists.serialized_size()
                + f.values.heap_bytes()
                + f.elements.heap_bytes()
                + f.num_blocks.heap_bytes();
            m.postings += f.values.strings.len()
                + f.values.nums.len()
                + f.elements.strings.len()
                + f.elements.nums.len();
        }
        m
    }
}

#[cfg(test)]
impl MetadataIndex {
    /// Checks every field's range blocks against its postings (see `blocks`).
    pub(crate) fn check_blocks(&self) {
        for f in self.fields.values() {
            f.num_blocks.check(&f.values.nums);
        }
    }
}

fn borrowed(b: Option<&RoaringBitmap>) -> Cow<'_, RoaringBitmap> {
    b.map_or_else(|| Cow::Owned(RoaringBitmap::new()), Cow::Borrowed)
}

/// Calls `f` on every (path, value) of `metadata` up to [`MAX_INDEXED_DEPTH`] segments deep, with the
/// field of that path (created when missing): every key, and inside nested objects every key again.
fn walk(
    fields: &mut Paths,
    path: &mut Vec<String>,
    metadata: &Map<String, Value>,
    f: &mut impl FnMut(&mut Field, &Value),
) {
    for (k, v) in metadata {
        path.push(k.clone());
        if !fields.contains_key(&path[..]) {
            fields.insert(path.clone().into_boxed_slice(), Field::default());
        }
        let field = fields.get_mut(&path[..]).expect("just inserted");
        f(field, v);
        if let Value::Object(inner) = v {
            if path.len() < MAX_INDEXED_DEPTH {
                walk(fields, path, inner, f);
            }
        }
        path.pop();
    }
}

mod blocks;
mod build;
#[cfg(test)]
mod tests;
