//! `vecstore-server`: the HTTP API of the guide over the Rust core (feature `server`).
//!
//! - [`config`]: the command line; [`state`]: what handlers share; [`auth`]: admin token and API keys;
//! - [`error`]: the JSON error shape and the status table; [`extract`]: bodies and callers;
//! - [`admin`], [`data`], [`health`]: the routes; [`metrics`]: Prometheus.
//!
//! Every core call runs on tokio's blocking pool, so a compaction or an fsync in one namespace never
//! holds an async worker that another namespace's requests need.

pub mod admin;
pub mod auth;
pub mod config;
pub mod data;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use config::{Config, LogFormat};
use error::{to_json_error, ApiError};
use state::{AppState, Backend, Shared};

/// Request ids: `<process start in hex>-<counter>`, unique per server run without a UUID crate.
#[derive(Clone)]
struct NextId {
    prefix: Arc<str>,
    counter: Arc<AtomicU64>,
}

impl MakeRequestId for NextId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

/// Counts and times every request by matched route, and turns every error that is not JSON yet
/// into the JSON error shape.
async fn observe(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let resp = to_json_error(resp, state.max_body_bytes);
    state.metrics.observe(&route, &method, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// The whole application: routes and middleware.
pub fn app(state: Shared, request_timeout: Duration) -> Router {
    let ids =
        NextId { prefix: format!("{:x}", std::process::id()).into(), counter: Arc::new(AtomicU64::new(1)) };
    let data = data::routes();
    Router::new()
        .merge(admin::routes())
        .merge(health::routes())
        .nest("/v1/namespaces/{id}", data.clone())
        .nest("/v1", data)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(ids))
        .with_state(state)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Opens the core as the configuration says.
fn open_backend(config: &Config) -> crate::error::Result<Backend> {
    let options = config.store_options();
    if config.namespaces {
        let mgr = crate::namespace::NamespaceManager::open(&config.namespace_root, &options)?;
        let keys = auth::KeyStore::open(&config.namespace_root)?;
        Ok(Backend::Namespaces { mgr: Arc::new(mgr), keys })
    } else {
        let mut options = options;
        if config.db_path.join(crate::store::meta::META_FILE).exists() {
            // An existing store keeps its own dimension and metric (as a namespace does).
            options.dimension = 0;
            options.metric = None;
        }
        Ok(Backend::Single(Arc::new(crate::store::Store::open(&config.db_path, &options)?)))
    }
}

/// Runs the server until SIGTERM/SIGINT; returns the process exit code. Prints
/// `vecstore-server listening on http://ADDR` on stdout once it accepts connections.
pub fn main_with(config: Config) -> i32 {
    init_logging(config.log_format);
    let addrs = match config.addrs().and_then(|a| config.check(&a).map(|_| a)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("vecstore-server: {msg}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vecstore-server: cannot start the runtime: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(serve(config, addrs));
    runtime.shutdown_timeout(Duration::from_secs(5));
    code
}

async fn serve(config: Config, addrs: Vec<std::net::SocketAddr>) -> i32 {
    let backend = match tokio::task::block_in_place(|| open_backend(&config)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("vecstore-server: cannot open the store: {e}");
            return 1;
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addrs[..]).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("vecstore-server: cannot listen on {}:{}: {e}", config.bind, config.http_port);
            return 1;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let state: Shared = Arc::new(AppState {
        backend,
        admin_token: config.admin_token.clone(),
        defaults: config.store_options(),
        max_body_bytes: config.max_body_bytes,
        maintenance_interval: config.maintenance_interval.map(Duration::from_secs_f64),
        maintenance: Default::default(),
        metrics: metrics::Metrics::new(),
        ready: std::sync::atomic::AtomicBool::new(false),
    });
    state.start_all_maintenance();
    if config.admin_token.is_none() {
        tracing::warn!("no admin token: serving {local} (loopback) without authentication");
    }
    let mode = if config.namespaces {
        format!("namespaces under {}", config.namespace_root.display())
    } else {
        format!("the store in {}", config.db_path.display())
    };
    tracing::info!(address = %local, "serving {mode}");
    let app = app(state.clone(), Duration::from_secs(config.request_timeout.max(1)));
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_rx = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(async move { stop_rx.notified().await })
            .await
    });
    state.ready.store(true, Ordering::Release);
    println!("vecstore-server listening on http://{local}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    state.ready.store(false, Ordering::Release);
    if config.shutdown_delay > 0.0 && config.shutdown_delay.is_finite() {
        tokio::time::sleep(Duration::from_secs_f64(config.shutdown_delay.min(3600.0))).await;
    }
    stop.notify_one();
    let grace = Duration::from_secs(config.shutdown_grace);
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "server error"),
        Ok(Err(e)) => tracing::error!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("requests still in flight after {grace:?}: closing anyway"),
    }
    let code = tokio::task::block_in_place(|| close(state, grace));
    tracing::info!("stopped");
    code
}

/// Stops maintenance and closes every store, waiting (bounded) for core calls still running.
fn close(state: Shared, grace: Duration) -> i32 {
    state.stop_all_maintenance();
    let deadline = Instant::now() + grace;
    let mut state = state;
    let owned = loop {
        match Arc::try_unwrap(state) {
            Ok(s) => break Some(s),
            Err(s) if Instant::now() < deadline => {
                state = s;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => break None,
        }
    };
    let Some(owned) = owned else {
        tracing::error!(
            "core calls still running: stores are left to the OS (every acknowledged write is in the log)"
        );
        return 1;
    };
    let result = match owned.backend {
        Backend::Single(store) => match Arc::try_unwrap(store) {
            Ok(s) => s.close(),
            Err(_) => Ok(()),
        },
        Backend::Namespaces { mgr, .. } => match Arc::try_unwrap(mgr) {
            Ok(m) => m.close(),
            Err(_) => Ok(()),
        },
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "closing the stores failed");
            1
        }
    }
}
