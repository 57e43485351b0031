//! Quotas of a namespace: the limits themselves, the check the store runs before every write that
//! adds data, and the request-rate token bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};

/// The limits of a namespace. 0 means unlimited for each of them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Quotas {
    /// Live records the namespace may hold. A replacement of an existing record is not growth.
    pub max_vectors: u64,
    /// Bytes the namespace's store may hold on disk (log, snapshot, description file).
    pub max_storage_bytes: u64,
    /// Data calls per second through the namespace's handles (a token bucket of capacity
    /// max(1, rate) refilled at `rate` tokens per second).
    pub max_requests_per_second: f64,
}

impl Quotas {
    pub fn validate(&self) -> Result<()> {
        let r = self.max_requests_per_second;
        if !r.is_finite() || r < 0.0 {
            return Err(Error::invalid(format!(
                "max_requests_per_second must be a finite number >= 0 (0 = unlimited), got {r}"
            )));
        }
        Ok(())
    }
}

/// The size limits of a namespace, read by the store's growth check (under the store's write lock)
/// and changed by `update_quotas` without stopping the store.
#[derive(Debug, Default)]
pub struct SizeLimits {
    max_vectors: AtomicU64,
    max_storage_bytes: AtomicU64,
    namespace: String,
}

impl SizeLimits {
    pub fn new(namespace: &str, q: &Quotas) -> SizeLimits {
        let l = SizeLimits { namespace: namespace.to_string(), ..SizeLimits::default() };
        l.set(q);
        l
    }

    pub fn set(&self, q: &Quotas) {
        self.max_vectors.store(q.max_vectors, Ordering::Relaxed);
        self.max_storage_bytes.store(q.max_storage_bytes, Ordering::Relaxed);
    }

    /// Refuses a write that would take the namespace past a limit: `vectors_before + vectors_added`
    /// live records, or `bytes_before + bytes_added` bytes on disk. A write that adds nothing of a
    /// kind is never refused for that kind (so a replacement is allowed when the store is at, or even
    /// above, its vector limit after the quota was lowered).
    pub fn check_growth(
        &self,
        vectors_before: u64,
        vectors_added: u64,
        bytes_before: u64,
        bytes_added: u64,
    ) -> Result<()> {
        let max = self.max_vectors.load(Ordering::Relaxed);
        let after = vectors_before.saturating_add(vectors_added);
        if max != 0 && vectors_added > 0 && after > max {
            return Err(Error::new(
                Code::QuotaExceeded,
                format!(
                    "namespace {}: quota max_vectors is {max}, this write would make it hold {after} vectors \
                     ({vectors_before} + {vectors_added}); nothing was written",
                    self.namespace
                ),
            ));
        }
        let max = self.max_storage_bytes.load(Ordering::Relaxed);
        let after = bytes_before.saturating_add(bytes_added);
        if max != 0 && bytes_added > 0 && after > max {
            return Err(Error::new(
                Code::QuotaExceeded,
                format!(
                    "namespace {}: quota max_storage_bytes is {max}, this write would make it hold {after} bytes \
                     ({bytes_before} + {bytes_added}); nothing was written",
                    self.namespace
                ),
            ));
        }
        Ok(())
    }
}

/// A token bucket: capacity max(1, rate) tokens, refilled continuously at `rate` tokens per second,
/// lazily (computed from the time elapsed since the last call: no thread). Rate 0 = unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<Bucket>,
    /// The rate as f64 bits, so the unlimited case is one atomic load and no lock.
    rate_bits: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            state: Mutex::new(Bucket { tokens: capacity(rate), last: Instant::now() }),
            rate_bits: AtomicU64::new(rate.to_bits()),
        }
    }

    pub fn rate(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }

    /// Changes the rate; the bucket starts full at the new capacity.
    pub fn set_rate(&self, rate: f64) {
        let mut b = self.state.lock();
        self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
        b.tokens = capacity(rate);
        b.last = Instant::now();
    }

    /// Takes one token if there is one (always true when unlimited).
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    pub(crate) fn try_take_at(&self, now: Instant) -> bool {
        let rate = self.rate();
        if rate == 0.0 {
            return true;
        }
        let mut b = self.state.lock();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(capacity(rate));
        b.last = b.last.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn capacity(rate: f64) -> f64 {
    rate.max(1.0)
}

#[cfg(test)]
mod tests;
