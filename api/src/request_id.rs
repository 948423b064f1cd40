//! `X-Request-Id` on every response (echoed when the client sent a sane one),
//! in the request's data for handlers and jobs, and on its tracing span.

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

/// The request's id.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Adds [`RequestId`].
#[derive(Debug, Default)]
pub struct RequestIdLayer;

impl<E: Endpoint> Middleware<E> for RequestIdLayer {
    type Output = RequestIdEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RequestIdEndpoint(ep)
    }
}

#[derive(Debug)]
pub struct RequestIdEndpoint<E>(E);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

impl<E: Endpoint> Endpoint for RequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|h| h.to_str().ok())
            .filter(|id| acceptable(id))
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        req.extensions_mut().insert(RequestId(id.clone()));
        let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
        let mut resp = match self.0.call(req).instrument(span).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        if let Ok(value) = id.parse() {
            resp.headers_mut().insert("x-request-id", value);
        }
        Ok(resp)
    }
}
