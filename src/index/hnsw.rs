//! HNSW graph (Malkov & Yashunin) over dense `u32` slots `0..len`.
//!
//! The graph does not own vectors: the store does (memory-mapped segments plus an in-memory tail),
//! so every operation takes a [`VectorSource`]. Slots are appended densely; deleted records stay in
//! the graph as routing-only nodes and are kept out of results by the `accept` callback of
//! [`Hnsw::search`] until compaction drops them and repairs the graph around them
//! ([`Hnsw::compacted`], in `hnsw/repair.rs`).
//!
//! Layout (hnswlib-like, chosen so that search is lock-free and the graph serialises as a few flat
//! arrays):
//! - level 0: one flat array of `len * (2M + 1)` words; node `i` owns `[count, n_0 .. n_{2M-1}]`;
//! - upper levels: another flat array of `(M + 1)`-word blocks; a node of level `L` owns `L`
//!   consecutive blocks (levels `1..=L`) starting at `upper_start[i]`, which is derived from the
//!   node levels (a prefix sum) and so never stored on disk;
//! - the words are `AtomicU32`: a parallel batch build writes lists (under per-node locks) while
//!   other builder threads read them without locks. On x86-64 and ARM a `Relaxed` atomic load is an
//!   ordinary load, so the single-threaded search pays nothing for this soundness.
//!
//! Speed (measured on glove-100k, see examples/ann_bench.rs): the search and insert bodies are
//! compiled once per instruction set with the distance kernel inlined; the vectors of all unvisited
//! neighbours of a node are prefetched before any distance is computed (the search is bound by
//! memory latency, and this overlaps the misses); the next candidate's list is prefetched while the
//! current node is processed; the link arrays get transparent huge pages; the visited set is a bit
//! set small enough to stay in L1/L2.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;

#[cfg(target_arch = "x86_64")]
use super::distance::x86;
use super::distance::{kernel, portable, Level};
use super::exact::{public_score, Scored};
use crate::index::Metric;

mod journal;
#[cfg(test)]
mod tests;

/// For tests (here and in the store): `g` passes [`Hnsw::check_integrity`], reachability included
/// (a build and a compaction end by linking every node the neighbour selection left unreachable,
/// `hnsw/connect.rs`).
#[cfg(test)]
pub(crate) fn assert_sound(g: &Hnsw) {
    if let Err(e) = g.check_integrity() {
        panic!("{e}");
    }
}

/// Where the graph reads vectors from. `vector(slot)` must return a slice of the same length for
/// every slot in the graph (and for the one being inserted), and the same contents every time.
pub trait VectorSource: Sync {
    fn vector(&self, slot: u32) -> &[f32];
}

/// Row-major vectors in one slice (`data.len() == n * dim`): row `i` is slot `i`.
#[derive(Debug, Clone, Copy)]
pub struct SliceSource<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> SliceSource<'a> {
    /// Panics when `dim` is 0 or does not divide `data.len()`.
    pub fn new(data: &'a [f32], dim: usize) -> SliceSource<'a> {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "data length {} is not a multiple of dim {dim}",
            data.len()
        );
        SliceSource { data, dim }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }
}

impl VectorSource for SliceSource<'_> {
    #[inline(always)]
    fn vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.data[start..start + self.dim]
    }
}

/// Build parameters. `m` is the degree on upper levels (level 0 allows `2m`), `ef_construction` the
/// candidate list length while inserting, `seed` makes the level draw (and so the graph)
/// reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    pub m: usize,
    pub ef_construction: usize,
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams { m: 16, ef_construction: 200, seed: 0x5eed }
    }
}

/// Counters of one search, for explain output and the cost estimator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Vector distance evaluations (upper levels and level 0).
    pub distance_calculations: u64,
    /// Nodes whose neighbour list was read (expanded).
    pub nodes_visited: u64,
    /// Greedy moves on the upper levels.
    pub upper_hops: u64,
    /// Levels descended above level 0.
    pub levels: u64,
}

/// Largest `m` accepted (level 0 then holds up to 1024 neighbours); larger is never useful and the
/// bound keeps `read_from` from trusting absurd sizes.
pub const MAX_M: usize = 512;
/// Levels are drawn with P(level >= l) = m^-l; with m >= 2 and at most 2^32 nodes a level above 32
/// has probability < 2^-32 per node, so it is capped there.
const MAX_LEVEL: usize = 32;
const NONE: u32 = u32::MAX;

