//! `vecstore verify DIR`: reads every file of a store and checks everything that can be checked, the
//! vector data's checksum included (which opening skips for speed), the graph's integrity, and the
//! records against the graph and the log. `vecstore recover DIR NEW_DIR`: salvages what the damage
//! allows into a new directory, never in place, and says exactly what was lost.
//!
//! Both read the store's files through the read-only readers of `crate::storage` (nothing is
//! created, truncated or removed in DIR) with the directory lock held, so that no writer is midway
//! through an append while the log is read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::anatomy::{Anatomy, LogPairing, VectorSource};
use super::{print_json, table, CliError, CliResult, Ctx, MetricArg};
use crate::index::hnsw::Hnsw;
use crate::index::quant::{Codes, RowLayout};
use crate::storage::lock::DirLock;
use crate::storage::log::{LogOp, LOG_FILE};
use crate::storage::snapshot::{
    apply_records_journal, blob_format_version, read_graph_file, read_graph_journal, read_records_file,
    read_records_journal, read_saved_codes, FileKind, Manifest, SavedCodes, SlotRecord, MANIFEST_FILE,
};
use crate::storage::vectors::VectorBlock;
use crate::store::meta::META_FILE;
use crate::store::options::Metric;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// The damaged store (only read)
    pub dir: PathBuf,
    /// New directory for the salvaged store (must not exist, or be empty)
    pub out: PathBuf,
    /// Metric of the store, when its description file is lost
    #[arg(long, value_enum)]
    pub metric: Option<MetricArg>,
}

/// One problem found: the file, the byte offset when it is known, and what is wrong.
#[derive(Debug, Clone)]
pub struct Damage {
    pub file: String,
    pub offset: Option<u64>,
    pub what: String,
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    /// (file, what was checked and found right)
    pub checked: Vec<(String, String)>,
    pub damage: Vec<Damage>,
    /// Things worth knowing that are not damage (a torn tail, a stale log, leftover files).
    pub notes: Vec<String>,
    pub bytes_read: u64,
}

impl Report {
    fn ok(&mut self, file: &str, what: String) {
        self.checked.push((file.to_string(), what));
    }
    fn bad(&mut self, file: &str, offset: Option<u64>, what: impl Into<String>) {
        self.damage.push(Damage { file: file.to_string(), offset, what: what.into() });
    }
    /// `err` is a core error whose message starts with the file's path: keep only the rest.
    fn bad_err(&mut self, file: &str, offset: Option<u64>, err: &crate::Error) {
        let msg = match err.message.split_once(": ") {
            Some((p, rest)) if p.ends_with(file) => rest.to_string(),
            _ => err.message.clone(),
        };
        self.bad(file, offset, msg);
    }
}

/// Byte offset of row `row`, value `j` in a vectors file of dimension `dim`.
fn vector_offset(row: usize, j: usize, dim: usize) -> u64 {
    64 + 4 * (row * dim + j) as u64
}

/// Rows with values no write can have stored (non-finite; for cosine, not of unit length), as
/// (row, byte offset of the first bad value).
fn impossible_rows(v: &VectorBlock, metric: Metric) -> Vec<(usize, u64)> {
    let dim = v.dim();
    let mut bad = Vec::new();
    for row in 0..v.len() {
        let x = v.get(row as u32);
        if let Some(j) = x.iter().position(|f| !f.is_finite()) {
            bad.push((row, vector_offset(row, j, dim)));
        } else if metric == Metric::Cosine {
            let norm2: f64 = x.iter().map(|&f| f64::from(f) * f64::from(f)).sum();
            if (norm2 - 1.0).abs() > 1e-3 {
                bad.push((row, vector_offset(row, 0, dim)));
            }
        }
    }
    bad
}

