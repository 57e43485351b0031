//! Errors as the HTTP API answers them: always JSON, `{"error": "<message>", "code": "<code>"}`.
//!
//! One table ([`status_of`]) maps every core error code to an HTTP status; the code's spelling is the
//! library's own (`Code::key`, the spelling of batch reports). A few failures exist only at the
//! HTTP layer (authentication, body size, media type, method, readiness, timeout); their codes are
//! in [`ServerCode`]. Extractor rejections (bad JSON, a body cut off, a body over the limit) are
//! turned into these by [`crate::server::extract`], and [`json_errors`] rewrites any error response
//! that still is not JSON (axum's 405, tower-http's timeout), so a client never sees plain text.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;

use crate::error::Code;

/// Codes that only the HTTP layer produces (the core's codes come from [`Code::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCode {
    /// No credentials, or credentials that match no admin token and no key.
    Unauthorized,
    /// Valid credentials without the right to this route (another namespace's key, a read-only key
    /// writing, a namespace key on `/admin`).
    Forbidden,
    /// The body is over `--max-body-bytes`.
    PayloadTooLarge,
    /// A body that is not `application/json`.
    UnsupportedMediaType,
    /// A route that exists, with another method.
    MethodNotAllowed,
    /// The server is starting or shutting down.
    NotReady,
    /// The request took longer than the server's request timeout.
    Timeout,
}

impl ServerCode {
    pub const ALL: [ServerCode; 7] = [
        ServerCode::Unauthorized,
        ServerCode::Forbidden,
        ServerCode::PayloadTooLarge,
        ServerCode::UnsupportedMediaType,
        ServerCode::MethodNotAllowed,
        ServerCode::NotReady,
        ServerCode::Timeout,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ServerCode::Unauthorized => "unauthorized",
            ServerCode::Forbidden => "forbidden",
            ServerCode::PayloadTooLarge => "payload_too_large",
            ServerCode::UnsupportedMediaType => "unsupported_media_type",
            ServerCode::MethodNotAllowed => "method_not_allowed",
            ServerCode::NotReady => "not_ready",
            ServerCode::Timeout => "timeout",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ServerCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ServerCode::Forbidden => StatusCode::FORBIDDEN,
            ServerCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ServerCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServerCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServerCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ServerCode::Timeout => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

/// The HTTP status of every core error code: the table the README documents.
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::DimensionMismatch | Code::FilterSyntax => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Locked => StatusCode::CONFLICT,
        Code::QuotaExceeded => StatusCode::UNPROCESSABLE_ENTITY,
        Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Code::NamespaceSuspended => StatusCode::FORBIDDEN,
        Code::Io | Code::Corrupt | Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (rate limiting).
    pub retry_after: Option<u64>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// The stable code: a core code (`invalid_argument`, `not_found`, ...) or a server code
    /// (`unauthorized`, `forbidden`, `payload_too_large`, ...).
    pub code: String,
}

impl ApiError {
    pub fn server(code: ServerCode, message: impl Into<String>) -> ApiError {
        ApiError { status: code.status(), code: code.key(), message: message.into(), retry_after: None }
    }

    pub fn core(code: Code, message: impl Into<String>) -> ApiError {
        ApiError { status: status_of(code), code: code.key(), message: message.into(), retry_after: None }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::core(Code::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::core(Code::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::core(Code::Internal, message)
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(e: crate::error::Error) -> ApiError {
        ApiError::core(e.code, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let body = serde_json::to_vec(&ErrorBody { error: self.message, code: self.code.to_string() })
            .expect("error bodies serialise");
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The code and message of an error response produced by something other than a handler (a
/// middleware, axum's router), by status.
fn fallback_error(status: StatusCode, max_body_bytes: usize) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(max_body_bytes),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::server(ServerCode::MethodNotAllowed, "this route does not accept this method")
        }
        StatusCode::REQUEST_TIMEOUT => {
            ApiError::server(ServerCode::Timeout, "the request took longer than the server's request timeout")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::server(ServerCode::UnsupportedMediaType, "the body must be application/json")
        }
        StatusCode::NOT_FOUND => ApiError::not_found("no such route"),
        StatusCode::UNAUTHORIZED => ApiError::server(ServerCode::Unauthorized, "unauthorized"),
        StatusCode::FORBIDDEN => ApiError::server(ServerCode::Forbidden, "forbidden"),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::server(ServerCode::NotReady, "the server is not ready"),
        s if s.is_client_error() => ApiError {
            status: s,
            code: Code::InvalidArgument.key(),
            message: s.canonical_reason().unwrap_or("bad request").to_string(),
            retry_after: None,
        },
        s => ApiError {
            status: s,
            code: Code::Internal.key(),
            message: s.canonical_reason().unwrap_or("internal error").to_string(),
            retry_after: None,
        },
    }
}

pub fn payload_too_large(max_body_bytes: usize) -> ApiError {
    ApiError::server(
        ServerCode::PayloadTooLarge,
        format!("request body is over the limit of {max_body_bytes} bytes (--max-body-bytes)"),
    )
}

/// Rewrites an error response whose body is not JSON into the JSON error shape.
pub fn to_json_error(resp: axum::response::Response, max_body_bytes: usize) -> axum::response::Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let retry = resp.headers().get(header::RETRY_AFTER).cloned();
    let mut out = fallback_error(status, max_body_bytes).into_response();
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}
