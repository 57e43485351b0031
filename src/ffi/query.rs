//! Queries and the result set they return.

use std::ffi::{c_char, CString};
use std::mem::MaybeUninit;

use super::boundary::{
    need, out_call, try_opt_str, try_slice, try_versioned, value_call, BoxedHandle, Versioned,
};
use super::error::{vs_error, vs_status};
use super::store::vs_store;
use crate::error::{Error, Result};
use crate::namespace::RequestKind;
use crate::store::Query;

/// Largest `k` a query accepts.
pub const VS_MAX_K: u32 = 10000;

/// A search request. Always initialise with `vs_query_default()`, then set `vector`, `dim` and what
/// else you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vs_query {
    /// Set by `vs_query_default()`; do not change.
    pub struct_size: u32,
    /// The query vector: `dim` finite floats, borrowed for the call only.
    pub vector: *const f32,
    /// Length of `vector`; must equal the store's dimension.
    pub dim: usize,
    /// How many results, 1..=VS_MAX_K (default 10).
    pub k: u32,
    /// Metadata filter, NUL-terminated UTF-8, borrowed for the call; NULL (the default) = no filter.
    /// Only records whose metadata passes it are returned, and k of them whenever k live records pass.
    ///
    /// The language: `field = v`, `!=`, `<`, `<=`, `>`, `>=`; `field IN (v1, v2)`,
    /// `field NOT IN (...)`; `field CONTAINS v` (substring of a string field, or an element of a list
    /// field); `AND`, `OR`, `NOT` (precedence NOT > AND > OR) and parentheses. Values: strings in
    /// single or double quotes with backslash escapes (`\'`, `\"`, `\\`, `\n`, `\t`, `\uXXXX`...),
    /// numbers (`42`, `-3.5`, `1e-3`), `true`, `false`, `null`. Keywords are case-insensitive, field
    /// names are not. Example: `category = 'tech' AND (year >= 2020 OR tags CONTAINS 'rust')`.
    ///
    /// Semantics: a condition on a missing field is false (`!=` and `NOT IN` included; `NOT` is plain
    /// negation); `=` needs the same JSON type (numbers compare by value); `!=` holds when the field
    /// exists and differs, type included; `<`... compare two numbers or two strings (by bytes), any
    /// other pair is false. A filter that does not parse is `VS_ERR_FILTER_SYNTAX`, whose message gives
    /// the byte position and what was expected; trailing text is an error. Limits: 64 KiB of text, 64
    /// levels of nesting, 10000 values in one `IN` list.
    pub filter: *const c_char,
    /// Search-time candidate list size, at most 100000; 0 (the default) = the store's default.
    pub ef_search: u32,
}

impl Versioned for vs_query {
    const MIN_SIZE: usize = std::mem::size_of::<vs_query>();
    const CONSTRUCTOR: &'static str = "vs_query_default";
    fn defaults() -> Self {
        vs_query {
            struct_size: std::mem::size_of::<vs_query>() as u32,
            vector: std::ptr::null(),
            dim: 0,
            k: 10,
            filter: std::ptr::null(),
            ef_search: 0,
        }
    }
}

/// The default query: no vector (set `vector` and `dim`), k = 10, no filter, the store's ef_search.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn vs_query_default() -> vs_query {
    vs_query::defaults()
}

/// One row of a result set.
pub(crate) struct ResultRow {
    id: CString,
    score: f32,
    metadata: CString,
    vector: Option<Vec<f32>>,
    explanation: Option<Box<Explained>>,
}

/// An explanation, turned into JSON text the first time it is read.
struct Explained {
    explanation: crate::store::explain::Explanation,
    json: std::sync::OnceLock<CString>,
}

impl ResultRow {
    pub(crate) fn new(id: String, score: f32, metadata: String) -> ResultRow {
        // Ids and metadata never hold NUL (ids are checked; JSON escapes control characters).
        ResultRow {
            id: CString::new(id).expect("ids hold no NUL"),
            score,
            metadata: CString::new(metadata).expect("JSON text holds no NUL"),
            vector: None,
            explanation: None,
        }
    }
    pub(crate) fn with_vector(mut self, v: Vec<f32>) -> ResultRow {
        self.vector = Some(v);
        self
    }
    /// The explanation, for rows of `vs_store_query_explain`.
    pub(crate) fn explanation(&self) -> Option<&crate::store::explain::Explanation> {
        self.explanation.as_ref().map(|e| &e.explanation)
    }
    pub(crate) fn with_explanation(mut self, explanation: crate::store::explain::Explanation) -> ResultRow {
        self.explanation = Some(Box::new(Explained { explanation, json: std::sync::OnceLock::new() }));
        self
    }
}