/// Checks a whole store directory. The report lists every file checked and every problem.
pub fn check_store(dir: &Path) -> CliResult<(Report, Anatomy)> {
    let an = Anatomy::read(dir)?;
    let mut r = Report::default();
    // The description file.
    let meta = match &an.meta {
        Ok(Some(m)) => {
            r.ok(
                META_FILE,
                format!("format {}, dimension {}, metric {}", m.format_version, m.dimension, m.metric.name()),
            );
            Some(m.clone())
        }
        Ok(None) => {
            r.bad(META_FILE, None, "missing (the store cannot be opened without it)");
            None
        }
        Err(e) => {
            r.bad_err(META_FILE, None, e);
            None
        }
    };
    let metric = meta.as_ref().map(|m| m.metric);
    let mut dim = meta.as_ref().map_or(0, |m| m.dimension);
    let mut records: Option<Vec<SlotRecord>> = None;
    // The snapshot.
    let manifest: Option<Manifest> = match &an.manifest {
        Ok(Some(m)) => {
            r.ok(
                MANIFEST_FILE,
                format!(
                    "format {}, generation {}, {} slots, checksum ok",
                    m.format_version, m.generation, m.slots
                ),
            );
            Some(m.clone())
        }
        Ok(None) => {
            r.notes.push("no snapshot yet: every record is in the log".into());
            None
        }
        Err(e) => {
            r.bad_err(MANIFEST_FILE, None, e);
            None
        }
    };
    if let Some(m) = &manifest {
        if dim != 0 && m.dimension != dim {
            r.bad(
                MANIFEST_FILE,
                None,
                format!("snapshot has dimension {}, the description file {dim}", m.dimension),
            );
        }
        dim = m.dimension;
        check_snapshot(dir, m, metric, meta.as_ref().map(|m| m.hnsw_m), &mut r, &mut records);
    }
    // The log.
    match &an.log {
        Ok(None) => r.notes.push(format!("no {LOG_FILE} (opening creates an empty one)")),
        Err(e) => r.bad_err(LOG_FILE, None, e),
        Ok(Some(log)) => {
            r.bytes_read += log.file_bytes;
            let expected = manifest.as_ref().map_or(0, |m| m.log_generation);
            match an.log_pairing() {
                Some(LogPairing::Orphaned) => r.bad(
                    LOG_FILE,
                    Some(12),
                    format!("log generation {} is newer than the snapshot's {expected}: the snapshot it follows is missing", log.generation),
                ),
                Some(LogPairing::Stale) => r.notes.push(format!(
                    "{LOG_FILE} (generation {}) is older than the snapshot ({expected}): its writes are in the snapshot; the next open discards it",
                    log.generation
                )),
                _ => {}
            }
            for d in &log.damage {
                r.bad(LOG_FILE, Some(d.offset), format!("{} ({} bytes unreadable up to the next intact frame; opening stops here and drops everything after)", d.what, d.bytes));
            }
            if let Some(t) = &log.torn_tail {
                if t.cut_short {
                    r.notes.push(format!(
                        "{LOG_FILE}: {} bytes at offset {} are an unfinished write (a crash while appending); opening drops them: {}",
                        t.bytes, t.offset, t.what
                    ));
                } else {
                    r.bad(
                        LOG_FILE,
                        Some(t.offset),
                        format!("last frame is damaged: {} ({} bytes; opening drops it)", t.what, t.bytes),
                    );
                }
            }
            let mut bad_dims = 0;
            for f in &log.frames {
                for op in &f.ops {
                    if let LogOp::Upsert { vector, .. } = op {
                        if dim == 0 {
                            dim = vector.len();
                        } else if vector.len() != dim && bad_dims < 5 {
                            bad_dims += 1;
                            r.bad(
                                LOG_FILE,
                                Some(f.offset),
                                format!("an upsert has dimension {}, the store {dim}", vector.len()),
                            );
                        }
                    }
                }
            }
            let model = an.model(records.clone());
            for (offset, what) in model.anomalies.iter().take(10) {
                r.bad(LOG_FILE, Some(*offset), what.clone());
            }
            r.ok(
                LOG_FILE,
                format!(
                    "format {}, generation {}, {} intact frames ({} ops), frame checksums ok{}",
                    log.format_version,
                    log.generation,
                    log.frames.len(),
                    log.op_count(),
                    if model.anomalies.is_empty() { ", every op names a record it may change" } else { "" }
                ),
            );
        }
    }
    for f in &an.files {
        if f.role == "other" {
            r.notes.push(format!("{} is not a store file (a leftover of an interrupted write, or someone else's file); opening may remove it", f.name));
        }
    }
    Ok((r, an))
}

