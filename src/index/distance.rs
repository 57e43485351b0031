//! Distance kernels. Written as 8-lane chunked loops so the compiler vectorises them on every target;
//! hand-written AVX2/FMA kernels with run-time detection come with the HNSW index.

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

/// Squared euclidean distance of two equal-length slices.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for i in 0..8 {
            let d = ca[i] - cb[i];
            acc[i] += d * d;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks..a.len() {
        let d = a[i] - b[i];
        sum += d * d;
    }
    sum
}

/// Squared euclidean length, computed in f64 so that it cannot overflow for any finite f32 input.
pub fn squared_norm_f64(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// Scales `v` to unit length in place. Returns false (and leaves `v` alone) for a zero vector, whose
/// direction (and so its cosine similarity to anything) is undefined. Works for every finite input,
/// however large or small (the length is computed in f64).
pub fn normalize(v: &mut [f32]) -> bool {
    let norm = squared_norm_f64(v).sqrt();
    if norm == 0.0 {
        return false;
    }
    for x in v.iter_mut() {
        *x = (f64::from(*x) / norm) as f32;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive_sums_for_every_tail_length() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((dot(&a, &b) - naive_dot).abs() < 1e-4, "dot n={n}");
            assert!((l2_squared(&a, &b) - naive_l2).abs() < 1e-4, "l2 n={n}");
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_refuses_zero() {
        let mut v = vec![3.0, 4.0];
        assert!(normalize(&mut v));
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut z = vec![0.0, 0.0];
        assert!(!normalize(&mut z));
        let mut big = vec![3e38, 2.5e38];
        assert!(normalize(&mut big), "no overflow for large finite values");
        assert!((big[0] - 0.768_221_3).abs() < 1e-5 && (big[1] - 0.640_184_4).abs() < 1e-5);
        let mut tiny = vec![3e-40, 4e-40];
        assert!(normalize(&mut tiny), "subnormal values normalise too");
        assert!((tiny[1] - 0.8).abs() < 1e-5);
    }
}
