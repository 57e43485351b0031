//! Query validation and cost estimation: what a query would cost, without running it.
//!
//! # The model
//!
//! The plan is decided by the same function the query uses (`Inner::plan`), fed the
//! same 512-slot sample of the filter (and of visibility), so the estimate names the plan the query
//! takes: `exact_scan` or `graph`. (A graph search that finds fewer than k matches falls back to the
//! exact scan at run time; the planner only uses the graph when it expects at least 32 * ef matches,
//! so the estimate never predicts that fallback.)
//!
//! - **Exact scan**: one distance per slot (tombstones included), no graph node.
//! - **Graph**: `1 + upper + level0`. Upper levels: for every level above 0 (their sizes come from
//!   the graph, [`Hnsw::level_sizes`](crate::index::hnsw::Hnsw::level_sizes)) the greedy walk reads `v` nodes of `min(M, size - 1)`
//!   neighbours each. Level 0: the nodes expanded and distances computed grow linearly with the
//!   candidate list; a filter passing a fraction `p` of the slots makes the search collect `ef`
//!   passing nodes, so it behaves like an unfiltered search with `ef / p` (capped at the slots).
//!   `v` and the two lines (nodes and distances against ef) are measured on this index (see
//!   `Calibration`).
//! - **Duration**: distances times the measured cost of one distance in that plan (graph: a whole
//!   search's time divided by its distances, so the traversal's own overhead is included; exact:
//!   the scan's time per row), plus the filter's measured cost per evaluation (timed on the
//!   selectivity sample of this very estimate) for every node it is evaluated on, plus the measured
//!   cost of materialising each of the k results.
//! - **Cost** in [0, 1]: `1 - exp(-estimated_duration_ms / 10)`: 0.1 at about 1 ms, 0.5 at 7 ms,
//!   0.95 at 30 ms.
//!
//! # Calibration
//!
//! At the first estimate (and again when the graph has grown or shrunk by more than 10%, or the
//! measurement is more than a minute old, since timings just after opening are cold), 16 slots
//! spread over the store are used as query vectors and searched at ef 16 and ef 128 (k = 10, no
//! filter), counting nodes, distances and time, and the same at ef 128 with a test that reads each
//! candidate's record (what checking a filter or a deletion adds); the exact scan is timed over 3 x 8
//! chunks of 1024 rows spread over the store (so they come from memory, as in a full scan); 10
//! results are materialised and timed. Timing uses medians, so a busy machine skews it less. This
//! takes a few milliseconds on a 100k store (reported as `calibration_ms` in the estimate that ran
//! it) and is cached in the store; later estimates read only the cache and the 512-slot sample.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::Plan;
use super::{check_ef_search, check_k, Inner, Query, Store, SELECTIVITY_SAMPLES};
use crate::error::Error;
use crate::filter::Filter;
use crate::index::exact;
use crate::index::hnsw::SearchStats;

/// The estimate of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryEstimate {
    /// False when the query would be refused; `errors` then says why.
    pub valid: bool,
    /// One message per problem found (all of them, not only the first).
    pub errors: Vec<String>,
    /// The code of each error, in the same order, spelled as in every JSON the library emits
    /// ([`crate::Code::key`]): `invalid_argument`, `dimension_mismatch` or `filter_syntax`.
    pub error_codes: Vec<&'static str>,
    /// 0..=1, `1 - exp(-estimated_duration_ms / 10)`.
    pub cost_estimate: f64,
    pub estimated_distance_calculations: u64,
    pub estimated_nodes_visited: u64,
    /// True when the graph search must look past `ef` candidates because records it meets are
    /// filtered out (or deleted, soft-deleted, expired).
    pub will_overfetch: bool,
    /// Advice in plain words.
    pub recommendations: Vec<String>,
    pub estimated_duration_ms: f64,
    /// `exact_scan`, `graph` or `empty` (nothing written yet); `null` when the query is invalid.
    pub plan: Option<Plan>,
    /// Why that plan.
    pub plan_reason: String,
    /// Estimated fraction of the slots the query may return (visible and passing the filter).
    pub estimated_selectivity: f64,
    /// Estimated number of records passing the filter (visible ones).
    pub estimated_matches: u64,
    /// True when the metadata index answered the filter: `estimated_matches` and
    /// `estimated_selectivity` are then exact counts, not estimates from a sample.
    pub selectivity_exact: bool,
    /// The candidate list size the search uses: the query's ef_search (or the store's), raised to k.
    pub ef_search: usize,
    /// Milliseconds spent measuring the cost model in this call (0 when it was cached).
    pub calibration_ms: f64,
}

