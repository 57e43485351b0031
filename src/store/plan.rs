//! The query planner and the query set-up shared by `query`, `query_explain` and `estimate_query`:
//! checks, the ef default, the acceptance test, and the choice between the graph and the exact scan.

use serde::Serialize;

use super::codes::SCAN_RERANK_FACTOR;
use super::options::MAX_K;
use super::{now_unix, Inner, Query, Store};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::index::exact::{self, Scored};
use crate::index::hnsw::SearchStats;
use crate::index::Metric;

/// Stores with at most this many slots are searched by exact scan: it is as fast as the graph there,
/// and exact.
pub(super) const EXACT_SCAN_MAX_SLOTS: usize = 2000;

/// A filtered query uses the exact scan when fewer than this many times `ef` records are estimated
/// to pass: the graph search expands about `ef / selectivity` nodes of ~2M neighbours each, which
/// costs more than scanning every vector once below that point.
pub(super) const SELECTIVE_FACTOR: usize = 32;

/// Slots sampled to estimate how many records a filter passes, when the metadata index cannot
/// answer the filter (it answers every filter whose paths are at most
/// [`crate::filter::index::MAX_INDEXED_DEPTH`] segments long).
pub(super) const SELECTIVITY_SAMPLES: usize = 512;

/// A filter the metadata index answers with `m` of the `n` slots is searched by scanning only those
/// `m` slots when that costs less than the graph search with a bitmap test, which expands about
/// `ef / p` nodes (`p = m / n`): the scan wins while `m * c_scan < c_node * ef * n / m`, that is
/// while `m^2 < (c_node / c_scan) * ef * n`.
///
/// On the float rows (stores without codes) `c_node / c_scan` is `INDEXED_SCAN_FACTOR * 2M`: a node
/// expansion computes up to 2M distances at about 4 times the cost of a scanned one (random reads,
/// heap work), as measured on GloVe-50 floats.
pub(super) const INDEXED_SCAN_FACTOR: usize = 4;

/// With int8 codes both the scan and the graph run on the codes (`exact::top_k_listed_codes`,
/// `Hnsw::search_codes`). Measured with examples/filter_bench.rs (one thread, each plan forced at
/// every ef, 2026-12-02): a node expansion costs about 500 ns on glove50-100k (64-byte code rows)
/// and on wnminilm (384-byte rows) alike, bound by the latency of its random reads, while a scanned
/// row costs about 15 ns with 64-byte rows and 30 ns with 384-byte ones (sequential, prefetched:
/// bound by the bytes read). Hence [`code_scan_ns`].
pub(super) const CODE_NODE_EXPANSION_NS: u64 = 500;

/// The cost of scanning one slot on codes whose rows are `stride` bytes (see
/// [`CODE_NODE_EXPANSION_NS`]): 15 ns at one cache line, 30 ns at six.
pub(super) fn code_scan_ns(stride: usize) -> u64 {
    12 + 3 * (stride as u64).div_ceil(64)
}

/// How a search ran (or, in an estimate, will run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Every slot's distance computed: small stores, and filters few records pass (with a filter the
    /// metadata index answered, only the distances of the matching slots; on a store with int8
    /// codes those are ranked on the codes and the best `4k` re-ranked exactly, so the scores are
    /// exact and the recall measured 1.000 on glove50 and wnminilm).
    #[default]
    ExactScan,
    /// The HNSW graph.
    Graph,
    /// The graph found fewer than k passing records, so the exact scan answered.
    GraphWithExactFallback,
    /// Nothing to search: the store has no dimension yet (never written).
    Empty,
}

impl Plan {
    pub fn name(self) -> &'static str {
        match self {
            Plan::ExactScan => "exact_scan",
            Plan::Graph => "graph",
            Plan::GraphWithExactFallback => "graph_with_exact_fallback",
            Plan::Empty => "empty",
        }
    }
}

/// What one search did: its plan, the graph's counters (zero when the graph was not used) and the
/// distances the exact scan computed (one per slot; zero when it did not run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SearchInfo {
    pub(crate) plan: Plan,
    /// The exact number of visible records passing the filter, when the metadata index answered it
    /// (then the exact scan scored only those).
    pub(crate) indexed_matches: Option<u64>,
    pub(crate) graph: SearchStats,
    pub(crate) exact_distance_calculations: u64,
}

