//! The guide's Rust API against the C ABI: for every snippet of the feature guide, the same calls
//! through the facade and through the `vs_*` functions give the same results, the same errors, the
//! same batch report, the same estimate and the same explanations. Most tests put the two on one
//! core store (the C handle and the `VecStore` share an `Arc<Store>`), so that even graph searches
//! and their counters are comparable; the namespace tests use two roots with the same history.

use std::ffi::{c_char, CStr, CString};
use std::mem::MaybeUninit;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::error::{Code, Error, Result};
use crate::ffi::batch::vs_store_batch_execute_json;
use crate::ffi::compact::{
    vs_compaction_config_default, vs_compaction_result_default, vs_store_compact, vs_store_maybe_compact,
    vs_store_set_compaction_config,
};
use crate::ffi::error::{
    vs_error, vs_error_code, vs_error_free, vs_error_message, vs_status, vs_string_free,
};
use crate::ffi::explain::{vs_store_estimate_query_json, vs_store_query_explain};
use crate::ffi::namespace::{
    vs_namespace_create, vs_namespace_list_backups_json, vs_namespace_stats_json, vs_namespace_store,
    vs_namespaces, vs_namespaces_close, vs_namespaces_open, vs_quotas_default,
};
use crate::ffi::query::{
    vs_query_default, vs_results, vs_results_explanation_json, vs_results_free, vs_results_id,
    vs_results_len, vs_results_metadata_json, vs_results_score, vs_store_query,
};
use crate::ffi::records::{vs_store_expire_ttl_records, vs_store_set_ttl, vs_store_upsert_with_ttl};
use crate::ffi::store::{vs_store, vs_store_close, vs_store_open, StoreRef};
use crate::store::compact::{CompactionConfig, CompactionResult};
use crate::store::options::{Metric, StoreOptions};
use crate::store::Store;

// ------------------------------------------------------------------------------------------------
// The C side, called as a C program would (through the extern "C" functions), with its outputs
// turned into Rust values for comparison.
// ------------------------------------------------------------------------------------------------

type ErrOut = MaybeUninit<*mut vs_error>;

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// The C call's status and error as the core's `Result`.
fn c_result(status: vs_status, err: ErrOut) -> Result<()> {
    // SAFETY: initialised to NULL before the call; the library writes it only on failure.
    let err = unsafe { err.assume_init() };
    if status == vs_status::VS_OK {
        assert!(err.is_null(), "an error written on success");
        return Ok(());
    }
    assert!(!err.is_null(), "a failure without an error");
    // SAFETY: an error the library just returned, freed once here.
    let (code, message) = unsafe {
        let e = Box::from_raw(err);
        let message = CStr::from_ptr(vs_error_message(Some(&e))).to_str().unwrap().to_string();
        let code = vs_error_code(Some(&e));
        vs_error_free(Some(e));
        (code, message)
    };
    assert_eq!(code, status);
    Err(Error::new(Code::from_number(code as i64).unwrap(), message))
}

fn no_err() -> ErrOut {
    MaybeUninit::new(null_mut())
}

/// Takes an owned string the library returned.
fn take_string(s: *mut c_char) -> String {
    // SAFETY: a string the library returned on success, freed once here.
    unsafe {
        let text = CStr::from_ptr(s).to_str().unwrap().to_string();
        vs_string_free(s);
        text
    }
}

/// A C `vs_store *`, closed on drop.
struct CStore(*mut vs_store);

impl Drop for CStore {
    fn drop(&mut self) {
        // SAFETY: the handle is open and closed once, here.
        vs_store_close(Some(unsafe { Box::from_raw(self.0) }));
    }
}

/// One row of a C result set.
#[derive(Debug, PartialEq)]
struct CRow {
    id: String,
    score: f32,
    metadata_json: String,
    explanation_json: Option<String>,
}

impl CStore {
    fn open(path: &Path) -> CStore {
        let path = cstr(path.to_str().unwrap());
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call; NULL options are the defaults.
        let st = unsafe { vs_store_open(path.as_ptr(), std::ptr::null(), Some(&mut out), Some(&mut err)) };
        c_result(st, err).unwrap();
        // SAFETY: written on success.
        CStore(unsafe { out.assume_init() })
    }

    /// A C handle on a core store the test also holds.
    fn shared(store: &Arc<Store>) -> CStore {
        CStore(Box::into_raw(Box::new(vs_store::new(StoreRef::Owned(store.clone())))))
    }

    fn upsert(&self, id: &str, vector: &[f32], metadata_json: Option<&str>, ttl: u64) -> Result<()> {
        let id = cstr(id);
        let meta = metadata_json.map(cstr);
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe {
            vs_store_upsert_with_ttl(
                self.0,
                id.as_ptr(),
                vector.as_ptr(),
                vector.len(),
                meta.as_ref().map_or(std::ptr::null(), |m| m.as_ptr()),
                ttl,
                Some(&mut err),
            )
        };
        c_result(st, err)
    }

    fn rows(&self, q: &CQuery, explain: bool) -> Result<Vec<CRow>> {
        let (query, _filter) = q.raw();
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call; `_filter` outlives it.
        let st = unsafe {
            if explain {
                vs_store_query_explain(Some(&*self.0), &query, Some(&mut out), Some(&mut err))
            } else {
                vs_store_query(Some(&*self.0), &query, Some(&mut out), Some(&mut err))
            }
        };
        c_result(st, err)?;
        // SAFETY: written on success; read, then freed once.
        let results: Box<vs_results> = unsafe { Box::from_raw(out.assume_init()) };
        let r = Some(&*results);
        let text = |p: *const c_char| {
            // SAFETY: strings borrowed from `results`, alive here.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
        };
        let rows = (0..vs_results_len(r))
            .map(|i| CRow {
                id: text(vs_results_id(r, i)).unwrap(),
                score: vs_results_score(r, i),
                metadata_json: text(vs_results_metadata_json(r, i)).unwrap(),
                explanation_json: text(vs_results_explanation_json(r, i)),
            })
            .collect();
        vs_results_free(Some(results));
        Ok(rows)
    }

