//! Data routes: the store operations, served under `/v1/namespaces/{id}/...` and directly under
//! `/v1/...` (the one store in single-store mode; in namespace mode the namespace of the caller's
//! key, or the `X-Namespace` header's).

use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, Ctx, JsonBytes, Read, Vid, Write};
use super::state::Shared;
use crate::namespace::RequestKind;
use crate::store::batch::{parse_batch_json, BatchResult};
use crate::store::compact::CompactionConfig;
use crate::store::estimate::QueryEstimate;
use crate::store::{NewRecord, Query};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The data routes, relative to `/v1` or `/v1/namespaces/{id}`.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/upsert", post(upsert))
        .route("/upsert-many", post(upsert_many))
        .route("/batch-upsert", post(upsert_many))
        .route("/batch-execute", post(batch_execute))
        .route("/query", post(query))
        .route("/query-explain", post(query_explain))
        .route("/query-estimate", post(query_estimate))
        .route("/vectors/{vid}", get(get_vector).delete(delete_vector))
        .route("/soft-delete/{vid}", post(soft_delete))
        .route("/restore/{vid}", post(restore))
        .route("/metadata/{vid}", put(update_metadata))
        .route("/ttl/{vid}", put(set_ttl))
        .route("/expire-ttl", post(expire_ttl))
        .route("/compact", post(compact))
        .route("/maybe-compact", post(maybe_compact))
        .route("/compaction-config", put(set_compaction_config).get(get_compaction_config))
        .route("/stats", get(stats))
}

/// Metadata in: a JSON object of strings, numbers, booleans, null and lists of those.
fn metadata_text(m: Option<Value>) -> Option<String> {
    match m {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.to_string()),
    }
}

