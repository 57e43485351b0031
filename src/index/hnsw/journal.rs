//! The graph's edit journal: every change made to the graph since it was last saved, so that a
//! checkpoint writes what changed rather than the whole graph (about 130 MB at 1M nodes).
//!
//! Saving only the lists that changed is not enough: one insertion rewrites its own lists and
//! up to `m` lists of its neighbours per level, so between two checkpoints of a 1M-node store a
//! large share of all lists changes (each by a word or two). The journal records the words that
//! changed instead, in the order they changed:
//! ```text
//! GROW   1u8, end u32                 nodes len..end allocated (levels drawn from the seed)
//! LIST   2u8, node u32, level u8, count u16, stores u16, stores x (position u16, id u32)
//!                                     the list's count, and the words written into it
//! ENTRY  3u8, entry u32, level u8     the entry point changed
//! RUN    4u8, node u32, level u8, count u16, first u16, n u16, n x id u32
//!                                     the list's count, and n words written from position first
//! APPEND 5u8, node u32, level u8, id u32
//!                                     id added after the list's last word (its count one more)
//! PUT    6u8, node u32, level u8, position u16, id u32
//!                                     one word written, the count unchanged
//! ```
//! (integers little-endian). Replaying the entries in order on the graph as it was saved gives the
//! graph exactly, word for word ([`Hnsw::apply_journal`]). RUN, APPEND and PUT (journal format 2)
//! say what LIST says in fewer bytes for the three writes that make up almost all of a journal:
//! a new node's list (positions 0..n), a link added to a list with room, and a pruned list where
//! the new link took the place of the one dropped. Measured on a 10k-node bulk insert into a 40k x
//! 128 graph, as LIST alone: 35% of the bytes were new lists, 39% appends, 23% single puts; the
//! three kinds take the journal from 3.17 MB to about 2.2 MB, about 330 bytes per insertion at 128
//! dimensions, against the 570 bytes of its log frame. Format 1 journals (LIST only) still replay.
//!
//! Every list write is journaled while the node's lock (in a parallel build) is held, into one
//! mutex-guarded buffer, so the journal's order of the entries of any one list is the order the
//! list was written in, which is all a replay needs: entries of different lists commute.
//!
//! The journal is off until [`Hnsw::take_journal`] starts it. Past its limit it stops recording
//! and says so (`take_journal` then gives `None`: the caller must save the whole graph).

use std::sync::atomic::Ordering::Relaxed;

use super::{Grown, Hnsw, Reader, NONE};

const GROW: u8 = 1;
const LIST: u8 = 2;
const ENTRY: u8 = 3;
const RUN: u8 = 4;
const APPEND: u8 = 5;
const PUT: u8 = 6;
/// The smallest journal entry a replay can meet once per node it allocates: an APPEND. Bounds
/// what a damaged GROW may allocate.
const MIN_LIST_ENTRY: usize = 1 + 4 + 1 + 4;
/// How many entries ahead of the one applied a replay prefetches (see [`Hnsw::apply_journal`]).
const PREFETCH_AHEAD: usize = 16;

/// The recorded edits, up to a limit.
#[derive(Debug)]
pub(super) struct Journal {
    bytes: Vec<u8>,
    limit: usize,
    /// Past the limit: nothing more is recorded, and what was is dropped.
    overflowed: bool,
    /// Record LIST entries only, as format 1 did (for the tests that older journals still replay).
    format_1: bool,
}

impl Journal {
    /// Whether an entry of `len` bytes may be recorded (false once past the limit).
    fn reserve(&mut self, len: usize) -> bool {
        if !self.overflowed && self.bytes.len() + len > self.limit {
            self.overflowed = true;
            self.bytes = Vec::new();
        }
        !self.overflowed
    }

    /// Whether the journal records (not past its limit).
    pub(super) fn recording(&self) -> bool {
        !self.overflowed
    }

