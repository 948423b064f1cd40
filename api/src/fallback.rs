//! The envelope for what no handler answered: poem's own errors (404, 405,
//! bad query parameters, body limits) and query strings refused before any
//! handler runs. Handlers themselves answer through [`ApiError`].

use poem::{IntoResponse, Response, http::StatusCode};

use crate::{
    body::MAX_BODY_BYTES,
    error::{ApiError, failure},
};

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
        return ApiError::PayloadTooLarge(MAX_BODY_BYTES).into_response();
    }
    if err.is_from_response() {
        return err.into_response();
    }
    match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES).into_response(),
        StatusCode::NOT_FOUND => ApiError::NotFound.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed.into_response(),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized.into_response(),
        s if s.is_client_error() => ApiError::field("request", err.to_string()).into_response(),
        _ => ApiError::Internal(failure("request", err)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nul_in_the_query_is_named() {
        assert_eq!(super::nul_in_query("limit=5&email=a%00b"), Some("email".into()));
        assert_eq!(super::nul_in_query("action%00=x"), Some("action".into()));
        assert_eq!(super::nul_in_query("limit=5&email=a%2500"), None);
    }
}