    fn estimate_json(&self, q: &CQuery) -> Result<Value> {
        let (query, _filter) = q.raw();
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st =
            unsafe { vs_store_estimate_query_json(Some(&*self.0), &query, Some(&mut out), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(serde_json::from_str(&take_string(unsafe { out.assume_init() })).unwrap())
    }

    fn batch_json(&self, ops: &Value) -> Result<Value> {
        let ops = cstr(&ops.to_string());
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_batch_execute_json(self.0, ops.as_ptr(), Some(&mut out), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(serde_json::from_str(&take_string(unsafe { out.assume_init() })).unwrap())
    }

    fn set_compaction_config(&self, c: CompactionConfig) -> Result<()> {
        let mut config = vs_compaction_config_default();
        config.enabled = c.enabled;
        config.min_deleted_records = c.min_deleted_records;
        config.min_deleted_ratio = c.min_deleted_ratio;
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_set_compaction_config(self.0, &config, Some(&mut err)) };
        c_result(st, err)
    }

    fn maybe_compact(&self) -> Result<CompactionResult> {
        let mut out = vs_compaction_result_default();
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_maybe_compact(self.0, &mut out, Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: a NUL-terminated string inside the struct.
        let reason = unsafe { CStr::from_ptr(out.reason.as_ptr()) }.to_str().unwrap().to_string();
        Ok(CompactionResult {
            triggered: out.triggered,
            removed_count: out.removed_count,
            tombstones_removed: out.tombstones_removed,
            duration_ms: out.duration_ms,
            reason,
        })
    }

    fn compact(&self) -> Result<u64> {
        let mut removed = MaybeUninit::new(u64::MAX);
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_compact(self.0, Some(&mut removed), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(unsafe { removed.assume_init() })
    }

    fn set_ttl(&self, id: &str, ttl: u64) -> Result<()> {
        let id = cstr(id);
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_set_ttl(self.0, id.as_ptr(), ttl, Some(&mut err)) };
        c_result(st, err)
    }

    fn expire_ttl_records(&self) -> Result<u64> {
        let mut n = MaybeUninit::new(u64::MAX);
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_store_expire_ttl_records(self.0, Some(&mut n), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(unsafe { n.assume_init() })
    }
}

/// A query as a C caller builds it: the vector, k, the filter as text, ef_search.
struct CQuery {
    vector: Vec<f32>,
    k: u32,
    filter: Option<String>,
    ef_search: u32,
}

impl CQuery {
    fn new(vector: &[f32], k: u32, filter: Option<&str>) -> CQuery {
        CQuery { vector: vector.to_vec(), k, filter: filter.map(str::to_string), ef_search: 0 }
    }

    /// The `vs_query` (borrowing `self.vector`) and the filter string it points into.
    fn raw(&self) -> (crate::ffi::query::vs_query, Option<CString>) {
        let filter = self.filter.as_deref().map(cstr);
        let mut q = vs_query_default();
        q.vector = self.vector.as_ptr();
        q.dim = self.vector.len();
        q.k = self.k;
        q.filter = filter.as_ref().map_or(std::ptr::null(), |f| f.as_ptr());
        q.ef_search = self.ef_search;
        (q, filter)
    }
}

/// A C namespace manager, closed on drop.
struct CNamespaces(*mut vs_namespaces);

impl Drop for CNamespaces {
    fn drop(&mut self) {
        // SAFETY: the manager is open and closed once, here.
        vs_namespaces_close(Some(unsafe { Box::from_raw(self.0) }));
    }
}

impl CNamespaces {
    fn open(root: &Path) -> CNamespaces {
        let root = cstr(root.to_str().unwrap());
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st =
            unsafe { vs_namespaces_open(root.as_ptr(), std::ptr::null(), Some(&mut out), Some(&mut err)) };
        c_result(st, err).unwrap();
        // SAFETY: written on success.
        CNamespaces(unsafe { out.assume_init() })
    }

    fn create(&self, id: &str, name: &str, max_vectors: u64, rps: f64) -> Result<()> {
        let (id, name) = (cstr(id), cstr(name));
        let mut q = vs_quotas_default();
        q.max_vectors = max_vectors;
        q.max_requests_per_second = rps;
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_namespace_create(self.0, id.as_ptr(), name.as_ptr(), &q, Some(&mut err)) };
        c_result(st, err)
    }

    fn store(&self, id: &str) -> Result<CStore> {
        let id = cstr(id);
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { vs_namespace_store(self.0, id.as_ptr(), Some(&mut out), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(CStore(unsafe { out.assume_init() }))
    }

    fn stats(&self, id: &str) -> Result<Value> {
        let id = cstr(id);
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st =
            unsafe { vs_namespace_stats_json(Some(&*self.0), id.as_ptr(), Some(&mut out), Some(&mut err)) };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(serde_json::from_str(&take_string(unsafe { out.assume_init() })).unwrap())
    }

    /// backup, restore, delete_backup: `(manager, id, name, err)` calls.
    fn named(
        &self,
        f: unsafe extern "C" fn(
            *mut vs_namespaces,
            *const c_char,
            *const c_char,
            Option<&mut ErrOut>,
        ) -> vs_status,
        id: &str,
        name: &str,
    ) -> Result<()> {
        let (id, name) = (cstr(id), cstr(name));
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { f(self.0, id.as_ptr(), name.as_ptr(), Some(&mut err)) };
        c_result(st, err)
    }

    fn list_backups(&self, id: &str) -> Result<Value> {
        let id = cstr(id);
        let mut out = MaybeUninit::new(null_mut());
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe {
            vs_namespace_list_backups_json(Some(&*self.0), id.as_ptr(), Some(&mut out), Some(&mut err))
        };
        c_result(st, err)?;
        // SAFETY: written on success.
        Ok(serde_json::from_str(&take_string(unsafe { out.assume_init() })).unwrap())
    }
}

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

/// A core store shared by a `VecStore` and a C handle.
struct Twin {
    rust: VecStore,
    c: CStore,
    _dir: tempfile::TempDir,
}

fn twin(options: &StoreOptions) -> Twin {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("data"), options).unwrap());
    Twin { c: CStore::shared(&store), rust: VecStore::from_shared(store), _dir: dir }
}

/// `n` records of dimension 3 in `store`, half of them `category = 'tech'`, some `active`.
fn seed(store: &mut VecStore, n: usize) {
    store
        .upsert_many((0..n).map(|i| {
            let x = i as f32 / n as f32;
            let category = if i % 2 == 0 { "tech" } else { "science" };
            (
                format!("doc-{i}"),
                vec![0.1 + x, 0.2 + (i % 7) as f32 / 10.0, 0.3 - x / 2.0],
                Metadata::new().with("category", category).with("active", i % 3 == 0).with("rank", i),
            )
        }))
        .unwrap();
}

/// The guide's query, as the facade and as C build it.
fn guide_query(k: usize, filter: Option<&str>) -> (Query, CQuery) {
    let vector = vec![0.1, 0.2, 0.3];
    let q = Query { vector: vector.clone(), k, filter: filter.map(|f| parse_filter(f).unwrap()) };
    (q, CQuery::new(&vector, k as u32, filter))
}

fn rust_rows(results: &[SearchResult]) -> Vec<CRow> {
    results
        .iter()
        .map(|r| CRow {
            id: r.id.clone(),
            score: r.score,
            metadata_json: r.metadata.to_json(),
            explanation_json: None,
        })
        .collect()
}

/// The estimate without its measured timings (which differ between any two calls).
fn untimed(mut estimate: Value) -> Value {
    let obj = estimate.as_object_mut().unwrap();
    for key in ["cost_estimate", "estimated_duration_ms", "calibration_ms"] {
        assert!(obj.remove(key).is_some(), "{key} missing");
    }
    estimate
}

// ------------------------------------------------------------------------------------------------
// The guide's snippets are all in examples/guide.rs, as written
// ------------------------------------------------------------------------------------------------

/// The ```rust blocks of a markdown text, each as its lines.
fn rust_blocks(markdown: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// Whether a line of the example is a line of the guide; a `...` in the guide's line (outside a
/// comment) stands for any text (the value the example puts there).
fn line_matches(guide: &str, example: &str) -> bool {
    if guide == example {
        return true;
    }
    let placeholder = guide.find("...").filter(|&i| !guide[..i].contains("//") && !guide[..i].contains("/*"));
    match placeholder {
        Some(i) => {
            let (before, after) = (&guide[..i], &guide[i + 3..]);
            example.len() > guide.len() - 3 && example.starts_with(before) && example.ends_with(after)
        }
        None => false,
    }
}

/// Where the block's lines (trimmed, blank lines skipped) appear one after the other in the
/// example's lines (also trimmed, blank ones skipped).
fn find_block(block: &[&str], example: &[&str]) -> Option<usize> {
    let block: Vec<&str> = block.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
    (0..example.len().saturating_sub(block.len() - 1))
        .find(|&start| block.iter().zip(&example[start..]).all(|(g, e)| line_matches(g, e)))
}

/// Reads `docs/FEATURES.md`, the checked-in copy of the user's feature guide (the original is
/// `../shared/seed/FEATURES.md` beside the checkout, absent from a clean clone).
#[test]
fn guide_snippets_are_in_the_example() {
    let guide_path = std::env::var("VECSTORE_GUIDE")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FEATURES.md").to_string());
    let guide = std::fs::read_to_string(&guide_path)
        .unwrap_or_else(|e| panic!("the feature guide {guide_path}: {e} (set VECSTORE_GUIDE to its path)"));
    let example = include_str!("../../examples/guide.rs");
    let example_lines: Vec<&str> = example.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let blocks = rust_blocks(&guide);
    assert_eq!(blocks.len(), 15, "the guide had 15 Rust snippets when examples/guide.rs was written");
    let mut missing = Vec::new();
    for block in &blocks {
        if find_block(block, &example_lines).is_none() {
            missing.push(block.join("\n"));
        }
    }
    assert!(
        missing.is_empty(),
        "snippets of the guide not in examples/guide.rs:\n{}",
        missing.join("\n-----\n")
    );
    // Every `// guide:` marker of the example starts one of them (no snippet is only half there).
    let marked = example_lines.iter().filter(|l| **l == "// guide:").count();
    assert_eq!(marked, blocks.len());
}

#[test]
fn readme_rust_program_is_the_example() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../examples/rust_quickstart.rs");
    let example_lines: Vec<&str> = example.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let blocks = rust_blocks(readme);
    assert_eq!(blocks.len(), 1, "the README's Rust section has one program");
    let block = &blocks[0];
    let start =
        find_block(block, &example_lines).expect("the README's Rust program is examples/rust_quickstart.rs");
    // The whole program, to its last line.
    let lines = block.iter().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(start + lines, example_lines.len());
}

#[test]
fn the_snippet_check_can_fail() {
    let example = ["let a = 1;", "let b = store.query(q)?;", "return Err(\"bad\".into());"];
    assert_eq!(find_block(&["let a = 1;", "", "let b = store.query(q)?;"], &example), Some(0));
    assert_eq!(find_block(&["let b = store.query(q)?;", "return Err(...);"], &example), Some(1));
    assert_eq!(find_block(&["let a = 2;"], &example), None);
    assert_eq!(find_block(&["let a = 1;", "return Err(...);"], &example), None); // not contiguous
    assert!(!line_matches("return Err(...);", "return Err();"));
    assert!(!line_matches("// ... more operations", "// more operations"));
}

// ------------------------------------------------------------------------------------------------
// Multi-Tenant Namespaces / Programmatic API
// ------------------------------------------------------------------------------------------------

#[test]
#[allow(clippy::unnecessary_to_owned)] // the guide's `&"customer-123".to_string()`, as written
fn namespaces_match_c() {
    let dir = tempfile::tempdir().unwrap();
    let manager = NamespaceManager::new(dir.path().join("rust")).unwrap();
    let c = CNamespaces::open(&dir.path().join("c"));

    let quotas =
        NamespaceQuotas { max_vectors: Some(2), max_requests_per_second: Some(100.0), ..Default::default() };
    manager.create_namespace("customer-123", "Acme Corp", Some(quotas)).unwrap();
    c.create("customer-123", "Acme Corp", 2, 100.0).unwrap();
    let cs = c.store("customer-123").unwrap();

    let metadata = Metadata::new().with("category", "tech");
    manager
        .upsert(&"customer-123".to_string(), "doc1".to_string(), vec![0.1, 0.2, 0.3], metadata.clone())
        .unwrap();
    cs.upsert("doc1", &[0.1, 0.2, 0.3], Some(&metadata.to_json()), 0).unwrap();
    manager.upsert("customer-123", "doc2", vec![0.3, 0.2, 0.1], Metadata::default()).unwrap();
    cs.upsert("doc2", &[0.3, 0.2, 0.1], None, 0).unwrap();

    // Over the quota: the same refusal, and nothing written.
    let rust = manager.upsert("customer-123", "doc3", vec![0.2, 0.2, 0.2], Metadata::default()).unwrap_err();
    let from_c = cs.upsert("doc3", &[0.2, 0.2, 0.2], None, 0).unwrap_err();
    assert_eq!(rust.code, Code::QuotaExceeded);
    assert_eq!(rust, from_c);

    let (query, cq) = guide_query(10, Some("category = 'tech'"));
    let results = manager.query(&"customer-123".to_string(), query).unwrap();
    assert_eq!(rust_rows(&results), cs.rows(&cq, false).unwrap());
    assert_eq!(results.len(), 1);

    let stats = manager.get_stats(&"customer-123".to_string()).unwrap();
    let c_stats = c.stats("customer-123").unwrap();
    assert_eq!(stats.vector_count, 2);
    assert_eq!(json!(stats.vector_count), c_stats["vector_count"]);
    assert_eq!(json!(stats.deleted_count), c_stats["deleted_count"]);
    for (kind, counts) in stats.requests {
        assert_eq!(json!(counts.served), c_stats["requests"][kind.name()]["served"], "{}", kind.name());
        assert_eq!(json!(counts.refused), c_stats["requests"][kind.name()]["refused"], "{}", kind.name());
    }

    // The same errors for the same mistakes.
    let twice = manager.create_namespace("customer-123", "Again", None).unwrap_err();
    assert_eq!(twice.code, Code::AlreadyExists);
    assert_eq!(twice, c.create("customer-123", "Again", 0, 0.0).unwrap_err());
    let bad_id = manager.create_namespace("../escape", "x", None).unwrap_err();
    assert_eq!(bad_id.code, Code::InvalidArgument);
    assert_eq!(bad_id, c.create("../escape", "x", 0, 0.0).unwrap_err());
    let unknown = manager.upsert("nobody", "doc1", vec![0.1, 0.2, 0.3], Metadata::default()).unwrap_err();
    assert_eq!(unknown.code, Code::NotFound);
    assert_eq!(unknown, c.store("nobody").err().unwrap());
    assert_eq!(manager.get_stats("nobody").unwrap_err(), c.stats("nobody").unwrap_err());
}

#[test]
fn namespace_quotas_convert_both_ways() {
    let q =
        NamespaceQuotas { max_vectors: Some(5), max_storage_bytes: None, max_requests_per_second: Some(2.5) };
    let core = q.to_core().unwrap();
    assert_eq!((core.max_vectors, core.max_storage_bytes, core.max_requests_per_second), (5, 0, 2.5));
    assert_eq!(NamespaceQuotas::from(core), q);
    assert_eq!(NamespaceQuotas::default().to_core().unwrap(), crate::namespace::Quotas::default());
    // Some(0) would silently mean "unlimited" in the core: refused instead.
    let zero = NamespaceQuotas { max_vectors: Some(0), ..Default::default() }.to_core().unwrap_err();
    assert_eq!(zero.code, Code::InvalidArgument);
    assert!(zero.message.contains("max_vectors"), "{}", zero.message);
    // A rate the core refuses is refused with the core's message.
    let dir = tempfile::tempdir().unwrap();
    let manager = NamespaceManager::new(dir.path()).unwrap();
    let nan = NamespaceQuotas { max_requests_per_second: Some(f64::NAN), ..Default::default() };
    let err = manager.create_namespace("a", "A", Some(nan)).unwrap_err();
    assert_eq!(err, manager.core().create("a", "A", &nan.to_core().unwrap()).unwrap_err());
}

#[test]
fn a_namespace_store_goes_through_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let manager = NamespaceManager::new(dir.path()).unwrap();
    manager.create_namespace("t", "T", None).unwrap();
    let mut store = manager.store("t").unwrap();
    store.upsert("a", vec![1.0, 0.0], Metadata::default()).unwrap();
    manager.set_status("t", crate::namespace::Status::Suspended).unwrap();
    let err = store.upsert("b", vec![0.0, 1.0], Metadata::default()).unwrap_err();
    assert_eq!(err.code, Code::NamespaceSuspended);
    // The estimate folds the refusal in, with its code.
    let est = store.estimate_query(&Query::new(vec![1.0, 0.0], 1));
    assert!(!est.valid);
    assert_eq!(est.error_codes, ["namespace_suspended"]);
    assert_eq!(est.errors, std::slice::from_ref(&err.message));
    manager.set_status("t", crate::namespace::Status::Active).unwrap();
    assert!(store.estimate_query(&Query::new(vec![1.0, 0.0], 1)).valid);
    assert_eq!(manager.get_stats("t").unwrap().vector_count, 1);
    manager.delete_namespace("t").unwrap();
    assert_eq!(store.count().unwrap_err().code, Code::NotFound);
}

// ------------------------------------------------------------------------------------------------
// Batch Operations / Quick Start
// ------------------------------------------------------------------------------------------------

#[test]
fn batch_report_matches_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut rust = VecStore::open(dir.path().join("rust")).unwrap();
    let c = CStore::open(&dir.path().join("c"));
    for (id, v) in [("doc3", [0.3f32, 0.2, 0.1]), ("doc5", [0.2, 0.3, 0.1])] {
        rust.upsert(id, v.to_vec(), Metadata::default()).unwrap();
        c.upsert(id, &v, None, 0).unwrap();
    }
    // The guide's batch, plus operations that fail on their own.
    let nested: Metadata = serde_json::from_str(r#"{"a": {"b": 1}}"#).unwrap();
    let report = rust
        .batch_execute(vec![
            BatchOperation::Upsert {
                id: "doc1".into(),
                vector: vec![0.1, 0.2, 0.3],
                metadata: Metadata { fields: std::collections::HashMap::new() },
            },
            BatchOperation::Delete { id: "doc2".into() },
            BatchOperation::SoftDelete { id: "doc3".into() },
            BatchOperation::Restore { id: "doc4".into() },
            BatchOperation::UpdateMetadata { id: "doc5".into(), metadata: Metadata::new().with("v", 2) },
            BatchOperation::Upsert {
                id: "short".into(),
                vector: vec![0.1, 0.2],
                metadata: Metadata::default(),
            },
            BatchOperation::Upsert { id: "nested".into(), vector: vec![0.1, 0.2, 0.3], metadata: nested },
            BatchOperation::UpsertWithTtl {
                id: "session".into(),
                vector: vec![0.3, 0.3, 0.3],
                metadata: Metadata::default(),
                ttl_seconds: 60,
            },
            BatchOperation::SetTtl { id: "doc1".into(), ttl_seconds: 3600 },
            BatchOperation::Upsert {
                id: "".into(),
                vector: vec![0.1, 0.2, 0.3],
                metadata: Metadata::default(),
            },
        ])
        .unwrap();
    let c_report = c
        .batch_json(&json!({"operations": [
            {"op": "upsert", "id": "doc1", "vector": [0.1, 0.2, 0.3], "metadata": {}},
            {"op": "delete", "id": "doc2"},
            {"op": "soft_delete", "id": "doc3"},
            {"op": "restore", "id": "doc4"},
            {"op": "update_metadata", "id": "doc5", "metadata": {"v": 2}},
            {"op": "upsert", "id": "short", "vector": [0.1, 0.2]},
            {"op": "upsert", "id": "nested", "vector": [0.1, 0.2, 0.3], "metadata": {"a": {"b": 1}}},
            {"op": "upsert", "id": "session", "vector": [0.3, 0.3, 0.3], "ttl_seconds": 60},
            {"op": "set_ttl", "id": "doc1", "ttl_seconds": 3600},
            {"op": "upsert", "id": "", "vector": [0.1, 0.2, 0.3]},
        ]}))
        .unwrap();
    let mut rust_json: Value = serde_json::from_str(&report.to_json()).unwrap();
    let mut c_json = c_report;
    for j in [&mut rust_json, &mut c_json] {
        assert!(j.as_object_mut().unwrap().remove("duration_ms").unwrap().as_f64().unwrap() >= 0.0);
    }
    assert_eq!(rust_json, c_json);
    assert_eq!((report.succeeded, report.failed), (5, 5));
    let failed: Vec<(usize, &str, &str)> =
        report.errors.iter().map(|e| (e.index, e.operation.as_str(), e.code)).collect();
    assert_eq!(
        failed,
        [
            (1, "delete(doc2)", "not_found"),
            (3, "restore(doc4)", "not_found"),
            (5, "upsert(short)", "dimension_mismatch"),
            (6, "upsert(nested)", "invalid_argument"),
            (9, "upsert()", "invalid_argument"),
        ]
    );
    // Applied through the facade as through C.
    let (q, cq) = guide_query(10, None);
    assert_eq!(rust_rows(&rust.query(q).unwrap()), c.rows(&cq, false).unwrap());
    assert_eq!(rust.get("doc5").unwrap().metadata, Metadata::new().with("v", 2));
    // describe() names operations as the report does.
    assert_eq!(BatchOperation::SoftDelete { id: "doc3".into() }.describe(), "soft_delete(doc3)");
    // An empty batch, as in the migration guide's step 2.
    let empty = rust.batch_execute(vec![]).unwrap();
    assert_eq!((empty.succeeded, empty.failed, empty.errors.len()), (0, 0, 0));
}

// ------------------------------------------------------------------------------------------------
// Query Validation & Cost Estimation / Quick Start
// ------------------------------------------------------------------------------------------------

#[test]
fn estimate_matches_c() {
    // Large enough for the graph (more than 2000 slots), so the estimate is calibrated on it.
    let mut t = twin(&StoreOptions::default());
    seed(&mut t.rust, 3000);
    for filter in [Some("category = 'tech'"), None, Some("active = true AND rank < 40")] {
        for k in [10, 100] {
            let (q, cq) = guide_query(k, filter);
            let rust = t.rust.estimate_query(&q);
            assert!(rust.valid, "{:?}", rust.errors);
            assert!((0.0..=1.0).contains(&rust.cost_estimate));
            let rust = untimed(serde_json::to_value(&rust).unwrap());
            assert_eq!(rust, untimed(t.c.estimate_json(&cq).unwrap()), "{filter:?} k={k}");
        }
    }
    // ef_search through QueryOptions, as vs_query.ef_search.
    let (q, mut cq) = guide_query(10, None);
    cq.ef_search = 300;
    let rust = t.rust.estimate_query_with(&q, QueryOptions { ef_search: 300 });
    assert_eq!(rust.ef_search, 300);
    assert_eq!(untimed(serde_json::to_value(&rust).unwrap()), untimed(t.c.estimate_json(&cq).unwrap()));

    // An invalid query: every problem, in the same words.
    let q = Query { vector: vec![0.1, f32::NAN], k: 0, filter: None };
    let cq = CQuery::new(&q.vector, 0, None);
    let rust = t.rust.estimate_query(&q);
    assert!(!rust.valid);
    assert_eq!(rust.error_codes, ["invalid_argument", "invalid_argument", "dimension_mismatch"]);
    assert_eq!(untimed(serde_json::to_value(&rust).unwrap()), untimed(t.c.estimate_json(&cq).unwrap()));
}

// ------------------------------------------------------------------------------------------------
// Query Explain / Quick Start (and the plain query of the estimate snippet and the migration guide)
// ------------------------------------------------------------------------------------------------

#[test]
fn query_and_explain_match_c() {
    for (n, metric) in
        [(50, Metric::Cosine), (3000, Metric::Cosine), (300, Metric::Euclidean), (300, Metric::Dot)]
    {
        let mut t = twin(&StoreOptions { metric: Some(metric), ..StoreOptions::default() });
        seed(&mut t.rust, n);
        for filter in [Some("category = 'tech'"), None, Some("active = true OR rank IN (1, 2)")] {
            let (q, cq) = guide_query(10, filter);
            let results = t.rust.query(q.clone()).unwrap();
            assert_eq!(results.len(), 10);
            assert_eq!(rust_rows(&results), t.c.rows(&cq, false).unwrap(), "n={n} {filter:?}");

            let explained = t.rust.query_explain(q).unwrap();
            let c_rows = t.c.rows(&cq, true).unwrap();
            assert_eq!(explained.len(), c_rows.len());
            for (i, (r, c)) in explained.iter().zip(&c_rows).enumerate() {
                assert_eq!((&r.id, r.score, r.metadata.to_json()), (&c.id, c.score, c.metadata_json.clone()));
                assert_eq!(Some(r.explanation.to_json()), c.explanation_json, "n={n} {filter:?} #{i}");
                assert_eq!(r.explanation.rank, i + 1);
                // The same results as the plain query.
                assert_eq!(
                    (&r.id, r.score, &r.metadata),
                    (&results[i].id, results[i].score, &results[i].metadata)
                );
            }
            if let Some(f) = filter {
                let details = explained[0].explanation.filter_details.as_ref().unwrap();
                assert_eq!(details.filter_expr, parse_filter(f).unwrap().to_string());
            }
        }
    }
}

#[test]
fn query_errors_match_c() {
    let mut t = twin(&StoreOptions::default());
    seed(&mut t.rust, 20);
    let cases: Vec<(Query, CQuery)> = vec![
        (Query::new(vec![0.1, 0.2], 5), CQuery::new(&[0.1, 0.2], 5, None)),
        (Query::new(vec![0.1, 0.2, 0.3], 0), CQuery::new(&[0.1, 0.2, 0.3], 0, None)),
        (Query::new(vec![0.1, 0.2, 0.3], 10_001), CQuery::new(&[0.1, 0.2, 0.3], 10_001, None)),
        (Query::new(vec![0.0, 0.0, 0.0], 5), CQuery::new(&[0.0, 0.0, 0.0], 5, None)),
        (Query::new(vec![f32::INFINITY, 0.0, 0.0], 5), CQuery::new(&[f32::INFINITY, 0.0, 0.0], 5, None)),
        (Query::new(vec![], 5), CQuery::new(&[], 5, None)),
    ];
    for (q, cq) in cases {
        let rust = t.rust.query(q.clone()).unwrap_err();
        assert_eq!(rust, t.c.rows(&cq, false).unwrap_err());
        assert_eq!(t.rust.query_explain(q).unwrap_err(), rust);
    }
    // ef_search above the limit, through QueryOptions and through vs_query.
    let mut cq = CQuery::new(&[0.1, 0.2, 0.3], 5, None);
    cq.ef_search = 100_001;
    let rust = t.rust.query_with(Query::new(vec![0.1, 0.2, 0.3], 5), QueryOptions { ef_search: 100_001 });
    assert_eq!(rust.unwrap_err(), t.c.rows(&cq, false).unwrap_err());
    // A filter that does not parse: parse_filter gives C's error for the same text.
    for text in ["category = ", "category = 'tech' AND", "x IN ()", "(a = 1", "a = 1 b"] {
        let rust = parse_filter(text).unwrap_err();
        assert_eq!(rust.code, Code::FilterSyntax);
        assert_eq!(rust, t.c.rows(&CQuery::new(&[0.1, 0.2, 0.3], 5, Some(text)), false).unwrap_err());
    }
}

#[test]
fn write_errors_match_c() {
    let mut t = twin(&StoreOptions::default());
    seed(&mut t.rust, 5);
    let nested: Metadata = serde_json::from_str(r#"{"a": {"b": 1}}"#).unwrap();
    let cases: Vec<(&str, Vec<f32>, Metadata)> = vec![
        ("x", vec![0.1, 0.2], Metadata::default()),
        ("", vec![0.1, 0.2, 0.3], Metadata::default()),
        ("x", vec![f32::NAN, 0.2, 0.3], Metadata::default()),
        ("x", vec![0.0, 0.0, 0.0], Metadata::default()),
        ("x", vec![], Metadata::default()),
        ("x", vec![0.1, 0.2, 0.3], nested),
    ];
    for (id, v, m) in cases {
        let rust = t.rust.upsert(id, v.clone(), m.clone()).unwrap_err();
        let meta = m.to_json();
        assert_eq!(rust, t.c.upsert(id, &v, Some(&meta), 0).unwrap_err(), "{id:?} {v:?} {meta}");
    }
    let long = "x".repeat(5000);
    let rust = t.rust.upsert(long.clone(), vec![0.1, 0.2, 0.3], Metadata::default()).unwrap_err();
    assert_eq!(rust, t.c.upsert(&long, &[0.1, 0.2, 0.3], None, 0).unwrap_err());
    // Metadata::from_json checks as the store does.
    let text = r#"{"a": {"b": 1}}"#;
    assert_eq!(
        Metadata::from_json(text).unwrap_err(),
        t.c.upsert("y", &[0.1, 0.2, 0.3], Some(text), 0).unwrap_err()
    );
    assert_eq!(
        Metadata::from_json("[1]").unwrap_err(),
        t.c.upsert("y", &[0.1, 0.2, 0.3], Some("[1]"), 0).unwrap_err()
    );
    // Unknown ids.
    assert_eq!(t.rust.soft_delete("nope").unwrap_err(), Error::not_found("nope"));
    assert_eq!(t.rust.restore("nope").unwrap_err(), Error::not_found("nope"));
    assert_eq!(t.rust.delete("nope").unwrap_err(), Error::not_found("nope"));
    assert_eq!(t.rust.update_metadata("nope", Metadata::default()).unwrap_err(), Error::not_found("nope"));
    assert_eq!(t.rust.get("nope").unwrap_err(), Error::not_found("nope"));
}

// ------------------------------------------------------------------------------------------------
// Auto-Compaction / Quick Start, Manual Compaction
// ------------------------------------------------------------------------------------------------

#[test]
fn compaction_matches_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut rust = VecStore::open(dir.path().join("rust")).unwrap();
    let c = CStore::open(&dir.path().join("c"));
    for i in 0..100 {
        let v = [0.1 + i as f32, 0.2, 0.3];
        rust.upsert(format!("doc-{i}"), v.to_vec(), Metadata::default()).unwrap();
        c.upsert(&format!("doc-{i}"), &v, None, 0).unwrap();
    }
    let guide = CompactionConfig { enabled: true, min_deleted_records: 1000, min_deleted_ratio: 0.1 };
    rust.set_compaction_config(guide).unwrap();
    c.set_compaction_config(guide).unwrap();
    assert_eq!(rust.compaction_config().unwrap(), guide);

    let same = |a: &CompactionResult, b: &CompactionResult| {
        assert_eq!(
            (a.triggered, a.removed_count, a.tombstones_removed),
            (b.triggered, b.removed_count, b.tombstones_removed)
        );
        assert_eq!(a.reason, b.reason);
    };
    // Below both thresholds: not triggered, the same reason.
    for i in 0..5 {
        rust.soft_delete(&format!("doc-{i}")).unwrap();
        let id = cstr(&format!("doc-{i}"));
        let mut err = no_err();
        // SAFETY: valid pointers for the call.
        let st = unsafe { crate::ffi::records::vs_store_soft_delete(c.0, id.as_ptr(), Some(&mut err)) };
        c_result(st, err).unwrap();
    }
    let (r, cr) = (rust.maybe_compact().unwrap(), c.maybe_compact().unwrap());
    assert!(!r.triggered);
    same(&r, &cr);
    // Past the ratio: both compact the same records.
    for i in 5..12 {
        rust.delete(&format!("doc-{i}")).unwrap();
    }
    let ops: Vec<Value> = (5..12).map(|i| json!({"op": "delete", "id": format!("doc-{i}")})).collect();
    assert_eq!(c.batch_json(&Value::Array(ops)).unwrap()["failed"], 0);
    let (r, cr) = (rust.maybe_compact().unwrap(), c.maybe_compact().unwrap());
    assert!(r.triggered, "{}", r.reason);
    assert_eq!(r.removed_count, 5);
    same(&r, &cr);
    // Manual compaction: nothing left to remove, then one soft delete.
    assert_eq!(rust.compact().unwrap(), c.compact().unwrap());
    rust.soft_delete("doc-50").unwrap();
    c.batch_json(&json!([{"op": "soft_delete", "id": "doc-50"}])).unwrap();
    assert_eq!((rust.compact().unwrap(), c.compact().unwrap()), (1, 1));

    // A bad setting: the same error, and the setting unchanged.
    let bad = CompactionConfig { min_deleted_ratio: 1.5, ..guide };
    assert_eq!(rust.set_compaction_config(bad).unwrap_err(), c.set_compaction_config(bad).unwrap_err());
    assert_eq!(rust.compaction_config().unwrap(), guide);
}

// ------------------------------------------------------------------------------------------------
// TTL (Time-To-Live) / Quick Start
// ------------------------------------------------------------------------------------------------

#[test]
fn ttl_matches_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut rust = VecStore::open(dir.path().join("rust")).unwrap();
    let c = CStore::open(&dir.path().join("c"));
    rust.upsert_with_ttl("session-123", vec![0.1, 0.2, 0.3], Metadata::default(), 3600).unwrap();
    c.upsert("session-123", &[0.1, 0.2, 0.3], None, 3600).unwrap();
    rust.upsert_with_ttl("short", vec![0.3, 0.2, 0.1], Metadata::default(), 1).unwrap();
    c.upsert("short", &[0.3, 0.2, 0.1], None, 1).unwrap();
    rust.upsert("doc-456", vec![0.2, 0.2, 0.1], Metadata::default()).unwrap();
    c.upsert("doc-456", &[0.2, 0.2, 0.1], None, 0).unwrap();

    rust.set_ttl("doc-456", 7200).unwrap();
    c.set_ttl("doc-456", 7200).unwrap();
    assert_eq!(rust.set_ttl("nope", 10).unwrap_err(), c.set_ttl("nope", 10).unwrap_err());
    assert_eq!(rust.expire_ttl_records().unwrap(), 0);
    assert_eq!(c.expire_ttl_records().unwrap(), 0);
    // Whole seconds of the wall clock: 2.1 s later "short" has expired in both.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(rust.count().unwrap(), 2);
    assert_eq!((rust.expire_ttl_records().unwrap(), c.expire_ttl_records().unwrap()), (1, 1));
    let (q, cq) = guide_query(10, None);
    assert_eq!(rust_rows(&rust.query(q).unwrap()), c.rows(&cq, false).unwrap());
}

// ------------------------------------------------------------------------------------------------
// Backup & Restore / Quick Start
// ------------------------------------------------------------------------------------------------

#[test]
fn backups_match_c() {
    let dir = tempfile::tempdir().unwrap();
    let manager = NamespaceManager::new(dir.path().join("rust")).unwrap();
    let c = CNamespaces::open(&dir.path().join("c"));
    manager.create_namespace("customer-123", "Acme Corp", None).unwrap();
    c.create("customer-123", "Acme Corp", 0, 0.0).unwrap();
    let cs = c.store("customer-123").unwrap();
    for (id, v) in [("a", [0.1f32, 0.2, 0.3]), ("b", [0.3, 0.2, 0.1])] {
        manager.upsert("customer-123", id, v.to_vec(), Metadata::default()).unwrap();
        cs.upsert(id, &v, None, 0).unwrap();
    }
    use crate::ffi::namespace as n;
    let names = ["old-backup-2025-10-01", "daily-backup-2025-10-19"];
    for name in names {
        let entry = manager.backup_namespace("customer-123", name).unwrap();
        assert_eq!((entry.name.as_str(), entry.vector_count), (name, 2));
        c.named(n::vs_namespace_backup, "customer-123", name).unwrap();
    }
    // Backups taken in the same second may list in either order: compare them by name.
    let mut listed = manager.list_namespace_backups("customer-123").unwrap();
    listed.sort();
    let c_listed = c.list_backups("customer-123").unwrap();
    let mut c_listed: Vec<(Value, Value)> = c_listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["name"].clone(), b["vector_count"].clone()))
        .collect();
    c_listed.sort_by_key(|(name, _)| name.as_str().unwrap().to_string());
    let mut core_listed = manager.core().list_backups("customer-123").unwrap();
    core_listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed.len(), 2);
    for ((name, created_at, count), (c, core)) in listed.iter().zip(c_listed.iter().zip(core_listed)) {
        assert_eq!((json!(name), json!(count)), c.clone());
        assert_eq!((name, *created_at, *count), (&core.name, core.created_at, core.vector_count));
    }
    // Changes after the backup, undone by the restore.
    manager.upsert("customer-123", "c", vec![0.2, 0.2, 0.2], Metadata::default()).unwrap();
    cs.upsert("c", &[0.2, 0.2, 0.2], None, 0).unwrap();
    manager.restore_namespace("customer-123", "daily-backup-2025-10-19").unwrap();
    c.named(n::vs_namespace_restore, "customer-123", "daily-backup-2025-10-19").unwrap();
    let (q, cq) = guide_query(10, None);
    let results = manager.query("customer-123", q).unwrap();
    assert_eq!(rust_rows(&results), cs.rows(&cq, false).unwrap());
    assert_eq!(results.len(), 2);

    manager.delete_namespace_backup("customer-123", "old-backup-2025-10-01").unwrap();
    c.named(n::vs_namespace_delete_backup, "customer-123", "old-backup-2025-10-01").unwrap();
    assert_eq!(manager.list_namespace_backups("customer-123").unwrap().len(), 1);
    // The same errors for the same mistakes: an unknown backup, a name taken, a bad name.
    let gone = "old-backup-2025-10-01";
    let restore = manager.restore_namespace("customer-123", gone).unwrap_err();
    assert_eq!(restore.code, Code::NotFound);
    assert_eq!(restore, c.named(n::vs_namespace_restore, "customer-123", gone).unwrap_err());
    let delete = manager.delete_namespace_backup("customer-123", gone).unwrap_err();
    assert_eq!(delete, c.named(n::vs_namespace_delete_backup, "customer-123", gone).unwrap_err());
    for name in ["daily-backup-2025-10-19", "../x"] {
        let rust = manager.backup_namespace("customer-123", name).unwrap_err();
        assert_eq!(rust, c.named(n::vs_namespace_backup, "customer-123", name).unwrap_err(), "{name}");
    }
    assert_eq!(manager.list_namespace_backups("nobody").unwrap_err(), c.list_backups("nobody").unwrap_err());
}