    /// Records a write of `node`'s list at `level`: its count before and after, and the words it
    /// changed (ascending positions). The caller holds the node's lock (in a parallel build), so
    /// entries of one list are in order. Chooses the shortest kind that says it.
    pub(super) fn push_list(
        &mut self,
        node: u32,
        level: usize,
        old_count: usize,
        count: usize,
        stores: &[(u16, u32)],
    ) {
        // A write that only moved the end (a pruned list that lost its last words) changes the
        // count alone: it is journaled too (a LIST with no stores), or a replay would keep them.
        if stores.is_empty() && count == old_count {
            return;
        }
        let first = stores.first().map_or(0, |&(pos, _)| pos);
        let n = stores.len();
        let run = stores.iter().enumerate().all(|(i, &(pos, _))| usize::from(pos) == usize::from(first) + i);
        let tag = match () {
            _ if self.format_1 || n == 0 => LIST,
            _ if n == 1 && usize::from(first) == old_count && count == old_count + 1 => APPEND,
            _ if n == 1 && count == old_count => PUT,
            _ if run => RUN,
            _ => LIST,
        };
        let len = match tag {
            APPEND => 10,
            PUT => 12,
            RUN => 12 + 4 * n,
            _ => 10 + 6 * n,
        };
        if !self.reserve(len) {
            return;
        }
        // Counts and positions fit in u16: a list holds at most 2 * MAX_M ids.
        let e = &mut self.bytes;
        e.push(tag);
        e.extend_from_slice(&node.to_le_bytes());
        e.push(level as u8);
        match tag {
            APPEND => e.extend_from_slice(&stores[0].1.to_le_bytes()),
            PUT => {
                e.extend_from_slice(&first.to_le_bytes());
                e.extend_from_slice(&stores[0].1.to_le_bytes());
            }
            RUN => {
                e.extend_from_slice(&(count as u16).to_le_bytes());
                e.extend_from_slice(&first.to_le_bytes());
                e.extend_from_slice(&(n as u16).to_le_bytes());
                for &(_, id) in stores {
                    e.extend_from_slice(&id.to_le_bytes());
                }
            }
            _ => {
                e.extend_from_slice(&(count as u16).to_le_bytes());
                e.extend_from_slice(&(n as u16).to_le_bytes());
                for &(pos, id) in stores {
                    e.extend_from_slice(&pos.to_le_bytes());
                    e.extend_from_slice(&id.to_le_bytes());
                }
            }
        }
    }

    fn push(&mut self, entry: &[u8]) {
        if self.reserve(entry.len()) {
            self.bytes.extend_from_slice(entry);
        }
    }
}

/// The words of a list that a write changed: `(position, id)`.
pub(super) type Stores = smallvec::SmallVec<[(u16, u32); 64]>;

impl Hnsw {
    /// The edits journaled since the last call (`None` when the journal was off or went past its
    /// limit: then only the whole graph describes the change), and restarts the journal, empty,
    /// recording at most `limit` bytes from now on.
    pub fn take_journal(&self, limit: usize) -> Option<Vec<u8>> {
        let fresh = Journal { bytes: Vec::new(), limit, overflowed: false, format_1: false };
        let old = self.journal.lock().replace(fresh)?;
        (!old.overflowed).then_some(old.bytes)
    }

    /// From now until the next [`Hnsw::take_journal`], records LIST entries only, as a format 1
    /// journal has them.
    #[cfg(test)]
    pub(crate) fn journal_as_format_1(&self) {
        if let Some(j) = self.journal.lock().as_mut() {
            j.format_1 = true;
        }
    }

    /// Whether the journal is recording (started and not past its limit): list writes check it
    /// before working out what they changed.
    pub fn journaling(&self) -> bool {
        self.journal.lock().as_ref().is_some_and(|j| !j.overflowed)
    }

    pub(super) fn journal_grow(&mut self, end: u32) {
        if let Some(j) = self.journal.get_mut() {
            let mut e = [0u8; 5];
            e[0] = GROW;
            e[1..].copy_from_slice(&end.to_le_bytes());
            j.push(&e);
        }
    }

    pub(super) fn journal_entry(&mut self, entry: u32, level: usize) {
        if let Some(j) = self.journal.get_mut() {
            let mut e = [0u8; 6];
            e[0] = ENTRY;
            e[1..5].copy_from_slice(&entry.to_le_bytes());
            e[5] = level as u8;
            j.push(&e);
        }
    }

    /// Journals a write of `node`'s list at `level` (see [`Journal::push_list`]).
    pub(super) fn journal_list(
        &self,
        node: u32,
        level: usize,
        old_count: usize,
        count: usize,
        stores: &[(u16, u32)],
    ) {
        if let Some(j) = self.journal.lock().as_mut() {
            j.push_list(node, level, old_count, count, stores);
        }
    }