impl Inner {
    /// The dimension check and the ef default of every query: `Ok(None)` when the store has no
    /// dimension yet (nothing written: any query vector is acceptable and nothing matches), the
    /// candidate list size to search with otherwise (the query's, or the store's default).
    pub(super) fn searchable(&self, query_dim: usize, ef_search: usize) -> Result<Option<usize>> {
        let dim = self.dim();
        if dim == 0 {
            return Ok(None);
        }
        if query_dim != dim {
            return Err(Error::dimension(dim, query_dim));
        }
        Ok(Some(self.requested_ef(ef_search)))
    }

    /// The query's `ef_search`, or the store's default when it is 0.
    pub(super) fn requested_ef(&self, ef_search: usize) -> usize {
        if ef_search == 0 {
            self.meta.ef_search
        } else {
            ef_search
        }
    }

    /// The acceptance test of a search: visible now and passing the filter. Rejected nodes still
    /// route the graph search but never enter the results.
    pub(super) fn acceptor<'a>(&'a self, filter: Option<&'a Filter>) -> impl Fn(u32) -> bool + 'a {
        let now = if self.expiring() > 0 { now_unix() } else { 0 };
        move |s: u32| {
            self.visible(s, now) && filter.is_none_or(|f| f.matches(&self.slots[s as usize].metadata))
        }
    }

    /// Whether every slot is visible and unfiltered, so the search may skip the acceptance test.
    pub(super) fn everything_visible(&self, filtered: bool) -> bool {
        !filtered && self.live == self.slots.len() && self.expiring() == 0
    }

    /// The `k` best visible slots passing `filter`, best first, with public scores.
    ///
    /// The graph is searched with an acceptance test (visible and passing the filter): rejected
    /// nodes still route the search but never enter the results. The exact scan is used instead for
    /// small stores, and for filters that few records pass (estimated by sampling: the graph search
    /// would wander through many rejected nodes to find them). Whenever the graph search finds fewer
    /// than `k`, the exact scan answers, so a query returns `k` results whenever `k` records pass.
    pub(super) fn search(
        &self,
        metric: Metric,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&Filter>,
    ) -> Vec<Scored> {
        self.search_info(metric, query, k, ef, filter, &mut SearchInfo::default())
    }

    /// [`Inner::search`], also reporting the plan it took and the work it did (counted anyway).
    pub(super) fn search_info(
        &self,
        metric: Metric,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&Filter>,
        info: &mut SearchInfo,
    ) -> Vec<Scored> {
        if let Some(matches) = filter.and_then(|f| self.visible_matches(f)) {
            return self.search_matches(metric, query, k, ef, &matches, info);
        }
        let accept = self.acceptor(filter);
        let n = self.slots.len();
        let everything_visible = self.everything_visible(filter.is_some());
        let ef = ef.max(k);
        info.plan = self.plan(ef, filter.is_some(), || self.estimate_accepted(&accept));
        if info.plan == Plan::Graph {
            let stats = &mut info.graph;
            let hits = if everything_visible {
                self.graph_search(query, k, ef, &|_| true, stats)
            } else {
                self.graph_search(query, k, ef, &accept, stats)
            };
            if hits.len() >= k {
                return hits;
            }
            info.plan = Plan::GraphWithExactFallback;
        }
        // The exact scan computes one distance per slot.
        info.exact_distance_calculations = n as u64;
        exact::top_k_slots(metric, &self.vectors, n, query, k, accept)
    }

    /// The visible slots passing `filter`, from the metadata index (`None` when it cannot answer).
    pub(super) fn visible_matches(&self, filter: &Filter) -> Option<roaring::RoaringBitmap> {
        let now = if self.expiring() > 0 { now_unix() } else { 0 };
        self.filter_index.visible_matches(filter, now)
    }

    /// [`Inner::search_info`] for a filter the metadata index answered with `matches` (the visible
    /// slots that pass it): an exact scan of those slots when they are few, otherwise the graph
    /// with a bitmap test as its acceptance test (falling back to the scan when it finds fewer
    /// than k).
    fn search_matches(
        &self,
        metric: Metric,
        query: &[f32],
        k: usize,
        ef: usize,
        matches: &roaring::RoaringBitmap,
        info: &mut SearchInfo,
    ) -> Vec<Scored> {
        let ef = ef.max(k);
        let count = matches.len();
        info.indexed_matches = Some(count);
        info.plan = self.plan_indexed(ef, count);
        if info.plan == Plan::Graph {
            let hits = self.graph_search(query, k, ef, &|s| matches.contains(s), &mut info.graph);
            if hits.len() >= k {
                return hits;
            }
            info.plan = Plan::GraphWithExactFallback;
        }
        info.exact_distance_calculations = count;
        let listed: Vec<u32> = matches.iter().collect();
        self.scan_listed(metric, query, k, &listed)
    }

