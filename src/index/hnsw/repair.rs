//! Compaction of the graph: drop nodes, renumber the survivors densely, and repair the lists that
//! pointed at dropped nodes, without rebuilding the graph.
//!
//! This is the consolidation step of FreshDiskANN (Singh et al., 2021) applied to HNSW, in the way
//! hnswlib repairs a node's connections: every surviving node that lost neighbours at a level takes
//! as candidates its surviving neighbours plus the surviving neighbours of the dropped ones (looking
//! through chains of dropped nodes, a bounded number of hops), and keeps the best of them with the
//! same neighbour-selection heuristic an insert uses. Lists that lost nothing are copied unchanged,
//! so the graph keeps its shape where nothing was removed. Nodes keep their levels; when the entry
//! point is dropped, a surviving node of the highest remaining level takes its place.
//!
//! Two cases the local repair cannot fix are handled by searching the repaired graph, as an insert
//! does: a node left with no neighbour at some level (every candidate was dropped), and a node that
//! no list points to any more at level 0 (all its in-links came from dropped nodes, so no search
//! could reach it). Both are rare unless whole regions are dropped.
//!
//! Every node's new lists depend only on the old graph, so the repair runs on `threads` threads.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use super::*;

/// Reads the vectors of new slot `i` from the old slot `keep[i]`.
struct Renumbered<'a, V> {
    old: &'a V,
    keep: &'a [u32],
}

impl<V: VectorSource> VectorSource for Renumbered<'_, V> {
    #[inline(always)]
    fn vector(&self, slot: u32) -> &[f32] {
        self.old.vector(self.keep[slot as usize])
    }
}

/// What a repair did, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairStats {
    /// Nodes in the new graph.
    pub nodes: usize,
    /// (node, level) lists that lost a neighbour and were rebuilt from candidates.
    pub lists_repaired: usize,
    /// Nodes linked again by a search: left without neighbours or without in-links at level 0.
    pub nodes_relinked: usize,
    /// Nodes that no search could reach afterwards, linked from a reachable neighbour.
    pub nodes_reconnected: usize,
    /// Links added back from a repaired node's new neighbours to it.
    pub reverse_links: usize,
    /// Whether the entry point was dropped and replaced.
    pub entry_replaced: bool,
    /// Time of the local repair (parallel), of the reverse links, and of the relinking searches
    /// (with the reconnection).
    pub local_time: std::time::Duration,
    pub reverse_time: std::time::Duration,
    pub relink_time: std::time::Duration,
}

/// A link to add: `from` into the list of `to` at `level`, at distance `dist`.
#[derive(Debug, Clone, Copy)]
struct Link {
    to: u32,
    from: u32,
    level: u8,
    dist: f32,
}

/// At most this many dropped nodes are walked through when collecting one list's candidates. At
/// level 0, beyond the node's own dropped neighbours, only while the candidates do not fill a list:
/// walking every chain there made the repair 1.6-2.8x slower than a parallel rebuild on GloVe
/// (14k of 20k kept) for no recall; upper levels are small, so they walk the chains.
const MAX_DROPPED_WALK: usize = 64;
/// The lists of this many surviving neighbours (the first in the list, which the heuristic filled
/// closest first) join the candidates. With all of them (hnswlib's full 2-hop) the heuristic walks
/// ~1000 candidates per list: 6x the time of a rebuild.
const TWO_HOP_FROM: usize = 4;

