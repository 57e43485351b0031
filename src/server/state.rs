//! What every handler shares: the core (one store, or the namespace manager), the keys, the
//! maintenance threads, the metrics and the readiness flag.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::auth::KeyStore;
use super::error::ApiError;
use super::metrics::Metrics;
use crate::namespace::{NamespaceManager, RequestKind};
use crate::store::maintenance::{run_once, Maintenance};
use crate::store::options::StoreOptions;
use crate::store::Store;

pub enum Backend {
    /// Single-store mode.
    Single(Arc<Store>),
    /// Namespace mode.
    Namespaces { mgr: Arc<NamespaceManager>, keys: KeyStore },
}

pub struct AppState {
    pub backend: Backend,
    pub admin_token: Option<String>,
    /// Options of stores created by the server (`--dimension`, `--metric`, `--durability`).
    pub defaults: StoreOptions,
    pub max_body_bytes: usize,
    pub maintenance_interval: Option<Duration>,
    /// Maintenance threads, by namespace id ("" in single-store mode).
    pub maintenance: Mutex<HashMap<String, Maintenance>>,
    pub metrics: Metrics,
    pub ready: AtomicBool,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn manager(&self) -> Result<&Arc<NamespaceManager>, ApiError> {
        match &self.backend {
            Backend::Namespaces { mgr, .. } => Ok(mgr),
            Backend::Single(_) => Err(ApiError::not_found(
                "this server runs in single-store mode: start it with --namespaces for namespaces and /admin",
            )),
        }
    }

    pub fn keys(&self) -> Option<&KeyStore> {
        match &self.backend {
            Backend::Namespaces { keys, .. } => Some(keys),
            Backend::Single(_) => None,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Starts the maintenance thread of a namespace (namespace mode) when `--maintenance-interval`
    /// is set. Its runs go through the namespace like every call (a suspended namespace's runs fail).
    pub fn start_maintenance(&self, id: &str) {
        let (Some(interval), Backend::Namespaces { mgr, .. }) = (self.maintenance_interval, &self.backend)
        else {
            return;
        };
        let Ok(ns) = mgr.namespace(id) else { return };
        let weak = Arc::downgrade(&ns);
        match Maintenance::start_with(interval, move || {
            weak.upgrade().map(|ns| ns.call(RequestKind::Maintenance, run_once))
        }) {
            Ok(m) => {
                self.maintenance.lock().insert(id.to_string(), m);
            }
            Err(e) => tracing::error!(namespace = id, error = %e, "cannot start maintenance"),
        }
    }

    /// Starts maintenance for every store the server serves.
    pub fn start_all_maintenance(&self) {
        let Some(interval) = self.maintenance_interval else { return };
        match &self.backend {
            Backend::Single(store) => match Maintenance::start(store, interval) {
                Ok(m) => {
                    self.maintenance.lock().insert(String::new(), m);
                }
                Err(e) => tracing::error!(error = %e, "cannot start maintenance"),
            },
            Backend::Namespaces { mgr, .. } => {
                for r in mgr.list() {
                    self.start_maintenance(&r.id);
                }
            }
        }
    }

    pub fn stop_maintenance(&self, id: &str) {
        let m = self.maintenance.lock().remove(id);
        drop(m); // joins the thread
    }

    pub fn stop_all_maintenance(&self) {
        let all: Vec<Maintenance> = self.maintenance.lock().drain().map(|(_, m)| m).collect();
        drop(all);
    }
}
