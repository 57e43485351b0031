//! Query explain and query estimate.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use super::boundary::{need, out_call, versioned_out_call, Versioned};
use super::error::{vs_error, vs_status};
use super::query::{query_arg, row, vs_query, vs_results, ResultRow};
use super::store::vs_store;
use crate::error::Error;
use crate::namespace::RequestKind;
use crate::store::Plan;

/// How a query ran (`vs_explanation.plan`; `"plan"` in the JSON).
pub type vs_plan = u32;
/// Every slot's distance computed (small stores, selective filters).
pub const VS_PLAN_EXACT_SCAN: vs_plan = 0;
/// The HNSW graph.
pub const VS_PLAN_GRAPH: vs_plan = 1;
/// The graph found fewer than k matches, so the exact scan answered.
pub const VS_PLAN_GRAPH_WITH_EXACT_FALLBACK: vs_plan = 2;

/// The explanation of one row as numbers (the JSON of `vs_results_explanation_json` without the
/// texts), filled by `vs_results_explanation`. Initialise with `vs_explanation_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_explanation {
    /// Set by `vs_explanation_default()`; do not change.
    pub struct_size: u32,
    /// 1 for the first row.
    pub rank: u32,
    /// The metric's own value: cosine similarity, dot product, or euclidean distance.
    pub raw_score: f64,
    /// One of `VS_PLAN_*`.
    pub plan: vs_plan,
    /// True: every returned row passed the filter (or there was none).
    pub filter_passed: bool,
    /// Leaf conditions of the filter (0 without a filter), and how many of them this row satisfies.
    pub conditions: u32,
    pub matched_conditions: u32,
    /// The work of the whole query (the same in every row): every distance computed, graph nodes
    /// expanded, and the distances of the graph search and of the exact scan.
    pub distance_calculations: u64,
    pub nodes_visited: u64,
    pub graph_distance_calculations: u64,
    pub exact_scan_distance_calculations: u64,
}

impl Versioned for vs_explanation {
    const MIN_SIZE: usize = std::mem::size_of::<vs_explanation>();
    const CONSTRUCTOR: &'static str = "vs_explanation_default";
    fn defaults() -> Self {
        vs_explanation {
            struct_size: std::mem::size_of::<vs_explanation>() as u32,
            rank: 0,
            raw_score: 0.0,
            plan: VS_PLAN_EXACT_SCAN,
            filter_passed: false,
            conditions: 0,
            matched_conditions: 0,
            distance_calculations: 0,
            nodes_visited: 0,
            graph_distance_calculations: 0,
            exact_scan_distance_calculations: 0,
        }
    }
}

/// An empty `vs_explanation` with its `struct_size` set. Thread-safe.
#[no_mangle]
pub extern "C" fn vs_explanation_default() -> vs_explanation {
    vs_explanation::defaults()
}

/// Fills `*out` with the explanation of row `i` of a result set from `vs_store_query_explain`, as
/// numbers: no JSON to build or parse. `out` must be initialised with `vs_explanation_default()`.
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL `r` or `out`, an uninitialised `out`, `i` out of range,
/// results that did not come from `vs_store_query_explain`); `*out` is then left untouched.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_results_explanation(
    r: Option<&vs_results>,
    i: usize,
    out: *mut vs_explanation,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    let body = |mut e: vs_explanation| {
        need(r, "results")?;
        let row = row(r, i).ok_or_else(|| Error::invalid(format!("row {i} is out of range")))?;
        let x = row
            .explanation()
            .ok_or_else(|| Error::invalid("these results did not come from vs_store_query_explain"))?;
        let g = &x.graph_stats;
        e.rank = u32::try_from(x.rank).unwrap_or(u32::MAX);
        e.raw_score = x.raw_score;
        e.plan = match g.plan {
            Plan::Graph => VS_PLAN_GRAPH,
            Plan::GraphWithExactFallback => VS_PLAN_GRAPH_WITH_EXACT_FALLBACK,
            Plan::ExactScan | Plan::Empty => VS_PLAN_EXACT_SCAN,
        };
        e.filter_passed = x.filter_passed;
        let (all, matched) =
            x.filter_details.as_ref().map_or((0, 0), |d| (d.conditions.len(), d.matched_conditions.len()));
        e.conditions = all as u32;
        e.matched_conditions = matched as u32;
        e.distance_calculations = g.distance_calculations;
        e.nodes_visited = g.nodes_visited;
        e.graph_distance_calculations = g.graph_distance_calculations;
        e.exact_scan_distance_calculations = g.exact_scan_distance_calculations;
        Ok(e)
    };
    // SAFETY: the header's contract: `out` is NULL or a struct from vs_explanation_default() that
    // the caller does not touch during the call.
    unsafe { versioned_out_call(err, out, "out", body) }
}

