//! Search structures: distance kernels and the exact scan (the HNSW graph joins them later).

pub mod distance;
pub mod exact;
