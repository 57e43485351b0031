//! Query explain: the results of a query with, per result, why it is there and what the search did.
//!
//! `query_explain` runs exactly the search `query` runs (same plan, same code, same results in the
//! same order with the same scores). The graph search counts its work anyway ([`SearchStats`](crate::index::hnsw::SearchStats));
//! the plain query throws the counters away, explain reports them. What explain adds is per result
//! and small: the filter's conditions evaluated on the result's metadata and a line of text.

use serde::Serialize;

use super::options::Metric;
use super::{Plan, Query, SearchInfo, Store};
use crate::error::Result;
use crate::filter::Filter;

/// The work of one query, the same for every result of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GraphStats {
    /// `exact_scan`, `graph` or `graph_with_exact_fallback`.
    pub plan: Plan,
    /// Every distance computed: graph plus exact scan.
    pub distance_calculations: u64,
    /// Graph nodes whose neighbour lists were read (0 for an exact scan).
    pub nodes_visited: u64,
    /// Distances computed by the graph search (upper levels and level 0).
    pub graph_distance_calculations: u64,
    /// Distances computed by the exact scan (one per slot, tombstones included).
    pub exact_scan_distance_calculations: u64,
    /// Levels descended above level 0, and greedy moves made on them.
    pub upper_levels: u64,
    pub upper_hops: u64,
    /// When the metadata index answered the filter: the exact number of visible records passing
    /// it, and that number as a fraction of the slots. `null` without a filter, or when the filter
    /// was evaluated record by record (a path deeper than the index holds).
    pub filter_matches: Option<u64>,
    pub filter_selectivity: Option<f64>,
}

impl GraphStats {
    fn of(info: &SearchInfo, slots: usize) -> GraphStats {
        GraphStats {
            plan: info.plan,
            distance_calculations: info.graph.distance_calculations + info.exact_distance_calculations,
            nodes_visited: info.graph.nodes_visited,
            graph_distance_calculations: info.graph.distance_calculations,
            exact_scan_distance_calculations: info.exact_distance_calculations,
            upper_levels: info.graph.levels,
            upper_hops: info.graph.upper_hops,
            filter_matches: info.indexed_matches,
            filter_selectivity: info.indexed_matches.map(|m| m as f64 / slots.max(1) as f64),
        }
    }
}

/// One condition of the filter and whether the result's metadata satisfies it on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionOutcome {
    pub condition: String,
    pub matched: bool,
}

/// Why a result passed the filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterDetails {
    /// The filter in canonical text.
    pub filter_expr: String,
    /// The conditions this result satisfies (canonical text), in filter order.
    pub matched_conditions: Vec<String>,
    /// Every condition with its outcome.
    pub conditions: Vec<ConditionOutcome>,
    /// Whether the whole filter holds (always true for a returned result).
    pub passed: bool,
}

/// The explanation of one result. Serialises to the JSON object of `vs_results_explanation_json`,
/// `explanation_text` included.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The metric's own value: cosine similarity, dot product, or euclidean distance (the public
    /// score of euclidean is `1 / (1 + distance)`; for cosine and dot the score is this value).
    pub raw_score: f64,
    /// `Cosine`, `Euclidean` or `Dot`.
    pub distance_metric: &'static str,
    /// True when there is no filter or the result passed it.
    pub filter_passed: bool,
    /// `None` without a filter.
    pub filter_details: Option<FilterDetails>,
    pub graph_stats: GraphStats,
    /// 1 for the best result.
    pub rank: usize,
    /// The public score (as in the result), for the text.
    pub score: f32,
    /// k, for the text of a graph search that fell back to the exact scan.
    pub k: usize,
}

impl Explanation {
    /// One line for a person: `Ranked #1 with score 0.9876 (Cosine). Passed filter (1 of 1
    /// conditions matched). Graph search: 1234 distance calculations, 321 nodes visited.` Built on
    /// demand, so that explaining costs little more than the query when nobody reads it.
    pub fn explanation_text(&self) -> String {
        Text(self).to_string()
    }
}

