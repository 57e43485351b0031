//! `vecstore ns list|create|show|stats|quotas|suspend|resume|delete ROOT ...` and
//! `vecstore backup|backups|restore|delete-backup ROOT ID NAME`: the namespace manager from a shell.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{print_json, table, CliResult, Ctx, MetricArg};
use crate::namespace::{NamespaceManager, NamespaceRecord, Quotas, Status};
use crate::store::options::StoreOptions;

#[derive(Debug, clap::Args)]
pub struct RootArgs {
    /// Namespace root directory
    pub root: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct NsIdArgs {
    /// Namespace root directory
    pub root: PathBuf,
    /// Namespace id
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Namespace root directory
    pub root: PathBuf,
    /// Namespace id
    pub id: String,
    /// Backup name
    pub name: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct QuotaArgs {
    /// Most live records (0 = unlimited)
    #[arg(long)]
    pub max_vectors: Option<u64>,
    /// Most bytes on disk (0 = unlimited)
    #[arg(long)]
    pub max_storage_bytes: Option<u64>,
    /// Most data calls per second (0 = unlimited)
    #[arg(long)]
    pub max_requests_per_second: Option<f64>,
}

impl QuotaArgs {
    fn any(&self) -> bool {
        self.max_vectors.is_some()
            || self.max_storage_bytes.is_some()
            || self.max_requests_per_second.is_some()
    }
    fn apply(&self, q: Quotas) -> Quotas {
        Quotas {
            max_vectors: self.max_vectors.unwrap_or(q.max_vectors),
            max_storage_bytes: self.max_storage_bytes.unwrap_or(q.max_storage_bytes),
            max_requests_per_second: self.max_requests_per_second.unwrap_or(q.max_requests_per_second),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum NsCommand {
    /// List the namespaces of ROOT
    List(RootArgs),
    /// Create a namespace (and ROOT if needed)
    Create {
        #[command(flatten)]
        ns: NsIdArgs,
        /// Display name (default: the id)
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        quotas: QuotaArgs,
        /// Dimension of the namespace's store (default: from its first vector)
        #[arg(long, default_value_t = 0)]
        dimension: usize,
        #[arg(long, value_enum)]
        metric: Option<MetricArg>,
        #[arg(long, default_value_t = 16)]
        m: usize,
        #[arg(long, default_value_t = 200)]
        ef_construction: usize,
    },
    /// Show one namespace's settings
    Show(NsIdArgs),
    /// Usage of one namespace: records, bytes on disk
    Stats(NsIdArgs),
    /// Show a namespace's quotas, or change the ones given
    Quotas {
        #[command(flatten)]
        ns: NsIdArgs,
        #[command(flatten)]
        quotas: QuotaArgs,
    },
    /// Refuse data calls to a namespace until it is resumed
    Suspend(NsIdArgs),
    /// Serve a suspended namespace again
    Resume(NsIdArgs),
    /// Delete a namespace, its data and its backups
    Delete(NsIdArgs),
}

/// Opens the manager of an existing root (`ns create` may create one).
fn open(root: &Path, create: bool, options: &StoreOptions) -> CliResult<NamespaceManager> {
    if !create && !root.join(crate::namespace::registry::REGISTRY_FILE).exists() {
        crate::cli_bail!(
            "{} is not a namespace root (no {}); `vecstore ns create ROOT ID` makes one",
            root.display(),
            crate::namespace::registry::REGISTRY_FILE
        );
    }
    Ok(NamespaceManager::open(root, options)?)
}

fn record_json(r: &NamespaceRecord) -> serde_json::Value {
    serde_json::to_value(r).expect("namespace record serialises")
}

fn quota_text(v: u64) -> String {
    if v == 0 {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

fn print_record(r: &NamespaceRecord) {
    table::print_pairs(&[
        ("id", r.id.clone()),
        ("name", r.name.clone()),
        ("status", r.status.name().to_string()),
        ("created_at", r.created_at.to_string()),
        ("max_vectors", quota_text(r.quotas.max_vectors)),
        ("max_storage_bytes", quota_text(r.quotas.max_storage_bytes)),
        (
            "max_requests_per_second",
            if r.quotas.max_requests_per_second == 0.0 {
                "unlimited".into()
            } else {
                r.quotas.max_requests_per_second.to_string()
            },
        ),
    ]);
}

pub fn run(ctx: &Ctx, c: NsCommand) -> CliResult<()> {
    let defaults = StoreOptions::default();
    match c {
        NsCommand::List(a) => {
            let m = open(&a.root, false, &defaults)?;
            let list = m.list();
            if ctx.json {
                print_json(&json!({"namespaces": list.iter().map(record_json).collect::<Vec<_>>()}));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.name.clone(),
                            r.status.name().into(),
                            quota_text(r.quotas.max_vectors),
                        ]
                    })
                    .collect();
                table::print(&["id", "name", "status", "max_vectors"], &rows, &[]);
            }
            m.close()?;
        }
        NsCommand::Create { ns, name, quotas, dimension, metric, m, ef_construction } => {
            let options = StoreOptions {
                dimension,
                metric: metric.map(Into::into),
                hnsw_m: m,
                ef_construction,
                ..StoreOptions::default()
            };
            let mgr = open(&ns.root, true, &options)?;
            let q = quotas.apply(Quotas::default());
            mgr.create(&ns.id, name.as_deref().unwrap_or(&ns.id), &q)?;
            let r = mgr.get(&ns.id)?;
            mgr.close()?;
            if ctx.json {
                print_json(&record_json(&r));
            } else {
                println!("created namespace {} in {}", r.id, ns.root.display());
            }
        }
        NsCommand::Show(a) => {
            let m = open(&a.root, false, &defaults)?;
            let r = m.get(&a.id)?;
            m.close()?;
            if ctx.json {
                print_json(&record_json(&r));
            } else {
                print_record(&r);
            }
        }
        NsCommand::Stats(a) => {
            let m = open(&a.root, false, &defaults)?;
            let s = m.stats(&a.id)?;
            m.close()?;
            if ctx.json {
                print_json(
                    &json!({"id": s.id, "vector_count": s.vector_count, "deleted_count": s.deleted_count,
                    "expired_count": s.expired_count, "storage_bytes": s.storage_bytes, "created_at": s.created_at}),
                );
            } else {
                table::print_pairs(&[
                    ("id", s.id.clone()),
                    ("vectors", s.vector_count.to_string()),
                    (
                        "deleted",
                        format!("{} (soft-deleted and tombstones, until compaction)", s.deleted_count),
                    ),
                    ("expired", s.expired_count.to_string()),
                    ("storage", format!("{} ({} bytes)", table::bytes(s.storage_bytes), s.storage_bytes)),
                ]);
            }
        }
        NsCommand::Quotas { ns, quotas } => {
            let m = open(&ns.root, false, &defaults)?;
            if quotas.any() {
                let current = m.get(&ns.id)?.quotas;
                m.update_quotas(&ns.id, &quotas.apply(current))?;
            }
            let r = m.get(&ns.id)?;
            m.close()?;
            if ctx.json {
                print_json(&serde_json::to_value(r.quotas).expect("quotas serialise"));
            } else {
                print_record(&r);
            }
        }
        NsCommand::Suspend(a) => set_status(ctx, &a, Status::Suspended)?,
        NsCommand::Resume(a) => set_status(ctx, &a, Status::Active)?,
        NsCommand::Delete(a) => {
            let m = open(&a.root, false, &defaults)?;
            m.delete(&a.id)?;
            m.close()?;
            if ctx.json {
                print_json(&json!({"deleted": a.id}));
            } else {
                println!("deleted namespace {} (its data and its backups)", a.id);
            }
        }
    }
    Ok(())
}

fn set_status(ctx: &Ctx, a: &NsIdArgs, status: Status) -> CliResult<()> {
    let m = open(&a.root, false, &StoreOptions::default())?;
    m.set_status(&a.id, status)?;
    m.close()?;
    if ctx.json {
        print_json(&json!({"id": a.id, "status": status.name()}));
    } else {
        println!("namespace {} is {}", a.id, status.name());
    }
    Ok(())
}

pub fn backup(ctx: &Ctx, a: BackupArgs) -> CliResult<()> {
    let m = open(&a.root, false, &StoreOptions::default())?;
    let b = m.backup(&a.id, &a.name)?;
    m.close()?;
    if ctx.json {
        print_json(&serde_json::to_value(&b).expect("backup entry serialises"));
    } else {
        println!("backed up namespace {} as {} ({} records)", a.id, b.name, b.vector_count);
    }
    Ok(())
}

pub fn backups(ctx: &Ctx, a: NsIdArgs) -> CliResult<()> {
    let m = open(&a.root, false, &StoreOptions::default())?;
    let list = m.list_backups(&a.id)?;
    m.close()?;
    if ctx.json {
        print_json(&json!({"backups": list}));
    } else {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|b| vec![b.name.clone(), b.created_at.to_string(), b.vector_count.to_string()])
            .collect();
        table::print(&["name", "created_at", "vectors"], &rows, &[1, 2]);
    }
    Ok(())
}

pub fn restore_backup(ctx: &Ctx, root: &Path, id: &str, name: &str) -> CliResult<()> {
    let m = open(root, false, &StoreOptions::default())?;
    m.restore(id, name)?;
    let count = m.stats(id)?.vector_count;
    m.close()?;
    if ctx.json {
        print_json(&json!({"namespace": id, "backup": name, "vector_count": count}));
    } else {
        println!("restored namespace {id} from backup {name} ({count} records)");
    }
    Ok(())
}

pub fn delete_backup(ctx: &Ctx, a: BackupArgs) -> CliResult<()> {
    let m = open(&a.root, false, &StoreOptions::default())?;
    m.delete_backup(&a.id, &a.name)?;
    m.close()?;
    if ctx.json {
        print_json(&json!({"namespace": a.id, "deleted_backup": a.name}));
    } else {
        println!("deleted backup {} of namespace {}", a.name, a.id);
    }
    Ok(())
}