    /// The `k` best of `listed` (ascending slots): on the codes with an exact re-rank when they
    /// cover those slots, on the float rows otherwise.
    pub(super) fn scan_listed(&self, metric: Metric, query: &[f32], k: usize, listed: &[u32]) -> Vec<Scored> {
        match self.codes_covering(listed.last().map_or(0, |&s| s as usize + 1)) {
            Some(c) => exact::top_k_listed_codes(metric, &self.vectors, c, listed, query, k, SCAN_RERANK_FACTOR * k),
            None => exact::top_k_listed(metric, &self.vectors, listed, query, k),
        }
    }

    /// The plan of a search whose filter the metadata index answered with `matches` visible slots:
    /// the scan of those slots when they are few (see [`INDEXED_SCAN_FACTOR`]), when the store is
    /// small or while the graph lags behind the slots; the graph otherwise.
    pub(super) fn plan_indexed(&self, ef: usize, matches: u64) -> Plan {
        let n = self.slots.len();
        if n <= EXACT_SCAN_MAX_SLOTS || self.index.len() < n || self.scan_is_cheaper(ef, matches) {
            Plan::ExactScan
        } else {
            Plan::Graph
        }
    }

    /// Whether scanning `matches` listed slots costs less than the graph search with ef `ef` (see
    /// [`INDEXED_SCAN_FACTOR`] and [`CODE_NODE_EXPANSION_NS`]), both on the codes when the store
    /// keeps them for every slot.
    pub(super) fn scan_is_cheaper(&self, ef: usize, matches: u64) -> bool {
        let m = u128::from(matches);
        let ef_n = ef as u128 * self.slots.len() as u128;
        match self.codes_covering(self.slots.len()) {
            Some(c) => m * m * u128::from(code_scan_ns(c.stride())) < u128::from(CODE_NODE_EXPANSION_NS) * ef_n,
            None => {
                let m0 = 2 * self.index.params().m as u128;
                m * m < INDEXED_SCAN_FACTOR as u128 * m0 * ef_n
            }
        }
    }

    /// How a search with this (already raised to k) `ef` runs: the exact scan for small stores, while
    /// the graph lags behind the slots, and for filters few records pass (`accepted` estimates how
    /// many); the graph otherwise (falling back to the exact scan when it finds fewer than k).
    /// `estimate_query` calls it too, so the estimate predicts the plan the query takes.
    pub(super) fn plan(&self, ef: usize, filtered: bool, accepted: impl FnOnce() -> usize) -> Plan {
        let n = self.slots.len();
        if n <= EXACT_SCAN_MAX_SLOTS
            || self.index.len() < n
            || (filtered && accepted() < SELECTIVE_FACTOR * ef)
        {
            Plan::ExactScan
        } else {
            Plan::Graph
        }
    }

    /// Estimated number of slots `accept` passes, from a sample spread evenly over the slots.
    pub(super) fn estimate_accepted(&self, accept: &impl Fn(u32) -> bool) -> usize {
        let n = self.slots.len();
        if n == 0 {
            return 0;
        }
        let samples = n.min(SELECTIVITY_SAMPLES);
        let passed = (0..samples).filter(|&i| accept((i * n / samples) as u32)).count();
        passed * n / samples
    }
}

impl Store {
    /// Checks everything in a query but its dimension (which needs the lock); returns its parsed
    /// filter and its vector as searched.
    pub(super) fn prepare_query(&self, q: &Query<'_>) -> Result<(Option<Filter>, Vec<f32>)> {
        check_k(q.k)?;
        check_ef_search(q.ef_search)?;
        let filter = q.filter.map(Filter::parse).transpose()?;
        let query = self.prepare_vector(q.vector, "query vector")?;
        Ok((filter, query))
    }
}

/// Largest `ef_search` a query accepts.
pub(crate) const MAX_EF_SEARCH: usize = 100_000;

pub(super) fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > MAX_K {
        return Err(Error::invalid(format!("k must be in 1..={MAX_K}, got {k}")));
    }
    Ok(())
}

pub(super) fn check_ef_search(ef: usize) -> Result<()> {
    if ef > MAX_EF_SEARCH {
        return Err(Error::invalid(format!("ef_search must be at most {MAX_EF_SEARCH}, got {ef}")));
    }
    Ok(())
}
