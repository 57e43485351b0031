//! Admin routes (namespace mode, admin token): namespaces, quotas, status, stats, backups, API keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Role;
use super::error::ApiError;
use super::extract::{path_param, Admin, ApiJson};
use super::state::Shared;
use crate::namespace::backup::BackupEntry;
use crate::namespace::{NamespaceRecord, Quotas, Status};
use crate::store::options::Metric;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/namespaces", post(create).get(list))
        .route("/admin/namespaces/{id}", get(get_one).delete(delete_one))
        .route("/admin/namespaces/{id}/quotas", put(update_quotas))
        .route("/admin/namespaces/{id}/status", put(set_status))
        .route("/admin/namespaces/{id}/stats", get(stats))
        .route("/admin/namespaces/{id}/backups", post(backup).get(list_backups))
        .route("/admin/namespaces/{id}/backups/{name}", delete(delete_backup))
        .route("/admin/namespaces/{id}/backups/{name}/restore", post(restore))
        .route("/admin/namespaces/{id}/keys", post(create_key).get(list_keys))
        .route("/admin/namespaces/{id}/keys/{key_id}", delete(delete_key))
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Runs an admin call of the core on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("admin task failed: {e}")))?
}

/// The path parameters of an admin route.
pub struct Params(Vec<(String, String)>);

impl axum::extract::FromRequestParts<Shared> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Shared,
    ) -> Result<Self, ApiError> {
        let mut v = Vec::new();
        for name in ["id", "name", "key_id"] {
            if let Some(x) = path_param(parts, state, name).await? {
                v.push((name.to_string(), x));
            }
        }
        Ok(Params(v))
    }
}

