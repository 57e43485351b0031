use super::*;
use std::time::Duration;

#[test]
fn quotas_validate_the_rate() {
    Quotas::default().validate().unwrap();
    for r in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        let q = Quotas { max_requests_per_second: r, ..Quotas::default() };
        assert_eq!(q.validate().unwrap_err().code, Code::InvalidArgument, "{r}");
    }
}

#[test]
fn growth_is_checked_against_each_limit() {
    let l = SizeLimits::new("t", &Quotas { max_vectors: 10, max_storage_bytes: 1000, ..Quotas::default() });
    l.check_growth(9, 1, 0, 10).unwrap();
    let e = l.check_growth(9, 2, 0, 10).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert!(e.message.contains("max_vectors is 10") && e.message.contains("11"), "{}", e.message);
    // A replacement adds no vector: allowed at the limit and above it.
    l.check_growth(10, 0, 0, 10).unwrap();
    l.check_growth(12, 0, 0, 10).unwrap();
    let e = l.check_growth(0, 1, 990, 11).unwrap_err();
    assert!(e.message.contains("max_storage_bytes is 1000") && e.message.contains("1001"), "{}", e.message);
    l.check_growth(0, 1, 990, 10).unwrap();
    l.set(&Quotas::default());
    l.check_growth(u64::MAX, 5, u64::MAX, 5).unwrap();
}

#[test]
fn the_bucket_holds_max_1_rate_tokens_and_refills_at_rate() {
    let r = RateLimiter::new(5.0);
    let t0 = Instant::now();
    for _ in 0..5 {
        assert!(r.try_take_at(t0));
    }
    assert!(!r.try_take_at(t0));
    // 0.2 s at 5/s is one token.
    assert!(r.try_take_at(t0 + Duration::from_millis(201)));
    assert!(!r.try_take_at(t0 + Duration::from_millis(202)));
    // A long idle period refills to capacity, not beyond.
    let later = t0 + Duration::from_secs(100);
    for _ in 0..5 {
        assert!(r.try_take_at(later));
    }
    assert!(!r.try_take_at(later));
    // A rate below 1 still allows one request (capacity 1), then one per 1/rate seconds.
    let slow = RateLimiter::new(0.5);
    assert!(slow.try_take_at(t0));
    assert!(!slow.try_take_at(t0 + Duration::from_secs(1)));
    assert!(slow.try_take_at(t0 + Duration::from_millis(2001)));
    // Unlimited.
    let free = RateLimiter::new(0.0);
    assert!((0..10_000).all(|_| free.try_take_at(t0)));
    free.set_rate(1.0);
    assert!(free.try_take());
    assert!(!free.try_take());
}