/// Runs a query exactly as `vs_store_query` does (the same rows in the same order with the same
/// scores, the same errors) and attaches an explanation to every row: read it with
/// `vs_results_explanation_json` (documented there: raw score, metric, which filter conditions the
/// row satisfies, the plan and the distance calculations and nodes visited counted during the
/// search, rank and a one-line text). On success `*out` receives the results (free with
/// `vs_results_free`). Costs about as much as `vs_store_query` (the counters are kept by every
/// search anyway): each row's explanation JSON is built the first time it is read.
///
/// Errors: those of `vs_store_query` (`VS_ERR_INVALID_ARGUMENT`, `VS_ERR_DIMENSION_MISMATCH`,
/// `VS_ERR_FILTER_SYNTAX`). Thread-safe, and runs in parallel with other queries.
#[no_mangle]
pub unsafe extern "C" fn vs_store_query_explain(
    store: Option<&vs_store>,
    q: *const vs_query,
    out: Option<&mut MaybeUninit<*mut vs_results>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        let store = need(store, "store")?;
        // SAFETY: the header's contract: `q` is NULL or a `vs_query` from vs_query_default() whose
        // `vector` and `filter` are valid for the call.
        let q = unsafe { query_arg(q) }?;
        let query = q.to_core()?;
        let hits = store.call(RequestKind::Query, |s| s.query_explain(&query))?;
        let rows = hits
            .into_iter()
            .map(|h| ResultRow::new(h.id, h.score, h.metadata).with_explanation(h.explanation))
            .collect();
        Ok(vs_results::boxed(rows))
    })
}

/// Validates a query and estimates its cost without running it. On success `*out_json` receives a
/// JSON object owned by the caller (free it with `vs_string_free`):
///
/// `{"valid":true,"errors":[],"error_codes":[],"cost_estimate":0.02,
///   "estimated_distance_calculations":1500,"estimated_nodes_visited":110,"will_overfetch":false,
///   "recommendations":[],"estimated_duration_ms":0.2,"plan":"graph","plan_reason":"...",
///   "estimated_selectivity":1.0,"estimated_matches":100000,"selectivity_exact":false,"ef_search":64,
///   "calibration_ms":0.0}`
///
/// A query `vs_store_query` would refuse is not an error here: the object has `"valid":false`,
/// `errors` (one message per problem, all of them: dimension mismatch, k = 0 or above VS_MAX_K,
/// ef_search above 100000, filter syntax with its position, an empty, non-finite, zero (cosine) or
/// too long vector) and `error_codes` (the matching codes as spelled in batch reports: `"dimension_mismatch"`, `"invalid_argument"`, `"filter_syntax"`), and `"plan":null`.
///
/// For a valid query: `plan` is the plan the query will take, decided by the query's own planner
/// on the same count of the filter's matches: `exact_scan` (small stores, selective filters),
/// `graph`, or `empty` (nothing written yet). The metadata index counts the matches of a filter
/// exactly (`selectivity_exact` true; an exact scan then scores only the matching records); a
/// filter it cannot answer (a field path deeper than 8 segments) is sampled on 512 records. `estimated_distance_calculations` and
/// `estimated_nodes_visited` come from the graph's level sizes, ef (raised to k), the filter's
/// estimated selectivity (`estimated_selectivity`, the fraction of slots that pass; a graph search
/// then looks through about ef / selectivity candidates, `will_overfetch`), and node and distance
/// counts measured on this store's graph. `estimated_duration_ms` multiplies them by measured
/// costs (a graph search's time per distance, the exact scan's time per row, the filter's time per
/// evaluation, the time to return a row). `cost_estimate` is `1 - exp(-estimated_duration_ms / 10)`,
/// in [0, 1]. `recommendations` are sentences in plain words. The cost model is measured on the
/// store at the first estimate (a few milliseconds, reported as `calibration_ms`) and again when
/// the graph has changed size by more than 10% or the measurement is more than a minute old;
/// otherwise an estimate takes microseconds (without a filter) to a few hundred (sampling the
/// filter on 512 records, as the query's planner does). Later versions may add keys.
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` only for a NULL store, query or out_json, a `vs_query` not
/// initialised with `vs_query_default()`, a vector pointer that is NULL with a non-zero `dim`, or a
/// filter that is not UTF-8. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn vs_store_estimate_query_json(
    store: Option<&vs_store>,
    q: *const vs_query,
    out_json: Option<&mut MaybeUninit<*mut c_char>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out_json, "out_json", || {
        let store = need(store, "store")?;
        // SAFETY: the header's contract: `q` is NULL or a `vs_query` from vs_query_default() whose
        // `vector` and `filter` are valid for the call.
        let q = unsafe { query_arg(q) }?;
        let query = q.to_core()?;
        let estimate = store.call(RequestKind::Query, |s| Ok(s.estimate_query(&query)))?;
        serde_json::to_string(&estimate)
            .map_err(|e| Error::new(crate::Code::Internal, format!("estimate: {e}")))
    })
}
