//! The `vecstore` command-line tool: inspect, load, query, verify and repair a store from a shell.
//!
//! One file per group of subcommands: [`info`], [`load`] (import, export), [`read`] (get, query),
//! [`write`] (deletes, TTL, expiry, compaction), [`verify`] (verify, recover), [`ns`] (namespaces and
//! backups), [`bench`]. [`anatomy`] reads a store's files without opening it (for info, verify and
//! recover); [`table`] prints the human tables. Every command calls the Rust core directly.
//!
//! Exit codes: 0 success, 1 an error (its message on stderr names the file or the id), 2 a usage
//! error (clap's own, with the usage line).

pub mod anatomy;
pub mod bench;
pub mod info;
pub mod load;
pub mod ns;
pub mod read;
pub mod recover;
pub mod table;
pub mod verify;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{CommandFactory, Parser, Subcommand};

use crate::namespace::{Namespace, NamespaceManager, RequestKind};
use crate::store::options::{Metric, StoreOptions};
use crate::store::Store;

/// A failure of a command: printed on stderr as `vecstore: <message>`, exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        CliError(e.message)
    }
}

impl From<String> for CliError {
    fn from(s: String) -> Self {
        CliError(s)
    }
}

impl From<&str> for CliError {
    fn from(s: &str) -> Self {
        CliError(s.to_string())
    }
}

pub type CliResult<T> = std::result::Result<T, CliError>;

/// `Err(CliError(format!(...)))`.
#[macro_export]
#[doc(hidden)]
macro_rules! cli_bail {
    ($($t:tt)*) => { return Err($crate::cli::CliError(format!($($t)*))) };
}

#[derive(Debug, Parser)]
#[command(
    name = "vecstore",
    version,
    about = "Inspect, load, query, verify and repair vecstore stores",
    long_about = "Inspect, load, query, verify and repair vecstore stores.\n\n\
        DIR is a store directory, or a namespace root with --namespace ID. \
        Exit codes: 0 success, 1 error (message on stderr), 2 usage error."
)]
pub struct Cli {
    /// Print JSON instead of tables (every command that prints something)
    #[arg(long, global = true)]
    pub json: bool,
    /// DIR is a namespace root: work on the store of namespace ID inside it (quotas and status apply)
    #[arg(long, global = true, value_name = "ID")]
    pub namespace: Option<String>,
    /// No progress bars
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dimension, metric, HNSW parameters, counts, snapshot, log and files of a store
    Info(info::InfoArgs),
    /// Load records from JSON Lines, .npy or .fvecs (creates the store if needed)
    Import(load::ImportArgs),
    /// Write every live record to JSON Lines (or .npy plus an ids file)
    Export(load::ExportArgs),
    /// Print one record
    Get(read::GetArgs),
    /// Search by vector or by the vector of a stored id
    Query(read::QueryArgs),
    /// Delete records for good
    Delete(write::IdsArgs),
    /// Hide records until they are restored (compaction removes them)
    SoftDelete(write::IdsArgs),
    /// Undo soft deletes: `restore DIR ID...`; on a namespace root: `restore ROOT NAMESPACE BACKUP`
    /// replaces the namespace's data with that backup
    Restore(write::RestoreArgs),
    /// Make a record expire SECS seconds from now (0 removes its expiry)
    SetTtl(write::SetTtlArgs),
    /// Delete every expired record now
    Expire(write::DirArgs),
    /// Remove soft-deleted and expired records and tombstones, repair the graph
    Compact(write::CompactArgs),
    /// Read every file, check every checksum and the graph; exit 1 when damaged
    Verify(verify::VerifyArgs),
    /// Salvage what a damaged store still holds into a new directory (never in place)
    Recover(verify::RecoverArgs),
    /// Namespaces of a namespace root
    #[command(subcommand)]
    Ns(ns::NsCommand),
    /// Take a consistent backup of a namespace
    Backup(ns::BackupArgs),
    /// List a namespace's backups
    Backups(ns::NsIdArgs),
    /// Delete one backup of a namespace
    DeleteBackup(ns::BackupArgs),
    /// Recall and QPS of the store on your own queries, for a range of ef_search
    Bench(bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What every command gets besides its own arguments.
pub struct Ctx {
    pub json: bool,
    pub namespace: Option<String>,
    pub quiet: bool,
}

impl Ctx {
    /// A progress bar on stderr (hidden with --quiet, --json, or when stderr is not a terminal).
    pub fn progress(&self, len: u64, template: &str) -> indicatif::ProgressBar {
        if self.quiet || self.json {
            return indicatif::ProgressBar::hidden();
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("progress template parses")
                .progress_chars("=> "),
        );
        bar
    }

    /// The store directory a command names: DIR itself, or DIR/ns/ID with --namespace.
    pub fn store_dir(&self, dir: &Path) -> CliResult<PathBuf> {
        match &self.namespace {
            None => Ok(dir.to_path_buf()),
            Some(id) => {
                crate::namespace::names::check_name(id, "namespace id")?;
                if !dir.join(crate::namespace::registry::REGISTRY_FILE).exists() {
                    cli_bail!(
                        "{} is not a namespace root (no {})",
                        dir.display(),
                        crate::namespace::registry::REGISTRY_FILE
                    );
                }
                Ok(dir.join("ns").join(id))
            }
        }
    }
}

/// Runs the tool on the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse(); // exits with 2 (and the usage) on a usage error
    run(cli)
}

/// Runs one parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let ctx = Ctx { json: cli.json, namespace: cli.namespace, quiet: cli.quiet };
    let result = match cli.command {
        Command::Info(a) => info::run(&ctx, a),
        Command::Import(a) => load::import(&ctx, a),
        Command::Export(a) => load::export(&ctx, a),
        Command::Get(a) => read::get(&ctx, a),
        Command::Query(a) => read::query(&ctx, a),
        Command::Delete(a) => write::ids(&ctx, a, write::IdsOp::Delete),
        Command::SoftDelete(a) => write::ids(&ctx, a, write::IdsOp::SoftDelete),
        Command::Restore(a) => write::restore(&ctx, a),
        Command::SetTtl(a) => write::set_ttl(&ctx, a),
        Command::Expire(a) => write::expire(&ctx, a),
        Command::Compact(a) => write::compact(&ctx, a),
        Command::Verify(a) => verify::verify(&ctx, a),
        Command::Recover(a) => verify::recover(&ctx, a),
        Command::Ns(c) => ns::run(&ctx, c),
        Command::Backup(a) => ns::backup(&ctx, a),
        Command::Backups(a) => ns::backups(&ctx, a),
        Command::DeleteBackup(a) => ns::delete_backup(&ctx, a),
        Command::Bench(a) => bench::run(&ctx, a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vecstore", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => 0,
        Err(CliError(message)) => {
            eprintln!("vecstore: {message}");
            1
        }
    }
}

/// Prints a JSON value on stdout (pretty, one document).
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON serialises"));
}

