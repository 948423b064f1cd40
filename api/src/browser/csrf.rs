//! Cookie-authenticated requests are not CSRF-able (the contract's "Browsers"
//! paragraph). A request that changes state and presents an auth cookie but
//! no `Authorization` header must carry `Content-Type: application/json` (which
//! no cross-site form can send, and which a cross-origin script can send only
//! after a preflight that [`super::cors`] answers for listed origins alone) and,
//! when it has an `Origin`, the API's own or one in `MINDWELL_CORS_ORIGINS`.
//! Otherwise 403 `forbidden`, before any handler runs.
//!
//! The check sits in front of the routes rather than in the `Auth` extractor
//! so that it holds whatever order a handler extracts its body and token in,
//! and for the refresh and logout calls, which read the refresh cookie
//! themselves. A bearer request is untouched: a browser adds no
//! `Authorization` header on its own.

use std::{collections::HashSet, sync::Arc};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderMap, header},
};

use super::Origin;
use crate::{
    auth::tokens::{ACCESS_COOKIE, REFRESH_COOKIE},
    config::ApiConfig,
    error::ApiError,
};

/// Refuses cookie-authenticated state changes that a browser may have been
/// tricked into sending.
#[derive(Debug, Clone)]
pub struct CookieCsrf {
    allowed: Arc<HashSet<Origin>>,
    trust_proxy: bool,
}

impl CookieCsrf {
    pub fn new(config: &ApiConfig) -> Self {
        Self { allowed: Arc::new(config.cors_origins.iter().cloned().collect()), trust_proxy: config.trust_proxy }
    }

    /// Why `req` must be refused, if it must.
    fn refusal(&self, req: &Request) -> Option<&'static str> {
        let headers = req.headers();
        if req.method().is_safe() || headers.contains_key(header::AUTHORIZATION) || !has_auth_cookie(headers) {
            return None;
        }
        if !is_json(headers) {
            return Some("a cookie-authenticated request must be application/json");
        }
        let origin = headers.get(header::ORIGIN)?;
        match origin.to_str().ok().and_then(|o| Origin::parse(o).ok()) {
            Some(o) if self.allowed.contains(&o) || own_origin(req, self.trust_proxy).as_ref() == Some(&o) => None,
            _ => Some("a cookie-authenticated request came from a foreign origin"),
        }
    }
}

/// Whether the request presents `access_token` or `refresh_token`.
fn has_auth_cookie(headers: &HeaderMap) -> bool {
    headers.get_all(header::COOKIE).iter().filter_map(|h| h.to_str().ok()).flat_map(|h| h.split(';')).any(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        [ACCESS_COOKIE, REFRESH_COOKIE].contains(&name.trim()) && !value.trim().is_empty()
    })
}

/// `Content-Type: application/json`, parameters (`; charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The origin the request was addressed to: its scheme and `Host`, or what
/// the proxy says they were (`X-Forwarded-Proto`, `X-Forwarded-Host`) when it
/// is trusted. A cross-site page cannot set these headers without a preflight.
fn own_origin(req: &Request, trust_proxy: bool) -> Option<Origin> {
    let forwarded = |name: &str| {
        trust_proxy
            .then(|| req.headers().get(name).and_then(|h| h.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let https = match forwarded("x-forwarded-proto") {
        Some(proto) => proto.eq_ignore_ascii_case("https"),
        None => req.scheme().as_str() == "https",
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| req.headers().get(header::HOST).and_then(|h| h.to_str().ok()))
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    Origin::from_authority(https, host).ok()
}

impl<E: Endpoint> Middleware<E> for CookieCsrf {
    type Output = CookieCsrfEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        CookieCsrfEndpoint { inner: ep, guard: self.clone() }
    }
}

/// See [`CookieCsrf`].
pub struct CookieCsrfEndpoint<E> {
    inner: E,
    guard: CookieCsrf,
}

impl<E: Endpoint> Endpoint for CookieCsrfEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if let Some(reason) = self.guard.refusal(&req) {
            tracing::info!(reason, "cookie request refused");
            return Ok(ApiError::Forbidden.into_response());
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
