//! `vecstore recover DIR NEW_DIR`: salvage a damaged store into a new directory, never in place.
//!
//! Every file of DIR is read with the read-only readers of `crate::storage` (DIR is not changed).
//! What each damaged file costs:
//! - description file lost: the dimension comes from the snapshot or the log, the metric from the
//!   graph file or `--metric`; nothing is lost;
//! - manifest lost: the newest `snap-*.records` / `.vectors` pair is read directly;
//! - vectors file failing its checksum: rows holding values no write can store (non-finite; for
//!   cosine, not unit length) are dropped with their records (listed by id); other rows are kept,
//!   though a flipped bit in them cannot be located and may have changed a value slightly;
//! - records file damaged: every record of the snapshot is lost (their ids are in no other file);
//! - graph file damaged: nothing is lost (the new store builds its graph from the vectors);
//! - log: every intact frame is replayed, across damage in the middle; the operations of a damaged
//!   stretch are lost (reported with its offset and size), a torn tail is an unfinished write.
//!
//! When only the log is damaged, the store's own salvaging open does the work: DIR's files are copied
//! into NEW_DIR and the copy is opened with `LogRecovery::Salvage`, which replays every valid frame and
//! skips the damaged ones (what each held is reported). Otherwise the records are rebuilt from what
//! is readable, as follows. The salvaged records are written to NEW_DIR through the ordinary store API (so the new store is
//! consistent by construction): live records, soft-deleted ones (soft-deleted again), TTLs kept.
//! Records already expired are not copied. The result is then checked with `verify`.

use std::path::Path;

use serde_json::json;

use super::anatomy::{now, Anatomy, LogPairing, Model, VectorSource};
use super::{print_json, CliResult, Ctx};
use crate::index::hnsw::Hnsw;
use crate::storage::inspect::LogDamage;
use crate::storage::lock::DirLock;
use crate::storage::log::{LogRecovery, LOG_FILE};
use crate::storage::snapshot::{
    read_graph_file, read_records_file, snapshot_file_name, FileKind, SlotRecord,
};
use crate::storage::vectors::{Extent, VectorBlock};
use crate::store::options::{Metric, StoreOptions};
use crate::store::write::WriteOp;
use crate::store::Store;

/// What was lost, in plain words, and what was kept.
#[derive(Default)]
struct Salvage {
    lost: Vec<String>,
    notes: Vec<String>,
}

/// Applies the journal of the records file (whose payload crc is `crc`) to its records `r`: the
/// manifest's, checked; without a manifest, any journal continuing that file, up to its first
/// entry that does not decode (the manifest said how much of it was committed).
fn salvage_records_journal(
    dir: &Path,
    manifest: Option<&crate::storage::snapshot::Manifest>,
    r: &mut Vec<SlotRecord>,
    crc: u32,
    s: &mut Salvage,
) {
    use crate::storage::snapshot::{
        apply_records_journal, apply_records_journal_prefix, read_records_journal,
    };
    if let Some(m) = manifest {
        if m.records_journal.is_some() {
            let path = m.file_path(dir, FileKind::RecordsJournal);
            let applied = read_records_journal(dir, m).and_then(|j| apply_records_journal(&path, r, &j));
            if let Err(e) = applied {
                s.lost.push(format!(
                    "the records written after {} (their journal is damaged: {}); the log's writes since the snapshot are applied",
                    m.records.name, e.message
                ));
            }
        }
        return;
    }
    let mut journals = snapshot_generations(dir, FileKind::RecordsJournal);
    journals.sort_unstable();
    for g in journals.into_iter().rev() {
        let path = dir.join(snapshot_file_name(g, FileKind::RecordsJournal));
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let continues = bytes.len() >= 32
            && &bytes[..8] == crate::storage::snapshot::RECORDS_JOURNAL_MAGIC
            && bytes[12..16] == crc.to_le_bytes();
        if !continues {
            continue;
        }
        let (applied, bad) = apply_records_journal_prefix(r, &bytes[32..]);
        s.notes.push(format!(
            "{}: {applied} bytes of records applied{}",
            path.display(),
            bad.map_or(String::new(), |e| format!(", the rest ignored ({e})"))
        ));
        return;
    }
}