impl QueryEstimate {
    pub(crate) fn invalid() -> QueryEstimate {
        QueryEstimate {
            valid: false,
            errors: Vec::new(),
            error_codes: Vec::new(),
            cost_estimate: 0.0,
            estimated_distance_calculations: 0,
            estimated_nodes_visited: 0,
            will_overfetch: false,
            recommendations: Vec::new(),
            estimated_duration_ms: 0.0,
            plan: None,
            plan_reason: String::new(),
            estimated_selectivity: 0.0,
            estimated_matches: 0,
            selectivity_exact: false,
            ef_search: 0,
            calibration_ms: 0.0,
        }
    }

    pub(crate) fn push_error(&mut self, e: Error) {
        self.error_codes.push(e.code.key());
        self.errors.push(e.message);
    }
}

/// Probe efs of the calibration: the level-0 lines are fitted through these two points.
const EF_LO: usize = 16;
const EF_HI: usize = 128;
const PROBES: usize = 16;
/// Timings change as the store warms up (just after opening, its mapped pages are not even in
/// memory yet) and as the machine's load changes: the model is measured again at the first
/// estimate after this long.
const MAX_CALIBRATION_AGE: std::time::Duration = std::time::Duration::from_secs(60);
const EXACT_CHUNK: usize = 1024;
const EXACT_CHUNKS: usize = 8;

/// Slots `start..` of a vector block, as slots `0..`.
struct Offset<'a> {
    block: &'a crate::storage::vectors::VectorBlock,
    start: u32,
}

impl crate::index::hnsw::VectorSource for Offset<'_> {
    fn vector(&self, slot: u32) -> &[f32] {
        self.block.get(self.start + slot)
    }
}

/// The cost model measured on one store's index (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Calibration {
    graph_len: usize,
    dim: usize,
    m: usize,
    /// Nodes on each level (`[0]` = all).
    level_sizes: Vec<usize>,
    /// Nodes read per upper level by the greedy walk.
    upper_visits_per_level: f64,
    /// Level 0, as `a + b * ef`: nodes expanded, distances computed.
    nodes0: (f64, f64),
    dist0: (f64, f64),
    graph_ns_per_distance: f64,
    /// What testing a candidate's record adds per distance in a graph search that checks records
    /// (a filter, or records that are not all visible), besides evaluating the filter: reading the
    /// slot and its metadata, which are not in the cache.
    record_touch_ns: f64,
    exact_ns_per_distance: f64,
    /// The scan of the slots a metadata index matched, per slot (on the codes when the store keeps
    /// them: `Inner::scan_listed`).
    listed_ns_per_slot: f64,
    hit_ns: f64,
    took_ms: f64,
    measured_at: Instant,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn line(lo: f64, hi: f64) -> (f64, f64) {
    let b = ((hi - lo) / (EF_HI - EF_LO) as f64).max(0.0);
    (lo - b * EF_LO as f64, b)
}

impl Calibration {
    fn upper_distances(&self) -> f64 {
        self.level_sizes
            .iter()
            .skip(1)
            .map(|&size| self.upper_visits_per_level * self.m.min(size.saturating_sub(1)) as f64)
            .sum()
    }

    fn upper_nodes(&self) -> f64 {
        self.upper_visits_per_level * self.level_sizes.len().saturating_sub(1) as f64
    }

    fn fresh_for(&self, inner: &Inner) -> bool {
        let len = inner.index.len();
        self.dim == inner.dim()
            && len * 10 <= self.graph_len * 11
            && len * 11 >= self.graph_len * 10
            && self.measured_at.elapsed() < MAX_CALIBRATION_AGE
    }