/// Rows returned by `vs_store_query`, `vs_store_query_explain` or `vs_store_get`, best first. Owned by the caller: free with
/// `vs_results_free`. Strings and arrays read from it are borrowed and stay valid until then.
/// Immutable: safe to read from several threads at once.
pub struct vs_results {
    rows: Vec<ResultRow>,
}

impl BoxedHandle for vs_results {}

impl vs_results {
    pub(crate) fn boxed(rows: Vec<ResultRow>) -> Box<vs_results> {
        Box::new(vs_results { rows })
    }
}

pub(crate) fn row(r: Option<&vs_results>, i: usize) -> Option<&ResultRow> {
    r.and_then(|r| r.rows.get(i))
}

/// Runs a query: the `q->k` records most similar to `q->vector`, best first (highest score first;
/// scores as documented for each `VS_METRIC_*`). Fewer than k rows only when the store holds fewer
/// records. A store that has no dimension yet (opened with dimension 0 and never written) returns
/// no rows for a vector of any length. On success `*out` receives the results (free with
/// `vs_results_free`).
///
/// Errors: `VS_ERR_INVALID_ARGUMENT` (NULL store, query or out; an empty vector; k = 0 or above
/// VS_MAX_K; ef_search above 100000; NaN or infinity; a zero vector in a cosine store or one too long
/// for a dot or euclidean store; a filter that is not UTF-8; an uninitialised `vs_query`),
/// `VS_ERR_DIMENSION_MISMATCH`, `VS_ERR_FILTER_SYNTAX` (see `vs_query.filter`). Thread-safe, and runs
/// in parallel with other queries.
#[no_mangle]
pub unsafe extern "C" fn vs_store_query(
    store: Option<&vs_store>,
    q: *const vs_query,
    out: Option<&mut MaybeUninit<*mut vs_results>>,
    err: Option<&mut MaybeUninit<*mut vs_error>>,
) -> vs_status {
    out_call(err, out, "out", || {
        need(store, "store")?.call(RequestKind::Query, |s| {
            // SAFETY: the header's contract: `q` is NULL or a `vs_query` from vs_query_default() whose
            // `vector` and `filter` are valid for the call.
            let q = unsafe { query_arg(q) }?;
            let query = q.to_core()?;
            let hits = s.query(&query)?;
            let rows = hits.into_iter().map(|h| ResultRow::new(h.id, h.score, h.metadata)).collect();
            Ok(vs_results::boxed(rows))
        })
    })
}

/// A query argument as read from the caller, with the borrows its pointers are valid for.
pub(crate) struct QueryArg<'a> {
    q: vs_query,
    _borrow: std::marker::PhantomData<&'a ()>,
}

/// Reads a caller's `vs_query`; NULL is `VS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `q` is NULL or points to a `vs_query` initialised by vs_query_default(), whose `vector` is NULL
/// or `dim` floats and whose `filter` is NULL or a NUL-terminated string, all valid and unchanged
/// for `'a`.
pub(crate) unsafe fn query_arg<'a>(q: *const vs_query) -> Result<QueryArg<'a>> {
    if q.is_null() {
        return Err(Error::invalid("query is NULL"));
    }
    // SAFETY: this function's contract.
    let q = unsafe { try_versioned(q, "query") }?;
    Ok(QueryArg { q, _borrow: std::marker::PhantomData })
}

impl<'a> QueryArg<'a> {
    /// The core's query: the vector and the filter borrowed from the caller for `'a`.
    pub(crate) fn to_core(&self) -> Result<Query<'a>> {
        let q = &self.q;
        // SAFETY: a QueryArg is made only by `query_arg`, whose contract makes `vector` (NULL or
        // `dim` floats) and `filter` (NULL or NUL-terminated) valid for 'a.
        let (vector, filter) =
            unsafe { (try_slice(q.vector, q.dim, "query.vector")?, try_opt_str(q.filter, "query.filter")?) };
        Ok(Query { vector, k: q.k as usize, filter, ef_search: q.ef_search as usize })
    }
}

/// Number of rows. 0 when `r` is NULL.
#[no_mangle]
pub extern "C" fn vs_results_len(r: Option<&vs_results>) -> usize {
    value_call(0, || r.map_or(0, |r| r.rows.len()))
}

/// The id of row `i`: borrowed, valid until `vs_results_free(r)`. NULL when `r` is NULL or `i` is out
/// of range.
#[no_mangle]
pub extern "C" fn vs_results_id(r: Option<&vs_results>, i: usize) -> *const c_char {
    value_call(std::ptr::null(), || row(r, i).map_or(std::ptr::null(), |row| row.id.as_ptr()))
}

