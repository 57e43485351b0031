//! Extractors: JSON bodies whose every rejection is a JSON error, the caller checked against the
//! route (admin, or a namespace's data with read or write access), and the store a data route
//! works on.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::auth::{authenticate, authorize, require_admin, Access, Caller};
use super::error::{payload_too_large, ApiError, ServerCode};
use super::state::{Backend, Shared};
use crate::error::Code;
use crate::namespace::{Namespace, RequestKind};
use crate::store::Store;

fn is_json(parts_ct: Option<&axum::http::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The body of a request, read whole, with every failure as a JSON error: a body over the limit
/// (413, naming the limit), a body cut off or unreadable (400), a content type other than JSON (415).
pub struct JsonBytes(pub Bytes);

fn bytes_rejection(r: BytesRejection, limit: usize) -> ApiError {
    // A body over the limit surfaces as a failed buffering whose source is a length-limit error.
    let text = format!("{r:?}");
    if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE || text.contains("LengthLimit") {
        payload_too_large(limit)
    } else {
        ApiError::invalid(format!("cannot read the request body: {}", r.body_text()))
    }
}

impl FromRequest<Shared> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::server(
                ServerCode::UnsupportedMediaType,
                "the body must be JSON: send Content-Type: application/json",
            ));
        }
        let limit = state.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|r| bytes_rejection(r, limit))?;
        Ok(JsonBytes(bytes))
    }
}

/// A JSON body deserialised into `T`; a body that does not parse, or has the wrong shape, is 400
/// `invalid_argument` with serde's message (line and column, the field).
pub struct ApiJson<T>(pub T);

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("request body: {e}")))
}

impl<T: DeserializeOwned + Send + 'static> FromRequest<Shared> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        // Large bodies (bulk upserts) parse off the async workers.
        if bytes.len() > 64 << 10 {
            let parsed = tokio::task::spawn_blocking(move || parse_json::<T>(&bytes))
                .await
                .map_err(|e| ApiError::internal(format!("parsing task failed: {e}")))??;
            return Ok(ApiJson(parsed));
        }
        Ok(ApiJson(parse_json(&bytes)?))
    }
}

/// One path parameter by name (percent-decoded).
pub async fn path_param(parts: &mut Parts, state: &Shared, name: &str) -> Result<Option<String>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::invalid(format!("path: {}", e.body_text())))?;
    Ok(params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
}

/// The record id of routes like `vectors/{vid}`.
pub struct Vid(pub String);

impl FromRequestParts<Shared> for Vid {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        path_param(parts, state, "vid")
            .await?
            .map(Vid)
            .ok_or_else(|| ApiError::internal("route without a {vid} parameter"))
    }
}

/// A caller holding the admin token (or anybody on a server without one).
pub struct Admin;

impl FromRequestParts<Shared> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let caller = authenticate(&parts.headers, state.admin_token.as_deref(), state.keys())?;
        require_admin(&caller)?;
        Ok(Admin)
    }
}

/// Marker types for the access a data route needs.
pub struct Read;
pub struct Write;

pub trait AccessKind: Send + Sync + 'static {
    const ACCESS: Access;
}
impl AccessKind for Read {
    const ACCESS: Access = Access::Read;
}
impl AccessKind for Write {
    const ACCESS: Access = Access::Write;
}

/// The store a data route works on.
#[derive(Clone)]
pub enum Target {
    Store(Arc<Store>),
    Namespace(Arc<Namespace>),
}

/// A data route's target, with the caller checked for `A` access to it.
pub struct Ctx<A> {
    pub target: Target,
    pub state: Shared,
    _access: PhantomData<A>,
}

impl<A: AccessKind> FromRequestParts<Shared> for Ctx<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let caller = authenticate(&parts.headers, state.admin_token.as_deref(), state.keys())?;
        let in_path = path_param(parts, state, "id").await?;
        let target = match &state.backend {
            Backend::Single(store) => {
                if in_path.is_some() {
                    return Err(ApiError::not_found(
                        "this server runs in single-store mode: use the /v1/... routes without a namespace",
                    ));
                }
                Target::Store(store.clone())
            }
            Backend::Namespaces { mgr, .. } => {
                let id = match (in_path, &caller) {
                    (Some(id), _) => id,
                    (None, Caller::Key(k)) => k.namespace.clone(),
                    (None, Caller::Admin) => parts
                        .headers
                        .get("x-namespace")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "namespace mode: name the namespace with an X-Namespace header, use \
                                 /v1/namespaces/{id}/..., or authenticate with the namespace's API key",
                            )
                        })?,
                };
                authorize(&caller, &id, A::ACCESS)?;
                Target::Namespace(mgr.namespace(&id)?)
            }
        };
        Ok(Ctx { target, state: state.clone(), _access: PhantomData })
    }
}

impl<A> Ctx<A> {
    /// The namespace id ("" in single-store mode), for metrics.
    pub fn namespace_id(&self) -> &str {
        match &self.target {
            Target::Store(_) => "",
            Target::Namespace(ns) => ns.id(),
        }
    }

    /// Runs a core call on the blocking pool (a compaction or an fsync never holds an async worker),
    /// through the namespace (status, rate limit, counters) in namespace mode.
    pub async fn run<T: Send + 'static>(
        &self,
        kind: RequestKind,
        f: impl FnOnce(&Store) -> crate::error::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let target = self.target.clone();
        let out = tokio::task::spawn_blocking(move || match &target {
            Target::Store(store) => f(store),
            Target::Namespace(ns) => ns.call(kind, f),
        })
        .await
        .map_err(|e| ApiError::internal(format!("the store call failed: {e}")))?;
        out.map_err(|e| self.refusal(e))
    }

    fn refusal(&self, e: crate::error::Error) -> ApiError {
        let ns = self.namespace_id().to_string();
        let code = e.code;
        let mut err = ApiError::from(e);
        if matches!(code, Code::QuotaExceeded | Code::RateLimited | Code::NamespaceSuspended) {
            self.state.metrics.refusal(&ns, code.key());
        }
        if code == Code::RateLimited {
            let rate = self
                .state
                .manager()
                .ok()
                .and_then(|m| m.get(&ns).ok())
                .map_or(1.0, |r| r.quotas.max_requests_per_second);
            err.retry_after = Some(retry_after_secs(rate));
        }
        err
    }
}

/// Whole seconds until a token bucket of this rate has a token again (at least 1).
pub fn retry_after_secs(rate: f64) -> u64 {
    if rate > 0.0 && rate.is_finite() {
        (1.0 / rate).ceil().max(1.0) as u64
    } else {
        1
    }
}
