//! The command line of `vecstore-server` (clap, derive). Every flag can also come from the
//! environment variable named in its help (`VECSTORE_ADMIN_TOKEN`, ...).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::store::options::{Durability, Metric, StoreOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricArg {
    Cosine,
    Euclidean,
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// A 2xx write is in the OS's hands: it survives a crash (SIGKILL) of the server.
    Process,
    /// A 2xx write is fsynced: it survives a power loss.
    Sync,
}

/// The HTTP API of vecstore over one store (default) or a root of namespaces (`--namespaces`).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "vecstore-server", version, about)]
pub struct Config {
    /// Single-store mode: the store's directory.
    #[arg(long, env = "VECSTORE_DB_PATH", default_value = "./vecstore-data")]
    pub db_path: PathBuf,
    /// Namespace mode: serve the namespaces under --namespace-root, with the /admin API.
    #[arg(long, env = "VECSTORE_NAMESPACES")]
    pub namespaces: bool,
    /// Namespace mode: the root directory of the namespaces.
    #[arg(long, env = "VECSTORE_NAMESPACE_ROOT", default_value = "./namespaces")]
    pub namespace_root: PathBuf,
    /// Address to listen on (an IP address or a host name).
    #[arg(long, env = "VECSTORE_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, env = "VECSTORE_HTTP_PORT", default_value_t = 8080)]
    pub http_port: u16,
    /// The admin token. Without it the server serves loopback only, with no authentication.
    #[arg(long, env = "VECSTORE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Allow a non-loopback --bind without an admin token (anybody who reaches it may do anything).
    #[arg(long, env = "VECSTORE_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "VECSTORE_MAX_BODY_BYTES", default_value_t = 64 << 20)]
    pub max_body_bytes: usize,
    /// Run TTL expiry and maybe_compact on every open store every SECS seconds (off without it).
    #[arg(long, env = "VECSTORE_MAINTENANCE_INTERVAL", value_name = "SECS")]
    pub maintenance_interval: Option<f64>,
    /// Log format on stderr (level from RUST_LOG, default info).
    #[arg(long, env = "VECSTORE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Dimension of new stores (0: taken from the first vector written).
    #[arg(long, env = "VECSTORE_DIMENSION", default_value_t = 0)]
    pub dimension: usize,
    /// Metric of new stores.
    #[arg(long, env = "VECSTORE_METRIC", value_enum, default_value = "cosine")]
    pub metric: MetricArg,
    /// Threads that insert a request's records into the graph (0: one per core, 1: only the
    /// request's own thread). A batch of 1,000 384-d records is bound by graph insertion, so this
    /// is what makes batches faster than single requests on a machine with cores to spare.
    #[arg(long, env = "VECSTORE_BUILD_THREADS", default_value_t = 0)]
    pub build_threads: usize,
    /// When a write is acknowledged.
    #[arg(long, env = "VECSTORE_DURABILITY", value_enum, default_value = "process")]
    pub durability: DurabilityArg,
    /// Longest time a request may take, in seconds, before it is answered 408.
    #[arg(long, env = "VECSTORE_REQUEST_TIMEOUT", default_value_t = 300)]
    pub request_timeout: u64,
    /// On SIGTERM/SIGINT, how long requests in flight may take to finish, in seconds.
    #[arg(long, env = "VECSTORE_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// On SIGTERM/SIGINT, answer /ready with 503 for this many seconds before refusing new
    /// connections (so a load balancer stops sending traffic first).
    #[arg(long, env = "VECSTORE_SHUTDOWN_DELAY", default_value_t = 0.0)]
    pub shutdown_delay: f64,
}

impl MetricArg {
    pub fn metric(self) -> Metric {
        match self {
            MetricArg::Cosine => Metric::Cosine,
            MetricArg::Euclidean => Metric::Euclidean,
            MetricArg::Dot => Metric::Dot,
        }
    }
}

impl Config {
    /// Options of stores the server creates.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            dimension: self.dimension,
            metric: Some(self.metric.metric()),
            build_threads: self.build_threads,
            durability: match self.durability {
                DurabilityArg::Process => Durability::Process,
                DurabilityArg::Sync => Durability::Sync,
            },
            ..StoreOptions::default()
        }
    }

    /// The addresses `--bind` and `--http-port` name.
    pub fn addrs(&self) -> Result<Vec<SocketAddr>, String> {
        let host = self.bind.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, self.http_port)
            .to_socket_addrs()
            .map_err(|e| format!("--bind {}: {e}", self.bind))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("--bind {}: names no address", self.bind));
        }
        Ok(addrs)
    }

    /// Refuses what must not start: a non-loopback address without a token (unless
    /// --insecure-no-auth), an empty token, a bad interval.
    pub fn check(&self, addrs: &[SocketAddr]) -> Result<(), String> {
        if self.admin_token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err("--admin-token is empty".into());
        }
        if self.admin_token.is_none() && !self.insecure_no_auth && addrs.iter().any(|a| !a.ip().is_loopback())
        {
            return Err(format!(
                "refusing to serve {} without authentication: give --admin-token (or VECSTORE_ADMIN_TOKEN), \
                 bind a loopback address, or pass --insecure-no-auth",
                self.bind
            ));
        }
        if let Some(s) = self.maintenance_interval {
            if !s.is_finite() || s < 0.001 {
                return Err(format!("--maintenance-interval must be at least 0.001 seconds, got {s}"));
            }
        }
        if self.max_body_bytes == 0 {
            return Err("--max-body-bytes must be at least 1".into());
        }
        Ok(())
    }
}
