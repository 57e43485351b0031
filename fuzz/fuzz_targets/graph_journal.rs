//! A graph journal (`Hnsw::apply_journal`), damaged: replaying it on the saved graph gives `Err`
//! or a graph that searches without a panic; never a panic, a hang or a huge allocation. The base
//! graph and a real journal (the seed) are built once per process.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vecstore::index::hnsw::{Hnsw, HnswParams, SliceSource};
use vecstore::index::Metric;

const DIM: usize = 4;

fn data() -> &'static Vec<f32> {
    static D: OnceLock<Vec<f32>> = OnceLock::new();
    D.get_or_init(|| (0..300 * DIM).map(|i| ((i * 7919) % 1000) as f32 / 100.0).collect())
}

/// The saved graph (200 nodes) and the journal of 100 more single inserts.
fn base_and_journal() -> &'static (Vec<u8>, Vec<u8>) {
    static B: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    B.get_or_init(|| {
        let src = SliceSource::new(data(), DIM);
        let mut g = Hnsw::new(HnswParams { m: 8, ef_construction: 40, seed: 1 }, Metric::Euclidean);
        g.insert_batch(0..200, &src, 1);
        let mut base = Vec::new();
        g.write_to(&mut base).unwrap();
        g.take_journal(usize::MAX);
        for s in 200..300 {
            g.insert_batch(s..s + 1, &src, 1);
        }
        (base, g.take_journal(usize::MAX).unwrap())
    })
}

fuzz_target!(|journal: &[u8]| {
    let (base, seed) = base_and_journal();
    if let Ok(dir) = std::env::var("VECSTORE_FUZZ_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join("journal"), seed).unwrap();
        std::process::exit(0);
    }
    let mut g = Hnsw::read_from(base).unwrap();
    if g.apply_journal(journal).is_ok() {
        // Nodes past the data have no vector: search only graphs the data covers.
        if g.len() <= 300 {
            let src = SliceSource::new(data(), DIM);
            let _ = g.search(&src, &[0.5; DIM], 5, 20, &|_| true, &mut Default::default());
        }
        let _ = g.check_integrity();
    }
});
