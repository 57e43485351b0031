use super::*;
use crate::index::distance::normalize;
use crate::index::exact::{raw_similarity, top_k};
use crate::index::hnsw::{Hnsw, HnswParams, SearchStats, SliceSource};

fn lcg(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }
}

/// Uniform random vectors (the hard case for a graph) scaled per dimension by up to 8x, so that
/// per-dimension ranges matter.
fn random(n: usize, dim: usize, seed: u64, metric: Metric) -> Vec<f32> {
    let mut next = lcg(seed);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let start = out.len();
        for j in 0..dim {
            out.push(next() * (1.0 + (j % 8) as f32));
        }
        if metric == Metric::Cosine {
            normalize(&mut out[start..]);
        }
    }
    out
}

/// Tight gaussian-ish clusters around random centres: neighbours differ by little, which is where
/// quantisation error hurts the ranking most.
fn clustered(n: usize, dim: usize, seed: u64, metric: Metric) -> Vec<f32> {
    let mut next = lcg(seed);
    let mut cn = lcg(0xc1u64);
    let centres: Vec<f32> = (0..40 * dim).map(|_| cn() * 4.0).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = ((next() + 0.5) * 40.0) as usize % 40;
        let start = out.len();
        for j in 0..dim {
            let noise = (next() + next() + next()) * 0.3;
            out.push(centres[c * dim + j] + noise);
        }
        if metric == Metric::Cosine {
            normalize(&mut out[start..]);
        }
    }
    out
}

#[test]
fn every_kernel_computes_the_same_integer() {
    let mut next = lcg(5);
    for len in [64usize, 128, 192, 384, 1024] {
        for case in 0..4 {
            let a: Vec<u8> =
                (0..len).map(|_| if case == 0 { 255 } else { ((next() + 0.5) * 255.99) as u8 }).collect();
            let q: Vec<i8> = (0..len)
                .map(|_| match case {
                    0 => -127,
                    1 => 127,
                    _ => ((next() * 254.0).round() as i32).clamp(-127, 127) as i8,
                })
                .collect();
            let want: i32 = a.iter().zip(&q).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
            for level in available_levels() {
                assert_eq!(dot_u8_i8(level, &a, &q), want, "{} len {len} case {case}", level.name());
            }
        }
    }
}

#[test]
fn encoding_is_within_half_a_step_and_counts_clipping() {
    let dim = 50;
    let data = random(3000, dim, 1, Metric::Euclidean);
    let src = SliceSource::new(&data, dim);
    let codes = Codes::train(&src, 3000, Metric::Euclidean);
    assert_eq!(codes.len(), 3000);
    assert_eq!(codes.stride(), 64);
    assert_eq!(codes.clipped(), (0, 3000 * dim as u64), "training rows are inside their own ranges");
    for r in [0u32, 17, 2999] {
        let back = codes.quantizer().decode(&codes.row(r)[..dim]);
        for (j, (&x, &y)) in src.vector(r).iter().zip(&back).enumerate() {
            let step = codes.quantizer().step[j];
            assert!((x - y).abs() <= step * 0.5001, "row {r} dim {j}: {x} vs {y} (step {step})");
        }
    }
    // Vectors three times as long clip about two thirds of their components.
    let far: Vec<f32> = data[..600 * dim].iter().map(|x| x * 3.0).collect();
    let mut more = data.clone();
    more.extend_from_slice(&far);
    let mut codes = codes;
    assert!(!codes.needs_retraining(3000));
    codes.extend(&SliceSource::new(&more, dim), 3600);
    let (clipped, encoded) = codes.clipped();
    assert!(clipped * 3 > 600 * dim as u64, "{clipped} of {encoded} clipped");
    assert!(codes.needs_retraining(3600), "drift detected");
}

#[test]
fn growth_alone_asks_for_retraining() {
    let dim = 16;
    let data = random(5000, dim, 2, Metric::Dot);
    let src = SliceSource::new(&data, dim);
    let mut codes = Codes::train(&src, 1000, Metric::Dot);
    codes.extend(&src, 3999);
    assert!(!codes.needs_retraining(3999));
    codes.extend(&src, 4000);
    assert!(codes.needs_retraining(4000));
}