/// The newest generation with both a records and a vectors file (for a store whose manifest is lost).
fn newest_generation(dir: &Path) -> Option<u64> {
    snapshot_generations(dir, FileKind::Records)
        .into_iter()
        .filter(|&g| newest_vectors_file(dir, g).is_some())
        .max()
}

/// The generations of the `snap-G.<kind>` files in `dir`.
fn snapshot_generations(dir: &Path, kind: FileKind) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let suffix = format!(".{}", kind.extension());
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("snap-")?.strip_suffix(suffix.as_str())?.parse::<u64>().ok()
        })
        .collect()
}

/// The vectors file a snapshot of generation `g` uses when no manifest says: its own, or the newest
/// older one (checkpoints append to the vectors file of an earlier generation).
fn newest_vectors_file(dir: &Path, g: u64) -> Option<std::path::PathBuf> {
    let created = snapshot_generations(dir, FileKind::Vectors).into_iter().filter(|&v| v <= g).max()?;
    Some(dir.join(snapshot_file_name(created, FileKind::Vectors)))
}

/// The extent of a vectors file when no manifest gives it: a version 1 file's header says; for an
/// appendable one, the snapshot's record count (when it fits in the file) or every whole row, with
/// the crc of those rows (so there is nothing to check them against).
fn guessed_extent(path: &Path, dim: usize, records: Option<usize>) -> Option<Extent> {
    let bytes = std::fs::read(path).ok()?;
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if u32_at(8)? == 1 {
        let rows = u64::from_le_bytes(bytes.get(16..24)?.try_into().ok()?);
        return Some(Extent { rows, crc32: u32_at(24)? });
    }
    let row_bytes = dim.checked_mul(4).filter(|&b| b > 0)?;
    let whole = bytes.len().checked_sub(64)? / row_bytes;
    let rows = records.filter(|&r| r <= whole).unwrap_or(whole);
    Some(Extent { rows: rows as u64, crc32: crc32fast::hash(&bytes[64..64 + rows * row_bytes]) })
}

/// The dimension a vectors file's header gives (byte 12).
fn vectors_file_dim(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    Some(u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?) as usize)
}

