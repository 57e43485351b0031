//! Write amplification over a load: bytes this process wrote (write system calls, `wchar` of
//! /proc/self/io) against the bytes the writes appended to the log, while loading N records as
//! single upserts into an empty store and then replacing R of them (random ids, new vectors),
//! with the default checkpoint threshold. Then the time to close and to open the store.
//!
//!     cargo run --release --example write_amplification -- DIR [N] [R] [DIM]
//!
//! Defaults: N 1,000,000, R 100,000, DIM 128, random uniform vectors, euclidean, no metadata. DIR
//! must not exist. The log bytes are summed from `stats().log_bytes` after each write; a write
//! whose checkpoint trimmed the log adds nothing, so the figure errs high. Not a test.

use std::time::Instant;

use vecstore::{Metric, Store, StoreOptions};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0).collect()
    }
}

fn wchar() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("wchar: ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()
}

/// One phase of writes: `(written, appended, checkpoints)`.
fn phase(s: &Store, n: usize, mut id_of: impl FnMut(usize) -> String, rng: &mut Rng, dim: usize) -> (u64, u64, u64) {
    let before = wchar();
    let mut last = s.stats().log_bytes;
    let (mut appended, mut checkpoints) = (0u64, 0u64);
    let t = Instant::now();
    for i in 0..n {
        let v = rng.vector(dim);
        s.upsert(&id_of(i), &v, None).unwrap();
        let log = s.stats().log_bytes;
        if log < last {
            checkpoints += 1;
        } else {
            appended += log - last;
        }
        last = log;
        if (i + 1) % 100_000 == 0 {
            eprintln!("  {} writes, {:.0} s", i + 1, t.elapsed().as_secs_f64());
        }
    }
    (wchar() - before, appended, checkpoints)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().expect("usage: DIR [N] [R] [DIM]"));
    let num = |i: usize, d: usize| args.get(i).map_or(d, |a| a.parse().expect("a number"));
    let (n, r, dim) = (num(1, 1_000_000), num(2, 100_000), num(3, 128));
    assert!(!dir.exists(), "{} exists", dir.display());
    let opts = StoreOptions { dimension: dim, metric: Some(Metric::Euclidean), ..Default::default() };
    let s = Store::open(&dir, &opts).unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let t = Instant::now();
    let (w1, a1, c1) = phase(&s, n, |i| format!("r{i}"), &mut rng, dim);
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "load {n} x {dim} single upserts: {load_s:.0} s, {c1} checkpoints, written {w1}, log {a1}, write amplification {:.2}",
        w1 as f64 / a1 as f64
    );
    let mut pick = Rng(0x0fed_cba9_8765_4321);
    let t = Instant::now();
    let (w2, a2, c2) = phase(&s, r, |_| format!("r{}", pick.next() % n as u64), &mut rng, dim);
    println!(
        "replace {r}: {:.0} s, {c2} checkpoints, written {w2}, log {a2}, write amplification {:.2}",
        t.elapsed().as_secs_f64(),
        w2 as f64 / a2 as f64
    );
    let before = wchar();
    let t = Instant::now();
    s.close().unwrap();
    let close_w = wchar() - before;
    println!("close: {:.3} s, written {close_w}", t.elapsed().as_secs_f64());
    let (w, a) = (w1 + w2, a1 + a2);
    println!(
        "total: written {w} for {a} of log, write amplification {:.2} ({:.2} with the close)",
        w as f64 / a as f64,
        (w + close_w) as f64 / a as f64
    );
    println!("store on disk: {} bytes", dir_bytes(&dir));
    for _ in 0..3 {
        let t = Instant::now();
        let s = Store::open(&dir, &StoreOptions::default()).unwrap();
        println!("open: {:.3} s, {} records", t.elapsed().as_secs_f64(), s.count());
        s.close().unwrap();
    }
}