#[test]
fn quantizer_bytes_round_trip_and_damage_is_refused() {
    let dim = 24;
    let data = random(500, dim, 3, Metric::Cosine);
    let q = Quantizer::train(&SliceSource::new(&data, dim), 500);
    let b = q.to_bytes();
    assert_eq!(Quantizer::from_bytes(&b).unwrap(), q);
    for i in [0, 9, 13, 30, b.len() - 1] {
        let mut d = b.clone();
        d[i] ^= 0x10;
        assert!(Quantizer::from_bytes(&d).is_err(), "flipped byte {i} accepted");
    }
    assert!(Quantizer::from_bytes(&b[..b.len() - 1]).is_err());
    assert!(Quantizer::from_bytes(&[]).is_err());
}

#[test]
fn code_distances_track_float_distances() {
    for metric in Metric::all() {
        let dim = 96;
        let data = clustered(2000, dim, 4, metric);
        let src = SliceSource::new(&data, dim);
        let codes = Codes::train(&src, 2000, metric);
        let queries = clustered(20, dim, 40, metric);
        for q in queries.chunks_exact(dim) {
            let qc = codes.query(q);
            // Spread of the float distances, to judge the error against.
            let exact: Vec<f32> = (0..2000u32).map(|r| -raw_similarity(metric, q, src.vector(r))).collect();
            let spread = exact.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x))
                - exact.iter().fold(f32::INFINITY, |m, &x| m.min(x));
            for level in available_levels() {
                for r in (0..2000u32).step_by(97) {
                    let approx = codes.distance(level, &qc, r);
                    let err = (approx - exact[r as usize]).abs();
                    assert!(
                        err <= 0.02 * spread,
                        "{metric:?} {}: row {r} {approx} vs {}",
                        level.name(),
                        exact[r as usize]
                    );
                }
            }
        }
    }
}

/// Recall@10 of `search_codes` against brute force, and every score exact.
fn check_recall(data: &[f32], queries: &[f32], dim: usize, metric: Metric, ef: usize, min_recall: f64) {
    let n = data.len() / dim;
    let src = SliceSource::new(data, dim);
    let mut g = Hnsw::new(HnswParams { m: 16, ef_construction: 100, seed: 3 }, metric);
    g.insert_batch(0..n as u32, &src, 1);
    let codes = Codes::train(&src, n, metric);
    let (mut hit, mut total) = (0usize, 0usize);
    for q in queries.chunks_exact(dim) {
        let want = top_k(metric, data, dim, q, 10, |_| true);
        let got = g.search_codes(&src, &codes, q, 10, ef, 0, &|_| true, &mut SearchStats::default());
        assert_eq!(got.len(), 10);
        for h in &got {
            let exact = crate::index::exact::public_score(
                metric,
                raw_similarity(metric, q, src.vector(h.row as u32)),
            );
            assert_eq!(h.score.to_bits(), exact.to_bits(), "score of row {} is the exact float32 one", h.row);
        }
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "best first");
        hit += got.iter().filter(|h| want.iter().any(|w| w.row == h.row)).count();
        total += 10;
    }
    let recall = hit as f64 / total as f64;
    assert!(recall >= min_recall, "{metric:?} dim {dim}: recall@10 {recall:.3} < {min_recall}");
}

#[test]
fn quantised_search_recall_on_clustered_data() {
    for metric in Metric::all() {
        let dim = 64;
        let data = clustered(4000, dim, 11, metric);
        let queries = clustered(50, dim, 12, metric);
        check_recall(&data, &queries, dim, metric, 64, 0.95);
    }
}

#[test]
fn quantised_search_recall_on_random_data() {
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let dim = 24;
        let data = random(4000, dim, 21, metric);
        let queries = random(50, dim, 22, metric);
        check_recall(&data, &queries, dim, metric, 128, 0.9);
    }
}

#[test]
fn retain_keeps_the_codes_of_the_kept_rows() {
    let dim = 40;
    let data = random(300, dim, 9, Metric::Euclidean);
    let src = SliceSource::new(&data, dim);
    let codes = Codes::train(&src, 300, Metric::Euclidean);
    let keep: Vec<u32> = (0..300).filter(|r| r % 3 != 1).collect();
    let kept = codes.retain(&keep);
    assert_eq!(kept.len(), keep.len());
    for (new, &old) in keep.iter().enumerate() {
        assert_eq!(kept.row(new as u32), codes.row(old));
    }
    // Re-encoding the kept vectors with the same ranges gives the same codes.
    let rows: Vec<f32> = keep.iter().flat_map(|&r| src.vector(r).to_vec()).collect();
    let mut fresh = Codes::new(codes.quantizer().clone(), Metric::Euclidean);
    fresh.extend(&SliceSource::new(&rows, dim), keep.len());
    for r in 0..keep.len() as u32 {
        assert_eq!(fresh.row(r), kept.row(r));
    }
}

