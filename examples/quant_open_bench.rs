//! Recompute the int8 codes at open, or read them from a file? Measures both for a store of N x DIM
//! (default 1M x 128), with the files in the page cache (a warm reopen):
//!
//! ```text
//! cargo run --release --example quant_open_bench -- [N] [DIM] [DIR]
//! ```
//!
//! 1. train + encode from vectors already in memory (the CPU cost of encoding alone);
//! 2. train + encode from the memory-mapped vectors file, as `Store::open` does (adds the page faults
//!    of mapping every float row, and leaves those pages resident);
//! 3. reading a file of the codes' size with one `read` (what persisting the codes would cost), and
//!    mapping it and touching every page.

use std::io::Write;
use std::time::Instant;

use vecstore::index::quant::Codes;
use vecstore::storage::vectors::{write_vectors_file, Extent, VectorBlock};
use vecstore::Metric;

fn rss_file_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("RssFile:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1_000_000, |s| s.parse().expect("N"));
    let dim: usize = args.next().map_or(128, |s| s.parse().expect("DIM"));
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/vs-quant-open-bench".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<f32> = (0..n * dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let vpath = dir.join("bench.vectors");
    let written = write_vectors_file(&vpath, dim, data.chunks_exact(dim)).unwrap();
    let mem = VectorBlock::from_vec(dim, data).unwrap();

    let t1 = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let c = Codes::train(&mem, n, Metric::Cosine);
                std::hint::black_box(&c);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    let codes = Codes::train(&mem, n, Metric::Cosine);
    let code_bytes = codes.len() * codes.stride();
    drop(mem);

    // The codes' bytes in a file (content does not matter for the timing).
    let cpath = dir.join("bench.codes");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&cpath).unwrap());
        let chunk = vec![7u8; 1 << 20];
        let mut left = code_bytes;
        while left > 0 {
            let k = left.min(chunk.len());
            f.write_all(&chunk[..k]).unwrap();
            left -= k;
        }
    }
    // Warm the page cache for both files.
    std::hint::black_box(std::fs::read(&vpath).unwrap().len());
    std::hint::black_box(std::fs::read(&cpath).unwrap().len());

    let mut t2s = Vec::new();
    let mut resident = 0.0;
    for _ in 0..3 {
        let before = rss_file_mb();
        let t = Instant::now();
        let block = VectorBlock::open_mapped(&vpath, dim, Extent::of(&written)).unwrap();
        let c = Codes::train(&block, n, Metric::Cosine);
        t2s.push(t.elapsed().as_secs_f64());
        resident = rss_file_mb() - before;
        std::hint::black_box(&c);
    }
    let t3 = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let b = std::fs::read(&cpath).unwrap();
                std::hint::black_box(b.len());
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    let t4 = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let f = std::fs::File::open(&cpath).unwrap();
                // SAFETY: the benchmark's own file, not modified while mapped.
                let m = unsafe { memmap2::Mmap::map(&f) }.unwrap();
                let mut sum = 0u64;
                for i in (0..m.len()).step_by(4096) {
                    sum += u64::from(m[i]);
                }
                std::hint::black_box(sum);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!(
        "### int8 codes at open: {n} x {dim}, codes {:.1} MB ({} B/row), warm page cache",
        code_bytes as f64 / 1048576.0,
        codes.stride()
    );
    println!("| way | seconds (median of 3) |");
    println!("|---|---|");
    println!("| train + encode from vectors in memory | {t1:.3} |");
    println!(
        "| map the vectors file + train + encode (what open does) | {:.3} (float pages made resident: {resident:.0} MB) |",
        median(t2s)
    );
    println!("| read a codes file (one read) | {t3:.3} |");
    println!("| map a codes file + touch every page | {t4:.3} |");
    let _ = std::fs::remove_file(&vpath);
    let _ = std::fs::remove_file(&cpath);
}