/// The `--metric` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MetricArg {
    Cosine,
    Euclidean,
    Dot,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Metric {
        match m {
            MetricArg::Cosine => Metric::Cosine,
            MetricArg::Euclidean => Metric::Euclidean,
            MetricArg::Dot => Metric::Dot,
        }
    }
}

/// A store or a namespace's store, opened for a data command.
pub enum Target {
    Store(Store),
    Namespace { manager: NamespaceManager, ns: Arc<Namespace> },
}

impl Target {
    /// Opens an existing store (`DIR`, or namespace `--namespace` of root `DIR`). Never creates one:
    /// a directory without a store is an error.
    pub fn open(ctx: &Ctx, dir: &Path) -> CliResult<Target> {
        Self::open_with(ctx, dir, &StoreOptions::default(), false)
    }

    /// Opens a store with `options`; with `create`, a missing store (not a missing namespace) is
    /// created with them.
    pub fn open_with(ctx: &Ctx, dir: &Path, options: &StoreOptions, create: bool) -> CliResult<Target> {
        match &ctx.namespace {
            None => {
                if !create && !dir.join(crate::store::meta::META_FILE).exists() {
                    cli_bail!(
                        "{} is not a vecstore store (no {}); `vecstore import` creates one",
                        dir.display(),
                        crate::store::meta::META_FILE
                    );
                }
                Ok(Target::Store(Store::open(dir, options)?))
            }
            Some(id) => {
                ctx.store_dir(dir)?; // checks the id and that DIR is a root
                let manager = NamespaceManager::open(dir, options)?;
                let ns = manager.namespace(id)?;
                Ok(Target::Namespace { manager, ns })
            }
        }
    }

    /// Runs `f` on the store (through the namespace's checks for a namespace).
    pub fn call<T>(&self, kind: RequestKind, f: impl FnOnce(&Store) -> crate::Result<T>) -> CliResult<T> {
        Ok(match self {
            Target::Store(s) => f(s)?,
            Target::Namespace { ns, .. } => ns.call(kind, f)?,
        })
    }

    /// Closes after writes: the store checkpoints as needed and releases its lock; errors are reported.
    pub fn close(self) -> CliResult<()> {
        match self {
            Target::Store(s) => s.close()?,
            Target::Namespace { ns, manager } => {
                drop(ns);
                manager.close()?;
            }
        }
        Ok(())
    }

    /// Ends a read-only command without the closing checkpoint (a read must not rewrite the store):
    /// nothing was written, so nothing needs flushing, and the kernel releases the directory lock
    /// when the process exits, which it does right after.
    pub fn finish_read(self) {
        std::mem::forget(self);
    }
}

/// Parses a JSON array of numbers (`--vector '[0.1, 0.2]'`).
pub fn parse_vector(text: &str) -> CliResult<Vec<f32>> {
    serde_json::from_str::<Vec<f32>>(text)
        .map_err(|e| CliError(format!("--vector must be a JSON array of numbers like [0.1, 0.2]: {e}")))
}