impl Hnsw {
    /// A new graph over the old slots `keep` (strictly ascending, each below `len()`), renumbered
    /// densely: old slot `keep[i]` becomes slot `i`. `vectors` is the source of the *old* slots.
    /// The old graph is only read, so searches may run on it meanwhile. `threads`: as for
    /// [`Hnsw::insert_batch`] (scoped threads that end before this returns).
    pub fn compacted<V: VectorSource>(
        &self,
        vectors: &V,
        keep: &[u32],
        threads: usize,
    ) -> (Hnsw, RepairStats) {
        let old_len = self.len();
        assert!(keep.windows(2).all(|w| w[0] < w[1]), "kept slots must be strictly ascending");
        assert!(keep.last().is_none_or(|&k| (k as usize) < old_len), "kept slot out of range");
        let mut new_of = vec![NONE; old_len];
        for (i, &o) in keep.iter().enumerate() {
            new_of[o as usize] = i as u32;
        }

        let mut g = Hnsw::new(self.params, self.metric);
        let n = keep.len();
        g.levels = keep.iter().map(|&o| self.levels[o as usize]).collect();
        g.upper_start = Vec::with_capacity(n);
        let blocks = push_upper_starts(&mut g.upper_start, &g.levels, 0);
        g.links0 = huge_words(Vec::new(), n * (g.m0 + 1));
        g.links0.resize_with(n * (g.m0 + 1), || AtomicU32::new(0));
        g.links_up = huge_words(Vec::new(), blocks * (g.m + 1));
        g.links_up.resize_with(blocks * (g.m + 1), || AtomicU32::new(0));
        let mut stats = RepairStats { nodes: n, ..RepairStats::default() };
        if n == 0 {
            return (g, stats);
        }
        let top = g.levels.iter().copied().max().map_or(0, usize::from);
        if self.entry != NONE && new_of[self.entry as usize] != NONE {
            g.entry = new_of[self.entry as usize];
        } else {
            g.entry = g.levels.iter().position(|&l| usize::from(l) == top).expect("a top node") as u32;
            stats.entry_replaced = true;
        }
        g.max_level = top;

        let phase = std::time::Instant::now();
        // Local repair, in parallel over chunks of new slots.
        let threads = threads.max(1).min(n.div_ceil(256)).max(1);
        let next = AtomicUsize::new(0);
        let repaired = AtomicUsize::new(0);
        let empty: Mutex<Vec<u32>> = Mutex::new(Vec::new());
        let reverse: Mutex<Vec<Link>> = Mutex::new(Vec::new());
        const CHUNK: usize = 256;
        let work = || {
            let mut lists = 0usize;
            let mut local_empty = Vec::new();
            let mut local_reverse = Vec::new();
            loop {
                let start = next.fetch_add(CHUNK, Relaxed);
                if start >= n {
                    break;
                }
                let end = (start + CHUNK).min(n);
                let range = start as u32..end as u32;
                lists += self.repair_range(
                    vectors,
                    keep,
                    &new_of,
                    &g,
                    range,
                    &mut local_empty,
                    &mut local_reverse,
                );
            }
            repaired.fetch_add(lists, Relaxed);
            empty.lock().extend(local_empty);
            reverse.lock().extend(local_reverse);
        };
        if threads == 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(work);
                }
                work();
            });
        }
        stats.lists_repaired = repaired.into_inner();
        stats.local_time = phase.elapsed();
        let phase = std::time::Instant::now();
        let src = Renumbered { old: vectors, keep };

        // A repaired node's new neighbours point back at it (pruned by the heuristic when full), as
        // an insert links both ways: without this, nodes whose in-links came from dropped nodes
        // become hard to reach. Serial: each link may rewrite another node's list.
        let mut reverse = reverse.into_inner();
        reverse.sort_unstable_by_key(|l| (l.to, l.level, l.from));
        g.add_reverse_links(&src, &reverse);
        stats.reverse_links = reverse.len();
        stats.reverse_time = phase.elapsed();
        let phase = std::time::Instant::now();

        // Nodes the local repair could not connect: no out-links at some level, or no in-link at
        // level 0. Link them by searching the repaired graph, as an insert does (which also adds
        // the reverse links).
        let mut relink = empty.into_inner();
        // Only nodes that lost an in-link count: a node no list pointed to before keeps its state.
        let mut lost_in = vec![false; n];
        for r in (0..old_len as u32).filter(|&r| new_of[r as usize] == NONE) {
            for a in self.neighbours(r, 0) {
                let id = new_of[a.load(Relaxed) as usize];
                if id != NONE {
                    lost_in[id as usize] = true;
                }
            }
        }
        let mut has_in = vec![false; n];
        for i in 0..n as u32 {
            for a in g.neighbours(i, 0) {
                has_in[a.load(Relaxed) as usize] = true;
            }
        }
        relink.extend((0..n as u32).filter(|&i| lost_in[i as usize] && !has_in[i as usize] && i != g.entry));
        relink.sort_unstable();
        relink.dedup();
        if n > 1 {
            let mut scratch = g.take_scratch();
            for &i in &relink {
                g.insert_node(i, &src, &mut scratch, None, g.entry, g.max_level);
            }
            g.give_scratch(scratch);
        }
        stats.nodes_relinked = relink.len();
        *g.linked.get_mut() = n;
        // The relinking searches prune like inserts do, and the repair never looked at the nodes no
        // list pointed to before: link every node left unreachable (`hnsw/connect.rs`).
        stats.nodes_reconnected = g.reconnect(&src, g.entry, g.max_level);
        *g.reconnected_at.get_mut() = n;
        stats.relink_time = phase.elapsed();
        (g, stats)
    }

    /// Fills the new graph's lists of new slots `range`; returns how many lists were rebuilt.
    /// Slots left with no neighbour at some level are pushed to `empty`.
    #[allow(clippy::too_many_arguments)]
    fn repair_range<V: VectorSource>(
        &self,
        vectors: &V,
        keep: &[u32],
        new_of: &[u32],
        g: &Hnsw,
        range: Range<u32>,
        empty: &mut Vec<u32>,
        reverse: &mut Vec<Link>,
    ) -> usize {
        dispatch!(
            self,
            repair_range_impl,
            repair_range_avx2,
            (vectors, keep, new_of, g, range, empty, reverse)
        )
    }

    avx2_trampoline!(repair_range_avx2 => repair_range_impl<V: VectorSource>(
        vectors: &V,
        keep: &[u32],
        new_of: &[u32],
        g: &Hnsw,
        range: Range<u32>,
        empty: &mut Vec<u32>,
        reverse: &mut Vec<Link>,
    ) -> usize);

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn repair_range_impl<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        keep: &[u32],
        new_of: &[u32],
        g: &Hnsw,
        range: Range<u32>,
        empty: &mut Vec<u32>,
        reverse: &mut Vec<Link>,
        dist: S,
    ) -> usize {
        let mut repaired = 0;
        let mut ids: Vec<u32> = Vec::new();
        let mut walk: Vec<u32> = Vec::new();
        let mut cands: Vec<Cand> = Vec::new();
        let mut selected: Vec<Cand> = Vec::new();
        let mut mapped: Vec<u32> = Vec::new();
        for i in range {
            let o = keep[i as usize];
            let ov = vectors.vector(o);
            for level in 0..=usize::from(self.levels[o as usize]) {
                let old = self.neighbours(o, level);
                let lost = old.iter().any(|a| new_of[a.load(Relaxed) as usize] == NONE);
                if !lost {
                    g.set_neighbours(i, level, old.iter().map(|a| new_of[a.load(Relaxed) as usize]));
                    continue;
                }
                repaired += 1;
                let max_deg = if level == 0 { self.m0 } else { self.m };
                // Candidates: surviving neighbours, the survivors reached through the dropped ones
                // (and, only while that gives fewer than a full list, through chains of dropped
                // nodes, up to MAX_DROPPED_WALK of them)...
                ids.clear();
                walk.clear();
                for a in old {
                    let id = a.load(Relaxed);
                    if new_of[id as usize] == NONE {
                        walk.push(id);
                    } else {
                        ids.push(id);
                    }
                }
                let mut w = 0;
                let first_hop = walk.len();
                while w < walk.len()
                    && w < MAX_DROPPED_WALK
                    && (level > 0 || w < first_hop || ids.len() < max_deg)
                {
                    let r = walk[w];
                    w += 1;
                    for a in self.neighbours(r, level) {
                        let id = a.load(Relaxed);
                        if id == o {
                            continue;
                        }
                        if new_of[id as usize] != NONE {
                            ids.push(id);
                        } else if walk.len() < 4 * MAX_DROPPED_WALK && !walk.contains(&id) {
                            walk.push(id);
                        }
                    }
                }
                // ... and the lists of the first TWO_HOP_FROM surviving neighbours (2-hop, as
                // hnswlib's repair takes, but not all of them: see TWO_HOP_FROM).
                let direct = ids.len().min(TWO_HOP_FROM);
                for j in 0..direct {
                    for a in self.neighbours(ids[j], level) {
                        let id = a.load(Relaxed);
                        if id != o && new_of[id as usize] != NONE {
                            ids.push(id);
                        }
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                cands.clear();
                cands.extend(ids.iter().map(|&id| Cand { dist: dist.d(ov, vectors.vector(id)), id }));
                cands.sort_unstable();
                select(vectors, dist, &cands, max_deg, &mut selected);
                mapped.clear();
                mapped.extend(selected.iter().map(|c| new_of[c.id as usize]));
                for c in &selected {
                    if !old.iter().any(|a| a.load(Relaxed) == c.id) {
                        reverse.push(Link {
                            to: new_of[c.id as usize],
                            from: i,
                            level: level as u8,
                            dist: c.dist,
                        });
                    }
                }
                g.set_neighbours(i, level, mapped.iter().copied());
                if mapped.is_empty() {
                    empty.push(i);
                }
            }
        }
        repaired
    }

    /// Adds every link of `links` (new slots) with [`Hnsw::add_link`], which prunes a full list with
    /// the heuristic.
    fn add_reverse_links<V: VectorSource>(&self, vectors: &V, links: &[Link]) {
        dispatch!(self, add_reverse_links_impl, add_reverse_links_avx2, (vectors, links))
    }

    avx2_trampoline!(add_reverse_links_avx2 => add_reverse_links_impl<V: VectorSource>(vectors: &V, links: &[Link]));

    #[inline(always)]
    fn add_reverse_links_impl<V: VectorSource, S: Space>(&self, vectors: &V, links: &[Link], dist: S) {
        let mut scratch = self.take_scratch();
        for l in links {
            let level = usize::from(l.level);
            let max_deg = if level == 0 { self.m0 } else { self.m };
            self.add_link(vectors, dist, l.to, l.from, l.dist, level, max_deg, None, &mut scratch);
        }
        self.give_scratch(scratch);
    }
}
