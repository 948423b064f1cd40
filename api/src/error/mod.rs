//! One map from cause to answer: every failure under `/api/v1` becomes an
//! [`ApiError`], which renders the contract's error envelope.
//!
//! Handlers return `Result<_, ApiError>`; internal causes (database, Redis, the
//! queue) convert through `From` into [`ApiError::Internal`] or
//! [`ApiError::Unavailable`], which keep the cause (a [`Cause`], often a
//! [`Failure`] naming what failed). It is logged with its whole chain once,
//! when the error becomes an answer, and never reaches the client.
//! `crate::fallback` turns poem's own errors (404, 405, bad query parameters,
//! body limits) into the same envelope.

mod db;

use std::collections::BTreeMap;

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::{ToJSON, Type},
};
use serde_json::{Value, json};

/// The contract's error body: `{"code", "message", "details"}`.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_input`.
    pub code: String,
    /// Human-readable text; never reveals internals.
    pub message: String,
    /// Structured details; for `invalid_input`, `fields` names every bad field.
    pub details: Value,
}

/// `{"ok": false, "data": null, "error": {...}}`.
#[derive(Debug, Clone, Object)]
pub struct ErrorEnvelope {
    pub ok: bool,
    #[oai(nullable)]
    pub data: Option<Value>,
    pub error: ErrorBody,
}

/// Field name to reason, as `details.fields` carries them.
pub type FieldErrors = BTreeMap<String, String>;

/// The cause of an internal failure, kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What failed (`database`, `redis`, `bcrypt`…) and the error it failed with:
/// the cause's chain then reads `redis: <fred's error>`.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Failure {
    pub what: &'static str,
    #[source]
    pub source: Cause,
}

/// A [`Cause`]: `what` failed with `source`.
pub fn failure(what: &'static str, source: impl Into<Cause>) -> Cause {
    Box::new(Failure { what, source: source.into() })
}

pub use mindwell_shared::Chain;

/// Every way a request can fail, and the answer it becomes.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 `unauthorized`: no token, bad signature, expired, revoked.
    #[error("authentication required")]
    Unauthorized,
    /// 401 `invalid_credentials`: wrong email or password.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// 401 `token_reused`: a rotated refresh token presented again.
    #[error("this refresh token was already used; sign in again")]
    TokenReused,
    /// 403 `forbidden`: authenticated, but not allowed.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// 404 `not_found`: missing, or not yours.
    #[error("not found")]
    NotFound,
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 `email_taken`.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 409 `conflict`, with the reason.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("request body is too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// 422 `invalid_input`, with every bad field.
    #[error("invalid input")]
    InvalidInput(FieldErrors),
    /// 429 `rate_limited`, with `Retry-After` in seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// 503 `unavailable`: a dependency is down. The cause is logged, not sent.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// 500 `internal`: a bug. The cause is logged, not sent.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// 422 for one field.
    pub fn field(name: &str, reason: impl Into<String>) -> Self {
        Self::InvalidInput(BTreeMap::from([(name.to_owned(), reason.into())]))
    }

    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::TokenReused => (StatusCode::UNAUTHORIZED, "token_reused"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn details(&self) -> Value {
        match self {
            Self::InvalidInput(fields) => json!({ "fields": fields }),
            Self::RateLimited(secs) => json!({ "retry_after": secs }),
            _ => json!({}),
        }
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(e: sea_orm::TransactionError<ApiError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl From<fred::error::Error> for ApiError {
    fn from(e: fred::error::Error) -> Self {
        Self::Unavailable(failure("redis", e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        match &self {
            Self::Internal(cause) => tracing::error!(cause = %Chain(cause.as_ref()), "internal error"),
            Self::Unavailable(cause) => tracing::warn!(cause = %Chain(cause.as_ref()), "dependency unavailable"),
            _ => {}
        }
        let body = ErrorEnvelope {
            ok: false,
            data: None,
            error: ErrorBody { code: code.to_owned(), message: self.to_string(), details: self.details() },
        };
        let mut resp = poem::web::Json(body.to_json()).with_status(status).into_response();
        if let Self::RateLimited(secs) = self {
            resp.headers_mut().insert("Retry-After", secs.max(1).into());
        }
        resp
    }
}

impl From<ApiError> for poem::Error {
    fn from(e: ApiError) -> Self {
        poem::Error::from_response(e.into_response())
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let statuses: [(u16, &str); 10] = [
            (401, "`unauthorized`, `invalid_credentials` or `token_reused`"),
            (403, "`forbidden`"),
            (404, "`not_found`"),
            (409, "`email_taken` or `conflict`"),
            (413, "`payload_too_large`"),
            (422, "`invalid_input`; `details.fields` names every bad field"),
            (429, "`rate_limited`, with `Retry-After`"),
            (500, "`internal`"),
            (503, "`unavailable`"),
            (405, "`method_not_allowed`"),
        ];
        MetaResponses {
            responses: statuses
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorEnvelope::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorEnvelope::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, Chain, failure};

    #[test]
    fn the_cause_is_kept_and_logged_with_its_chain_but_not_answered() {
        let io = std::io::Error::other("connection reset");
        let err = ApiError::Unavailable(failure("redis", io));
        let logged = std::error::Error::source(&err).map(|cause| Chain(cause).to_string());
        assert_eq!(logged.as_deref(), Some("redis: connection reset"));
        assert_eq!(err.to_string(), "service temporarily unavailable");
        assert_eq!(Chain(&err).to_string(), "service temporarily unavailable: redis: connection reset");
    }
}
