//! `vecstore info DIR`: what a store is made of, read from its files without opening it (so it
//! changes nothing and works while another process has the store open).

use std::path::PathBuf;

use serde_json::json;

use super::anatomy::{now, Anatomy, LogPairing};
use super::{print_json, table, CliResult, Ctx};
use crate::storage::snapshot::{read_records_file, FileKind};

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
}

pub fn run(ctx: &Ctx, a: InfoArgs) -> CliResult<()> {
    let dir = ctx.store_dir(&a.dir)?;
    let an = Anatomy::read(&dir)?;
    let meta = match &an.meta {
        Ok(Some(m)) => m.clone(),
        Ok(None) => crate::cli_bail!(
            "{}: no {} (run `vecstore verify`)",
            dir.display(),
            crate::store::meta::META_FILE
        ),
        Err(e) => crate::cli_bail!("{} (run `vecstore verify`)", e.message),
    };
    if let Err(e) = &an.manifest {
        crate::cli_bail!("{} (run `vecstore verify`)", e.message);
    }
    if let Err(e) = &an.log {
        crate::cli_bail!("{} (run `vecstore verify`)", e.message);
    }
    let records = match an.manifest() {
        Some(m) => Some(
            read_records_file(&m.file_path(&dir, FileKind::Records))
                .map_err(|e| format!("{} (run `vecstore verify`)", e.message))?
                .0,
        ),
        None => None,
    };
    let model = an.model(records);
    let c = model.counts(now());
    let log = an.log();
    let pairing = an.log_pairing();
    let (frames, ops) = match (log, pairing) {
        (Some(l), Some(LogPairing::Follows)) => (l.frames.len() as u64, l.op_count()),
        _ => (0, 0),
    };
    let log_bytes = log.map_or(0, |l| l.file_bytes);
    let open_elsewhere = matches!(
        crate::storage::lock::DirLock::acquire(&dir),
        Err(e) if e.code == crate::Code::Locked
    );
    let manifest = an.manifest();

    if ctx.json {
        print_json(&json!({
            "path": dir.display().to_string(),
            "dimension": meta.dimension,
            "metric": meta.metric.name(),
            "hnsw": {"m": meta.hnsw_m, "ef_construction": meta.ef_construction, "ef_search": meta.ef_search},
            "compaction": {"enabled": meta.compaction.enabled, "min_deleted_records": meta.compaction.min_deleted_records,
                           "min_deleted_ratio": meta.compaction.min_deleted_ratio},
            "counts": {"live": c.live, "soft_deleted": c.soft_deleted, "expired": c.expired, "tombstones": c.tombstones,
                       "slots": model.slots.len()},
            "snapshot": manifest.map(|m| json!({"generation": m.generation, "slots": m.slots, "log_generation": m.log_generation})),
            "log": {"bytes": log_bytes, "generation": log.map(|l| l.generation), "frames_since_snapshot": frames,
                    "ops_since_snapshot": ops, "torn_tail_bytes": log.and_then(|l| l.torn_tail.as_ref()).map_or(0, |t| t.bytes),
                    "damaged_stretches": log.map_or(0, |l| l.damage.len()),
                    "pairing": pairing.map(|p| format!("{p:?}").to_lowercase())},
            "files": an.files.iter().map(|f| json!({"name": f.name, "role": f.role, "bytes": f.bytes, "format_version": f.format_version})).collect::<Vec<_>>(),
            "disk_bytes": an.disk_bytes(),
            "open_elsewhere": open_elsewhere,
        }));
        return Ok(());
    }
    let mut pairs = vec![
        ("store", dir.display().to_string()),
        (
            "dimension",
            if meta.dimension == 0 {
                "not set yet (taken from the first vector)".into()
            } else {
                meta.dimension.to_string()
            },
        ),
        ("metric", meta.metric.name().to_string()),
        (
            "hnsw",
            format!(
                "m={} ef_construction={} ef_search={}",
                meta.hnsw_m, meta.ef_construction, meta.ef_search
            ),
        ),
        (
            "records",
            format!(
                "{} live, {} soft-deleted, {} expired, {} tombstones ({} slots)",
                c.live,
                c.soft_deleted,
                c.expired,
                c.tombstones,
                model.slots.len()
            ),
        ),
        (
            "snapshot",
            match manifest {
                Some(m) => format!("generation {} ({} slots)", m.generation, m.slots),
                None => "none yet (everything is in the log)".into(),
            },
        ),
        (
            "log",
            match pairing {
                Some(LogPairing::Follows) => {
                    format!("{}, {frames} frames ({ops} ops) since the snapshot", table::bytes(log_bytes))
                }
                Some(LogPairing::Stale) => format!(
                    "{}, older than the snapshot: discarded at the next open",
                    table::bytes(log_bytes)
                ),
                Some(LogPairing::Orphaned) => {
                    format!("{}, NEWER than the snapshot: run `vecstore verify`", table::bytes(log_bytes))
                }
                None => "none".into(),
            },
        ),
        (
            "compaction",
            if meta.compaction.enabled {
                format!(
                    "auto when >= {} or >= {:.0}% reclaimable",
                    meta.compaction.min_deleted_records,
                    meta.compaction.min_deleted_ratio * 100.0
                )
            } else {
                "manual (auto compaction disabled)".into()
            },
        ),
        ("on disk", table::bytes(an.disk_bytes())),
    ];
    if let Some(l) = log {
        if let Some(t) = &l.torn_tail {
            pairs.push((
                "warning",
                format!(
                    "log has a torn tail of {} bytes at offset {} (a crash mid-write; dropped at open)",
                    t.bytes, t.offset
                ),
            ));
        }
        if !l.damage.is_empty() {
            pairs.push((
                "warning",
                format!("log has {} damaged stretches: run `vecstore verify`", l.damage.len()),
            ));
        }
    }
    if open_elsewhere {
        pairs.push((
            "note",
            "the store is open in another process: these are the files as they are now".into(),
        ));
    }
    table::print_pairs(&pairs);
    println!();
    let rows: Vec<Vec<String>> = an
        .files
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.role.to_string(),
                f.bytes.to_string(),
                f.format_version.map_or("-".into(), |v| v.to_string()),
            ]
        })
        .collect();
    table::print(&["file", "kind", "bytes", "format"], &rows, &[2, 3]);
    Ok(())
}