impl Params {
    fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QuotasBody {
    /// Live records (0: unlimited).
    pub max_vectors: u64,
    /// Bytes on disk (0: unlimited).
    pub max_storage_bytes: u64,
    /// Data calls per second (0: unlimited).
    pub max_requests_per_second: f64,
}

impl From<QuotasBody> for Quotas {
    fn from(q: QuotasBody) -> Quotas {
        Quotas {
            max_vectors: q.max_vectors,
            max_storage_bytes: q.max_storage_bytes,
            max_requests_per_second: q.max_requests_per_second,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamespaceResponse {
    pub id: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: u64,
    pub quotas: QuotasBody,
}

impl From<NamespaceRecord> for NamespaceResponse {
    fn from(r: NamespaceRecord) -> Self {
        NamespaceResponse {
            id: r.id,
            name: r.name,
            status: r.status.name().to_string(),
            created_at: r.created_at,
            quotas: QuotasBody {
                max_vectors: r.quotas.max_vectors,
                max_storage_bytes: r.quotas.max_storage_bytes,
                max_requests_per_second: r.quotas.max_requests_per_second,
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespace {
    /// 1..=64 ASCII letters, digits, '-', '_', '.', not starting with '.'.
    pub id: String,
    /// Display name (free text, at most 256 bytes).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quotas: Option<QuotasBody>,
    /// Dimension of the namespace's store (default: the server's --dimension).
    #[serde(default)]
    pub dimension: Option<usize>,
    /// `cosine`, `euclidean` or `dot` (default: the server's --metric).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub metric: Option<Metric>,
}

#[utoipa::path(post, path = "/admin/namespaces", request_body = CreateNamespace, tag = "admin",
    responses((status = 201, body = NamespaceResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn create(
    _: Admin,
    State(state): State<Shared>,
    ApiJson(req): ApiJson<CreateNamespace>,
) -> Result<(StatusCode, Json<NamespaceResponse>), ApiError> {
    let st = state.clone();
    let record = blocking(move || {
        let mgr = st.manager()?;
        let mut options = st.defaults.clone();
        if let Some(d) = req.dimension {
            options.dimension = d;
        }
        if let Some(m) = req.metric {
            options.metric = Some(m);
        }
        let quotas: Quotas = req.quotas.unwrap_or_default().into();
        let name = req.name.unwrap_or_else(|| req.id.clone());
        mgr.create_with_options(&req.id, &name, &quotas, &options)?;
        st.start_maintenance(&req.id);
        Ok(mgr.get(&req.id)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamespaceList {
    pub namespaces: Vec<NamespaceResponse>,
}

#[utoipa::path(get, path = "/admin/namespaces", tag = "admin",
    responses((status = 200, body = NamespaceList), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn list(_: Admin, State(state): State<Shared>) -> ApiResult<NamespaceList> {
    let mgr = state.manager()?;
    Ok(Json(NamespaceList { namespaces: mgr.list().into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/admin/namespaces/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = NamespaceResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn get_one(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<NamespaceResponse> {
    Ok(Json(state.manager()?.get(&p.get("id"))?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

#[utoipa::path(delete, path = "/admin/namespaces/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn delete_one(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<Deleted> {
    let id = p.get("id");
    let st = state.clone();
    let id2 = id.clone();
    blocking(move || {
        let mgr = st.manager()?;
        mgr.get(&id2)?;
        st.stop_maintenance(&id2);
        mgr.delete(&id2)?;
        if let Some(keys) = st.keys() {
            keys.delete_namespace(&id2)?;
        }
        Ok(())
    })
    .await?;
    Ok(Json(Deleted { deleted: id }))
}

#[utoipa::path(put, path = "/admin/namespaces/{id}/quotas", tag = "admin", params(("id" = String, Path)),
    request_body = QuotasBody,
    responses((status = 200, body = NamespaceResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn update_quotas(
    _: Admin,
    State(state): State<Shared>,
    p: Params,
    ApiJson(q): ApiJson<QuotasBody>,
) -> ApiResult<NamespaceResponse> {
    let id = p.get("id");
    let st = state.clone();
    let r = blocking(move || {
        let mgr = st.manager()?;
        mgr.update_quotas(&id, &q.into())?;
        Ok(mgr.get(&id)?)
    })
    .await?;
    Ok(Json(r.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `active` or `suspended`.
    #[schema(value_type = String)]
    pub status: Status,
}

#[utoipa::path(put, path = "/admin/namespaces/{id}/status", tag = "admin", params(("id" = String, Path)),
    request_body = StatusBody,
    responses((status = 200, body = NamespaceResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn set_status(
    _: Admin,
    State(state): State<Shared>,
    p: Params,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<NamespaceResponse> {
    let id = p.get("id");
    let st = state.clone();
    let r = blocking(move || {
        let mgr = st.manager()?;
        mgr.set_status(&id, b.status)?;
        Ok(mgr.get(&id)?)
    })
    .await?;
    Ok(Json(r.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCountsBody {
    pub served: u64,
    pub refused: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestsBody {
    pub query: RequestCountsBody,
    pub read: RequestCountsBody,
    pub write: RequestCountsBody,
    pub maintenance: RequestCountsBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamespaceStatsBody {
    pub id: String,
    pub vector_count: u64,
    pub deleted_count: u64,
    pub expired_count: u64,
    pub storage_bytes: u64,
    pub created_at: u64,
    pub last_activity_at: Option<u64>,
    pub requests: RequestsBody,
}

#[utoipa::path(get, path = "/admin/namespaces/{id}/stats", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = NamespaceStatsBody), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn stats(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<NamespaceStatsBody> {
    let id = p.get("id");
    let st = state.clone();
    let s = blocking(move || Ok(st.manager()?.stats(&id)?)).await?;
    let c = |i: usize| RequestCountsBody { served: s.requests[i].1.served, refused: s.requests[i].1.refused };
    Ok(Json(NamespaceStatsBody {
        requests: RequestsBody { query: c(0), read: c(1), write: c(2), maintenance: c(3) },
        id: s.id.clone(),
        vector_count: s.vector_count,
        deleted_count: s.deleted_count,
        expired_count: s.expired_count,
        storage_bytes: s.storage_bytes,
        created_at: s.created_at,
        last_activity_at: s.last_activity_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// 1..=64 ASCII letters, digits, '-', '_', '.', not starting with '.'.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupBody {
    pub name: String,
    pub created_at: u64,
    pub vector_count: u64,
}

impl From<BackupEntry> for BackupBody {
    fn from(b: BackupEntry) -> Self {
        BackupBody { name: b.name, created_at: b.created_at, vector_count: b.vector_count }
    }
}

#[utoipa::path(post, path = "/admin/namespaces/{id}/backups", tag = "admin", params(("id" = String, Path)),
    request_body = BackupRequest,
    responses((status = 201, body = BackupBody), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn backup(
    _: Admin,
    State(state): State<Shared>,
    p: Params,
    ApiJson(b): ApiJson<BackupRequest>,
) -> Result<(StatusCode, Json<BackupBody>), ApiError> {
    let id = p.get("id");
    let st = state.clone();
    let e = blocking(move || Ok(st.manager()?.backup(&id, &b.name)?)).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupList {
    pub backups: Vec<BackupBody>,
}

#[utoipa::path(get, path = "/admin/namespaces/{id}/backups", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = BackupList), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn list_backups(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<BackupList> {
    let id = p.get("id");
    let st = state.clone();
    let l = blocking(move || Ok(st.manager()?.list_backups(&id)?)).await?;
    Ok(Json(BackupList { backups: l.into_iter().map(Into::into).collect() }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Restored {
    pub namespace: String,
    pub restored: String,
}

#[utoipa::path(post, path = "/admin/namespaces/{id}/backups/{name}/restore", tag = "admin",
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Restored), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn restore(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<Restored> {
    let (id, name) = (p.get("id"), p.get("name"));
    let st = state.clone();
    let (i2, n2) = (id.clone(), name.clone());
    blocking(move || Ok(st.manager()?.restore(&i2, &n2)?)).await?;
    Ok(Json(Restored { namespace: id, restored: name }))
}

#[utoipa::path(delete, path = "/admin/namespaces/{id}/backups/{name}", tag = "admin",
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Deleted), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn delete_backup(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<Deleted> {
    let (id, name) = (p.get("id"), p.get("name"));
    let st = state.clone();
    let n2 = name.clone();
    blocking(move || Ok(st.manager()?.delete_backup(&id, &n2)?)).await?;
    Ok(Json(Deleted { deleted: name }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub key_id: String,
    /// The key itself: shown this once, never stored.
    pub key: String,
    pub namespace: String,
    pub role: Role,
    pub created_at: u64,
}

#[utoipa::path(post, path = "/admin/namespaces/{id}/keys", tag = "admin", params(("id" = String, Path)),
    request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn create_key(
    _: Admin,
    State(state): State<Shared>,
    p: Params,
    ApiJson(b): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let id = p.get("id");
    let st = state.clone();
    let (entry, key) = blocking(move || {
        st.manager()?.get(&id)?;
        let keys = st.keys().ok_or_else(|| ApiError::internal("no key store"))?;
        Ok(keys.create(&id, b.role)?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key_id: entry.key_id,
            key,
            namespace: entry.namespace,
            role: entry.role,
            created_at: entry.created_at,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    pub key_id: String,
    pub role: Role,
    pub created_at: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

#[utoipa::path(get, path = "/admin/namespaces/{id}/keys", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = KeyList), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn list_keys(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<KeyList> {
    let id = p.get("id");
    state.manager()?.get(&id)?;
    let keys = state.keys().map(|k| k.list(&id)).unwrap_or_default();
    Ok(Json(KeyList {
        keys: keys
            .into_iter()
            .map(|k| KeyInfo { key_id: k.key_id, role: k.role, created_at: k.created_at })
            .collect(),
    }))
}

#[utoipa::path(delete, path = "/admin/namespaces/{id}/keys/{key_id}", tag = "admin",
    params(("id" = String, Path), ("key_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn delete_key(_: Admin, State(state): State<Shared>, p: Params) -> ApiResult<Deleted> {
    let (id, key_id) = (p.get("id"), p.get("key_id"));
    let st = state.clone();
    let k2 = key_id.clone();
    blocking(move || {
        st.manager()?.get(&id)?;
        let keys = st.keys().ok_or_else(|| ApiError::internal("no key store"))?;
        Ok(keys.delete(&id, &k2)?)
    })
    .await?;
    Ok(Json(Deleted { deleted: key_id }))
}