/// A candidate: a node and its distance to the query (lower is closer). Ordered by distance, then
/// by slot so that ties resolve like `exact::top_k` (lower slot first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cand {
    pub(crate) dist: f32,
    pub(crate) id: u32,
}
impl Eq for Cand {}
impl Ord for Cand {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        self.dist.total_cmp(&o.dist).then(self.id.cmp(&o.id))
    }
}
impl PartialOrd for Cand {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Distance used inside the graph: lower is closer. `-dot` for cosine/dot (cosine vectors arrive
/// normalised) and squared L2 for euclidean, so the raw similarity of `exact` is exactly `-dist`.
///
/// One zero-sized type per (instruction set, metric): the search and insert bodies are generic over
/// it and, for AVX2, compiled inside a `#[target_feature]` function, so the kernel is inlined into
/// the loop instead of being called through a pointer for every neighbour.
trait Space: Copy {
    fn d(self, a: &[f32], b: &[f32]) -> f32;
}

#[derive(Clone, Copy)]
struct PortableDot;
#[derive(Clone, Copy)]
struct PortableL2;
impl Space for PortableDot {
    #[inline(always)]
    fn d(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: the portable kernel has no requirements (it is `unsafe fn` only to share a type).
        -unsafe { portable::dot(a, b) }
    }
}
impl Space for PortableL2 {
    #[inline(always)]
    fn d(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { portable::l2_squared(a, b) }
    }
}

/// Only constructed after `distance::kernel()` found AVX2 and FMA on this CPU.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2Dot;
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2L2;
#[cfg(target_arch = "x86_64")]
impl Space for Avx2Dot {
    #[inline(always)]
    fn d(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: values of this type exist only when the CPU supports AVX2+FMA (see `dispatch!`).
        -unsafe { x86::dot_avx2(a, b) }
    }
}
#[cfg(target_arch = "x86_64")]
impl Space for Avx2L2 {
    #[inline(always)]
    fn d(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as above.
        unsafe { x86::l2_avx2(a, b) }
    }
}

/// Runs `$self.$imp::<_, S>(args..)` with the `Space` matching the metric and the CPU, through the
/// `#[target_feature]` trampoline `$avx2` on AVX2 machines.
macro_rules! dispatch {
    ($self:ident, $imp:ident, $avx2:ident, ($($arg:expr),*)) => {{
        let euclid = $self.metric == Metric::Euclidean;
        match kernel().level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Fma => {
                // SAFETY: `kernel()` chose the AVX2 level, so the CPU supports AVX2 and FMA, which is
                // all the `#[target_feature]` trampoline and the `Avx2*` spaces require.
                unsafe {
                    if euclid {
                        $self.$avx2($($arg,)* Avx2L2)
                    } else {
                        $self.$avx2($($arg,)* Avx2Dot)
                    }
                }
            }
            Level::Portable => {
                if euclid {
                    $self.$imp($($arg,)* PortableL2)
                } else {
                    $self.$imp($($arg,)* PortableDot)
                }
            }
        }
    }};
}

/// Defines `unsafe fn $avx2(&self, args.., dist: S)`: `$imp` compiled for AVX2 and FMA, the
/// `#[target_feature]` trampoline that `dispatch!` calls on AVX2 machines.
macro_rules! avx2_trampoline {
    ($avx2:ident => $imp:ident<$($g:ident: $bound:ident),*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?) => {
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx2<$($g: $bound,)* S: Space>(&self, $($arg: $ty,)* dist: S) $(-> $ret)? {
            self.$imp($($arg,)* dist)
        }
    };
}

// Declared after `dispatch!` and `avx2_trampoline!` so that the macros are in scope there.
mod repair;
pub use repair::RepairStats;
// Links nodes that the neighbour selection left unreachable (`Hnsw::reconnect`).
mod connect;
// Search on int8 codes with exact re-ranking (`Hnsw::search_codes`).
mod qsearch;

/// Visited set: one bit per node (8x smaller than hnswlib's 16-bit epoch tags, so that for
/// graphs up to a few million nodes it stays in L1/L2 instead of competing with the vectors for
/// cache), cleared by zeroing only the words the last search touched.
#[derive(Default)]
struct Visited {
    bits: Vec<u64>,
    touched: Vec<u32>,
}
impl Visited {
    fn reset(&mut self, n: usize) {
        for &w in &self.touched {
            self.bits[w as usize] = 0;
        }
        self.touched.clear();
        let words = n.div_ceil(64);
        if self.bits.len() < words {
            self.bits.resize(words, 0);
        }
    }
    /// Marks `i`; true when it was not yet marked since the last reset.
    #[inline(always)]
    fn insert(&mut self, i: u32) -> bool {
        let w = &mut self.bits[(i >> 6) as usize];
        let bit = 1u64 << (i & 63);
        if *w & bit != 0 {
            return false;
        }
        if *w == 0 {
            self.touched.push(i >> 6);
        }
        *w |= bit;
        true
    }
}

/// Per-search working memory, pooled so that a search allocates nothing in the steady state.
#[derive(Default)]
struct Scratch {
    visited: Visited,
    candidates: BinaryHeap<Reverse<Cand>>,
    results: BinaryHeap<Cand>,
    fresh: Vec<u32>,
    sorted: Vec<Cand>,
    selected: Vec<Cand>,
    /// Buffers of `add_link`, separate because it runs while `selected` is being walked.
    prune: Vec<Cand>,
    pruned: Vec<Cand>,
}

/// Hierarchical navigable small-world graph. See the module documentation for the layout.
pub struct Hnsw {
    params: HnswParams,
    metric: Metric,
    /// Degree bound on upper levels (`m`) and on level 0 (`2m`).
    m: usize,
    m0: usize,
    /// Level of every node.
    levels: Vec<u8>,
    /// Level-0 lists, `len * (m0 + 1)` words.
    links0: Vec<AtomicU32>,
    /// First upper block of every node (meaningless for level-0 nodes).
    upper_start: Vec<u32>,
    /// Upper-level lists, `(m + 1)`-word blocks.
    links_up: Vec<AtomicU32>,
    entry: u32,
    max_level: usize,
    pool: Mutex<Vec<Scratch>>,
    /// Nodes `0..linked` are fully linked; `linked..len()` are allocated ([`Hnsw::allocate`]) and
    /// being (or about to be) linked by [`Hnsw::link_pending`] while searches run.
    linked: AtomicUsize,
    /// Serialises [`Hnsw::link_pending`] calls; holds the entry point they chose that
    /// [`Hnsw::install_entry`] has not installed yet.
    linker: Mutex<Option<(u32, usize)>>,
    /// The edits since the graph was last saved, when journaling (`hnsw/journal.rs`).
    journal: Mutex<Option<journal::Journal>>,
    /// `len()` when unreachable nodes were last linked ([`Hnsw::reconnect`], `hnsw/connect.rs`).
    reconnected_at: AtomicUsize,
}

/// Arrays of a graph copied with room for more nodes, by [`Hnsw::prepare_allocate`] (under a shared
/// lock) for [`Hnsw::allocate`] (under the exclusive one), so that the exclusive lock never waits for
/// a large array to be reallocated and copied.
#[derive(Default)]
pub struct Grown {
    levels: Option<Vec<u8>>,
    upper_start: Option<Vec<u32>>,
    links0: Option<Vec<AtomicU32>>,
    links_up: Option<Vec<AtomicU32>>,
}

impl std::fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hnsw")
            .field("params", &self.params)
            .field("metric", &self.metric)
            .field("len", &self.len())
            .field("entry", &self.entry)
            .field("max_level", &self.max_level)
            .finish_non_exhaustive()
    }
}

/// Per-node locks of a parallel batch (none for single-threaded inserts).
type Locks<'a> = Option<&'a [Mutex<()>]>;