/// Metadata out: the stored canonical text, not parsed again.
fn metadata_raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("{}".into()).expect("{} is JSON"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertRequest {
    pub id: String,
    pub vector: Vec<f32>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Seconds until the record expires (absent or 0: never).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertedResponse {
    pub upserted: usize,
}

#[utoipa::path(post, path = "/v1/upsert", request_body = UpsertRequest, tag = "data",
    responses((status = 200, body = UpsertedResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn upsert(ctx: Ctx<Write>, ApiJson(r): ApiJson<UpsertRequest>) -> ApiResult<UpsertedResponse> {
    ctx.run(RequestKind::Write, move |s| {
        s.upsert_with_ttl(&r.id, &r.vector, metadata_text(r.metadata).as_deref(), r.ttl_seconds.unwrap_or(0))
    })
    .await?;
    Ok(Json(UpsertedResponse { upserted: 1 }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManyRecord {
    pub id: String,
    pub vector: Vec<f32>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertManyRequest {
    /// Written as one write: if any record is invalid, none is written. (Per-record TTLs: use
    /// batch-execute.)
    pub records: Vec<ManyRecord>,
}

#[utoipa::path(post, path = "/v1/upsert-many", request_body = UpsertManyRequest, tag = "data",
    responses((status = 200, body = UpsertedResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn upsert_many(
    ctx: Ctx<Write>,
    ApiJson(r): ApiJson<UpsertManyRequest>,
) -> ApiResult<UpsertedResponse> {
    let n = r.records.len();
    ctx.run(RequestKind::Write, move |s| {
        let metas: Vec<Option<String>> =
            r.records.iter().map(|x| metadata_text(x.metadata.clone())).collect();
        let recs: Vec<NewRecord<'_>> = r
            .records
            .iter()
            .zip(&metas)
            .map(|(x, m)| NewRecord { id: &x.id, vector: &x.vector, metadata: m.as_deref() })
            .collect();
        s.upsert_many(&recs)
    })
    .await?;
    Ok(Json(UpsertedResponse { upserted: n }))
}

/// The guide's batch request: `{"operations": [{"op": "upsert", "id", "vector", "metadata"?,
/// "ttl_seconds"?}, {"op": "delete"|"soft_delete"|"restore", "id"}, {"op": "update_metadata", "id",
/// "metadata"}, {"op": "set_ttl", "id", "ttl_seconds"}]}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[schema(value_type = Vec<Object>)]
    pub operations: Vec<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchErrorSchema {
    pub index: usize,
    pub operation: String,
    pub error: String,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub succeeded: usize,
    pub failed: usize,
    pub errors: Vec<BatchErrorSchema>,
    pub duration_ms: f64,
}

#[utoipa::path(post, path = "/v1/batch-execute", request_body = BatchRequest, tag = "data",
    responses((status = 200, body = BatchResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn batch_execute(ctx: Ctx<Write>, JsonBytes(body): JsonBytes) -> ApiResult<BatchResult> {
    let result = ctx
        .run(RequestKind::Write, move |s| {
            let text = std::str::from_utf8(&body)
                .map_err(|e| crate::error::Error::invalid(format!("request body is not UTF-8: {e}")))?;
            let ops = parse_batch_json(text)?;
            s.batch_execute(&ops)
        })
        .await?;
    Ok(Json(result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    pub vector: Vec<f32>,
    /// Results wanted (default 10); `k` is accepted as a synonym.
    #[serde(default, alias = "k")]
    pub limit: Option<usize>,
    /// A filter in the filter language: `category = 'tech' AND year >= 2020`.
    #[serde(default)]
    pub filter: Option<String>,
    /// Candidate list size of the graph search (default: the store's).
    #[serde(default)]
    pub ef_search: Option<usize>,
}

impl QueryRequest {
    fn query(&self) -> Query<'_> {
        Query {
            vector: &self.vector,
            k: self.limit.unwrap_or(10),
            filter: self.filter.as_deref(),
            ef_search: self.ef_search.unwrap_or(0),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryHit {
    pub id: String,
    pub score: f32,
    #[schema(value_type = Object)]
    pub metadata: Box<RawValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryResponse {
    pub results: Vec<QueryHit>,
}

#[utoipa::path(post, path = "/v1/query", request_body = QueryRequest, tag = "data",
    responses((status = 200, body = QueryResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn query(ctx: Ctx<Read>, ApiJson(r): ApiJson<QueryRequest>) -> ApiResult<QueryResponse> {
    let hits = ctx.run(RequestKind::Query, move |s| s.query(&r.query())).await?;
    Ok(Json(QueryResponse {
        results: hits
            .into_iter()
            .map(|h| QueryHit { id: h.id, score: h.score, metadata: metadata_raw(h.metadata) })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedResult {
    pub id: String,
    pub score: f32,
    #[schema(value_type = Object)]
    pub metadata: Box<RawValue>,
    /// raw_score, distance_metric, filter_passed, filter_details, graph_stats, rank,
    /// explanation_text.
    #[schema(value_type = Object)]
    pub explanation: crate::store::explain::Explanation,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainResponse {
    pub results: Vec<ExplainedResult>,
}

#[utoipa::path(post, path = "/v1/query-explain", request_body = QueryRequest, tag = "data",
    responses((status = 200, body = ExplainResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn query_explain(ctx: Ctx<Read>, ApiJson(r): ApiJson<QueryRequest>) -> ApiResult<ExplainResponse> {
    let hits = ctx.run(RequestKind::Query, move |s| s.query_explain(&r.query())).await?;
    Ok(Json(ExplainResponse {
        results: hits
            .into_iter()
            .map(|h| ExplainedResult {
                id: h.id,
                score: h.score,
                metadata: metadata_raw(h.metadata),
                explanation: h.explanation,
            })
            .collect(),
    }))
}

/// The estimate: valid, errors, error_codes, cost_estimate, estimated_distance_calculations,
/// estimated_nodes_visited, will_overfetch, recommendations, estimated_duration_ms, plan, ...
#[derive(Debug, Serialize, ToSchema)]
pub struct EstimateSchema {
    pub valid: bool,
    pub errors: Vec<String>,
    pub error_codes: Vec<String>,
    pub cost_estimate: f64,
    pub estimated_distance_calculations: u64,
    pub estimated_nodes_visited: u64,
    pub will_overfetch: bool,
    pub recommendations: Vec<String>,
    pub estimated_duration_ms: f64,
    pub plan: Option<String>,
    pub plan_reason: String,
    pub estimated_selectivity: f64,
    pub estimated_matches: u64,
    /// True when the metadata index counted the matches exactly.
    pub selectivity_exact: bool,
    pub ef_search: usize,
    pub calibration_ms: f64,
}

#[utoipa::path(post, path = "/v1/query-estimate", request_body = QueryRequest, tag = "data",
    responses((status = 200, body = EstimateSchema), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn query_estimate(ctx: Ctx<Read>, ApiJson(r): ApiJson<QueryRequest>) -> ApiResult<QueryEstimate> {
    let est = ctx.run(RequestKind::Query, move |s| Ok(s.estimate_query(&r.query()))).await?;
    Ok(Json(est))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordResponse {
    pub id: String,
    pub vector: Vec<f32>,
    #[schema(value_type = Object)]
    pub metadata: Box<RawValue>,
}

#[utoipa::path(get, path = "/v1/vectors/{vid}", tag = "data", params(("vid" = String, Path)),
    responses((status = 200, body = RecordResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn get_vector(Vid(vid): Vid, ctx: Ctx<Read>) -> ApiResult<RecordResponse> {
    let r = ctx.run(RequestKind::Read, move |s| s.get(&vid)).await?;
    Ok(Json(RecordResponse { id: r.id, vector: r.vector, metadata: metadata_raw(r.metadata) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoneResponse {
    /// The record id.
    pub id: String,
    /// What was done: deleted, soft_deleted, restored, metadata_updated, ttl_set.
    pub done: &'static str,
}

async fn one_write(
    ctx: Ctx<Write>,
    vid: String,
    done: &'static str,
    f: impl FnOnce(&crate::store::Store, &str) -> crate::error::Result<()> + Send + 'static,
) -> ApiResult<DoneResponse> {
    let id = vid.clone();
    ctx.run(RequestKind::Write, move |s| f(s, &id)).await?;
    Ok(Json(DoneResponse { id: vid, done }))
}

#[utoipa::path(delete, path = "/v1/vectors/{vid}", tag = "data", params(("vid" = String, Path)),
    responses((status = 200, body = DoneResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn delete_vector(Vid(vid): Vid, ctx: Ctx<Write>) -> ApiResult<DoneResponse> {
    one_write(ctx, vid, "deleted", |s, id| s.delete(id)).await
}

#[utoipa::path(post, path = "/v1/soft-delete/{vid}", tag = "data", params(("vid" = String, Path)),
    responses((status = 200, body = DoneResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn soft_delete(Vid(vid): Vid, ctx: Ctx<Write>) -> ApiResult<DoneResponse> {
    one_write(ctx, vid, "soft_deleted", |s, id| s.soft_delete(id)).await
}

#[utoipa::path(post, path = "/v1/restore/{vid}", tag = "data", params(("vid" = String, Path)),
    responses((status = 200, body = DoneResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn restore(Vid(vid): Vid, ctx: Ctx<Write>) -> ApiResult<DoneResponse> {
    one_write(ctx, vid, "restored", |s, id| s.restore(id)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataRequest {
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[utoipa::path(put, path = "/v1/metadata/{vid}", tag = "data", params(("vid" = String, Path)),
    request_body = MetadataRequest,
    responses((status = 200, body = DoneResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn update_metadata(
    Vid(vid): Vid,
    ctx: Ctx<Write>,
    ApiJson(r): ApiJson<MetadataRequest>,
) -> ApiResult<DoneResponse> {
    let m = metadata_text(r.metadata);
    one_write(ctx, vid, "metadata_updated", move |s, id| s.update_metadata(id, m.as_deref())).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TtlRequest {
    /// Seconds from now; 0 removes the expiry.
    pub ttl_seconds: u64,
}

#[utoipa::path(put, path = "/v1/ttl/{vid}", tag = "data", params(("vid" = String, Path)),
    request_body = TtlRequest,
    responses((status = 200, body = DoneResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn set_ttl(
    Vid(vid): Vid,
    ctx: Ctx<Write>,
    ApiJson(r): ApiJson<TtlRequest>,
) -> ApiResult<DoneResponse> {
    one_write(ctx, vid, "ttl_set", move |s, id| s.set_ttl(id, r.ttl_seconds)).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiredResponse {
    pub expired: u64,
}

#[utoipa::path(post, path = "/v1/expire-ttl", tag = "data",
    responses((status = 200, body = ExpiredResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn expire_ttl(ctx: Ctx<Write>) -> ApiResult<ExpiredResponse> {
    let expired = ctx.run(RequestKind::Write, |s| s.expire_ttl_records()).await?;
    Ok(Json(ExpiredResponse { expired }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompactResponse {
    pub removed_count: u64,
}

#[utoipa::path(post, path = "/v1/compact", tag = "data",
    responses((status = 200, body = CompactResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn compact(ctx: Ctx<Write>) -> ApiResult<CompactResponse> {
    let removed_count = ctx.run(RequestKind::Maintenance, |s| s.compact()).await?;
    Ok(Json(CompactResponse { removed_count }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaybeCompactResponse {
    pub triggered: bool,
    pub removed_count: u64,
    pub tombstones_removed: u64,
    pub duration_ms: f64,
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/maybe-compact", tag = "data",
    responses((status = 200, body = MaybeCompactResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn maybe_compact(ctx: Ctx<Write>) -> ApiResult<MaybeCompactResponse> {
    let r = ctx.run(RequestKind::Maintenance, |s| s.maybe_compact()).await?;
    Ok(Json(MaybeCompactResponse {
        triggered: r.triggered,
        removed_count: r.removed_count,
        tombstones_removed: r.tombstones_removed,
        duration_ms: r.duration_ms,
        reason: r.reason,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompactionConfigBody {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_min_deleted")]
    pub min_deleted_records: u64,
    #[serde(default = "default_ratio")]
    pub min_deleted_ratio: f64,
}

fn default_min_deleted() -> u64 {
    CompactionConfig::default().min_deleted_records
}
fn default_ratio() -> f64 {
    CompactionConfig::default().min_deleted_ratio
}

impl From<CompactionConfig> for CompactionConfigBody {
    fn from(c: CompactionConfig) -> Self {
        CompactionConfigBody {
            enabled: c.enabled,
            min_deleted_records: c.min_deleted_records,
            min_deleted_ratio: c.min_deleted_ratio,
        }
    }
}

#[utoipa::path(put, path = "/v1/compaction-config", tag = "data", request_body = CompactionConfigBody,
    responses((status = 200, body = CompactionConfigBody), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn set_compaction_config(
    ctx: Ctx<Write>,
    ApiJson(c): ApiJson<CompactionConfigBody>,
) -> ApiResult<CompactionConfigBody> {
    let config = CompactionConfig {
        enabled: c.enabled,
        min_deleted_records: c.min_deleted_records,
        min_deleted_ratio: c.min_deleted_ratio,
    };
    ctx.run(RequestKind::Maintenance, move |s| s.set_compaction_config(config)).await?;
    Ok(Json(config.into()))
}

#[utoipa::path(get, path = "/v1/compaction-config", tag = "data",
    responses((status = 200, body = CompactionConfigBody), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn get_compaction_config(ctx: Ctx<Read>) -> ApiResult<CompactionConfigBody> {
    let c = ctx.run(RequestKind::Read, |s| Ok(s.compaction_config())).await?;
    Ok(Json(c.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreStatsResponse {
    /// Live records that have not expired.
    pub count: usize,
    pub soft_deleted: usize,
    pub expired: usize,
    pub tombstones: usize,
    pub dimension: usize,
    pub metric: String,
    pub log_bytes: u64,
    pub storage_bytes: u64,
}

#[utoipa::path(get, path = "/v1/stats", tag = "data",
    responses((status = 200, body = StoreStatsResponse), (status = "4XX", body = super::error::ErrorBody)))]
pub async fn stats(ctx: Ctx<Read>) -> ApiResult<StoreStatsResponse> {
    let st = ctx.run(RequestKind::Read, |s| Ok(s.stats())).await?;
    Ok(Json(StoreStatsResponse {
        count: st.count,
        soft_deleted: st.soft_deleted,
        expired: st.expired,
        tombstones: st.tombstones,
        dimension: st.dimension,
        metric: st.metric.name().to_string(),
        log_bytes: st.log_bytes,
        storage_bytes: st.storage_bytes,
    }))
}
