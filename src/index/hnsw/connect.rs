//! Keeps every node reachable by search.
//!
//! The neighbour-selection heuristic keeps a candidate only when it is closer to the base than to
//! every neighbour already kept, so a node can be pruned out of every list that pointed at it: no
//! search reaches it any more, and its record is never returned (measured before this module: 2 of
//! a fresh 50k x 128 Euclidean store's records, 188 of the 4000 nodes of the tests' dot-product
//! fixture, and some copies of a duplicated vector). hnswlib lives with this; Lucene joins the
//! components of its graph after a build. This does the same, amortised:
//! [`Hnsw::link_pending`] calls [`Hnsw::reconnect`] once the graph has grown by a sixteenth since
//! the last time (so a bulk build ends with one, and single inserts pay a walk of the graph every
//! `len / 16` of them, a few hundred word reads each), and compaction calls it on the new graph.
//!
//! A node is linked from a reachable node near it at level 0: the nearest (of the
//! `ef_construction` a search finds) with free room in its list, else the nearest whose farthest
//! neighbour has another in-link, in place of that neighbour.

use super::*;

/// Rounds of [`Hnsw::reconnect`]: a link given up to make room can, rarely, have been the only way
/// into a group of nodes that point at each other, so a round that gave links up is checked by the
/// next. (Measured: one round suffices on the tests' data; the bound keeps a pathological graph
/// from looping.)
const MAX_ROUNDS: usize = 4;

impl Hnsw {
    /// Links every node that no search can reach from `entry` (a node of level `max_level`, the
    /// entry point about to be installed) into the level-0 list of a reachable node near it.
    /// Returns how many links it added. Writes lists with the same protocol as an insert, so
    /// searches may run meanwhile; the caller must be the only writer (it holds the linker, or
    /// `&mut`). Walks the graph once, and once more for each round after the first.
    pub(crate) fn reconnect<V: VectorSource>(&self, vectors: &V, entry: u32, max_level: usize) -> usize {
        dispatch!(self, reconnect_impl, reconnect_avx2, (vectors, entry, max_level))
    }

    avx2_trampoline!(reconnect_avx2 => reconnect_impl<V: VectorSource>(vectors: &V, entry: u32, max_level: usize) -> usize);

    #[inline(always)]
    fn reconnect_impl<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        entry: u32,
        max_level: usize,
        dist: S,
    ) -> usize {
        let len = self.linked().min(self.len());
        if len < 2 || entry == NONE || entry as usize >= len {
            return 0;
        }
        let mut scratch = self.take_scratch();
        let mut linked = 0;
        for _ in 0..MAX_ROUNDS {
            let (added, gave_up) = self.reconnect_round(vectors, entry, max_level, len, dist, &mut scratch);
            linked += added;
            if gave_up == 0 {
                break;
            }
        }
        self.give_scratch(scratch);
        linked
    }

    /// One round of [`Hnsw::reconnect`]: returns the links added and how many of them replaced a
    /// link (which the next round checks).
    #[inline(always)]
    fn reconnect_round<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        entry: u32,
        max_level: usize,
        len: usize,
        dist: S,
        scratch: &mut Scratch,
    ) -> (usize, usize) {
        let mut seen = vec![false; len];
        let mut stack = Vec::new();
        self.mark_reachable(entry, &mut seen, &mut stack);
        if seen.iter().all(|&s| s) {
            return (0, 0);
        }
        // Level-0 in-links of every node from reachable nodes: a link may only be given up when the
        // node it points at keeps another one. (Links from the nodes this round makes reachable
        // are not counted, which only makes it more careful.)
        let mut in_links = vec![0u32; len];
        for node in (0..len as u32).filter(|&n| seen[n as usize]) {
            for a in self.neighbours(node, 0) {
                in_links[a.load(Relaxed) as usize] += 1;
            }
        }
        let (mut added, mut gave_up) = (0, 0);
        for u in 0..len as u32 {
            if seen[u as usize] {
                continue;
            }
            // The nearest reachable nodes, searched from `entry` as a query would (the installed
            // entry point may still be the one before this link).
            let uv = vectors.vector(u);
            let mut stats = SearchStats::default();
            let mut cur = Cand { dist: dist.d(uv, vectors.vector(entry)), id: entry };
            for lc in (1..=max_level).rev() {
                cur = self.greedy(vectors, uv, cur, lc, len as u32, dist, &mut stats);
            }
            let accept = |x: u32| (x as usize) < len && seen[x as usize];
            let ef = self.params.ef_construction;
            self.search_layer(vectors, uv, cur, ef, 0, Some(&accept), dist, scratch, &mut stats);
            let mut near = std::mem::take(&mut scratch.sorted);
            near.clear();
            near.extend(scratch.results.drain());
            near.sort_unstable();
            let how = self.link_from(vectors, dist, u, &near, &in_links, scratch);
            scratch.sorted = near;
            match how {
                None => continue, // no candidate's neighbours have another in-link: leave it
                Some(None) => {}
                Some(Some(dropped)) => {
                    in_links[dropped as usize] -= 1;
                    gave_up += 1;
                }
            }
            in_links[u as usize] += 1;
            added += 1;
            self.mark_reachable(u, &mut seen, &mut stack);
        }
        (added, gave_up)
    }

    /// Adds `u` to the level-0 list of one of `near` (reachable nodes, nearest first): the nearest
    /// with free room, else the nearest whose farthest neighbour with another in-link can make
    /// way. `None` when no list took it; `Some(dropped)` names the neighbour that made way.
    #[inline(always)]
    fn link_from<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        dist: S,
        u: u32,
        near: &[Cand],
        in_links: &[u32],
        scratch: &mut Scratch,
    ) -> Option<Option<u32>> {
        if let Some(r) = near.iter().find(|r| self.neighbours(r.id, 0).len() < self.m0) {
            self.add_link(vectors, dist, r.id, u, r.dist, 0, self.m0, None, scratch);
            return Some(None);
        }
        for r in near.iter().map(|c| c.id) {
            let rv = vectors.vector(r);
            let list: SmallVec<[u32; 64]> = self.neighbours(r, 0).iter().map(|a| a.load(Relaxed)).collect();
            let victim = list
                .iter()
                .copied()
                .filter(|&w| in_links.get(w as usize).is_some_and(|&n| n >= 2))
                .map(|w| Cand { dist: dist.d(rv, vectors.vector(w)), id: w })
                .max();
            if let Some(w) = victim {
                self.set_neighbours(r, 0, list.iter().map(|&x| if x == w.id { u } else { x }));
                return Some(Some(w.id));
            }
        }
        None
    }

    /// Marks `from` and every node reachable from it through lists of any level (as
    /// [`Hnsw::unreachable_nodes`] counts reachability) in `seen`.
    fn mark_reachable(&self, from: u32, seen: &mut [bool], stack: &mut Vec<u32>) {
        if std::mem::replace(&mut seen[from as usize], true) {
            return;
        }
        stack.clear();
        stack.push(from);
        while let Some(node) = stack.pop() {
            for level in 0..=usize::from(self.levels[node as usize]) {
                for a in self.neighbours(node, level) {
                    let id = a.load(Relaxed) as usize;
                    if id < seen.len() && !std::mem::replace(&mut seen[id], true) {
                        stack.push(id as u32);
                    }
                }
            }
        }
    }
}