    fn measure(inner: &Inner) -> Calibration {
        let start = Instant::now();
        let index = &inner.index;
        let len = index.len();
        let mut c = Calibration {
            graph_len: len,
            dim: inner.dim(),
            m: index.params().m,
            level_sizes: index.level_sizes(),
            upper_visits_per_level: 1.0,
            nodes0: (0.0, 1.0),
            dist0: (0.0, 1.0),
            graph_ns_per_distance: 0.0,
            record_touch_ns: 0.0,
            exact_ns_per_distance: 0.0,
            listed_ns_per_slot: 0.0,
            hit_ns: 0.0,
            took_ms: 0.0,
            measured_at: start,
        };
        let n = inner.slots.len();
        if len > 0 {
            // A stored vector as a query finds itself at once, which makes the search a little
            // cheaper than for an unseen query: move each probe a fifth of the way towards another
            // stored vector, so that it is near the data but not on it.
            let p = PROBES.min(len);
            let probes: Vec<Vec<f32>> = (0..p)
                .map(|i| {
                    let a = inner.vectors.get((i * len / p) as u32);
                    let b = inner.vectors.get((((i * len / p) + len / 2 + 1) % len) as u32);
                    let mut q: Vec<f32> = a.iter().zip(b).map(|(x, y)| 0.8 * x + 0.2 * y).collect();
                    if inner.index.metric() == super::options::Metric::Cosine
                        && !crate::index::distance::normalize(&mut q)
                    {
                        q = a.to_vec();
                    }
                    q
                })
                .collect();
            let mut ns_per_distance = Vec::new();
            let mut touching_ns_per_distance = Vec::new();
            let (mut upper_visits, mut upper_levels) = (0u64, 0u64);
            // Accepts everything, but reads each candidate's slot and metadata as a filter would.
            let touch = |s: u32| {
                let slot = &inner.slots[s as usize];
                std::hint::black_box(slot.state) != super::SlotState::Deleted
                    || slot.metadata.len() < usize::MAX
            };
            let mut mean = |ef: usize, warm: bool| -> (f64, f64) {
                let (mut nodes, mut dists) = (Vec::new(), Vec::new());
                for q in &probes {
                    let mut st = SearchStats::default();
                    let t = Instant::now();
                    let hits = inner.graph_search(q, 10.min(ef), ef, &|_| true, &mut st);
                    let ns = t.elapsed().as_nanos() as f64;
                    if ef == EF_HI && !warm {
                        let mut st2 = SearchStats::default();
                        let t = Instant::now();
                        let hits = inner.graph_search(q, 10, ef, &touch, &mut st2);
                        let ns2 = t.elapsed().as_nanos() as f64;
                        std::hint::black_box(hits);
                        touching_ns_per_distance.push(ns2 / st2.distance_calculations.max(1) as f64);
                    }
                    std::hint::black_box(hits);
                    if warm {
                        continue;
                    }
                    let up = st.levels + st.upper_hops;
                    upper_visits += up;
                    upper_levels += st.levels;
                    nodes.push(st.nodes_visited.saturating_sub(up) as f64);
                    dists.push(st.distance_calculations as f64);
                    ns_per_distance.push(ns / st.distance_calculations.max(1) as f64);
                }
                let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                (avg(&nodes), avg(&dists))
            };
            mean(EF_LO, true);
            let (nodes_lo, dists_lo) = mean(EF_LO, false);
            let (nodes_hi, dists_hi) = mean(EF_HI, false);
            if upper_levels > 0 {
                c.upper_visits_per_level = upper_visits as f64 / upper_levels as f64;
            }
            let upper = 1.0 + c.upper_distances();
            c.nodes0 = line(nodes_lo, nodes_hi);
            c.dist0 = line((dists_lo - upper).max(0.0), (dists_hi - upper).max(0.0));
            c.graph_ns_per_distance = median(&mut ns_per_distance);
            c.record_touch_ns = (median(&mut touching_ns_per_distance) - c.graph_ns_per_distance).max(0.0);
        }
        if n > 0 {
            // A full scan streams every vector from memory: time chunks spread over the store, each
            // pass on chunks the others did not touch, rather than one small block that stays cached.
            let chunk = n.min(EXACT_CHUNK);
            let query = inner.vectors.get(0).to_vec();
            let mut per_row: Vec<f64> = (0..3)
                .map(|pass| {
                    let t = Instant::now();
                    for j in 0..EXACT_CHUNKS {
                        let start = ((j * 3 + pass) * n / (3 * EXACT_CHUNKS)).min(n - chunk) as u32;
                        let rows = Offset { block: &inner.vectors, start };
                        let hits =
                            exact::top_k_slots(inner.index.metric(), &rows, chunk, &query, 10, |_| true);
                        std::hint::black_box(hits);
                    }
                    t.elapsed().as_nanos() as f64 / (chunk * EXACT_CHUNKS) as f64
                })
                .collect();
            c.exact_ns_per_distance = median(&mut per_row);
            // The matching slots of a filter are spread over the store: every 12th slot, the three
            // passes offset by 4 so that none reads rows another one brought into the cache.
            let listed_len = (n / 12).clamp(1, EXACT_CHUNK);
            let mut per_slot: Vec<f64> = (0..3u32)
                .map(|pass| {
                    let listed: Vec<u32> =
                        (0..listed_len as u32).map(|i| (i * 12 + pass * 4).min(n as u32 - 1)).collect();
                    let t = Instant::now();
                    std::hint::black_box(inner.scan_listed(inner.index.metric(), &query, 10, &listed));
                    t.elapsed().as_nanos() as f64 / listed_len as f64
                })
                .collect();
            c.listed_ns_per_slot = median(&mut per_slot);
            let count = n.min(10);
            let t = Instant::now();
            for i in 0..count {
                std::hint::black_box(inner.hit((i * n / count) as u32, 0.0));
            }
            c.hit_ns = t.elapsed().as_nanos() as f64 / count as f64;
        }
        c.took_ms = start.elapsed().as_secs_f64() * 1e3;
        c
    }
}

