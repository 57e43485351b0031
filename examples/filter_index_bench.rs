//! The metadata index on its own: build time (what opening a store adds, the index being rebuilt
//! rather than stored), memory, and the time to evaluate the filters of filter_bench, for 100k and
//! 1M records with filter_bench's synthetic metadata (`tenant`, `price`) plus a 3-tag list.
//!
//! ```text
//! cargo run --release --example filter_index_bench [-- 100000,1000000]
//! ```

use std::time::Instant;

use serde_json::{Map, Value};
use vecstore::filter::{Filter, MetadataIndex};

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .map(|s| s.split(',').map(|x| x.parse().expect("sizes")).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let filters = [
        "tenant = 't42'",
        "tenant IN ('t0', 't10', 't20', 't30', 't40', 't50', 't60', 't70', 't80', 't90')",
        "price < 500",
        "price >= 100 AND price < 110",
        "tags CONTAINS 'g3' AND NOT tenant = 't1'",
    ];
    for n in sizes {
        let maps: Vec<Map<String, Value>> = (0..n)
            .map(|i| {
                let h = splitmix(i as u64);
                let text = format!(
                    r#"{{"tenant":"t{}","price":{},"tags":["g{}","g{}","x"]}}"#,
                    h % 100,
                    (h >> 8) % 1000,
                    (h >> 20) % 10,
                    (h >> 24) % 50
                );
                serde_json::from_str(&text).unwrap()
            })
            .collect();
        let t = Instant::now();
        let index = MetadataIndex::build(maps.iter().enumerate().map(|(s, m)| (s as u32, m)));
        let build = t.elapsed();
        let mem = index.memory();
        println!(
            "{n} records: build {:.0} ms, memory {:.1} MB ({} fields, {} postings)",
            build.as_secs_f64() * 1e3,
            mem.bytes as f64 / 1e6,
            mem.fields,
            mem.postings
        );
        for text in filters {
            let f = Filter::parse(text).unwrap();
            let mut times = Vec::new();
            let mut count = 0;
            for _ in 0..21 {
                let t = Instant::now();
                count = index.evaluate(&f).unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
            times.sort_by(f64::total_cmp);
            println!("  {text}: {count} match, evaluate {:.1} us (median of 21)", times[10]);
        }
    }
}