#[test]
fn codes_round_trip_through_bytes_and_damage_is_refused() {
    for metric in Metric::all() {
        let dim = 40;
        let data = random(300, dim, 5, metric);
        let src = SliceSource::new(&data, dim);
        let codes = Codes::train(&src, 300, metric);
        // A prefix of the rows, as a checkpoint frozen before the last writes saves them.
        let bytes = codes.to_bytes(250);
        let back = Codes::from_bytes(&bytes, metric).expect("round trip");
        assert_eq!(back.len(), 250);
        assert_eq!(back.stride(), codes.stride());
        assert_eq!(back.quantizer(), codes.quantizer());
        assert_eq!(back.clipped(), codes.clipped());
        for r in 0..250 {
            assert_eq!(back.row(r), codes.row(r));
        }
        // Every truncation is an error, never a panic.
        for cut in [0, 3, 4, 20, bytes.len() - 1] {
            assert!(Codes::from_bytes(&bytes[..cut], metric).is_err(), "cut at {cut}");
        }
        let other = Metric::all().into_iter().find(|m| *m != metric).expect("another metric");
        assert!(Codes::from_bytes(&bytes, other).is_err());
        // A row count that does not match the bytes.
        let qlen = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        let mut wrong = bytes.clone();
        wrong[4 + qlen + 8..4 + qlen + 16].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(Codes::from_bytes(&wrong, metric).is_err());
    }
}

/// An appendable codes file's bytes (head, then packed rows) read back to the same codes for
/// every metric and for dimensions where packing drops padding and where it drops none; the
/// strided layout of older files too, whose codes then do not count as saved.
#[test]
fn packed_rows_round_trip_and_strided_rows_still_read() {
    use super::RowLayout;
    for metric in Metric::all() {
        for dim in [40, 60, 64] {
            let data = random(200, dim, 9, metric);
            let codes = Codes::train(&SliceSource::new(&data, dim), 200, metric);
            let want = if metric == Metric::Euclidean { dim + 4 } else { dim };
            assert_eq!(codes.packed_row_len(), want, "{metric:?} {dim}");
            let head = codes.head_bytes();
            let packed = codes.packed_rows(0, 200);
            assert_eq!(packed.len(), 200 * want);
            assert_eq!(codes.packed_rows(50, 120), packed[50 * want..120 * want]);
            let mut file = head.clone();
            file.extend_from_slice(&packed);
            let back = Codes::from_head_and_rows(&file, 200, [7, 1], metric, RowLayout::Packed).unwrap();
            assert_eq!(back.rows_bytes(0, 200), codes.rows_bytes(0, 200), "{metric:?} {dim}");
            assert_eq!((back.saved_rows(), back.lineage(), back.clipped()), (200, codes.lineage(), (1, 7)));
            // One row short or long, or the strided layout claimed for packed rows, is refused.
            assert!(Codes::from_head_and_rows(&file, 199, [0, 0], metric, RowLayout::Packed).is_err());
            assert!(Codes::from_head_and_rows(
                &file[..file.len() - 1],
                200,
                [0, 0],
                metric,
                RowLayout::Packed
            )
            .is_err());
            if want != codes.stride() {
                assert!(Codes::from_head_and_rows(&file, 200, [0, 0], metric, RowLayout::Strided).is_err());
            }

            // The strided layout: the head says `stride`, the rows are as in memory.
            let qlen = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
            let mut strided = head.clone();
            strided[4 + qlen + 4..4 + qlen + 8].copy_from_slice(&(codes.stride() as u32).to_le_bytes());
            strided.extend_from_slice(codes.rows_bytes(0, 200));
            let back = Codes::from_head_and_rows(&strided, 200, [0, 0], metric, RowLayout::Strided).unwrap();
            assert_eq!(back.rows_bytes(0, 200), codes.rows_bytes(0, 200));
            assert_eq!(back.saved_rows(), 0, "strided rows are written again, packed");
        }
    }
}
