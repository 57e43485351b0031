//! What namespaces cost: a query through a namespace handle against the same query through a plain
//! store handle, and opening a manager that holds many namespaces.
//!
//! ```text
//! cargo run --release --example namespace_bench -- [N_VECTORS] [DIM] [N_NAMESPACES]   # default 10000 64 1000
//! ```
//! Part 1 writes the same N random vectors into a plain store and into a namespace (no quotas, so
//! the namespace path does all its checks: deleted, status, rate limiter, counters, last activity),
//! then runs the same queries through `vs_store_query` on both handles, alternating rounds of 500
//! queries, and prints the median time per query of each and their ratio; then it isolates the fixed
//! cost of the namespace path with 100,000 trivial calls (`vs_store_count`) through each handle.
//! Part 2 creates N_NAMESPACES namespaces (each with a record) in one root, closes the manager, then
//! times `vs_namespaces_open` on it (median of 5) and the first query of a namespace (which opens
//! its store lazily).
//! Everything runs in a temporary directory, removed at the end.

use std::ffi::CString;
use std::time::Instant;

use vecstore::ffi::error::vs_status;
use vecstore::ffi::namespace::{vs_namespace_store, vs_namespaces, vs_namespaces_close, vs_namespaces_open};
use vecstore::ffi::query::{vs_query_default, vs_results, vs_results_free, vs_store_query};
use vecstore::ffi::store::{
    vs_store, vs_store_close, vs_store_count, vs_store_open, vs_store_options_default,
};
use vecstore::namespace::{NamespaceManager, Quotas, RequestKind};
use vecstore::store::options::StoreOptions;
use vecstore::store::NewRecord;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next()).collect()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// An output slot for a C-ABI call made from Rust.
fn slot<T>(p: &mut T) -> Option<&mut std::mem::MaybeUninit<T>> {
    // SAFETY: MaybeUninit<T> has T's layout, and the library only ever writes a valid T into it.
    Some(unsafe { &mut *(p as *mut T as *mut std::mem::MaybeUninit<T>) })
}

/// Gives a handle back to its *_free / *_close function.
fn owned<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: every handle here came from the library (Box::into_raw) and is given back once.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
}

fn check(st: vs_status, what: &str) {
    assert_eq!(st, vs_status::VS_OK, "{what} failed");
}

