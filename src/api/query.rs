//! Queries and their results, owned.

use serde::Serialize;

use super::Metadata;
use crate::error::Result;
use crate::filter::Filter;
use crate::store::explain::{ExplainedHit, FilterDetails, GraphStats};
use crate::store::record::Hit;

/// Parses a metadata filter: `category = 'tech' AND (year >= 2020 OR tags CONTAINS 'rust')`.
///
/// The language is documented in [`crate::filter`]. A filter that does not parse is
/// [`Code::FilterSyntax`](crate::Code::FilterSyntax), with the message a C caller gets for the same
/// text (the byte position, what was expected and what was found).
///
/// ```
/// let f = vecstore::parse_filter("category = 'tech' and year >= 2020").unwrap();
/// assert_eq!(f.to_string(), "category = 'tech' AND year >= 2020");
///
/// let err = vecstore::parse_filter("category = ").unwrap_err();
/// assert_eq!(err.code, vecstore::Code::FilterSyntax);
/// assert!(err.message.starts_with("filter syntax error at position 11"), "{}", err.message);
/// ```
pub fn parse_filter(text: &str) -> Result<Filter> {
    Filter::parse(text)
}

/// A search: the `k` records most similar to `vector` that pass `filter`.
///
/// `k` must be in 1..=10000; the vector must have the store's dimension and finite values (and not
/// be all zeros in a cosine store). The checks are the store's, so the errors are those of the C
/// ABI's `vs_store_query`. The candidate list size (`ef_search`) is the store's default; another
/// one is passed in [`QueryOptions`].
///
/// ```
/// use vecstore::{parse_filter, Query};
///
/// # fn main() -> vecstore::Result<()> {
/// let query = Query {
///     vector: vec![0.1, 0.2, 0.3],
///     k: 10,
///     filter: Some(parse_filter("category = 'tech'")?),
/// };
/// // The same, built step by step:
/// let same = Query::new(vec![0.1, 0.2, 0.3], 10).with_filter(parse_filter("category = 'tech'")?);
/// assert_eq!(query, same);
/// # Ok(())
/// # }
/// ```
///
/// The store receives the filter as its canonical text ([`Filter`]'s `Display`), which parses back
/// to the same filter; explanations quote that text, as they do for a C caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The query vector.
    pub vector: Vec<f32>,
    /// How many results, at most.
    pub k: usize,
    /// Only records whose metadata passes this filter are returned (and `k` of them whenever `k`
    /// live records pass).
    pub filter: Option<Filter>,
}

impl Query {
    /// A query without a filter.
    pub fn new(vector: Vec<f32>, k: usize) -> Query {
        Query { vector, k, filter: None }
    }

    /// `self` with a filter.
    pub fn with_filter(mut self, filter: Filter) -> Query {
        self.filter = Some(filter);
        self
    }

    /// Runs `f` on the core's borrowed query (the fast path's type).
    pub(crate) fn with_core<T>(
        &self,
        options: &QueryOptions,
        f: impl FnOnce(&crate::store::Query<'_>) -> T,
    ) -> T {
        let filter = self.filter.as_ref().map(Filter::to_string);
        f(&crate::store::Query {
            vector: &self.vector,
            k: self.k,
            filter: filter.as_deref(),
            ef_search: options.ef_search,
        })
    }
}

impl Default for Query {
    /// No vector (set one), `k` = 10 (as `vs_query_default`), no filter.
    fn default() -> Query {
        Query { vector: Vec::new(), k: 10, filter: None }
    }
}

/// Search settings beyond the guide's three-field [`Query`]. Build with struct update syntax, so
/// that settings added later keep their defaults: `QueryOptions { ef_search: 128,
/// ..Default::default() }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Candidate list size of the graph search, at most 100000 (raised to `k` when smaller);
    /// 0 (the default) = the store's default.
    pub ef_search: usize,
}

/// One result of a query, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// The record's id.
    pub id: String,
    /// Higher is more similar: the cosine similarity, the dot product, or `1 / (1 + distance)` for
    /// euclidean.
    pub score: f32,
    /// The record's metadata.
    pub metadata: Metadata,
}

impl SearchResult {
    pub(crate) fn from_core(hit: Hit) -> Result<SearchResult> {
        Ok(SearchResult { metadata: Metadata::from_core(&hit.metadata)?, id: hit.id, score: hit.score })
    }
}

/// One result of `query_explain`: the same id, score and metadata as the query gives, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedResult {
    /// The record's id.
    pub id: String,
    /// As in [`SearchResult::score`].
    pub score: f32,
    /// The record's metadata.
    pub metadata: Metadata,
    /// Why it is there, and what the search did.
    pub explanation: Explanation,
}

impl ExplainedResult {
    pub(crate) fn from_core(hit: ExplainedHit) -> Result<ExplainedResult> {
        Ok(ExplainedResult {
            metadata: Metadata::from_core(&hit.metadata)?,
            explanation: Explanation::from_core(&hit.explanation),
            id: hit.id,
            score: hit.score,
        })
    }
}

/// The explanation of one result. Serialises to the JSON object a C caller reads with
/// `vs_results_explanation_json` (and the HTTP server returns), field for field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The metric's own value: the cosine similarity, the dot product, or the euclidean distance.
    pub raw_score: f64,
    /// `Cosine`, `Euclidean` or `Dot`.
    pub distance_metric: &'static str,
    /// True when there is no filter or the result passed it (always, for a returned result).
    pub filter_passed: bool,
    /// The filter (canonical text) and which of its conditions this result's metadata satisfies;
    /// `None` without a filter.
    pub filter_details: Option<FilterDetails>,
    /// The search's plan and work (distance calculations, nodes visited): the same for every
    /// result of one query.
    pub graph_stats: GraphStats,
    /// 1 for the best result.
    pub rank: usize,
    /// One line for a person: `Ranked #1 with score 0.9876 (Cosine). Passed filter (1 of 1
    /// conditions matched). Exact scan: 5 distance calculations.`
    pub explanation_text: String,
}

impl Explanation {
    pub(crate) fn from_core(e: &crate::store::explain::Explanation) -> Explanation {
        Explanation {
            raw_score: e.raw_score,
            distance_metric: e.distance_metric,
            filter_passed: e.filter_passed,
            filter_details: e.filter_details.clone(),
            graph_stats: e.graph_stats,
            rank: e.rank,
            explanation_text: e.explanation_text(),
        }
    }

    /// The JSON object, as `vs_results_explanation_json` gives it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an explanation serialises")
    }
}
