//! Search structures: distance kernels, the exact scan, the HNSW graph and the int8 codes it
//! can traverse on.

pub mod distance;
pub mod exact;
pub mod hnsw;
pub mod metric;
pub mod quant;

pub use metric::Metric;