/// Seconds per query over `queries`, through `h`.
fn time_queries(h: *mut vs_store, queries: &[Vec<f32>]) -> f64 {
    let start = Instant::now();
    for q in queries {
        let mut query = vs_query_default();
        query.vector = q.as_ptr();
        query.dim = q.len();
        query.k = 10;
        let mut out: *mut vs_results = std::ptr::null_mut();
        unsafe {
            check(vs_store_query(h.as_ref(), &query, slot(&mut out), None), "query");
            vs_results_free(owned(out));
        }
    }
    start.elapsed().as_secs_f64() / queries.len() as f64
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let n = args.first().copied().unwrap_or(10_000);
    let dim = args.get(1).copied().unwrap_or(64);
    let n_ns = args.get(2).copied().unwrap_or(1000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(0x9E3779B97F4A7C15);

    // ---- Part 1: query overhead ----
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(dim)).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let records: Vec<NewRecord> =
        ids.iter().zip(&vectors).map(|(id, v)| NewRecord { id, vector: v, metadata: None }).collect();
    let opts = StoreOptions { dimension: dim, build_threads: 0, ..StoreOptions::default() };
    let build = Instant::now();
    {
        let store = vecstore::Store::open(tmp.path().join("plain"), &opts).unwrap();
        store.upsert_many(&records).unwrap();
        store.close().unwrap();
        let m = NamespaceManager::open(tmp.path().join("root1"), &opts).unwrap();
        m.create("tenant", "", &Quotas::default()).unwrap();
        m.namespace("tenant").unwrap().call(RequestKind::Write, |s| s.upsert_many(&records)).unwrap();
        m.close().unwrap();
    }
    println!("built 2 x {n} vectors of dimension {dim} in {:.1} s", build.elapsed().as_secs_f64());

    let c = |p: &std::path::Path| CString::new(p.to_str().unwrap()).unwrap();
    let mut plain: *mut vs_store = std::ptr::null_mut();
    let mut mgr: *mut vs_namespaces = std::ptr::null_mut();
    let mut ns: *mut vs_store = std::ptr::null_mut();
    unsafe {
        check(
            vs_store_open(c(&tmp.path().join("plain")).as_ptr(), std::ptr::null(), slot(&mut plain), None),
            "open",
        );
        let o = vs_store_options_default();
        check(vs_namespaces_open(c(&tmp.path().join("root1")).as_ptr(), &o, slot(&mut mgr), None), "open ns");
        check(vs_namespace_store(mgr, c"tenant".as_ptr(), slot(&mut ns), None), "ns store");
    }
    let queries: Vec<Vec<f32>> = (0..500).map(|_| rng.vector(dim)).collect();
    // Warm both (page cache, lazy namespace open).
    time_queries(plain, &queries);
    time_queries(ns, &queries);
    let (mut tp, mut tn, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..20 {
        // Alternate which goes first, so drift (frequency, the other tenants of the machine) cancels.
        let (a, b) = if round % 2 == 0 {
            let a = time_queries(plain, &queries);
            (a, time_queries(ns, &queries))
        } else {
            let b = time_queries(ns, &queries);
            (time_queries(plain, &queries), b)
        };
        tp.push(a);
        tn.push(b);
        ratios.push(b / a);
    }
    let (mp, mn, mr) = (median(&mut tp), median(&mut tn), median(&mut ratios));
    println!(
        "query k=10 over {n} x {dim}: plain handle median {:.2} us, namespace handle median {:.2} us, \
         ratio of medians {:.4}, median of per-round ratios {:.4} ({:+.2}%; run-to-run noise on a shared machine is about as large)",
        mp * 1e6,
        mn * 1e6,
        mn / mp,
        mr,
        (mr - 1.0) * 100.0
    );
    // The fixed cost of the namespace path, isolated: a trivial call (count) through each handle.
    let time_counts = |h: *mut vs_store| {
        let start = Instant::now();
        let mut n = 0u64;
        for _ in 0..100_000 {
            unsafe { check(vs_store_count(h.as_ref(), slot(&mut n), None), "count") };
        }
        start.elapsed().as_secs_f64() / 100_000.0
    };
    let (mut cp, mut cn) = (Vec::new(), Vec::new());
    for _ in 0..11 {
        cp.push(time_counts(plain));
        cn.push(time_counts(ns));
    }
    let (cp, cn) = (median(&mut cp), median(&mut cn));
    println!(
        "vs_store_count: plain {:.1} ns, namespace {:.1} ns: the namespace path adds {:.1} ns per call, \
         {:.3}% of the plain query's median (target < 2%)",
        cp * 1e9,
        cn * 1e9,
        (cn - cp) * 1e9,
        (cn - cp) / mp * 100.0
    );
    vs_store_close(owned(ns));
    vs_store_close(owned(plain));
    vs_namespaces_close(owned(mgr));

    // ---- Part 2: opening a manager with many namespaces ----
    let root = tmp.path().join("root2");
    let small = StoreOptions { dimension: 8, ..StoreOptions::default() };
    let create = Instant::now();
    {
        let m = NamespaceManager::open(&root, &small).unwrap();
        for i in 0..n_ns {
            let id = format!("tenant-{i:05}");
            m.create(&id, "bench tenant", &Quotas { max_vectors: 1000, ..Quotas::default() }).unwrap();
            let v = rng.vector(8);
            m.namespace(&id).unwrap().call(RequestKind::Write, |s| s.upsert("doc", &v, None)).unwrap();
        }
        m.close().unwrap();
    }
    println!("created {n_ns} namespaces (one record each) in {:.2} s", create.elapsed().as_secs_f64());
    let mut opens = Vec::new();
    let mut first_use = Vec::new();
    let croot = c(&root);
    for round in 0..5 {
        let start = Instant::now();
        let mut m: *mut vs_namespaces = std::ptr::null_mut();
        unsafe { check(vs_namespaces_open(croot.as_ptr(), std::ptr::null(), slot(&mut m), None), "open") };
        opens.push(start.elapsed().as_secs_f64());
        // First query of one namespace: opens its store.
        let id = CString::new(format!("tenant-{:05}", (round * 7919) % n_ns)).unwrap();
        let start = Instant::now();
        let mut h: *mut vs_store = std::ptr::null_mut();
        unsafe { check(vs_namespace_store(m, id.as_ptr(), slot(&mut h), None), "store") };
        time_queries(h, &[rng.vector(8)]);
        first_use.push(start.elapsed().as_secs_f64());
        vs_store_close(owned(h));
        vs_namespaces_close(owned(m));
    }
    println!(
        "vs_namespaces_open with {n_ns} namespaces: median {:.2} ms (target < 1000 ms); \
         first query of a namespace (lazy store open): median {:.2} ms",
        median(&mut opens) * 1e3,
        median(&mut first_use) * 1e3
    );
}