#[inline(always)]
fn lock(locks: Locks<'_>, node: u32) -> Option<MutexGuard<'_, ()>> {
    locks.map(|l| l[node as usize].lock())
}

/// Prefetches the cache lines of `bytes` bytes at `p` (at most `max_lines` lines) into L1.
#[inline(always)]
fn prefetch(p: *const u8, bytes: usize, max_lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = p as usize & !63;
        let end = (p as usize + bytes).min(start + 64 * max_lines);
        let mut a = start;
        while a < end {
            // SAFETY: a prefetch is a hint: it never faults and has no architectural effect,
            // whatever the address.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(a as *const i8) };
            a += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes, max_lines);
}

/// `old`'s words moved into a new allocation of at least `capacity` words, which is marked for transparent huge pages (on Linux):
/// neighbour lists are read at random, and with 4 KiB pages nearly every read of a large graph is a
/// TLB miss. The advice is given before the memory is first touched, so that the kernel can back
/// it with 2 MiB pages at fault time (when THP is in `madvise` mode, the usual default).
fn huge_words(old: Vec<AtomicU32>, capacity: usize) -> Vec<AtomicU32> {
    let mut v: Vec<AtomicU32> = Vec::with_capacity(capacity.max(old.len()));
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (v.as_ptr() as usize + 4 * v.capacity()) & !(HUGE - 1);
        if end > start {
            // SAFETY: [start, end) lies inside the allocation `v` owns; MADV_HUGEPAGE only changes
            // how the kernel backs those pages, never their contents or validity.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    v.extend(old);
    v
}

/// Appends to `upper_start` the first upper-level block of each node of `levels`, numbering blocks
/// from `blocks` (the blocks earlier nodes use): a node of level `L` owns `L` consecutive blocks, one
/// per level `1..=L`. Returns the number of blocks used once these nodes are counted. The only place
/// the offsets are derived (they are never stored: see the module documentation).
fn push_upper_starts(upper_start: &mut Vec<u32>, levels: &[u8], mut blocks: usize) -> usize {
    upper_start.reserve(levels.len());
    for &l in levels {
        upper_start.push(blocks as u32);
        blocks += usize::from(l);
    }
    blocks
}

/// Deterministic level of `slot`: P(level >= l) = m^-l (the paper's mL = 1/ln m).
fn draw_level(seed: u64, slot: u32, m: usize) -> usize {
    // splitmix64 of (seed, slot): independent of insertion order, so parallel builds draw the same
    // levels as serial ones.
    let mut z = seed ^ (u64::from(slot).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // Uniform in (0, 1].
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = (-u.ln() / (m as f64).ln()).floor();
    (level as usize).min(MAX_LEVEL)
}

impl Hnsw {
    /// An empty graph. `params.m` is clamped to `2..=MAX_M` and `ef_construction` to at least `m`.
    pub fn new(params: HnswParams, metric: Metric) -> Hnsw {
        let m = params.m.clamp(2, MAX_M);
        let params = HnswParams { m, ef_construction: params.ef_construction.max(m), seed: params.seed };
        Hnsw {
            params,
            metric,
            m,
            m0: 2 * m,
            levels: Vec::new(),
            links0: Vec::new(),
            upper_start: Vec::new(),
            links_up: Vec::new(),
            entry: NONE,
            max_level: 0,
            pool: Mutex::new(Vec::new()),
            linked: AtomicUsize::new(0),
            linker: Mutex::new(None),
            journal: Mutex::new(None),
            reconnected_at: AtomicUsize::new(0),
        }
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Slots in the graph.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Nodes per level: `[len, nodes on level >= 1, ...]` (empty for an empty graph).
    pub fn level_sizes(&self) -> Vec<usize> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut sizes = vec![0usize; self.max_level + 1];
        for &l in &self.levels {
            for s in &mut sizes[..=usize::from(l).min(self.max_level)] {
                *s += 1;
            }
        }
        sizes
    }

    /// Heap bytes held by the graph (capacity, not just length).
    pub fn memory_bytes(&self) -> usize {
        self.levels.capacity()
            + 4 * (self.links0.capacity() + self.upper_start.capacity() + self.links_up.capacity())
    }

    /// The neighbour block of `node` at `level`: `[count, ids...]`.
    #[inline(always)]
    fn block(&self, node: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let w = self.m0 + 1;
            let s = node as usize * w;
            &self.links0[s..s + w]
        } else {
            let w = self.m + 1;
            let s = (self.upper_start[node as usize] as usize + level - 1) * w;
            &self.links_up[s..s + w]
        }
    }

    /// The current neighbours of `node` at `level` (the count is clamped so that a concurrently
    /// written block can never index out of it).
    #[inline(always)]
    fn neighbours(&self, node: u32, level: usize) -> &[AtomicU32] {
        let b = self.block(node, level);
        let cnt = (b[0].load(Acquire) as usize).min(b.len() - 1);
        &b[1..=cnt]
    }

    /// Replaces the list of `node` at `level` with `ids` (at most the block's capacity are kept).
    ///
    /// Searches read lists while a write links new nodes (`link_pending`), so the list is rewritten
    /// in place without ever overwriting an id that stays in it: new ids go into the places of the
    /// ids that leave, then after the end (the count raised last), and when the list shrinks the ids
    /// past its new end are copied into the remaining places before the count drops. A search that
    /// reads the list half-way through a rewrite therefore sees every id that is in both the old
    /// and the new list (and perhaps some of the old ones or one twice, which only costs a visit):
    /// the last record linked is never cut off by the next one's pruning of a shared neighbour.
    fn set_neighbours(&self, node: u32, level: usize, ids: impl Iterator<Item = u32>) {
        let b = self.block(node, level);
        let cap = b.len() - 1;
        let new: SmallVec<[u32; 64]> = ids.take(cap).collect();
        let n = new.len();
        let old_cnt = (b[0].load(Acquire) as usize).min(cap);
        let old: SmallVec<[u32; 64]> = b[1..=old_cnt].iter().map(|a| a.load(Relaxed)).collect();
        let mut adds = new.iter().copied().filter(|id| !old.contains(id));
        let mut holes: SmallVec<[usize; 64]> = SmallVec::new();
        for (pos, id) in old.iter().enumerate() {
            if !new.contains(id) {
                match adds.next() {
                    Some(add) => b[1 + pos].store(add, Relaxed),
                    None => holes.push(pos),
                }
            }
        }
        let mut end = old_cnt;
        for add in adds {
            b[1 + end].store(add, Relaxed);
            end += 1;
        }
        if !holes.is_empty() {
            // Shrinking: move the kept ids at or past the new end into the holes before it. Each
            // is written in its new place before the count hides its old one.
            let mut movers = (n..old_cnt).rev().filter(|p| !holes.contains(p));
            for &h in holes.iter().filter(|&&h| h < n) {
                let p = movers.next().expect("as many kept ids past the end as holes before it");
                b[1 + h].store(b[1 + p].load(Relaxed), Relaxed);
            }
            end = n;
        }
        b[0].store(end as u32, Release);
        // One lock of the journal per list write, and the diff only while it records.
        if let Some(j) = self.journal.lock().as_mut().filter(|j| j.recording()) {
            // The words now in the list that differ from the old ones (the words past the new
            // end are never written when the list shrinks, so these are all that changed).
            let stores: journal::Stores = (0..end)
                .map(|pos| (pos, b[1 + pos].load(Relaxed)))
                .filter(|&(pos, id)| old.get(pos) != Some(&id))
                .map(|(pos, id)| (pos as u16, id))
                .collect();
            j.push_list(node, level, old_cnt, end, &stores);
        }
    }

    /// Extends the arrays for slots `len..end` (levels drawn, lists empty), using the arrays of
    /// `grown` (see [`Hnsw::prepare_allocate`]) where given.
    fn grow(&mut self, end: u32, grown: Grown) {
        let start = self.len() as u32;
        if let Some(v) = grown.levels {
            assert_eq!(v.len(), self.levels.len(), "the graph changed since prepare_allocate");
            self.levels = v;
        }
        if let Some(v) = grown.upper_start {
            assert_eq!(v.len(), self.upper_start.len(), "the graph changed since prepare_allocate");
            self.upper_start = v;
        }
        if let Some(v) = grown.links0 {
            assert_eq!(v.len(), self.links0.len(), "the graph changed since prepare_allocate");
            self.links0 = v;
        }
        if let Some(v) = grown.links_up {
            assert_eq!(v.len(), self.links_up.len(), "the graph changed since prepare_allocate");
            self.links_up = v;
        }
        let n = (end - start) as usize;
        self.levels.reserve(n);
        self.upper_start.reserve(n);
        let need0 = end as usize * (self.m0 + 1);
        if self.links0.capacity() < need0 {
            // Doubling keeps one-at-a-time inserts amortised; a first batch gets exactly its size.
            let cap = need0.max(2 * self.links0.capacity());
            self.links0 = huge_words(std::mem::take(&mut self.links0), cap);
        }
        let (seed, m) = (self.params.seed, self.m);
        self.levels.extend((start..end).map(|slot| draw_level(seed, slot, m) as u8));
        let used = self.links_up.len() / (self.m + 1);
        let blocks = push_upper_starts(&mut self.upper_start, &self.levels[start as usize..], used);
        self.links0.resize_with(end as usize * (self.m0 + 1), || AtomicU32::new(0));
        self.links_up.resize_with(blocks * (self.m + 1), || AtomicU32::new(0));
        self.journal_grow(end);
    }

    /// Copies of the arrays that allocating nodes up to `end` would reallocate, with room to spare
    /// (twice what is needed), for [`Hnsw::allocate`]. Only reads the graph, so the caller can hold
    /// a shared lock; nothing may change the graph until `allocate` installs them.
    pub fn prepare_allocate(&self, end: u32) -> Grown {
        let start = self.len() as u32;
        if end <= start {
            return Grown::default();
        }
        let n = (end - start) as usize;
        let new_blocks: usize =
            (start..end).map(|slot| draw_level(self.params.seed, slot, self.m)).sum::<usize>();
        let copy_words = |v: &[AtomicU32], need: usize| {
            let mut c = huge_words(Vec::new(), (2 * need).max(v.len()));
            c.extend(v.iter().map(|a| AtomicU32::new(a.load(Relaxed))));
            c
        };
        let need0 = end as usize * (self.m0 + 1);
        let need_up = self.links_up.len() + new_blocks * (self.m + 1);
        let copy_vec = |v: &[u8]| {
            let mut c = Vec::with_capacity(2 * (v.len() + n));
            c.extend_from_slice(v);
            c
        };
        Grown {
            levels: (self.levels.capacity() < self.levels.len() + n).then(|| copy_vec(&self.levels)),
            upper_start: (self.upper_start.capacity() < self.upper_start.len() + n).then(|| {
                let mut c = Vec::with_capacity(2 * (self.upper_start.len() + n));
                c.extend_from_slice(&self.upper_start);
                c
            }),
            links0: (self.links0.capacity() < need0).then(|| copy_words(&self.links0, need0)),
            links_up: (self.links_up.capacity() < need_up).then(|| copy_words(&self.links_up, need_up)),
        }
    }

    /// Allocates nodes for slots `len()..end` (levels drawn, lists empty), with the arrays of
    /// `grown` where [`Hnsw::prepare_allocate`] copied them. The new nodes are in the graph's arrays
    /// but in no list: a search can meet them only once [`Hnsw::link_pending`] links them.
    pub fn allocate(&mut self, end: u32, grown: Grown) {
        assert!(end < NONE, "slot ids must stay below u32::MAX");
        if end as usize > self.len() {
            self.grow(end, grown);
        }
    }

    /// Nodes fully linked into the graph (`0..linked()`); the nodes after them, up to `len()`, are
    /// allocated and not yet (completely) linked, so a search may miss them.
    pub fn linked(&self) -> usize {
        self.linked.load(Acquire)
    }

    /// Links every allocated node not linked yet (`linked()..len()`) through a shared reference,
    /// while searches run on the graph: every list is written with atomic stores, and a node's own
    /// list at a level is written before any other list links to it there. `threads` as for
    /// [`Hnsw::insert_batch`]. Calls are serialised (an internal mutex). Returns true when one of the
    /// nodes should become the entry point: the caller then calls [`Hnsw::install_entry`] (which
    /// needs `&mut`, a brief exclusive lock); until then searches enter at the old entry point, from
    /// which the new node is reachable like any other.
    pub fn link_pending<V: VectorSource>(&self, vectors: &V, threads: usize) -> bool {
        let mut pending = self.linker.lock();
        let (from, to) = (self.linked.load(Relaxed) as u32, self.len() as u32);
        if from >= to {
            return pending.is_some();
        }
        let (entry, max_level) = pending.unwrap_or((self.entry, self.max_level));
        let promoted = self.link(from..to, vectors, threads, entry, max_level);
        if promoted != (self.entry, self.max_level) {
            *pending = Some(promoted);
        }
        // Amortised: a walk of the graph once it has grown by a sixteenth (`hnsw/connect.rs`).
        let last = self.reconnected_at.load(Relaxed);
        if to as usize > last + last / 16 {
            self.reconnect(vectors, promoted.0, promoted.1);
            self.reconnected_at.store(to as usize, Relaxed);
        }
        pending.is_some()
    }

    /// Installs the entry point chosen by [`Hnsw::link_pending`].
    pub fn install_entry(&mut self) {
        if let Some((entry, level)) = self.linker.get_mut().take() {
            self.entry = entry;
            self.max_level = level;
            self.journal_entry(entry, level);
        }
    }

    /// Links the allocated nodes `slots` (which must start at `linked()`), from the entry point
    /// `entry` at `max_level`; returns the entry point once they are linked. Advances `linked`.
    fn link<V: VectorSource>(
        &self,
        slots: Range<u32>,
        vectors: &V,
        threads: usize,
        mut entry: u32,
        mut max_level: usize,
    ) -> (u32, usize) {
        let threads = threads.max(1).min(slots.len());
        let mut next = slots.start;
        let mut scratch = self.take_scratch();
        // Serially until there is an entry point (and for a 1-thread build, all of it).
        while next < slots.end && (threads == 1 || entry == NONE) {
            if let Some(promoted) = self.insert_node(next, vectors, &mut scratch, None, entry, max_level) {
                (entry, max_level) = promoted;
            }
            next += 1;
            self.linked.store(next as usize, Release);
        }
        self.give_scratch(scratch);
        if next == slots.end {
            return (entry, max_level);
        }
        let locks: Vec<Mutex<()>> = (0..slots.end).map(|_| Mutex::new(())).collect();
        let shared_entry = Mutex::new((entry, max_level));
        let counter = AtomicU32::new(next);
        let work = || {
            let mut scratch = self.take_scratch();
            loop {
                let slot = counter.fetch_add(1, Relaxed);
                if slot >= slots.end {
                    break;
                }
                let (ep, max_level) = *shared_entry.lock();
                let promoted = self.insert_node(slot, vectors, &mut scratch, Some(&locks), ep, max_level);
                if let Some((node, level)) = promoted {
                    let mut e = shared_entry.lock();
                    if level > e.1 {
                        *e = (node, level);
                    }
                }
            }
            self.give_scratch(scratch);
        };
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
        self.linked.store(slots.end as usize, Release);
        shared_entry.into_inner()
    }

    fn take_scratch(&self) -> Scratch {
        self.pool.lock().pop().unwrap_or_default()
    }

    fn give_scratch(&self, s: Scratch) {
        self.pool.lock().push(s);
    }

    /// Appends `slot` (which must equal `len()`). Panics otherwise: slots are dense by contract.
    pub fn insert<V: VectorSource>(&mut self, slot: u32, vectors: &V) {
        assert_eq!(slot as usize, self.len(), "HNSW slots are appended densely");
        self.insert_batch(slot..slot + 1, vectors, 1);
    }

    /// Appends `slots` (which must start at `len()`), using `threads` threads: 1 = only the caller's
    /// thread; more are scoped threads that end before this returns (the library never starts a
    /// thread the host did not ask for). Nodes allocated and not yet linked are linked first.
    pub fn insert_batch<V: VectorSource>(&mut self, slots: Range<u32>, vectors: &V, threads: usize) {
        assert_eq!(slots.start as usize, self.len(), "HNSW slots are appended densely");
        assert!(slots.end < NONE, "slot ids must stay below u32::MAX");
        self.allocate(slots.end, Grown::default());
        if self.link_pending(vectors, threads) {
            self.install_entry();
        }
    }

    /// Links the (already allocated) node `q` into the graph whose entry point is `ep` at
    /// `max_level`. Returns `Some((q, level))` when `q` should become the entry point.
    fn insert_node<V: VectorSource>(
        &self,
        q: u32,
        vectors: &V,
        scratch: &mut Scratch,
        locks: Locks<'_>,
        ep: u32,
        max_level: usize,
    ) -> Option<(u32, usize)> {
        dispatch!(self, insert_node_impl, insert_node_avx2, (q, vectors, scratch, locks, ep, max_level))
    }

    avx2_trampoline!(insert_node_avx2 => insert_node_impl<V: VectorSource>(
        q: u32,
        vectors: &V,
        scratch: &mut Scratch,
        locks: Locks<'_>,
        ep: u32,
        max_level: usize,
    ) -> Option<(u32, usize)>);

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn insert_node_impl<V: VectorSource, S: Space>(
        &self,
        q: u32,
        vectors: &V,
        scratch: &mut Scratch,
        locks: Locks<'_>,
        ep: u32,
        max_level: usize,
        dist: S,
    ) -> Option<(u32, usize)> {
        let level = usize::from(self.levels[q as usize]);
        if ep == NONE {
            return Some((q, level));
        }
        let qv = vectors.vector(q);
        let mut stats = SearchStats::default();
        let entry = Cand { dist: dist.d(qv, vectors.vector(ep)), id: ep };
        let mut cur = entry;
        // In a parallel build, the walk down can pass through a node that another thread is still
        // inserting: it is linked on the upper levels but its lists below are still empty. Seeding
        // a level's search from it would find nothing but it, and leave `q` linked to it alone.
        // Restart such a level from the entry point, which is complete on every level.
        let seed = |cur: Cand, lc: usize| {
            if locks.is_some() && cur.id != entry.id && self.neighbours(cur.id, lc).is_empty() {
                entry
            } else {
                cur
            }
        };
        for lc in (level + 1..=max_level).rev() {
            cur = self.greedy(vectors, qv, seed(cur, lc), lc, u32::MAX, dist, &mut stats);
        }
        for lc in (0..=level.min(max_level)).rev() {
            cur = seed(cur, lc);
            self.search_layer(
                vectors,
                qv,
                cur,
                self.params.ef_construction,
                lc,
                None,
                dist,
                scratch,
                &mut stats,
            );
            // `sorted` = the candidates, closest first; the closest one seeds the next level down.
            scratch.sorted.clear();
            scratch.sorted.extend(scratch.results.drain());
            // In a parallel build another thread may already have linked `q` on this level, so
            // the search can meet `q` itself: a node is never its own neighbour.
            scratch.sorted.retain(|c| c.id != q);
            scratch.sorted.sort_unstable();
            let Some(&closest) = scratch.sorted.first() else { continue };
            cur = closest;
            select(vectors, dist, &scratch.sorted, self.m, &mut scratch.selected);
            let max_deg = if lc == 0 { self.m0 } else { self.m };
            {
                let _g = lock(locks, q);
                // In a parallel build, nodes inserted meanwhile may already have linked themselves
                // to `q` on this level: merge those links rather than overwrite them (an
                // overwritten link can leave such a node unreachable).
                if locks.is_some() && !self.neighbours(q, lc).is_empty() {
                    let selected = std::mem::take(&mut scratch.selected);
                    self.rewrite_pruned(vectors, dist, q, lc, max_deg, &selected, scratch);
                    scratch.selected = selected;
                } else {
                    self.set_neighbours(q, lc, scratch.selected.iter().map(|c| c.id));
                }
            }
            for i in 0..scratch.selected.len() {
                let nb = scratch.selected[i];
                self.add_link(vectors, dist, nb.id, q, nb.dist, lc, max_deg, locks, scratch);
            }
        }
        (level > max_level).then_some((q, level))
    }

    /// Adds `q` (at distance `d` from `node`) to `node`'s list at `level`, pruning with the
    /// heuristic when the list is full.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn add_link<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        dist: S,
        node: u32,
        q: u32,
        d: f32,
        level: usize,
        max_deg: usize,
        locks: Locks<'_>,
        scratch: &mut Scratch,
    ) {
        let _g = lock(locks, node);
        let b = self.block(node, level);
        let cnt = (b[0].load(Relaxed) as usize).min(max_deg);
        // A parallel build can link a pair from both sides; keep lists free of duplicates.
        if b[1..=cnt].iter().any(|a| a.load(Relaxed) == q) {
            return;
        }
        if cnt < max_deg {
            b[cnt + 1].store(q, Relaxed);
            b[0].store(cnt as u32 + 1, Release);
            self.journal_list(node, level, cnt, cnt + 1, &[(cnt as u16, q)]);
            return;
        }
        self.rewrite_pruned(vectors, dist, node, level, max_deg, &[Cand { dist: d, id: q }], scratch);
    }

    /// Rewrites `node`'s list at `level` as the heuristic's choice, at most `max_deg`, among `first`
    /// and the ids already in the list (each once). The caller holds `node`'s lock.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn rewrite_pruned<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        dist: S,
        node: u32,
        level: usize,
        max_deg: usize,
        first: &[Cand],
        scratch: &mut Scratch,
    ) {
        let nv = vectors.vector(node);
        let mut cands = std::mem::take(&mut scratch.prune);
        cands.clear();
        cands.extend_from_slice(first);
        for a in self.neighbours(node, level) {
            let id = a.load(Relaxed);
            if !first.iter().any(|c| c.id == id) {
                cands.push(Cand { dist: dist.d(nv, vectors.vector(id)), id });
            }
        }
        cands.sort_unstable();
        let mut keep = std::mem::take(&mut scratch.pruned);
        select(vectors, dist, &cands, max_deg, &mut keep);
        self.set_neighbours(node, level, keep.iter().map(|c| c.id));
        scratch.pruned = keep;
        scratch.prune = cands;
    }

    /// Greedy walk on one upper level: move to the closest neighbour below `limit` while that
    /// improves.
    ///
    /// A query passes `limit = linked()`: a node is linked top level first, so while a write links
    /// it (`link_pending`) it can be in upper-level lists before its level-0 list is written, and a
    /// query that descended onto it would search level 0 from a node with no neighbours and find
    /// nothing else. Skipping such nodes costs nothing (the query scans the nodes not linked yet
    /// exactly). An insertion passes `u32::MAX` (a parallel build handles them with its `seed`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn greedy<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        q: &[f32],
        mut cur: Cand,
        level: usize,
        limit: u32,
        dist: S,
        stats: &mut SearchStats,
    ) -> Cand {
        stats.levels += 1;
        loop {
            let mut moved = false;
            stats.nodes_visited += 1;
            for a in self.neighbours(cur.id, level) {
                let id = a.load(Relaxed);
                if id >= limit {
                    continue;
                }
                let d = dist.d(q, vectors.vector(id));
                stats.distance_calculations += 1;
                if d < cur.dist {
                    cur = Cand { dist: d, id };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
            stats.upper_hops += 1;
        }
    }

    /// Best-first search of one level from `ep`, keeping `ef` results in `scratch.results` (a
    /// max-heap, worst on top). With `accept`, only accepted nodes enter the results, rejected ones
    /// are still expanded (they route), and the search goes on until it holds `ef` accepted nodes
    /// or runs out of frontier.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn search_layer<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        q: &[f32],
        ep: Cand,
        ef: usize,
        level: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
        dist: S,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ) {
        let Scratch { visited, candidates, results, fresh, .. } = scratch;
        visited.reset(self.len());
        candidates.clear();
        results.clear();
        visited.insert(ep.id);
        candidates.push(Reverse(ep));
        if accept.is_none_or(|f| f(ep.id)) {
            results.push(ep);
        }
        let mut worst = if results.len() >= ef {
            results.peek().map_or(f32::INFINITY, |c| c.dist)
        } else {
            f32::INFINITY
        };
        let dim = q.len();
        let block_bytes = 4 * if level == 0 { self.m0 + 1 } else { self.m + 1 };
        while let Some(Reverse(c)) = candidates.pop() {
            if c.dist > worst {
                break;
            }
            stats.nodes_visited += 1;
            // The next candidate's list is probably the next one read: start fetching it now so
            // that the miss overlaps with this node's distance computations.
            if let Some(Reverse(next)) = candidates.peek() {
                prefetch(self.block(next.id, level).as_ptr() as *const u8, block_bytes, 4);
            }
            // Collect the unvisited neighbours and prefetch their vectors first, so that their
            // cache misses overlap instead of being paid one after another.
            fresh.clear();
            for a in self.neighbours(c.id, level) {
                let id = a.load(Relaxed);
                if visited.insert(id) {
                    prefetch(vectors.vector(id).as_ptr() as *const u8, 4 * dim, 8);
                    fresh.push(id);
                }
            }
            for &id in fresh.iter() {
                let d = dist.d(q, vectors.vector(id));
                stats.distance_calculations += 1;
                if d < worst {
                    candidates.push(Reverse(Cand { dist: d, id }));
                    if accept.is_none_or(|f| f(id)) {
                        results.push(Cand { dist: d, id });
                        if results.len() > ef {
                            results.pop();
                        }
                        if results.len() >= ef {
                            worst = results.peek().map_or(f32::INFINITY, |c| c.dist);
                        }
                    }
                }
            }
        }
    }

    /// The `k` accepted slots closest to `query`, best first, with exact scores (the same kind as
    /// `exact::top_k` returns). `ef` is raised to `k`. `accept(slot)` false keeps a slot out of the
    /// results (deleted or filtered out) but still lets the search route through it.
    pub fn search<V: VectorSource>(
        &self,
        vectors: &V,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        stats: &mut SearchStats,
    ) -> Vec<Scored> {
        if k == 0 || self.entry == NONE {
            return Vec::new();
        }
        let ef = ef.max(k);
        let mut scratch = self.take_scratch();
        dispatch!(self, search_impl, search_avx2, (vectors, query, ef, accept, &mut scratch, stats));
        let sorted = &mut scratch.sorted;
        sorted.clear();
        sorted.extend(scratch.results.drain());
        sorted.sort_unstable();
        let out = sorted
            .iter()
            .take(k)
            .map(|c| Scored { row: c.id as usize, score: public_score(self.metric, -c.dist) })
            .collect();
        self.give_scratch(scratch);
        out
    }

    avx2_trampoline!(search_avx2 => search_impl<V: VectorSource>(
        vectors: &V,
        query: &[f32],
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
    ));

    /// Greedy descent of the upper levels, then the level-0 search; leaves the (accepted) results
    /// in `scratch.results`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn search_impl<V: VectorSource, S: Space>(
        &self,
        vectors: &V,
        query: &[f32],
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        scratch: &mut Scratch,
        stats: &mut SearchStats,
        dist: S,
    ) {
        let mut cur = Cand { dist: dist.d(query, vectors.vector(self.entry)), id: self.entry };
        stats.distance_calculations += 1;
        let linked = self.linked() as u32;
        for lc in (1..=self.max_level).rev() {
            cur = self.greedy(vectors, query, cur, lc, linked, dist, stats);
        }
        self.search_layer(vectors, query, cur, ef, 0, Some(accept), dist, scratch, stats);
    }
}