    /// Replays `journal` (entries recorded by this graph's journal, in order) on this graph, which
    /// must be the graph as it was when the journal started. Everything is validated as loading a
    /// graph validates it (node and neighbour ids, levels, counts, the entry point), so damaged
    /// bytes give `Err`, never a panic, and what they allocate is bounded by their length.
    pub fn apply_journal(&mut self, journal: &[u8]) -> Result<(), String> {
        let mut r = Reader { bytes: journal, pos: 0 };
        // Each entry writes a list at random in a large array, so a replay is bound by cache
        // misses: the level-0 lists of the next PREFETCH_AHEAD entries are prefetched while this
        // one is applied. (An open of a 1M x 128 store replays tens of MB of journal.)
        let mut ahead = 0;
        while r.pos < journal.len() {
            let at = r.pos;
            if ahead <= at {
                ahead = at;
                for _ in 0..PREFETCH_AHEAD {
                    ahead = self.prefetch_entry(journal, ahead);
                }
            } else {
                ahead = self.prefetch_entry(journal, ahead);
            }
            let err = |what: String| format!("graph journal entry at byte {at}: {what}");
            match r.take(1)?[0] {
                GROW => {
                    let end = r.u32()?;
                    let len = self.len() as u32;
                    let room = (journal.len() - r.pos) / MIN_LIST_ENTRY + 1;
                    if end < len || end == NONE || (end - len) as usize > room {
                        return Err(err(format!("grows the graph from {len} to {end} nodes")));
                    }
                    self.grow(end, Grown::default());
                    *self.linked.get_mut() = end as usize;
                }
                tag @ (LIST | RUN | APPEND | PUT) => {
                    let node = r.u32()?;
                    let level = usize::from(r.take(1)?[0]);
                    if node as usize >= self.len() || level > usize::from(self.levels[node as usize]) {
                        return Err(err(format!(
                            "names node {node} at level {level}, which is not in the graph"
                        )));
                    }
                    let cap = if level == 0 { self.m0 } else { self.m };
                    let old_count = self.block(node, level)[0].load(Relaxed) as usize;
                    // (count, stores as (position, id) bytes or a run of ids from a position)
                    let (count, list, run): (usize, &[u8], Option<(usize, &[u8])>) = match tag {
                        LIST => {
                            let count = usize::from(r.u16()?);
                            let n = usize::from(r.u16()?);
                            (count, r.take(6 * n)?, None)
                        }
                        RUN => {
                            let count = usize::from(r.u16()?);
                            let first = usize::from(r.u16()?);
                            let n = usize::from(r.u16()?);
                            (count, &[], Some((first, r.take(4 * n)?)))
                        }
                        APPEND => (old_count + 1, &[], Some((old_count, r.take(4)?))),
                        _ => {
                            let pos = usize::from(r.u16()?);
                            (old_count, &[], Some((pos, r.take(4)?)))
                        }
                    };
                    if count > cap {
                        return Err(err(format!("gives node {node} {count} neighbours at level {level}")));
                    }
                    let stores = list
                        .chunks_exact(6)
                        .map(|s| (usize::from(u16::from_le_bytes([s[0], s[1]])), &s[2..6]))
                        .chain(run.into_iter().flat_map(|(first, ids)| {
                            ids.chunks_exact(4).enumerate().map(move |(i, id)| (first + i, id))
                        }));
                    let b = self.block(node, level);
                    for (pos, id) in stores {
                        if pos >= cap {
                            return Err(err(format!("writes position {pos} of a list of {cap}")));
                        }
                        let id = u32::from_le_bytes(id.try_into().expect("4 bytes"));
                        self.check_neighbour(node, level, id).map_err(err)?;
                        b[1 + pos].store(id, Relaxed);
                    }
                    b[0].store(count as u32, Relaxed);
                    // The words a larger count brings into the list and no store wrote were never
                    // checked (the graph's checks cover each list up to its count): check them.
                    for a in b.get(1 + old_count..=count).unwrap_or(&[]) {
                        self.check_neighbour(node, level, a.load(Relaxed)).map_err(err)?;
                    }
                }
                ENTRY => {
                    let entry = r.u32()?;
                    let level = usize::from(r.take(1)?[0]);
                    if entry as usize >= self.len() || usize::from(self.levels[entry as usize]) != level {
                        return Err(err(format!("makes node {entry} the entry point at level {level}")));
                    }
                    self.entry = entry;
                    self.max_level = level;
                }
                tag => return Err(err(format!("unknown kind {tag}"))),
            }
        }
        self.check_entry()
    }

    /// Prefetches the level-0 list that the entry at `at` of `journal` writes, if it writes one;
    /// returns where the next entry starts (the end when the entry cannot be read: the replay
    /// reports it).
    #[inline(always)]
    fn prefetch_entry(&self, journal: &[u8], at: usize) -> usize {
        let u16_at = |p: usize| journal.get(p..p + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        let len = match journal.get(at) {
            Some(&GROW) => Some(5),
            Some(&ENTRY) => Some(6),
            Some(&LIST) => u16_at(at + 8).map(|n| 10 + 6 * n),
            Some(&RUN) => u16_at(at + 10).map(|n| 12 + 4 * n),
            Some(&APPEND) => Some(10),
            Some(&PUT) => Some(12),
            _ => None,
        };
        let Some(len) = len else { return journal.len() };
        let writes_a_list = matches!(journal[at], LIST | RUN | APPEND | PUT);
        // (Every list entry is longer than its node and level, so the bytes below are in it.)
        if writes_a_list && at + len <= journal.len() && journal[at + 5] == 0 {
            let node = u32::from_le_bytes(journal[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
            let w = self.m0 + 1;
            if let Some(block) = self.links0.get(node * w..(node + 1) * w) {
                super::prefetch(block.as_ptr().cast(), 4 * w, 4);
            }
        }
        at + len
    }

    /// A neighbour of `node` at `level` as [`Hnsw::check_lists`] checks it: in the graph, at that
    /// level, not the node itself. (What makes a search safe; a list that names a neighbour twice
    /// only costs a visit, and `check_integrity` finds it.)
    fn check_neighbour(&self, node: u32, level: usize, id: u32) -> Result<(), String> {
        if id == node {
            return Err(format!("node {node} links to itself at level {level}"));
        }
        if id as usize >= self.len() || usize::from(self.levels[id as usize]) < level {
            return Err(format!("node {node} has an invalid neighbour {id} at level {level}"));
        }
        Ok(())
    }
}
