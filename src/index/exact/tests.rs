use super::*;

#[test]
fn returns_best_first_and_respects_accept() {
    // Four 2-d rows; the query is closest to row 2, then row 0.
    let rows = [1.0, 0.0, 0.0, 1.0, 0.9, 0.1, -1.0, 0.0];
    let hits = top_k(Metric::Dot, &rows, 2, &[1.0, 0.05], 2, |_| true);
    assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 2]);
    let hits = top_k(Metric::Dot, &rows, 2, &[1.0, 0.05], 2, |r| r != 0);
    assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![2, 1]);
    let hits = top_k(Metric::Euclidean, &rows, 2, &[1.0, 0.0], 1, |_| true);
    assert_eq!(hits[0].row, 0);
    assert!((hits[0].score - 1.0).abs() < 1e-6, "distance 0 gives score 1");
}

#[test]
fn matches_a_full_sort_on_random_data() {
    let dim = 7;
    let n = 500;
    let mut seed = 42u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let rows: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    let q: Vec<f32> = (0..dim).map(|_| next()).collect();
    for metric in [Metric::Dot, Metric::Euclidean] {
        let mut all: Vec<(usize, f32)> =
            rows.chunks_exact(dim).enumerate().map(|(i, v)| (i, raw_similarity(metric, &q, v))).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let hits = top_k(metric, &rows, dim, &q, 10, |_| true);
        let got: Vec<usize> = hits.iter().map(|h| h.row).collect();
        let want: Vec<usize> = all[..10].iter().map(|x| x.0).collect();
        assert_eq!(got, want, "{metric:?}");
    }
}