impl Store {
    /// Validates `q` and estimates its cost without running it (see the module docs for the model).
    /// Never fails: a query that `query` would refuse gives `valid: false` and the reasons.
    pub fn estimate_query(&self, q: &Query<'_>) -> QueryEstimate {
        let mut est = QueryEstimate::invalid();
        if let Err(e) = check_k(q.k) {
            est.push_error(e);
        }
        if let Err(e) = check_ef_search(q.ef_search) {
            est.push_error(e);
        }
        let filter = match q.filter.map(Filter::parse).transpose() {
            Ok(f) => f,
            Err(e) => {
                est.push_error(e);
                None
            }
        };
        let vector_ok = match self.prepare_vector(q.vector, "query vector") {
            Ok(_) => true,
            Err(e) => {
                est.push_error(e);
                false
            }
        };
        let inner = self.inner.read();
        let dim = inner.dim();
        if dim != 0 && q.vector.len() != dim && (vector_ok || !q.vector.is_empty()) {
            est.push_error(Error::dimension(dim, q.vector.len()));
        }
        if !est.errors.is_empty() {
            return est;
        }
        est.valid = true;
        let k = q.k;
        let requested_ef = inner.requested_ef(q.ef_search);
        est.ef_search = requested_ef.max(k);
        if dim == 0 {
            est.plan = Some(Plan::Empty);
            est.plan_reason = "the store is empty (no vector written yet): nothing to search".into();
            return est;
        }
        let cal = self.calibration_for(&inner, &mut est);
        self.estimate_valid(&inner, &cal, k, requested_ef, filter.as_ref(), &mut est);
        est
    }

    /// The cached cost model, measured again when the graph changed size by more than 10%.
    fn calibration_for(&self, inner: &Inner, est: &mut QueryEstimate) -> Arc<Calibration> {
        let mut cached = self.calibration.lock();
        if let Some(c) = cached.as_ref().filter(|c| c.fresh_for(inner)) {
            return c.clone();
        }
        let c = Arc::new(Calibration::measure(inner));
        est.calibration_ms = c.took_ms;
        *cached = Some(c.clone());
        c
    }

