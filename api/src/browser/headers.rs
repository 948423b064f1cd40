//! Headers every `/api/v1` answer carries: personal data is never cached
//! (`Cache-Control: no-store`) nor sniffed into another type
//! (`X-Content-Type-Options: nosniff`); in production every answer also tells
//! browsers to use HTTPS only (HSTS).

use poem::{
    Endpoint, Middleware, Request, Response, Result,
    http::{HeaderValue, header},
};

/// `Strict-Transport-Security` in production: a year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the headers; `hsts` in production.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    pub hsts: bool,
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint { inner: ep, hsts: self.hsts }
    }
}

/// See [`SecurityHeaders`].
pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: bool,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        let api = path == "/api/v1" || path.starts_with("/api/v1/");
        let mut resp = self.inner.get_response(req).await;
        let headers = resp.headers_mut();
        if api {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        }
        if self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
        Ok(resp)
    }
}
