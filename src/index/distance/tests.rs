use super::*;

fn naive(a: &[f32], b: &[f32]) -> (f64, f64) {
    let d = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let l = a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum();
    (d, l)
}

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
fn every_kernel_matches_naive_sums_for_many_lengths_and_unaligned_slices() {
    let kernels = available_kernels();
    assert!(kernels.iter().any(|k| k.name == kernel().name), "the chosen kernel is listed");
    let lengths: Vec<usize> = (0..=70).chain([384, 1000]).collect();
    // Backing buffers longer than any length so that slices can start at every offset 0..8
    // (unaligned for 32-byte loads) and end before the buffer does.
    let buf_a: Vec<f32> = (0..1100).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
    let buf_b: Vec<f32> = (0..1100).map(|i| ((i as f32) * 0.11).cos() - 0.25).collect();
    for k in &kernels {
        for &n in &lengths {
            for off_a in 0..8 {
                let off_b = (off_a * 3 + 1) % 8;
                let a = &buf_a[off_a..off_a + n];
                let b = &buf_b[off_b..off_b + n];
                let (nd, nl) = naive(a, b);
                let tol = 1e-5 * (n as f64 + 1.0) * 4.0;
                let d = f64::from(k.dot(a, b));
                let l = f64::from(k.l2_squared(a, b));
                assert!((d - nd).abs() <= tol, "{} dot n={n} off={off_a}: {d} vs {nd}", k.name);
                assert!((l - nl).abs() <= tol, "{} l2 n={n} off={off_a}: {l} vs {nl}", k.name);
            }
        }
    }
}

#[test]
fn kernels_agree_with_each_other_on_special_values() {
    for k in available_kernels() {
        assert_eq!(k.dot(&[], &[]), 0.0);
        assert_eq!(k.l2_squared(&[], &[]), 0.0);
        let a = [1.0f32; 9];
        let mut b = [1.0f32; 9];
        assert_eq!(k.dot(&a, &b), 9.0, "{}", k.name);
        assert_eq!(k.l2_squared(&a, &b), 0.0, "{}", k.name);
        b[8] = f32::INFINITY;
        assert_eq!(k.dot(&a, &b), f32::INFINITY, "{}: the tail lane counts", k.name);
        b[8] = f32::NAN;
        assert!(k.l2_squared(&a, &b).is_nan(), "{}", k.name);
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