fn check_snapshot(
    dir: &Path,
    m: &Manifest,
    metric: Option<Metric>,
    hnsw_m: Option<usize>,
    r: &mut Report,
    records_out: &mut Option<Vec<SlotRecord>>,
) {
    // Vectors: header, length, both checksums, values no write can store.
    let name = m.vectors.name.as_str();
    let path = m.file_path(dir, FileKind::Vectors);
    match std::fs::metadata(&path) {
        Err(e) => r.bad(name, None, format!("cannot read: {e}")),
        // An appendable file may be longer (an append never committed); open_mapped checks which.
        Ok(md) if md.len() < m.vectors.bytes => {
            r.bad(name, None, format!("file is {} bytes, the manifest says {}", md.len(), m.vectors.bytes))
        }
        Ok(md) => match VectorBlock::open_mapped(&path, m.dimension, m.vectors_extent()) {
            Err(e) => r.bad_err(name, None, &e),
            Ok(v) => {
                r.bytes_read += m.vectors.bytes;
                let mut fine = true;
                if v.file_crc() != Some(m.vectors.crc32) {
                    fine = false;
                    r.bad(
                        name,
                        Some(24),
                        format!(
                            "header checksum {:08x?} differs from the manifest's {:08x}",
                            v.file_crc(),
                            m.vectors.crc32
                        ),
                    );
                }
                if v.len() as u64 != m.slots {
                    fine = false;
                    r.bad(name, Some(16), format!("{} rows, the snapshot has {} slots", v.len(), m.slots));
                }
                if let Err(e) = v.verify() {
                    fine = false;
                    r.bad_err(name, Some(64), &e);
                    for (row, off) in impossible_rows(&v, metric.unwrap_or(Metric::Euclidean)).iter().take(10)
                    {
                        r.bad(name, Some(*off), format!("row {row} holds a value no write can store"));
                    }
                }
                if fine {
                    let uncommitted = md.len() - m.vectors.bytes;
                    let text = if v.file_version() == Some(1) {
                        format!("format 1, {} rows x {}, header and data checksums ok", v.len(), v.dim())
                    } else if uncommitted > 0 {
                        format!(
                            "format 2, {} rows x {}, data checksum ok; {uncommitted} bytes of an uncommitted \
                             append after them (ignored, cut by the next checkpoint)",
                            v.len(),
                            v.dim()
                        )
                    } else {
                        format!("format 2, {} rows x {}, data checksum ok", v.len(), v.dim())
                    };
                    r.ok(name, text);
                }
            }
        },
    }
    // Records: checksum, decoding, states, unique ids, metadata.
    let name = m.records.name.as_str();
    match read_records_file(&m.file_path(dir, FileKind::Records)) {
        Err(e) => r.bad_err(name, None, &e),
        Ok((mut records, crc)) => {
            r.bytes_read += m.records.bytes;
            let mut fine = true;
            // The records file, then its journal's records in place of its (the records the store
            // opens with).
            let in_file = records.len();
            if let Some(entry) = &m.records_journal {
                let applied = read_records_journal(dir, m).and_then(|journal| {
                    r.bytes_read += entry.bytes;
                    apply_records_journal(&m.file_path(dir, FileKind::RecordsJournal), &mut records, &journal)
                        .map(|()| journal.len())
                });
                match applied {
                    Err(e) => {
                        fine = false;
                        r.bad_err(&entry.name, None, &e);
                    }
                    Ok(len) => r.ok(
                        &entry.name,
                        format!(
                            "{len} bytes of records written after the {in_file} records of {name}, checksum ok, \
                             every entry decodes"
                        ),
                    ),
                }
            }
            if crc != m.records.crc32 {
                fine = false;
                r.bad(
                    name,
                    Some(12),
                    format!("checksum {crc:08x} differs from the manifest's {:08x}", m.records.crc32),
                );
            }
            if records.len() as u64 != m.slots {
                fine = false;
                r.bad(
                    name,
                    Some(16),
                    format!("{} records, the snapshot has {} slots", records.len(), m.slots),
                );
            }
            let mut ids = HashSet::with_capacity(records.len());
            for (s, rec) in records.iter().enumerate() {
                if rec.state != SlotRecord::DELETED && !ids.insert(rec.id.as_str()) {
                    fine = false;
                    r.bad(name, None, format!("id {:?} is in two slots (the second is slot {s})", rec.id));
                }
                if let Err(e) = crate::store::record::parse_metadata(Some(&rec.metadata)) {
                    fine = false;
                    r.bad(name, None, format!("slot {s} ({:?}): {}", rec.id, e.message));
                }
            }
            if fine {
                r.ok(
                    name,
                    format!("format 1, {} records, checksum ok, ids unique, metadata valid", records.len()),
                );
            }
            *records_out = Some(records);
        }
    }
    // Graph: checksum, structure, integrity, against the records.
    let name = m.graph.name.as_str();
    match read_graph_file(&m.file_path(dir, FileKind::Graph)) {
        Err(e) => r.bad_err(name, None, &e),
        Ok((payload, crc)) => {
            r.bytes_read += m.graph.bytes;
            if crc != m.graph.crc32 {
                r.bad(
                    name,
                    Some(12),
                    format!("checksum {crc:08x} differs from the manifest's {:08x}", m.graph.crc32),
                );
            }
            // The graph file, then its journal replayed on it (the graph the store opens to).
            let graph_format = Hnsw::format_version(&payload).unwrap_or(0);
            let mut journal_checked = None;
            let graph = match (Hnsw::read_from(&payload), &m.graph_journal) {
                (Err(e), _) => Err((name.to_string(), Some(32), e)),
                (Ok(g), None) => Ok(g),
                (Ok(mut g), Some(entry)) => match read_graph_journal(dir, m) {
                    Err(e) => {
                        r.bad_err(&entry.name, None, &e);
                        Err((
                            entry.name.clone(),
                            None,
                            "the graph cannot be checked without its journal".into(),
                        ))
                    }
                    Ok(journal) => {
                        r.bytes_read += entry.bytes;
                        match g.apply_journal(&journal) {
                            Err(e) => Err((entry.name.clone(), None, e)),
                            Ok(()) => {
                                let version = blob_format_version(&m.file_path(dir, FileKind::GraphJournal))
                                    .unwrap_or(0);
                                journal_checked = Some((entry.name.clone(), journal.len(), version));
                                Ok(g)
                            }
                        }
                    }
                },
            };
            match graph {
                Err((file, offset, e)) => r.bad(&file, offset, e),
                Ok(g) => {
                    let mut fine = true;
                    if g.len() as u64 != m.slots {
                        fine = false;
                        r.bad(
                            name,
                            None,
                            format!("the graph has {} nodes, the snapshot {} slots", g.len(), m.slots),
                        );
                    }
                    if metric.is_some_and(|mt| mt != g.metric()) {
                        fine = false;
                        r.bad(
                            name,
                            None,
                            format!(
                                "the graph was built for metric {}, the store uses {}",
                                g.metric().name(),
                                metric.unwrap().name()
                            ),
                        );
                    }
                    if hnsw_m.is_some_and(|hm| hm != g.params().m) {
                        r.notes.push(format!(
                            "{name}: built with m = {}, the description file says {}",
                            g.params().m,
                            hnsw_m.unwrap()
                        ));
                    }
                    // `Hnsw::check_integrity`: ids in range, no self or duplicate links, degrees,
                    // entry point, every node reachable. A node no search reaches is not damage in
                    // a file whose checksum holds: the neighbour selection can prune a node out of
                    // every list, and the store links such nodes again each time the graph has
                    // grown by a sixteenth and at compaction (`hnsw/connect.rs`). So it is a note,
                    // naming the live records a query cannot return until then.
                    let mut reach = "every node reachable";
                    if let Err(problem) = g.check_integrity() {
                        let lost = g.unreachable_nodes();
                        if lost.is_empty() || !problem.contains("cannot be reached") {
                            fine = false;
                            r.bad(name, None, problem);
                        } else {
                            let live: Vec<u32> = lost
                                .iter()
                                .copied()
                                .filter(|&s| {
                                    records_out.as_ref().is_some_and(|rs| {
                                        rs.get(s as usize).is_some_and(|x| x.state == SlotRecord::LIVE)
                                    })
                                })
                                .collect();
                            let which = live.first().map_or(String::new(), |s| format!(", slot {s} is one"));
                            r.notes.push(format!(
                                "{name}: {} nodes cannot be reached from the entry point ({} of them live records{which}): \
                                 graph quality, not damage; queries do not return them until the store links them \
                                 again (when the graph has grown by a sixteenth, or at compaction)",
                                lost.len(),
                                live.len()
                            ));
                            reach = "some nodes unreachable, see the notes";
                        }
                    }
                    if fine {
                        let with = if journal_checked.is_some() { " with its journal" } else { "" };
                        r.ok(
                            name,
                            format!(
                                "format {graph_format}, {} nodes on {} levels{with}, checksum ok; integrity ok (links in range, no self or duplicate links, {reach})",
                                g.len(),
                                g.level_sizes().len()
                            ),
                        );
                        if let Some((jname, bytes, version)) = &journal_checked {
                            r.ok(
                                jname,
                                format!(
                                    "format {version}, {bytes} bytes of graph edits, checksum ok, replayed on {name}"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    // Codes (when the snapshot has them): checksum, ranges, one row per slot.
    if let Some(entry) = &m.codes {
        let name = entry.name.as_str();
        match read_saved_codes(dir, m) {
            Err(e) => r.bad_err(name, None, &e),
            Ok(saved) => {
                r.bytes_read += entry.bytes;
                let (format, decoded) = match (&saved, metric) {
                    (SavedCodes::Whole(p), Some(mt)) => (1, Some(Codes::from_bytes(p, mt))),
                    (SavedCodes::Appendable { drift, packed, .. }, Some(mt)) => {
                        let bytes = saved.head_and_rows().expect("appendable");
                        let layout = if *packed { RowLayout::Packed } else { RowLayout::Strided };
                        (
                            2 + u32::from(*packed),
                            Some(Codes::from_head_and_rows(bytes, m.slots, *drift, mt, layout)),
                        )
                    }
                    (SavedCodes::Whole(_), None) => (1, None),
                    (SavedCodes::Appendable { packed, .. }, None) => (2 + u32::from(*packed), None),
                };
                let tail = std::fs::metadata(m.file_path(dir, FileKind::Codes))
                    .map_or(0, |md| md.len().saturating_sub(entry.bytes));
                let uncommitted = if tail > 0 {
                    format!(", {tail} bytes of an uncommitted append after it")
                } else {
                    String::new()
                };
                match decoded {
                    Some(Err(e)) => r.bad(name, Some(32), e),
                    Some(Ok(c)) if c.len() as u64 != m.slots || c.dim() != m.dimension => r.bad(
                        name,
                        Some(32),
                        format!("the codes are {} rows of dimension {}, the snapshot {} of {}", c.len(), c.dim(), m.slots, m.dimension),
                    ),
                    Some(Ok(c)) => r.ok(
                        name,
                        format!(
                            "format {format}, {} int8 rows of {} bytes, checksum ok, ranges valid{uncommitted}",
                            c.len(),
                            if format == 3 { c.packed_row_len() } else { c.stride() }
                        ),
                    ),
                    None => r.ok(
                        name,
                        format!("format {format}, {} rows, checksum ok (the metric is unknown: ranges not decoded){uncommitted}", m.slots),
                    ),
                }
            }
        }
    }
}

/// Takes the directory lock for a read-only check, or explains why not.
fn lock_for_check(dir: &Path) -> CliResult<DirLock> {
    DirLock::acquire(dir).map_err(|e| {
        if e.code == crate::Code::Locked {
            CliError(format!(
                "{} is open in another process: close it first (a write in progress would look like damage)",
                dir.display()
            ))
        } else {
            CliError(e.message)
        }
    })
}

pub fn verify(ctx: &Ctx, a: VerifyArgs) -> CliResult<()> {
    let dir = ctx.store_dir(&a.dir)?;
    Anatomy::read(&dir)?; // a clear error for a directory that is no store, before locking it
    let _lock = lock_for_check(&dir)?;
    let (r, an) = check_store(&dir)?;
    if ctx.json {
        print_json(&json!({
            "ok": r.damage.is_empty(),
            "path": dir.display().to_string(),
            "checked": r.checked.iter().map(|(f, w)| json!({"file": f, "result": w})).collect::<Vec<_>>(),
            "damage": r.damage.iter().map(|d| json!({"file": d.file, "offset": d.offset, "problem": d.what})).collect::<Vec<_>>(),
            "notes": r.notes,
            "bytes_read": r.bytes_read,
            "files": an.files.len(),
        }));
    } else {
        for (f, w) in &r.checked {
            println!("ok       {f}: {w}");
        }
        for d in &r.damage {
            match d.offset {
                Some(o) => println!("DAMAGED  {} at byte {o}: {}", d.file, d.what),
                None => println!("DAMAGED  {}: {}", d.file, d.what),
            }
        }
        for n in &r.notes {
            println!("note     {n}");
        }
        println!(
            "{}: {} files, {} read",
            if r.damage.is_empty() { "verified, no damage" } else { "DAMAGE FOUND" },
            an.files.len(),
            table::bytes(r.bytes_read)
        );
    }
    if !r.damage.is_empty() {
        let mut files: Vec<&str> = r.damage.iter().map(|d| d.file.as_str()).collect();
        files.dedup();
        crate::cli_bail!(
            "{} is damaged ({} problems in {}); `vecstore recover {} NEW_DIR` salvages what is left",
            dir.display(),
            r.damage.len(),
            files.join(", "),
            dir.display()
        );
    }
    Ok(())
}

pub fn recover(ctx: &Ctx, a: RecoverArgs) -> CliResult<()> {
    super::recover::run(ctx, &ctx.store_dir(&a.dir)?, &a.out, a.metric.map(Into::into))
}

/// The vector of a model slot, from the snapshot rows or the log.
pub fn slot_vector<'a>(v: Option<&'a VectorBlock>, src: &'a VectorSource) -> Option<&'a [f32]> {
    match src {
        VectorSource::Log(x) => Some(x),
        VectorSource::Snapshot(row) => v.and_then(|b| b.try_get(*row)),
    }
}