// ------------------------------------------------------------------------------------------------
// The facade's own conversions
// ------------------------------------------------------------------------------------------------

#[test]
fn metadata_round_trips_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = VecStore::open(dir.path()).unwrap();
    let m = Metadata::new()
        .with("s", "text")
        .with("i", -7)
        .with("big", u64::MAX)
        .with("f", 0.1)
        .with("b", false)
        .with("null", Value::Null)
        .with("list", json!([1, "two", null, true]));
    store.upsert("a", vec![0.5, 0.5], m.clone()).unwrap();
    assert_eq!(store.get("a").unwrap().metadata, m);
    assert_eq!(store.query(Query::new(vec![0.5, 0.5], 1)).unwrap()[0].metadata, m);
    // Serde: the bare object.
    assert_eq!(serde_json::to_value(&m).unwrap()["s"], "text");
    let pairs: Metadata = [("k", 1)].into_iter().collect();
    assert_eq!(pairs.to_json(), r#"{"k":1}"#);
    // An empty map is no metadata.
    store.update_metadata("a", Metadata::default()).unwrap();
    assert!(store.get("a").unwrap().metadata.is_empty());
    // Ids by value or by reference.
    let id = String::from("a");
    store.set_ttl(&id, 0).unwrap();
    store.soft_delete(id.clone()).unwrap();
    store.restore(&id).unwrap();
    assert_eq!(store.get(id).unwrap().id, "a");
}

