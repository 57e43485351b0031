//! The similarity metrics. The index owns them: distances and scores are computed here, and the
//! store only picks one. Every spelling of a metric lives in the one table below.

use serde::{Deserialize, Serialize};

/// How similarity is measured. Scores are always "higher is more similar":
/// cosine similarity for `Cosine`, the dot product for `Dot`, and `1 / (1 + d)` with the true
/// (not squared) euclidean distance `d` for `Euclidean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    Euclidean,
    Dot,
}

struct MetricRow {
    metric: Metric,
    /// In options, stats, files and every JSON key: `"cosine"` (also its serde spelling).
    name: &'static str,
    /// In the text of query explanations, as the feature guide writes it: `"Cosine"`.
    label: &'static str,
    /// The number in the graph file and the C ABI's `VS_METRIC_*` value.
    code: u32,
}

const METRICS: [MetricRow; 3] = [
    MetricRow { metric: Metric::Cosine, name: "cosine", label: "Cosine", code: 0 },
    MetricRow { metric: Metric::Euclidean, name: "euclidean", label: "Euclidean", code: 1 },
    MetricRow { metric: Metric::Dot, name: "dot", label: "Dot", code: 2 },
];

impl Metric {
    fn row(self) -> &'static MetricRow {
        METRICS.iter().find(|r| r.metric == self).expect("every metric has a row")
    }

    /// Every metric.
    pub fn all() -> impl Iterator<Item = Metric> {
        METRICS.iter().map(|r| r.metric)
    }

    /// `"cosine"`, `"euclidean"`, `"dot"`: the spelling of options, stats and JSON.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// `"Cosine"`, `"Euclidean"`, `"Dot"`: the spelling of explanations (the feature guide's).
    pub fn label(self) -> &'static str {
        self.row().label
    }

    /// The metric's number in files and in the C ABI (`VS_METRIC_*`).
    pub fn code(self) -> u32 {
        self.row().code
    }

    /// The metric with this number, if any.
    pub fn from_code(code: u32) -> Option<Metric> {
        METRICS.iter().find(|r| r.code == code).map(|r| r.metric)
    }

    /// The metric with this name (case-insensitive: `"cosine"`, `"L2"` is not accepted), if any.
    pub fn from_name(name: &str) -> Option<Metric> {
        METRICS.iter().find(|r| r.name.eq_ignore_ascii_case(name)).map(|r| r.metric)
    }
}

#[cfg(test)]
mod tests;