    fn estimate_valid(
        &self,
        inner: &Inner,
        cal: &Calibration,
        k: usize,
        requested_ef: usize,
        filter: Option<&Filter>,
        est: &mut QueryEstimate,
    ) {
        let ef = requested_ef.max(k);
        let n = inner.slots.len();
        let accept = inner.acceptor(filter);
        let everything_visible = inner.everything_visible(filter.is_some());
        // The same sample the planner takes, timed: the query pays this first (cold) pass too; the
        // second pass, with the records in the cache, times the filter's evaluation alone.
        let samples = n.min(SELECTIVITY_SAMPLES);
        // A filter the metadata index answers is counted exactly, in the time the query spends on it.
        let t = Instant::now();
        let indexed = filter.and_then(|f| inner.visible_matches(f)).map(|m| m.len() as usize);
        let index_ns = t.elapsed().as_nanos() as f64;
        est.selectivity_exact = indexed.is_some();
        let (accepted, sample_ns, eval_ns) = if everything_visible {
            (n, 0.0, 0.0)
        } else if let Some(m) = indexed {
            (m, 0.0, 0.0)
        } else {
            let t = Instant::now();
            let accepted = inner.estimate_accepted(&accept);
            let cold = t.elapsed().as_nanos() as f64;
            let t = Instant::now();
            std::hint::black_box(inner.estimate_accepted(&accept));
            (accepted, cold, t.elapsed().as_nanos() as f64 / samples.max(1) as f64)
        };
        // Testing one candidate during a search: reading its record, then evaluating the filter.
        // (A bitmap test, for a filter the index answered: next to nothing.)
        let accept_ns =
            if everything_visible || indexed.is_some() { 0.0 } else { cal.record_touch_ns + eval_ns };
        let plan = match indexed {
            Some(m) => inner.plan_indexed(ef, m as u64),
            None => inner.plan(ef, filter.is_some(), || accepted),
        };
        let p = if n == 0 { 0.0 } else { accepted as f64 / n as f64 };
        est.plan = Some(plan);
        est.estimated_selectivity = p;
        est.estimated_matches = accepted as u64;
        // The query samples the filter only when it has to choose (a store of more than 2000 slots
        // with a complete graph).
        let query_samples = filter.is_some() && n > super::EXACT_SCAN_MAX_SLOTS && inner.index.len() >= n;
        let mut ns = if indexed.is_some() {
            index_ns
        } else if query_samples {
            sample_ns
        } else {
            0.0
        } + k.min(accepted) as f64 * cal.hit_ns;
        let pct = |p: f64| if p >= 0.1 { format!("{:.0}%", p * 100.0) } else { format!("{:.2}%", p * 100.0) };
        match plan {
            Plan::Graph => {
                let ef_eff = ef as f64 / p.max(1.0 / n as f64);
                let nodes0 = (cal.nodes0.0 + cal.nodes0.1 * ef_eff).clamp(1.0, n as f64);
                let dist0 = (cal.dist0.0 + cal.dist0.1 * ef_eff).clamp(1.0, n as f64);
                let dist = 1.0 + cal.upper_distances() + dist0;
                est.estimated_distance_calculations = dist.round() as u64;
                est.estimated_nodes_visited = (cal.upper_nodes() + nodes0).round() as u64;
                est.will_overfetch = !everything_visible && p < 1.0;
                ns += dist * cal.graph_ns_per_distance;
                if !everything_visible {
                    ns += dist0 * accept_ns;
                }
                est.plan_reason = format!(
                    "HNSW graph over {n} slots ({} levels), candidate list ef = {ef}{}",
                    cal.level_sizes.len(),
                    if indexed.is_some() {
                        format!(
                            ", accepting the {accepted} records the metadata index matched ({}) by a bitmap test",
                            pct(p)
                        )
                    } else {
                        String::new()
                    }
                );
                if filter.is_some() {
                    est.recommendations.push(format!(
                        "Filter will cause over-fetching: it passes about {} of the records, so the graph search \
                         looks through about {:.0} candidates to find {ef} matches",
                        pct(p),
                        ef_eff.min(n as f64)
                    ));
                }
            }
            Plan::ExactScan if indexed.is_some() => {
                // Only the matching slots are scored: one distance each, their vectors prefetched.
                est.estimated_distance_calculations = accepted as u64;
                ns += accepted as f64 * cal.listed_ns_per_slot;
                est.plan_reason = if n <= super::EXACT_SCAN_MAX_SLOTS {
                    format!(
                        "exact scan of the {accepted} records the metadata index matched: the store has {n} slots \
                         (at most {})",
                        super::EXACT_SCAN_MAX_SLOTS
                    )
                } else if inner.index.len() < n {
                    format!(
                        "exact scan of the {accepted} records the metadata index matched: the graph does not \
                         cover every record yet"
                    )
                } else {
                    format!(
                        "exact scan of the {accepted} records the metadata index matched ({}){}: scoring them \
                         costs less than the graph search at ef = {ef}",
                        pct(p),
                        if inner.codes_covering(n).is_some() {
                            ", ranked on their int8 codes and re-ranked exactly"
                        } else {
                            ""
                        },
                    )
                };
                if n > super::EXACT_SCAN_MAX_SLOTS && p < 0.5 {
                    est.recommendations.push(format!(
                        "The filter is selective (about {} of the records pass): the query scores only its \
                         {accepted} matching records, listed by the metadata index, instead of using the graph",
                        pct(p)
                    ));
                }
            }
            Plan::ExactScan => {
                est.estimated_distance_calculations = n as u64;
                est.estimated_nodes_visited = 0;
                ns += n as f64 * cal.exact_ns_per_distance;
                // The scan tests a row's record only when its score would enter the top k: row i (in
                // slot order) is among the k / p best of the first i about (k / p) / i of the time,
                // which sums to (k / p) (1 + ln(n p / k)). Those rows are scattered, so their
                // records are read from memory, like the planner's sample: its cold time per slot.
                if !everything_visible {
                    let kp = k as f64 / p.max(1.0 / n as f64);
                    let tested = (kp * (1.0 + (n as f64 / kp).max(1.0).ln())).min(n as f64);
                    ns += tested * sample_ns / samples.max(1) as f64;
                }
                est.plan_reason = if n <= super::EXACT_SCAN_MAX_SLOTS {
                    format!(
                        "exact scan: the store has {n} slots (at most {}), where scanning is as fast as the \
                         graph and exact",
                        super::EXACT_SCAN_MAX_SLOTS
                    )
                } else if inner.index.len() < n {
                    "exact scan: the graph does not cover every record yet".to_string()
                } else {
                    format!(
                        "exact scan: the filter passes about {accepted} records ({}), fewer than {} x ef = {}, \
                         where scanning every vector is cheaper than the graph",
                        pct(p),
                        super::SELECTIVE_FACTOR,
                        super::SELECTIVE_FACTOR * ef
                    )
                };
                if filter.is_some() && n > super::EXACT_SCAN_MAX_SLOTS {
                    est.recommendations.push(format!(
                        "The filter is selective (about {} of the records pass): the query scans all {n} vectors \
                         exactly instead of using the graph",
                        pct(p)
                    ));
                }
            }
            Plan::GraphWithExactFallback | Plan::Empty => {}
        }
        if filter.is_some() && accepted < k {
            est.recommendations.push(format!(
                "Only about {accepted} records pass the filter: fewer than k = {k} results may come back"
            ));
        }
        if k > 1000 {
            est.recommendations.push(format!(
                "k = {k} is large: results cost time to return; ask for fewer and page if you can"
            ));
        }
        if k > requested_ef {
            est.recommendations
                .push(format!("k = {k} is above ef_search = {requested_ef}: the search raises ef to k"));
        }
        let dead = inner.tombstones + inner.soft_deleted;
        if n > 0 && dead * 10 >= n {
            est.recommendations.push(format!(
                "{dead} of {n} slots hold deleted or soft-deleted records: compaction would make queries cheaper"
            ));
        }
        est.estimated_duration_ms = ns / 1e6;
        est.cost_estimate = (1.0 - (-est.estimated_duration_ms / 10.0).exp()).clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests;
