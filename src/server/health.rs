//! Health, readiness, Prometheus metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::error::{ApiError, ServerCode};
use super::extract::Admin;
use super::state::{Backend, Shared};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    pub status: &'static str,
    /// `single` or `namespaces`.
    pub mode: &'static str,
    pub version: &'static str,
}

/// The process is up (no auth).
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = HealthBody)))]
pub async fn health(State(state): State<Shared>) -> Json<HealthBody> {
    let mode = match state.backend {
        Backend::Single(_) => "single",
        Backend::Namespaces { .. } => "namespaces",
    };
    Json(HealthBody { status: "ok", mode, version: env!("CARGO_PKG_VERSION") })
}

/// The server serves requests: 503 while it starts or shuts down (no auth).
#[utoipa::path(get, path = "/ready", tag = "health",
    responses((status = 200, body = HealthBody), (status = 503, body = super::error::ErrorBody)))]
pub async fn ready(State(state): State<Shared>) -> Result<Json<HealthBody>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::server(ServerCode::NotReady, "the server is shutting down"));
    }
    let mut body = health(State(state)).await.0;
    body.status = "ready";
    Ok(body.into())
}

/// Prometheus text format (the admin token when one is set).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, content_type = "text/plain", body = String), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn metrics(_: Admin, State(state): State<Shared>) -> Result<Response, ApiError> {
    let st = state.clone();
    let text = tokio::task::spawn_blocking(move || {
        let sizes: Vec<(String, u64, u64)> = match &st.backend {
            Backend::Single(store) => {
                let s = store.stats();
                vec![(String::new(), s.count as u64, s.storage_bytes)]
            }
            Backend::Namespaces { mgr, .. } => mgr
                .list()
                .into_iter()
                .filter_map(|r| mgr.stats(&r.id).ok().map(|s| (r.id, s.vector_count, s.storage_bytes)))
                .collect(),
        };
        st.metrics.render(&sizes)
    })
    .await
    .map_err(|e| ApiError::internal(format!("metrics task failed: {e}")))?;
    let mut resp = text.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(resp)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vecstore-server",
        description = "The HTTP API of vecstore. Data routes are also served under \
        /v1/namespaces/{id}/... in namespace mode; /v1/... serves the caller's key's namespace, or the one named \
        by X-Namespace."
    ),
    paths(
        health,
        ready,
        metrics,
        super::admin::create,
        super::admin::list,
        super::admin::get_one,
        super::admin::delete_one,
        super::admin::update_quotas,
        super::admin::set_status,
        super::admin::stats,
        super::admin::backup,
        super::admin::list_backups,
        super::admin::restore,
        super::admin::delete_backup,
        super::admin::create_key,
        super::admin::list_keys,
        super::admin::delete_key,
        super::data::upsert,
        super::data::upsert_many,
        super::data::batch_execute,
        super::data::query,
        super::data::query_explain,
        super::data::query_estimate,
        super::data::get_vector,
        super::data::delete_vector,
        super::data::soft_delete,
        super::data::restore,
        super::data::update_metadata,
        super::data::set_ttl,
        super::data::expire_ttl,
        super::data::compact,
        super::data::maybe_compact,
        super::data::set_compaction_config,
        super::data::get_compaction_config,
        super::data::stats,
    ),
    components(schemas(super::error::ErrorBody))
)]
pub struct ApiDoc;

/// The OpenAPI 3.1 document of this API, generated from the handlers' types (no auth).
pub async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, ApiDoc::openapi().to_json().unwrap_or_default()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
