//! `vecstore delete|soft-delete|restore DIR ID...`, `set-ttl`, `expire`, `compact`.

use std::path::PathBuf;

use serde_json::json;

use super::{print_json, table, CliResult, Ctx, Target};
use crate::namespace::RequestKind;
use crate::store::write::WriteOp;

#[derive(Debug, clap::Args)]
pub struct DirArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct IdsArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Record ids
    #[arg(required = true)]
    pub ids: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// Store directory (records), or a namespace root without --namespace (backups)
    pub dir: PathBuf,
    /// Record ids; on a namespace root: NAMESPACE BACKUP
    #[arg(required = true, value_name = "ID")]
    pub args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct SetTtlArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Record id
    pub id: String,
    /// Seconds from now (0 = never expires)
    pub secs: u64,
}

#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Compact only when the store's compaction thresholds are met (and auto compaction is enabled)
    #[arg(long)]
    pub if_needed: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum IdsOp {
    Delete,
    SoftDelete,
    Restore,
}

impl IdsOp {
    fn op(self, id: &str) -> WriteOp {
        let id = id.to_string();
        match self {
            IdsOp::Delete => WriteOp::Delete { id },
            IdsOp::SoftDelete => WriteOp::SoftDelete { id },
            IdsOp::Restore => WriteOp::Restore { id },
        }
    }
    fn past(self) -> &'static str {
        match self {
            IdsOp::Delete => "deleted",
            IdsOp::SoftDelete => "soft-deleted",
            IdsOp::Restore => "restored",
        }
    }
}

/// Applies the operation to every id as one batch (one log append); an id that fails is named on
/// stderr and makes the exit code 1, the others still apply.
pub fn ids(ctx: &Ctx, a: IdsArgs, what: IdsOp) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    let ops: Vec<WriteOp> = a.ids.iter().map(|id| what.op(id)).collect();
    let r = target.call(RequestKind::Write, |s| s.batch_execute(&ops))?;
    target.close()?;
    if ctx.json {
        print_json(&json!({"succeeded": r.succeeded, "failed": r.failed,
            "errors": r.errors.iter().map(|e| json!({"id": a.ids[e.index], "error": e.error, "code": e.code})).collect::<Vec<_>>()}));
    } else {
        println!("{} {} of {} records", what.past(), r.succeeded, ops.len());
    }
    for e in &r.errors {
        eprintln!("vecstore: {}: {}", a.ids[e.index], e.error);
    }
    if r.failed > 0 {
        crate::cli_bail!("{} of {} ids failed", r.failed, ops.len());
    }
    Ok(())
}

/// Record restore on a store; backup restore on a namespace root (without --namespace).
pub fn restore(ctx: &Ctx, a: RestoreArgs) -> CliResult<()> {
    let is_root = a.dir.join(crate::namespace::registry::REGISTRY_FILE).exists();
    if ctx.namespace.is_none() && is_root {
        let [id, name] = a.args.as_slice() else {
            crate::cli_bail!(
                "{} is a namespace root: `vecstore restore ROOT NAMESPACE BACKUP` restores a backup; \
                 to restore soft-deleted records of a namespace use `vecstore --namespace ID restore ROOT ID...`",
                a.dir.display()
            );
        };
        return super::ns::restore_backup(ctx, &a.dir, id, name);
    }
    ids(ctx, IdsArgs { dir: a.dir, ids: a.args }, IdsOp::Restore)
}

pub fn set_ttl(ctx: &Ctx, a: SetTtlArgs) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    target.call(RequestKind::Write, |s| s.set_ttl(&a.id, a.secs))?;
    target.close()?;
    if ctx.json {
        print_json(&json!({"id": a.id, "ttl_seconds": a.secs}));
    } else if a.secs == 0 {
        println!("{} no longer expires", a.id);
    } else {
        println!("{} expires in {} s", a.id, a.secs);
    }
    Ok(())
}

pub fn expire(ctx: &Ctx, a: DirArgs) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    let n = target.call(RequestKind::Write, |s| s.expire_ttl_records())?;
    target.close()?;
    if ctx.json {
        print_json(&json!({"expired": n}));
    } else {
        println!("removed {n} expired records");
    }
    Ok(())
}

pub fn compact(ctx: &Ctx, a: CompactArgs) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    if a.if_needed {
        let r = target.call(RequestKind::Maintenance, |s| s.maybe_compact())?;
        target.close()?;
        if ctx.json {
            print_json(&json!({"triggered": r.triggered, "removed_count": r.removed_count,
                "tombstones_removed": r.tombstones_removed, "duration_ms": r.duration_ms, "reason": r.reason}));
        } else if r.triggered {
            println!(
                "compacted: removed {} records and {} tombstones in {:.1} ms ({})",
                r.removed_count, r.tombstones_removed, r.duration_ms, r.reason
            );
        } else {
            println!("not compacted: {}", r.reason);
        }
        return Ok(());
    }
    let r = target.call(RequestKind::Maintenance, |s| s.compact_report())?;
    target.close()?;
    if ctx.json {
        print_json(&json!({"removed": r.removed, "soft_deleted": r.soft_deleted, "expired": r.expired,
            "tombstones": r.tombstones, "slots_before": r.slots_before, "slots_after": r.slots_after,
            "duration_ms": r.duration.as_secs_f64() * 1e3, "exclusive_ms": r.exclusive.as_secs_f64() * 1e3,
            "graph_ms": r.graph.as_secs_f64() * 1e3}));
    } else {
        table::print_pairs(&[
            (
                "removed",
                format!(
                    "{} records ({} soft-deleted, {} expired) and {} tombstones",
                    r.removed, r.soft_deleted, r.expired, r.tombstones
                ),
            ),
            ("slots", format!("{} -> {}", r.slots_before, r.slots_after)),
            (
                "took",
                format!(
                    "{:.1} ms ({:.1} ms with queries blocked, {:.1} ms on the graph)",
                    r.duration.as_secs_f64() * 1e3,
                    r.exclusive.as_secs_f64() * 1e3,
                    r.graph.as_secs_f64() * 1e3
                ),
            ),
        ]);
    }
    Ok(())
}
