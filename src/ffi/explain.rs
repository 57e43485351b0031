//! Query explain and query estimate.

use std::ffi::c_char;

use super::boundary::{handle, out_arg, status_call, versioned_arg};
use super::error::{owned_c_string, vs_error, vs_status};
use super::query::{core_query, vs_query, vs_results, ResultRow};
use super::store::vs_store;
use crate::error::Error;

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
    store: *const vs_store,
    q: *const vs_query,
    out: *mut *mut vs_results,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        let s = &handle(store, "store")?.store;
        if q.is_null() {
            return Err(Error::invalid("query is NULL"));
        }
        out_arg(out, "out")?;
        let q = versioned_arg(q, "query")?;
        let query = core_query(&q)?;
        let hits = s.query_explain(&query)?;
        let rows = hits
            .into_iter()
            .map(|h| ResultRow::new(h.id, h.score, h.metadata).with_explanation(h.explanation))
            .collect();
        *out = vs_results::boxed(rows);
        Ok(())
    })
}

/// Validates a query and estimates its cost without running it. On success `*out_json` receives a
/// JSON object owned by the caller (free it with `vs_string_free`):
///
/// `{"valid":true,"errors":[],"error_codes":[],"cost_estimate":0.02,
///   "estimated_distance_calculations":1500,"estimated_nodes_visited":110,"will_overfetch":false,
///   "recommendations":[],"estimated_duration_ms":0.2,"plan":"graph","plan_reason":"...",
///   "estimated_selectivity":1.0,"estimated_matches":100000,"ef_search":64,"calibration_ms":0.0}`
///
/// A query `vs_store_query` would refuse is not an error here: the object has `"valid":false`,
/// `errors` (one message per problem, all of them: dimension mismatch, k = 0 or above VS_MAX_K,
/// ef_search above 100000, filter syntax with its position, an empty, non-finite, zero (cosine) or
/// too long vector) and `error_codes` (the matching `VS_ERR_*` names), and `"plan":null`.
///
/// For a valid query: `plan` is the plan the query will take, decided by the query's own planner
/// on the same 512-slot sample of the filter: `exact_scan` (small stores, selective filters),
/// `graph`, or `empty` (nothing written yet). `estimated_distance_calculations` and
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
    store: *const vs_store,
    q: *const vs_query,
    out_json: *mut *mut c_char,
    err: *mut *mut vs_error,
) -> vs_status {
    status_call(err, || {
        let s = &handle(store, "store")?.store;
        if q.is_null() {
            return Err(Error::invalid("query is NULL"));
        }
        out_arg(out_json, "out_json")?;
        let q = versioned_arg(q, "query")?;
        let query = core_query(&q)?;
        let estimate = s.estimate_query(&query);
        let json = serde_json::to_string(&estimate)
            .map_err(|e| Error::new(crate::Code::Internal, format!("estimate: {e}")))?;
        *out_json = owned_c_string(json);
        Ok(())
    })
}