/// Writes the explanation text straight into a formatter (or a JSON string being serialised).
struct Text<'a>(&'a Explanation);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        let stats = &e.graph_stats;
        // The score to 4 decimals, written from an integer: `{:.4}` on a float costs more than
        // the rest of the line.
        let scaled = (f64::from(e.score) * 1e4).round();
        if scaled.is_finite() && scaled.abs() < 1e15 {
            let v = scaled as i64;
            let sign = if v < 0 { "-" } else { "" };
            let v = v.unsigned_abs();
            write!(
                f,
                "Ranked #{} with score {sign}{}.{:04} ({}). ",
                e.rank,
                v / 10_000,
                v % 10_000,
                e.distance_metric
            )?;
        } else {
            write!(f, "Ranked #{} with score {:.4} ({}). ", e.rank, e.score, e.distance_metric)?;
        }
        match &e.filter_details {
            None => f.write_str("No filter. ")?,
            Some(d) => write!(
                f,
                "Passed filter ({} of {} conditions matched). ",
                d.matched_conditions.len(),
                d.conditions.len()
            )?,
        }
        match stats.plan {
            Plan::Graph => write!(
                f,
                "Graph search: {} distance calculations, {} nodes visited.",
                stats.distance_calculations, stats.nodes_visited
            ),
            Plan::GraphWithExactFallback => write!(
                f,
                "Graph search found fewer than {} matches ({} distance calculations, {} nodes visited); \
                 an exact scan of {} records answered.",
                e.k,
                stats.graph_distance_calculations,
                stats.nodes_visited,
                stats.exact_scan_distance_calculations
            ),
            Plan::ExactScan | Plan::Empty => match stats.filter_matches {
                Some(m) => write!(
                    f,
                    "Exact scan of the {m} records the metadata index matched: {} distance calculations.",
                    stats.exact_scan_distance_calculations
                ),
                None => {
                    write!(f, "Exact scan: {} distance calculations.", stats.exact_scan_distance_calculations)
                }
            },
        }
    }
}

/// Serialises as a JSON string without building it first.
struct TextField<'a>(&'a Explanation);

impl Serialize for TextField<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&Text(self.0))
    }
}

impl Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Explanation", 7)?;
        st.serialize_field("raw_score", &self.raw_score)?;
        st.serialize_field("distance_metric", self.distance_metric)?;
        st.serialize_field("filter_passed", &self.filter_passed)?;
        st.serialize_field("filter_details", &self.filter_details)?;
        st.serialize_field("graph_stats", &self.graph_stats)?;
        st.serialize_field("rank", &self.rank)?;
        st.serialize_field("explanation_text", &TextField(self))?;
        st.end()
    }
}

/// A result of `query_explain`: the same id, score and metadata as `query` gives, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedHit {
    pub id: String,
    pub score: f32,
    /// Canonical metadata JSON text, as in [`super::Hit`].
    #[serde(skip)]
    pub metadata: String,
    pub explanation: Explanation,
}

/// The metric's own value behind a public score.
fn raw_score(m: Metric, score: f32) -> f64 {
    match m {
        Metric::Cosine | Metric::Dot => f64::from(score),
        // score = 1 / (1 + d)  =>  d = 1/score - 1
        Metric::Euclidean => (1.0 / f64::from(score) - 1.0).max(0.0),
    }
}

impl Store {
    /// Runs `q` exactly as [`Store::query`] does (same results, same order, same scores, same errors)
    /// and explains every result: raw score, metric, which filter conditions its metadata satisfies,
    /// the search's plan and work (distance calculations, nodes visited), its rank and a line of
    /// text.
    pub fn query_explain(&self, q: &Query<'_>) -> Result<Vec<ExplainedHit>> {
        let (filter, query) = self.prepare_query(q)?;
        self.ensure_usable()?;
        let inner = self.inner.read();
        let Some(ef) = inner.searchable(query.len(), q.ef_search)? else { return Ok(Vec::new()) };
        let mut info = SearchInfo::default();
        let hits = inner.search_info(self.metric, &query, q.k, ef, filter.as_ref(), &mut info);
        let stats = GraphStats::of(&info, inner.slots.len());
        let filter_expr = filter.as_ref().map(Filter::to_string);
        let metric = Metric::label(self.metric);
        let out = hits
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let s = h.row as u32;
                let hit = inner.hit(s, h.score);
                let details = filter.as_ref().map(|f| {
                    let conditions: Vec<ConditionOutcome> = f
                        .explain(&inner.slots[s as usize].metadata)
                        .into_iter()
                        .map(|c| ConditionOutcome { condition: c.condition, matched: c.matched })
                        .collect();
                    FilterDetails {
                        filter_expr: filter_expr.clone().unwrap_or_default(),
                        matched_conditions: conditions
                            .iter()
                            .filter(|c| c.matched)
                            .map(|c| c.condition.clone())
                            .collect(),
                        conditions,
                        // Every result passed it: the search accepted only passing records.
                        passed: true,
                    }
                });
                let rank = i + 1;
                ExplainedHit {
                    explanation: Explanation {
                        raw_score: raw_score(self.metric, hit.score),
                        distance_metric: metric,
                        filter_passed: true,
                        filter_details: details,
                        graph_stats: stats,
                        rank,
                        score: hit.score,
                        k: q.k,
                    },
                    id: hit.id,
                    score: hit.score,
                    metadata: hit.metadata,
                }
            })
            .collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
