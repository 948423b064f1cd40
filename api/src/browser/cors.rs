//! CORS for the configured origins only, through poem's [`Cors`].
//!
//! poem's middleware, given origins, refuses every request from any other
//! origin (403), and given none, allows them all. Neither fits: a same-origin
//! page and a bearer-token client sending `Origin` must pass untouched, and
//! an empty list must allow nobody. So [`CorsLayer`] hands only requests from
//! a listed origin to [`Cors`]; the others reach the API as if it had no CORS,
//! and a preflight from them meets no route (405, no CORS headers) and fails.

use std::{collections::HashSet, sync::Arc};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::CorsError,
    http::{HeaderValue, Method, header},
    middleware::{Cors, CorsEndpoint},
};

use super::Origin;
use crate::error::ApiError;

/// Request headers a listed origin may send.
const ALLOWED_HEADERS: [&str; 5] =
    ["content-type", "authorization", "idempotency-key", "x-request-id", "last-event-id"];
/// Response headers a listed origin's scripts may read.
const EXPOSED_HEADERS: [&str; 2] = ["x-request-id", "retry-after"];
/// How long a browser may cache a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

/// CORS, credentials allowed, for `origins`; nothing for anyone else.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    origins: Arc<HashSet<Origin>>,
}

impl CorsLayer {
    pub fn new(origins: &[Origin]) -> Self {
        Self { origins: Arc::new(origins.iter().cloned().collect()) }
    }
}

impl<E: Endpoint> Middleware<E> for CorsLayer {
    type Output = CorsLayerEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        let plain = Arc::new(ep);
        let origins = Arc::clone(&self.origins);
        let cors = Cors::new()
            .allow_origins_fn(move |o| Origin::parse(o).is_ok_and(|o| origins.contains(&o)))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .max_age(PREFLIGHT_MAX_AGE);
        CorsLayerEndpoint { cors: cors.transform(Arc::clone(&plain)), plain, origins: Arc::clone(&self.origins) }
    }
}

/// See [`CorsLayer`].
pub struct CorsLayerEndpoint<E> {
    cors: CorsEndpoint<Arc<E>>,
    plain: Arc<E>,
    origins: Arc<HashSet<Origin>>,
}

impl<E: Endpoint> CorsLayerEndpoint<E> {
    fn listed(&self, req: &Request) -> bool {
        req.headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .and_then(|o| Origin::parse(o).ok())
            .is_some_and(|o| self.origins.contains(&o))
    }
}

impl<E: Endpoint> Endpoint for CorsLayerEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if self.listed(&req) {
            // A preflight asking for a method or headers we do not allow.
            return Ok(match self.cors.call(req).await {
                Ok(resp) => resp,
                Err(e) if e.is::<CorsError>() => ApiError::Forbidden.into_response(),
                Err(e) => e.into_response(),
            });
        }
        let mut resp = self.plain.get_response(req).await;
        if !self.origins.is_empty() {
            // The answer differs by origin: no cache may serve this one to a listed origin.
            resp.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        }
        Ok(resp)
    }
}