pub fn run(ctx: &Ctx, dir: &Path, out: &Path, metric_arg: Option<Metric>) -> CliResult<()> {
    let an = Anatomy::read(dir)?;
    if out.exists() {
        let same = std::fs::canonicalize(out).ok() == std::fs::canonicalize(dir).ok();
        if same {
            crate::cli_bail!("recover never writes in place: give a new directory, not {}", dir.display());
        }
        let empty = std::fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty {
            crate::cli_bail!(
                "{} exists and is not empty: recover writes into a new (or empty) directory",
                out.display()
            );
        }
    }
    let _lock = DirLock::acquire(dir).map_err(|e| {
        if e.code == crate::Code::Locked {
            format!("{} is open in another process: close it first", dir.display())
        } else {
            e.message
        }
    })?;
    let mut s = Salvage::default();

    // Only the log damaged (or nothing at all): the store's salvaging open, on a copy.
    let (check, _) = super::verify::check_store(dir)?;
    let log_only = check.damage.iter().all(|d| d.file == LOG_FILE);
    if log_only && an.log_pairing() != Some(LogPairing::Orphaned) {
        match salvage_copy(ctx, dir, out, &an) {
            Ok(()) => return Ok(()),
            Err(e) => {
                // Start again from an empty directory with the record-by-record rebuild.
                if let Ok(entries) = std::fs::read_dir(out) {
                    for e in entries.flatten() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
                s.notes.push(format!(
                    "opening a copy with log recovery 'salvage' failed ({}): rebuilt record by record",
                    e.0
                ));
            }
        }
    }

    // Which snapshot files to read.
    let manifest = an.manifest().cloned();
    if let Err(e) = &an.manifest {
        s.notes
            .push(format!("manifest unreadable ({}): reading the newest snapshot files directly", e.message));
    }
    let generation = manifest
        .as_ref()
        .map(|m| m.generation)
        .or_else(|| an.manifest.is_err().then(|| newest_generation(dir)).flatten());
    let meta = an.meta().cloned();
    if let Err(e) = &an.meta {
        s.notes.push(format!(
            "description file unreadable ({}): dimension and metric taken from the other files",
            e.message
        ));
    }

    // Metric: the description file, else the graph file, else --metric.
    // The manifest names the graph file (a checkpoint that saved only the graph's edits keeps an
    // older generation's); without one, the newest generation's.
    let graph_path = an.manifest().map(|m| m.file_path(dir, FileKind::Graph));
    let graph = graph_path
        .or_else(|| generation.map(|g| dir.join(snapshot_file_name(g, FileKind::Graph))))
        .and_then(|p| read_graph_file(&p).ok())
        .and_then(|(p, _)| Hnsw::read_from(&p).ok());
    let metric = match (meta.as_ref().map(|m| m.metric), graph.as_ref().map(|g| g.metric()), metric_arg) {
        (_, _, Some(m)) => m,
        (Some(m), _, None) => m,
        (None, Some(m), None) => m,
        (None, None, None) => {
            crate::cli_bail!("the store's metric is in no readable file: give it with --metric")
        }
    };

    // The snapshot's records and vectors.
    let mut records: Option<Vec<SlotRecord>> = None;
    let mut vectors: Option<VectorBlock> = None;
    let mut dim = meta.as_ref().map_or(0, |m| m.dimension);
    if let Some(g) = generation {
        // The manifest names the records file (a checkpoint that saved only the records that
        // changed keeps an older generation's, with its journal); without one, the newest.
        let rpath = match &manifest {
            Some(m) => m.file_path(dir, FileKind::Records),
            None => dir.join(snapshot_file_name(g, FileKind::Records)),
        };
        let vpath = match &manifest {
            Some(m) => m.file_path(dir, FileKind::Vectors),
            None => newest_vectors_file(dir, g)
                .unwrap_or_else(|| dir.join(snapshot_file_name(g, FileKind::Vectors))),
        };
        if dim == 0 {
            dim = manifest.as_ref().map(|m| m.dimension).or_else(|| vectors_file_dim(&vpath)).unwrap_or(0);
        }
        match read_records_file(&rpath) {
            Ok((mut r, crc)) => {
                salvage_records_journal(dir, manifest.as_ref(), &mut r, crc, &mut s);
                records = Some(r);
            }
            Err(e) => s.lost.push(format!(
                "every record of snapshot generation {g} ({} slots): its records file is damaged ({})",
                manifest.as_ref().map_or("?".to_string(), |m| m.slots.to_string()),
                e.message
            )),
        }
        let extent = match &manifest {
            Some(m) => Some(m.vectors_extent()),
            None => guessed_extent(&vpath, dim, records.as_ref().map(Vec::len)),
        };
        let opened = match extent {
            Some(extent) => VectorBlock::open_mapped(&vpath, dim, extent),
            None => Err(crate::error::Error::corrupt(&vpath, "no readable vectors file header")),
        };
        match opened {
            Ok(v) => {
                if let Err(e) = v.verify() {
                    s.notes.push(format!(
                        "{}; rows holding impossible values are dropped, other rows are kept as read",
                        e.message
                    ));
                }
                vectors = Some(v);
            }
            Err(e) => {
                if records.as_ref().is_some_and(|r| r.iter().any(|x| x.state != SlotRecord::DELETED)) {
                    s.lost.push(format!(
                        "the vectors of snapshot generation {g}, and so its records: {}",
                        e.message
                    ));
                }
                records = None;
            }
        }
    }

    // The log.
    let mut model = records.map(Model::from_records).unwrap_or_default();
    if let Err(e) = &an.log {
        s.lost.push(format!("every write since the snapshot: the log is unreadable ({})", e.message));
    }
    if let Some(log) = an.log() {
        let pairing = if an.manifest.is_err() { Some(LogPairing::Follows) } else { an.log_pairing() };
        match pairing {
            Some(LogPairing::Stale) => s.notes.push(
                "the log is older than the snapshot (its writes are in the snapshot): not replayed".into(),
            ),
            _ => {
                if pairing == Some(LogPairing::Orphaned) {
                    s.lost.push(format!(
                        "the writes between snapshot generation {} and log generation {} (that snapshot is missing); the log's own writes are applied",
                        generation.unwrap_or(0),
                        log.generation
                    ));
                }
                // Frames before the snapshot's freeze point (a log not trimmed yet) are in it already.
                let expected = an.manifest().map_or(0, |m| m.log_generation);
                let start = if pairing == Some(LogPairing::Follows) && log.generation == expected {
                    an.snapshot_log_start()
                } else {
                    0
                };
                for f in log.frames.iter().filter(|f| f.offset >= start) {
                    for op in &f.ops {
                        if let crate::storage::log::LogOp::Upsert { vector, .. } = op {
                            if dim == 0 {
                                dim = vector.len();
                            }
                            if vector.len() != dim {
                                continue;
                            }
                        }
                        model.apply(op, f.offset);
                    }
                }
                for d in &log.damage {
                    s.lost.push(lost_frame(d));
                }
                if let Some(t) = &log.torn_tail {
                    s.lost.push(if t.cut_short {
                        format!(
                            "an unfinished write at the end of the log ({} bytes, never acknowledged)",
                            t.bytes
                        )
                    } else {
                        lost_frame(t)
                    });
                }
            }
        }
    }
    if dim == 0 {
        crate::cli_bail!("nothing to salvage in {}: no readable record", dir.display());
    }

    // Write the survivors into the new store.
    let options = StoreOptions {
        dimension: dim,
        metric: Some(metric),
        hnsw_m: meta.as_ref().map_or(16, |m| m.hnsw_m),
        ef_construction: meta.as_ref().map_or(200, |m| m.ef_construction),
        ef_search: meta.as_ref().map_or(64, |m| m.ef_search),
        build_threads: 0,
        ..StoreOptions::default()
    };
    let store = Store::open(out, &options)?;
    if let Some(m) = &meta {
        store.set_compaction_config(m.compaction)?;
    }
    let t = now();
    let (mut live, mut soft, mut expired, mut bad_rows) = (0u64, 0u64, 0u64, Vec::new());
    let mut ops = Vec::new();
    let mut soft_ids = Vec::new();
    for slot in &model.slots {
        if slot.state == SlotRecord::DELETED {
            continue;
        }
        if slot.expires_at != 0 && slot.expires_at <= t {
            expired += 1;
            continue;
        }
        let vector = match (&slot.vector, &vectors) {
            (VectorSource::Log(v), _) => v.clone(),
            (VectorSource::Snapshot(row), Some(v)) => match v.try_get(*row) {
                Some(x) => x.to_vec(),
                None => {
                    bad_rows.push(slot.id.clone());
                    continue;
                }
            },
            (VectorSource::Snapshot(_), None) => continue,
        };
        let impossible = vector.iter().any(|x| !x.is_finite())
            || (metric == Metric::Cosine && {
                let n2: f64 = vector.iter().map(|&f| f64::from(f) * f64::from(f)).sum();
                (n2 - 1.0).abs() > 1e-3
            });
        if impossible {
            bad_rows.push(slot.id.clone());
            continue;
        }
        let metadata = match crate::store::record::canonical_metadata(Some(&slot.metadata)) {
            Ok(m) => Some(m),
            Err(e) => {
                s.lost.push(format!(
                    "the metadata of {:?} ({}): the record is kept without it",
                    slot.id, e.message
                ));
                None
            }
        };
        let ttl = if slot.expires_at == 0 { 0 } else { slot.expires_at - t };
        ops.push(WriteOp::Upsert { id: slot.id.clone(), vector, metadata, ttl_seconds: ttl });
        if slot.state == SlotRecord::SOFT_DELETED {
            soft_ids.push(slot.id.clone());
            soft += 1;
        } else {
            live += 1;
        }
        if ops.len() >= 5000 {
            write_batch(&store, &mut ops)?;
        }
    }
    write_batch(&store, &mut ops)?;
    let soft_ops: Vec<WriteOp> = soft_ids.into_iter().map(|id| WriteOp::SoftDelete { id }).collect();
    if !soft_ops.is_empty() {
        write_batch(&store, &mut soft_ops.clone())?;
    }
    if !bad_rows.is_empty() {
        let shown: Vec<String> = bad_rows.iter().take(10).map(|id| format!("{id:?}")).collect();
        s.lost.push(format!(
            "{} records whose vector rows hold impossible values (damaged vectors file): {}{}",
            bad_rows.len(),
            shown.join(", "),
            if bad_rows.len() > 10 { ", ..." } else { "" }
        ));
    }
    if expired > 0 {
        s.notes.push(format!("{expired} records had already expired and were not copied"));
    }
    store.close()?;
    // The new store must pass verify.
    let (check, _) = super::verify::check_store(out)?;
    if !check.damage.is_empty() {
        crate::cli_bail!("the salvaged store in {} does not verify: {}", out.display(), check.damage[0].what);
    }
    if ctx.json {
        print_json(
            &json!({"out": out.display().to_string(), "live": live, "soft_deleted": soft, "lost": s.lost, "notes": s.notes, "verified": true}),
        );
    } else {
        println!(
            "recovered {live} live and {soft} soft-deleted records from {} into {}",
            dir.display(),
            out.display()
        );
        if s.lost.is_empty() {
            println!("lost: nothing");
        }
        for l in &s.lost {
            println!("lost: {l}");
        }
        for n in &s.notes {
            println!("note: {n}");
        }
        println!("{} verifies clean; {} was not changed", out.display(), dir.display());
    }
    Ok(())
}

/// What a damaged stretch of the log cost, in words.
fn lost_frame(d: &LogDamage) -> String {
    let ops = match d.ops {
        Some(1) => "1 operation".to_string(),
        Some(n) => format!("{n} operations"),
        None => "an unknown number of operations".to_string(),
    };
    format!("the writes in log bytes {}..{} ({ops}; {})", d.offset, d.offset + d.bytes, d.what)
}

/// Copies DIR's store files into OUT and opens the copy with `LogRecovery::Salvage`; reports what
/// the open skipped. DIR is only read.
fn salvage_copy(ctx: &Ctx, dir: &Path, out: &Path, an: &Anatomy) -> CliResult<()> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for f in &an.files {
        if f.role == "lock" || f.role == "other" {
            continue;
        }
        std::fs::copy(dir.join(&f.name), out.join(&f.name))
            .map_err(|e| format!("cannot copy {} into {}: {e}", f.name, out.display()))?;
    }
    let options =
        StoreOptions { log_recovery: LogRecovery::Salvage, build_threads: 0, ..StoreOptions::default() };
    let store = Store::open(out, &options)?;
    let report = store.replay_report().clone();
    let stats = store.stats();
    let mut lost = Vec::new();
    for d in &report.damage {
        // The scan of DIR's log saw the same stretch, with why it is unreadable.
        let seen = an.log().and_then(|l| l.damage.iter().find(|x| x.offset == d.offset));
        lost.push(match seen {
            Some(x) => lost_frame(x),
            None => lost_frame(&LogDamage {
                offset: d.offset,
                bytes: d.bytes,
                ops: d.ops,
                what: "damaged".into(),
                cut_short: false,
            }),
        });
    }
    if report.dropped_tail_bytes > 0 {
        lost.push(format!(
            "an unfinished write at the end of the log ({} bytes, never acknowledged)",
            report.dropped_tail_bytes
        ));
    }
    store.close()?;
    if let Some(copy) = &report.damaged_copy {
        // The damaged log is still in DIR, untouched: no second copy in the new store.
        let _ = std::fs::remove_file(copy);
    }
    let (check, _) = super::verify::check_store(out)?;
    if let Some(d) = check.damage.first() {
        crate::cli_bail!("the salvaged store in {} does not verify: {}: {}", out.display(), d.file, d.what);
    }
    let expired = stats.expired;
    if ctx.json {
        print_json(
            &json!({"out": out.display().to_string(), "live": stats.count, "soft_deleted": stats.soft_deleted,
            "expired": expired, "lost": lost, "method": "salvaging open of a copy", "verified": true}),
        );
    } else {
        println!(
            "recovered {} live and {} soft-deleted records from {} into {}",
            stats.count,
            stats.soft_deleted,
            dir.display(),
            out.display()
        );
        if lost.is_empty() {
            println!("lost: nothing");
        }
        for l in &lost {
            println!("lost: {l}");
        }
        println!("note: only the log was damaged: the copy was opened with log recovery 'salvage', which keeps every valid frame");
        println!("{} verifies clean; {} was not changed", out.display(), dir.display());
    }
    Ok(())
}

fn write_batch(store: &Store, ops: &mut Vec<WriteOp>) -> CliResult<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let r = store.batch_execute(ops)?;
    if let Some(e) = r.errors.first() {
        crate::cli_bail!("writing the salvaged records failed at {}: {}", e.operation, e.error);
    }
    ops.clear();
    Ok(())
}