/// The paper's neighbour-selection heuristic (algorithm 4 without extension): walk candidates
/// closest first and keep one only if it is closer to the base than to every kept neighbour, which
/// spreads links over directions instead of one dense cluster.
#[inline(always)]
fn select<V: VectorSource, S: Space>(vectors: &V, dist: S, sorted: &[Cand], m: usize, out: &mut Vec<Cand>) {
    out.clear();
    if sorted.len() <= m {
        out.extend_from_slice(sorted);
        return;
    }
    for &c in sorted {
        if out.len() >= m {
            break;
        }
        let cv = vectors.vector(c.id);
        let keep = out.iter().all(|s| {
            let sv = vectors.vector(s.id);
            let d = dist.d(cv, sv);
            // An exact duplicate of a kept neighbour adds no direction. Without this rule a group
            // of identical vectors keeps only each other (every tie passes `>=`) and becomes a
            // trap with no way out for the search.
            d > c.dist || (d == c.dist && cv != sv)
        });
        if keep {
            out.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Serialisation: a header, the node levels, every node's lists (for each node, its level 0 list
// then its upper ones: count u16, then that many neighbour ids u32, little-endian), and a CRC-32
// of everything before it. The upper-level block offsets are rebuilt from the levels.
//
// Version 1 wrote the two link arrays whole instead, every list at its full capacity (count and
// 2m ids at level 0, used or not): 132 bytes a node at m 16, where the lists of a built graph
// hold about 21 neighbours, 86 bytes with their counts. Checkpoints that write the whole graph
// (and open, which reads it) handle a third less; version 1 graphs are still read.

const MAGIC: &[u8; 8] = b"VSHNSW\0\x02";
const MAGIC_V1: &[u8; 8] = b"VSHNSW\0\x01";
/// A version 2 graph's arrays may take at most this many times its bytes (plus `ALLOCATION_SLACK`):
/// a damaged header cannot make a small input allocate gigabytes of empty lists.
const ALLOCATION_PER_BYTE: usize = 64;
const ALLOCATION_SLACK: usize = 1 << 20;
const HEADER_LEN: usize = 8 + 4 * 4 + 8 + 8 + 4 + 4;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}
impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("HNSW data is truncated")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
}

impl Hnsw {
    /// Serialises the graph (not the vectors).
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        let mut put = |w: &mut dyn Write, b: &[u8]| -> std::io::Result<()> {
            crc.update(b);
            w.write_all(b)
        };
        let mut head = Vec::with_capacity(HEADER_LEN);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&self.metric.code().to_le_bytes());
        head.extend_from_slice(&(self.m as u32).to_le_bytes());
        head.extend_from_slice(&(self.params.ef_construction.min(u32::MAX as usize) as u32).to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes()); // reserved
        head.extend_from_slice(&self.params.seed.to_le_bytes());
        head.extend_from_slice(&(self.len() as u64).to_le_bytes());
        head.extend_from_slice(&self.entry.to_le_bytes());
        head.extend_from_slice(&(self.max_level as u32).to_le_bytes());
        put(w, &head)?;
        put(w, &self.levels)?;
        // Converted in chunks so that a large graph is not copied whole.
        let mut buf = Vec::with_capacity(64 * 1024);
        for node in 0..self.len() as u32 {
            for level in 0..=usize::from(self.levels[node as usize]) {
                let b = self.block(node, level);
                let cnt = (b[0].load(Relaxed) as usize).min(b.len() - 1);
                buf.extend_from_slice(&(cnt as u16).to_le_bytes());
                for a in &b[1..=cnt] {
                    buf.extend_from_slice(&a.load(Relaxed).to_le_bytes());
                }
            }
            if buf.len() >= 60 * 1024 {
                put(w, &buf)?;
                buf.clear();
            }
        }
        put(w, &buf)?;
        let sum = crc.finalize();
        w.write_all(&sum.to_le_bytes())
    }

    /// Serialises the graph as version 1 did (both link arrays whole), for the tests that such
    /// graphs still load.
    #[cfg(test)]
    pub(crate) fn write_v1_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut b = Vec::new();
        self.write_to(&mut b)?;
        let mut out = MAGIC_V1.to_vec();
        out.extend_from_slice(&b[8..HEADER_LEN + self.len()]);
        for arr in [&self.links0, &self.links_up] {
            for a in arr.iter() {
                out.extend_from_slice(&a.load(Relaxed).to_le_bytes());
            }
        }
        let sum = crc32fast::hash(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        w.write_all(&out)
    }

    /// Loads a graph written by [`Hnsw::write_to`]. Everything is validated (checksum, sizes,
    /// levels, degrees, neighbour ids, entry point); garbage gives `Err`, never a panic, and nothing
    /// is allocated beyond a small multiple of `bytes.len()`.
    pub fn read_from(bytes: &[u8]) -> Result<Hnsw, String> {
        Self::decode(bytes, true)
    }

    /// The format version of serialised graph bytes (1 or 2, see the serialisation notes above),
    /// from their magic; `None` when they are no graph this library reads.
    pub fn format_version(bytes: &[u8]) -> Option<u32> {
        match bytes.get(..8)? {
            m if m == MAGIC => Some(2),
            m if m == MAGIC_V1 => Some(1),
            _ => None,
        }
    }

    /// [`Hnsw::read_from`] for bytes whose checksum the caller has already verified (the store's
    /// snapshot file carries a crc of exactly these bytes and checks it when reading the file): the
    /// graph's own checksum is not computed again, which would read every byte a second time.
    /// Everything else is validated as by `read_from`, so damaged bytes still give `Err`, never a
    /// panic; only damage that keeps the structure valid goes unnoticed without the checksum.
    pub fn read_verified(bytes: &[u8]) -> Result<Hnsw, String> {
        Self::decode(bytes, false)
    }

    fn decode(bytes: &[u8], check_crc: bool) -> Result<Hnsw, String> {
        if bytes.len() < HEADER_LEN + 4 {
            return Err("HNSW data is truncated".into());
        }
        let compact = match &bytes[..8] {
            m if m == MAGIC => true,
            m if m == MAGIC_V1 => false,
            _ => return Err("not an HNSW graph (bad magic or version)".into()),
        };
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let want = u32::from_le_bytes(tail.try_into().expect("4 bytes"));
        if check_crc && crc32fast::hash(body) != want {
            return Err("HNSW data checksum mismatch".into());
        }
        let mut r = Reader { bytes: body, pos: 8 };
        let code = r.u32()?;
        let metric = Metric::from_code(code).ok_or_else(|| format!("unknown metric code {code}"))?;
        let m = r.u32()? as usize;
        let ef_construction = r.u32()? as usize;
        let _reserved = r.u32()?;
        let seed = r.u64()?;
        let len = r.u64()?;
        let entry = r.u32()?;
        let max_level = r.u32()? as usize;
        if !(2..=MAX_M).contains(&m) {
            return Err(format!("HNSW degree m = {m} out of range"));
        }
        if ef_construction < m {
            return Err("HNSW ef_construction below m".into());
        }
        if len >= u64::from(NONE) {
            return Err("HNSW node count out of range".into());
        }
        let len = len as usize;
        // Sizes are checked against the input before anything is allocated.
        let levels = r.take(len)?;
        if let Some(&l) = levels.iter().find(|&&l| usize::from(l) > MAX_LEVEL) {
            return Err(format!("HNSW node level {l} out of range"));
        }
        let mut upper_start = Vec::new();
        let blocks = push_upper_starts(&mut upper_start, levels, 0);
        let m0 = 2 * m;
        let words0 = len * (m0 + 1);
        let words_up = blocks * (m + 1);
        let (links0, links_up) = if compact {
            // Each list is at least its count: a size the input cannot back is refused before
            // anything is allocated, and so is an allocation out of proportion to the input.
            let lists = len + blocks;
            if body.len() - r.pos < 2 * lists
                || 4 * (words0 + words_up) > ALLOCATION_PER_BYTE * body.len() + ALLOCATION_SLACK
            {
                return Err("HNSW data size does not match its header".into());
            }
            let zeroed = |n: usize| {
                let mut v = huge_words(Vec::new(), n);
                v.resize_with(n, || AtomicU32::new(0));
                v
            };
            (zeroed(words0), zeroed(words_up))
        } else {
            if body.len() - r.pos != 4 * (words0 + words_up) {
                return Err("HNSW data size does not match its header".into());
            }
            let read_words = |r: &mut Reader<'_>, n: usize| -> Result<Vec<AtomicU32>, String> {
                let raw = r.take(4 * n)?;
                let mut v = huge_words(Vec::new(), n);
                v.extend(
                    raw.chunks_exact(4).map(|c| AtomicU32::new(u32::from_le_bytes(c.try_into().expect("4")))),
                );
                Ok(v)
            };
            (read_words(&mut r, words0)?, read_words(&mut r, words_up)?)
        };
        let g = Hnsw {
            params: HnswParams { m, ef_construction, seed },
            metric,
            m,
            m0,
            levels: levels.to_vec(),
            links0,
            upper_start,
            links_up,
            entry,
            max_level,
            pool: Mutex::new(Vec::new()),
            linked: AtomicUsize::new(len),
            linker: Mutex::new(None),
            journal: Mutex::new(None),
            // A saved graph was reconnected as it grew; the next walk is due when it has grown again
            // (so that opening a store, or its first write, never walks the whole graph).
            reconnected_at: AtomicUsize::new(len),
        };
        if compact {
            for node in 0..len as u32 {
                for level in 0..=usize::from(g.levels[node as usize]) {
                    let b = g.block(node, level);
                    let cnt = usize::from(r.u16()?);
                    if cnt > b.len() - 1 {
                        return Err(format!("HNSW node {node} has {cnt} neighbours at level {level}"));
                    }
                    b[0].store(cnt as u32, Relaxed);
                    for (a, id) in b[1..].iter().zip(r.take(4 * cnt)?.chunks_exact(4)) {
                        a.store(u32::from_le_bytes(id.try_into().expect("4 bytes")), Relaxed);
                    }
                }
            }
            if r.pos != body.len() {
                return Err("HNSW data size does not match its header".into());
            }
        }
        g.check_entry()?;
        g.check_lists()?;
        Ok(g)
    }
}

