//! Prometheus metrics: requests by route, method and status, latency histograms by route, and, per
//! namespace, vectors, storage bytes and refusals (quota, rate limit, suspension).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    refusals: IntCounterVec,
    vectors: IntGaugeVec,
    storage: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("vecstore_http_requests_total", "HTTP requests answered, by route, method and status"),
            &["route", "method", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("vecstore_http_request_duration_seconds", "HTTP request latency, by route")
                .buckets(vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0, 10.0,
                ]),
            &["route", "method"],
        )
        .expect("metric");
        let refusals = IntCounterVec::new(
            Opts::new(
                "vecstore_refusals_total",
                "Data calls refused by a namespace, by reason (quota_exceeded, rate_limited, namespace_suspended)",
            ),
            &["namespace", "reason"],
        )
        .expect("metric");
        let vectors = IntGaugeVec::new(
            Opts::new("vecstore_namespace_vectors", "Live records per namespace (\"\" in single-store mode)"),
            &["namespace"],
        )
        .expect("metric");
        let storage = IntGaugeVec::new(
            Opts::new(
                "vecstore_namespace_storage_bytes",
                "Bytes on disk per namespace (\"\" in single-store mode)",
            ),
            &["namespace"],
        )
        .expect("metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(refusals.clone()),
            Box::new(vectors.clone()),
            Box::new(storage.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics { registry, requests, latency, refusals, vectors, storage }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[route, method, &status.to_string()]).inc();
        self.latency.with_label_values(&[route, method]).observe(seconds);
    }

    pub fn refusal(&self, namespace: &str, reason: &str) {
        self.refusals.with_label_values(&[namespace, reason]).inc();
    }

    /// The text exposition, with the per-namespace gauges set to `sizes` (id, vectors, bytes).
    pub fn render(&self, sizes: &[(String, u64, u64)]) -> String {
        self.vectors.reset();
        self.storage.reset();
        for (id, vectors, bytes) in sizes {
            self.vectors.with_label_values(&[id]).set(*vectors as i64);
            self.storage.with_label_values(&[id]).set(*bytes as i64);
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}