#[test]
fn vec_store_is_send_and_sync_and_shares_its_store() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<VecStore>();
    send_sync::<NamespaceManager>();

    let dir = tempfile::tempdir().unwrap();
    let core = Arc::new(Store::open(dir.path(), &StoreOptions::default()).unwrap());
    let mut a = VecStore::from_shared(core.clone());
    a.upsert("x", vec![1.0, 0.0], Metadata::default()).unwrap();
    assert_eq!(core.count(), 1);
    // with_store reaches the same core store.
    let n = a.with_store(crate::namespace::RequestKind::Read, |s| Ok(s.count())).unwrap();
    assert_eq!(n, 1);
    // Closing a shared store only releases this handle.
    a.close().unwrap();
    assert_eq!(core.count(), 1);
    // The store opened alone is closed by close(): the directory can be opened again at once.
    let dir2 = tempfile::tempdir().unwrap();
    let only = VecStore::open(dir2.path()).unwrap();
    assert_eq!(VecStore::open(dir2.path()).unwrap_err().code, Code::Locked);
    only.close().unwrap();
    VecStore::open(dir2.path()).unwrap();
}

#[test]
fn query_filter_reaches_the_store_as_its_canonical_text() {
    let mut t = twin(&StoreOptions::default());
    seed(&mut t.rust, 30);
    // Lower-case keywords, extra spaces, double quotes: the canonical text is another spelling of the
    // same filter, so the facade's results and explanations are those of C given the original text.
    let text = "category   =   \"tech\" and not (rank >= 20)";
    let f = parse_filter(text).unwrap();
    assert_ne!(f.to_string(), text);
    let q = Query { vector: vec![0.1, 0.2, 0.3], k: 20, filter: Some(f) };
    let cq = CQuery::new(&q.vector, 20, Some(text));
    let c_rows = t.c.rows(&cq, true).unwrap();
    assert_eq!(c_rows.len(), 10);
    let explained = t.rust.query_explain(q).unwrap();
    let rust: Vec<CRow> = explained
        .iter()
        .map(|r| CRow {
            id: r.id.clone(),
            score: r.score,
            metadata_json: r.metadata.to_json(),
            explanation_json: Some(r.explanation.to_json()),
        })
        .collect();
    assert_eq!(rust, c_rows);
}