// ---------------------------------------------------------------------------------------------
// Integrity check (the checks of hnswlib's `checkIntegrity`, plus reachability).

impl Hnsw {
    /// Checks the graph's structure: array sizes, the entry point (a node of the top level), every
    /// list (count within the degree bound; neighbours in range, not the node itself, present at
    /// that level, each listed once) and that every node can be reached from the entry point by
    /// following lists of any level, as a search can (see [`Hnsw::unreachable_nodes`]). `Err`
    /// names the first problem found.
    /// Reads every list once (linear in the size of the graph); for tests and check tools.
    pub fn check_integrity(&self) -> Result<(), String> {
        let len = self.len();
        let blocks = self.links_up.len() / (self.m + 1);
        if self.links0.len() != len * (self.m0 + 1)
            || self.links_up.len() != blocks * (self.m + 1)
            || self.upper_start.len() != len
            || self.levels.iter().map(|&l| usize::from(l)).sum::<usize>() != blocks
        {
            return Err("HNSW arrays do not match the node levels".into());
        }
        let mut expected = Vec::new();
        push_upper_starts(&mut expected, &self.levels, 0);
        if expected != self.upper_start {
            return Err("HNSW upper-level offsets do not match the node levels".into());
        }
        self.check_entry()?;
        if len == 0 {
            return Ok(());
        }
        self.check_lists()?;
        let mut ids = Vec::with_capacity(self.m0);
        for node in 0..len as u32 {
            for level in 0..=usize::from(self.levels[node as usize]) {
                ids.clear();
                ids.extend(self.neighbours(node, level).iter().map(|a| a.load(Relaxed)));
                ids.sort_unstable();
                if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!("HNSW node {node} lists neighbour {} twice at level {level}", w[0]));
                }
            }
        }
        let lost = self.unreachable_nodes();
        if let Some(&first) = lost.first() {
            return Err(format!(
                "{} of {len} HNSW nodes cannot be reached from the entry point {} (node {first} is one)",
                lost.len(),
                self.entry
            ));
        }
        Ok(())
    }

    /// The nodes that no search can reach: not reachable from the entry point by following lists
    /// of any level (ascending). Assumes the lists are valid (as [`Hnsw::check_integrity`] checks
    /// first). A dot-product graph can leave some: a vector of small norm is rarely closer (higher
    /// inner product) to its neighbours than they are to each other, so the heuristic prunes it
    /// out of every list.
    pub fn unreachable_nodes(&self) -> Vec<u32> {
        let len = self.len();
        if len == 0 {
            return Vec::new();
        }
        // Depth-first from the entry point over the lists of every level.
        let mut seen = vec![false; len];
        let mut stack = vec![self.entry];
        seen[self.entry as usize] = true;
        while let Some(node) = stack.pop() {
            for level in 0..=usize::from(self.levels[node as usize]) {
                for a in self.neighbours(node, level) {
                    let id = a.load(Relaxed);
                    if !std::mem::replace(&mut seen[id as usize], true) {
                        stack.push(id);
                    }
                }
            }
        }
        (0..len as u32).filter(|&i| !seen[i as usize]).collect()
    }

    /// The entry point is a node of the top level (none for an empty graph).
    fn check_entry(&self) -> Result<(), String> {
        let len = self.len();
        if len == 0 {
            if self.entry != NONE || self.max_level != 0 {
                return Err("empty HNSW graph with an entry point".into());
            }
            return Ok(());
        }
        let top = self.levels.iter().copied().max().map_or(0, usize::from);
        if self.entry as usize >= len
            || usize::from(self.levels[self.entry as usize]) != self.max_level
            || self.max_level != top
        {
            return Err("HNSW entry point is not a node of the top level".into());
        }
        Ok(())
    }

    /// Every list: count within the block, neighbours in range, not the node itself, and present at
    /// the list's level. What makes searching the graph safe (no index out of bounds), so loading
    /// checks it too.
    fn check_lists(&self) -> Result<(), String> {
        let len = self.len();
        for node in 0..len as u32 {
            for level in 0..=usize::from(self.levels[node as usize]) {
                let b = self.block(node, level);
                let cnt = b[0].load(Relaxed) as usize;
                if cnt > b.len() - 1 {
                    return Err(format!("HNSW node {node} has {cnt} neighbours at level {level}"));
                }
                for a in &b[1..=cnt] {
                    let id = a.load(Relaxed);
                    if id == node {
                        return Err(format!("HNSW node {node} links to itself at level {level}"));
                    }
                    if id as usize >= len || usize::from(self.levels[id as usize]) < level {
                        return Err(format!(
                            "HNSW node {node} has an invalid neighbour {id} at level {level}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