/// The score of row `i` (higher = more similar; see `VS_METRIC_*`). NaN when `r` is NULL or `i` is out
/// of range.
#[no_mangle]
pub extern "C" fn vs_results_score(r: Option<&vs_results>, i: usize) -> f32 {
    value_call(f32::NAN, || row(r, i).map_or(f32::NAN, |row| row.score))
}

/// The metadata of row `i` as a JSON object text (`{}` when it has none): borrowed, valid until
/// `vs_results_free(r)`. NULL when `r` is NULL or `i` is out of range. The text is the canonical
/// form stored at write time (compact, keys sorted), not byte for byte what was given.
#[no_mangle]
pub extern "C" fn vs_results_metadata_json(r: Option<&vs_results>, i: usize) -> *const c_char {
    value_call(std::ptr::null(), || row(r, i).map_or(std::ptr::null(), |row| row.metadata.as_ptr()))
}

/// The vector of row `i`, when the result set holds vectors (those from `vs_store_get` do; query
/// results do not): `*dim` receives its length and the floats are borrowed until `vs_results_free(r)`.
/// Returns NULL (and leaves `*dim` alone) when there is no vector, `r` is NULL or `i` is out of range.
/// `dim` may be NULL.
#[no_mangle]
pub extern "C" fn vs_results_vector(
    r: Option<&vs_results>,
    i: usize,
    dim: Option<&mut MaybeUninit<usize>>,
) -> *const f32 {
    value_call(std::ptr::null(), || match row(r, i).and_then(|row| row.vector.as_ref()) {
        Some(v) => {
            if let Some(dim) = dim {
                dim.write(v.len());
            }
            v.as_ptr()
        }
        None => std::ptr::null(),
    })
}

/// The explanation of row `i` as a JSON object text, for results of `vs_store_query_explain`:
/// borrowed, valid until `vs_results_free(r)`. NULL for every other result set (`vs_store_query`,
/// `vs_store_get`), when `r` is NULL or `i` is out of range. The object:
///
/// `{"raw_score":0.9876,"distance_metric":"Cosine","filter_passed":true,
///   "filter_details":{"filter_expr":"category = 'tech'","matched_conditions":["category = 'tech'"],
///                     "conditions":[{"condition":"category = 'tech'","matched":true}],"passed":true},
///   "graph_stats":{"plan":"graph","distance_calculations":1234,"nodes_visited":321,
///                  "graph_distance_calculations":1234,"exact_scan_distance_calculations":0,
///                  "upper_levels":3,"upper_hops":5,"filter_matches":4210,"filter_selectivity":0.0421},
///   "rank":1,"explanation_text":"Ranked #1 with score 0.9876 (Cosine). ..."}`
///
/// `raw_score` is the metric's own value: cosine similarity, dot product, or euclidean distance.
/// `distance_metric` is `Cosine`, `Euclidean` or `Dot`. `filter_details` is null without a filter;
/// `matched_conditions` lists the filter's conditions (canonical text) this row's metadata satisfies
/// on its own, `conditions` every condition with its outcome. `graph_stats` is the work of the whole
/// query (the same in every row), counted during the search: `plan` is `graph`, `exact_scan` (small
/// stores and selective filters: one distance per slot, `nodes_visited` 0) or
/// `graph_with_exact_fallback` (the graph found fewer than k matches and the exact scan answered);
/// `distance_calculations` is the sum of the graph's and the exact scan's. `filter_matches` is the
/// exact number of visible records passing the filter and `filter_selectivity` that number over the
/// slots, when the metadata index answered the filter (then an exact scan scores only those
/// records); both are null without a filter or when it was evaluated record by record. `rank` is 1 for the first
/// row. Later versions may add keys. The text is built the first time a row's explanation is read
/// (so explaining costs little when it is not read); thread-safe, like every accessor of a result set.
#[no_mangle]
pub extern "C" fn vs_results_explanation_json(r: Option<&vs_results>, i: usize) -> *const c_char {
    value_call(std::ptr::null(), || {
        let Some(e) = row(r, i).and_then(|row| row.explanation.as_ref()) else { return std::ptr::null() };
        e.json
            .get_or_init(|| {
                // serde_json escapes control characters, NUL included; serialising this type cannot fail.
                let mut text = Vec::with_capacity(512);
                if serde_json::to_writer(&mut text, &e.explanation).is_err() {
                    text = b"{}".to_vec();
                }
                CString::new(text).expect("JSON text holds no NUL")
            })
            .as_ptr()
    })
}

/// Frees a result set. NULL is a no-op. Must be called at most once per result set.
#[no_mangle]
pub extern "C" fn vs_results_free(r: Option<Box<vs_results>>) {
    value_call((), || drop(r))
}

#[cfg(test)]
mod tests;
