//! One map from cause to answer: every failure under `/api/v1` becomes an
//! [`ApiError`], which renders the contract's error envelope.
//!
//! Handlers return `Result<_, ApiError>`; internal causes (database, Redis, the
//! queue) convert through `From` into [`ApiError::Internal`] or
//! [`ApiError::Unavailable`], are logged with their chain, and never reach the
//! client. [`catch_all`] turns poem's own errors (404, 405, bad query
//! parameters, body limits) into the same envelope.

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
    Unavailable(String),
    /// 500 `internal`: a bug. The cause is logged, not sent.
    #[error("internal error")]
    Internal(String),
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

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(format!("database: {e}")),
            DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
                if connection_lost(cause) =>
            {
                Self::Unavailable(format!("database: {e}"))
            }
            DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
                if unstorable_text(cause) =>
            {
                Self::field("request", "contains a character the database cannot store (NUL)")
            }
            _ => Self::Internal(format!("database: {e}")),
        }
    }
}

/// Whether PostgreSQL refused a text value it cannot store (a NUL byte):
/// SQLSTATE 22021 or 22P05. Every text field refuses NUL at the edge; this is
/// the net under a field that might be missed.
fn unstorable_text(e: &sea_orm::sqlx::Error) -> bool {
    matches!(e, sea_orm::sqlx::Error::Database(db) if db.code().is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05")))
}

/// A query parameter carrying a NUL (`%00`), named for the 422: PostgreSQL
/// cannot compare text holding one, so no parameter may carry it.
pub fn nul_in_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name.contains("%00") || value.contains("%00")).then(|| name.replace("%00", ""))
    })
}

/// Refuses a request whose query string carries a NUL, before any handler.
pub async fn refuse_nul_query<E: poem::Endpoint>(ep: std::sync::Arc<E>, req: poem::Request) -> poem::Result<Response> {
    if let Some(name) = req.uri().query().and_then(nul_in_query) {
        return Ok(ApiError::field(&name, "must not contain NUL characters").into_response());
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

/// Whether a statement failed because the database went away under it (the
/// connection broke, the server is shutting down or refuses connections)
/// rather than because of the statement: a 503, not a 500.
fn connection_lost(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01..57P03 (admin or crash
        // shutdown, cannot connect now), 53300 (too many connections).
        Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")),
        _ => false,
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
        Self::Unavailable(format!("redis: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        match &self {
            Self::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(cause = %cause, "dependency unavailable"),
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

/// Turns any error left on the route tree into the envelope.
pub async fn catch_all(err: poem::Error) -> Response {
    if err.is::<poem::error::NotFoundError>() {
        return ApiError::NotFound.into_response();
    }
    if err.is::<poem::error::MethodNotAllowedError>() {
        return ApiError::MethodNotAllowed.into_response();
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return ApiError::field(e.name, e.reason.clone()).into_response();
    }
    if err.has_source() && err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(crate::body::MAX_BODY_BYTES).into_response();
    }
    if err.is_from_response() {
        return err.into_response();
    }
    match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(crate::body::MAX_BODY_BYTES).into_response(),
        StatusCode::NOT_FOUND => ApiError::NotFound.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed.into_response(),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized.into_response(),
        s if s.is_client_error() => ApiError::field("request", err.to_string()).into_response(),
        _ => ApiError::Internal(err.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{DbErr, RuntimeErr, sqlx};

    use super::ApiError;

    #[test]
    fn a_nul_in_the_query_is_named() {
        assert_eq!(super::nul_in_query("limit=5&email=a%00b"), Some("email".into()));
        assert_eq!(super::nul_in_query("action%00=x"), Some("action".into()));
        assert_eq!(super::nul_in_query("limit=5&email=a%2500"), None);
    }

    #[test]
    fn a_lost_connection_is_unavailable_and_a_failed_statement_internal() {
        let lost = DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Io(std::io::Error::other("reset")))));
        assert!(matches!(ApiError::from(lost), ApiError::Unavailable(_)));
        let pool = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolTimedOut)));
        assert!(matches!(ApiError::from(pool), ApiError::Unavailable(_)));
        let failed = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::RowNotFound)));
        assert!(matches!(ApiError::from(failed), ApiError::Internal(_)));
    }
}
