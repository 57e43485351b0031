//! Search structures: distance kernels, the exact scan and the HNSW graph.

pub mod distance;
pub mod exact;
pub mod hnsw;
pub mod metric;

pub use metric::Metric;
