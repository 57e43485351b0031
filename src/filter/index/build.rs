//! The bulk build of a [`MetadataIndex`] from every record at once (what a store's open does).
//!
//! Inserting record by record costs, per field of every record, a `String` for the path segment, a
//! hash of the whole path, a B-tree search for the value and a bitmap insert. A store's open pays
//! that for every record (17.9 s for 1M records), so the bulk build instead:
//! - interns field paths as `(parent field, key)` pairs borrowed from the records (no allocation per
//!   field per record) and string values as `&str` in a hash map;
//! - collects each posting as a plain `Vec<u32>` of slots (already sorted when the slots come in
//!   ascending order, as a store gives them), numbers grouped by a hash of their exact key;
//! - turns every list into its bitmap once, with `from_sorted_iter`, and every value map into its
//!   B-tree from its distinct keys sorted once.
//!
//! The result is exactly the index that inserting the records one by one gives (a test checks it).

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use super::blocks::NumBlocks;
use super::{Field, MetadataIndex, NumKey, Paths, Postings, MAX_INDEXED_DEPTH};
use crate::filter::eval::json_num;

type Hasher = foldhash::fast::RandomState;

/// No parent: a top-level key.
const ROOT: u32 = u32::MAX;

/// Slots in the order they were added; `sorted` until a slot comes in below the last one.
#[derive(Default)]
struct SlotList {
    slots: Vec<u32>,
    sorted: bool,
}

impl SlotList {
    #[inline]
    fn push(&mut self, s: u32) {
        match self.slots.last() {
            None => self.sorted = true,
            // The same slot again: a list with a repeated element.
            Some(&last) if last == s => return,
            Some(&last) if last > s => self.sorted = false,
            Some(_) => {}
        }
        self.slots.push(s);
    }

    fn into_bitmap(mut self) -> RoaringBitmap {
        if !self.sorted {
            self.slots.sort_unstable();
            self.slots.dedup();
        }
        RoaringBitmap::from_sorted_iter(self.slots).expect("sorted and deduplicated")
    }
}

#[derive(Default)]
struct PostingsBuilder<'a> {
    strings: HashMap<&'a str, SlotList, Hasher>,
    nums: HashMap<NumKey, SlotList, Hasher>,
    trues: SlotList,
    falses: SlotList,
    nulls: SlotList,
}

impl<'a> PostingsBuilder<'a> {
    #[inline]
    fn insert(&mut self, v: &'a Value, s: u32) {
        match v {
            Value::String(k) => self.strings.entry(k.as_str()).or_default().push(s),
            Value::Number(n) => {
                if let Some(n) = json_num(n) {
                    self.nums.entry(NumKey::new(n)).or_default().push(s);
                }
            }
            Value::Bool(true) => self.trues.push(s),
            Value::Bool(false) => self.falses.push(s),
            Value::Null => self.nulls.push(s),
            Value::Array(_) | Value::Object(_) => {}
        }
    }

    fn finish(self) -> Postings {
        let mut strings: Vec<(&str, SlotList)> = self.strings.into_iter().collect();
        strings.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let strings: BTreeMap<String, RoaringBitmap> =
            strings.into_iter().map(|(k, l)| (k.to_owned(), l.into_bitmap())).collect();

        // Distinct numbers are few next to their occurrences: sort those, not the (value, slot) pairs.
        let mut nums: Vec<(NumKey, SlotList)> = self.nums.into_iter().collect();
        nums.sort_unstable_by_key(|a| a.0);
        let num_map: BTreeMap<NumKey, RoaringBitmap> =
            nums.into_iter().map(|(k, l)| (k, l.into_bitmap())).collect();

        Postings {
            strings,
            nums: num_map,
            trues: self.trues.into_bitmap(),
            falses: self.falses.into_bitmap(),
            nulls: self.nulls.into_bitmap(),
        }
    }
}

struct FieldBuilder<'a> {
    /// The path's segments, borrowed from the first record that has it.
    path: Vec<&'a str>,
    exists: SlotList,
    values: PostingsBuilder<'a>,
    elements: PostingsBuilder<'a>,
}

struct Builder<'a> {
    /// `(parent field, key)` -> field number.
    ids: HashMap<(u32, &'a str), u32, Hasher>,
    /// Per parent (the root first, then field `f` at `f + 1`), the field found at each position of
    /// the last object seen there: records mostly share their keys, so one string comparison finds
    /// the field without hashing the key.
    hints: Vec<Vec<u32>>,
    fields: Vec<FieldBuilder<'a>>,
    all: SlotList,
}

impl<'a> Builder<'a> {
    /// The field of `key` under `parent`, at position `pos` of its object.
    #[inline]
    fn field_at(&mut self, parent: u32, pos: usize, key: &'a str) -> u32 {
        let h = parent.wrapping_add(1) as usize;
        if let Some(&id) = self.hints[h].get(pos) {
            if self.fields[id as usize].path.last() == Some(&key) {
                return id;
            }
        }
        let id = self.field(parent, key);
        let hints = &mut self.hints[h];
        if hints.len() <= pos {
            hints.resize(pos + 1, id);
        }
        hints[pos] = id;
        id
    }

    fn field(&mut self, parent: u32, key: &'a str) -> u32 {
        let next = self.fields.len() as u32;
        let id = *self.ids.entry((parent, key)).or_insert(next);
        if id == next {
            let mut path =
                if parent == ROOT { Vec::new() } else { self.fields[parent as usize].path.clone() };
            path.push(key);
            self.hints.push(Vec::new());
            self.fields.push(FieldBuilder {
                path,
                exists: SlotList::default(),
                values: PostingsBuilder::default(),
                elements: PostingsBuilder::default(),
            });
        }
        id
    }

    /// What [`MetadataIndex::insert`] indexes, in the same walk (see `walk`).
    fn add(&mut self, s: u32, metadata: &'a Map<String, Value>, parent: u32, depth: usize) {
        for (pos, (k, v)) in metadata.iter().enumerate() {
            let id = self.field_at(parent, pos, k.as_str());
            let field = &mut self.fields[id as usize];
            field.exists.push(s);
            match v {
                Value::Array(items) => items.iter().for_each(|item| field.elements.insert(item, s)),
                v => field.values.insert(v, s),
            }
            if let Value::Object(inner) = v {
                if depth < MAX_INDEXED_DEPTH {
                    self.add(s, inner, id, depth + 1);
                }
            }
        }
    }

    fn finish(self) -> MetadataIndex {
        let mut fields = Paths::with_capacity_and_hasher(self.fields.len(), Default::default());
        for f in self.fields {
            let path: Box<[String]> = f.path.iter().map(|&k| k.to_owned()).collect();
            let values = f.values.finish();
            let num_blocks = NumBlocks::build(&values.nums);
            let field =
                Field { exists: f.exists.into_bitmap(), values, elements: f.elements.finish(), num_blocks };
            fields.insert(path, field);
        }
        MetadataIndex { fields, all: self.all.into_bitmap() }
    }
}

/// See the module docs; slots in any order, each at most once.
pub(super) fn build<'a>(records: impl IntoIterator<Item = (u32, &'a Map<String, Value>)>) -> MetadataIndex {
    let mut b = Builder {
        ids: HashMap::default(),
        hints: vec![Vec::new()],
        fields: Vec::new(),
        all: SlotList::default(),
    };
    for (s, m) in records {
        b.all.push(s);
        b.add(s, m, ROOT, 1);
    }
    b.finish()
}
