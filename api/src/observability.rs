//! `/metrics` (Prometheus text), request counting and latency histograms.

use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, handler, http::Method};

/// Installs the process-wide recorder once.
pub fn install() {
    mindwell_shared::telemetry::install_recorder();
}

/// `GET /metrics`.
#[handler]
pub fn metrics_text() -> Response {
    mindwell_shared::telemetry::render().with_content_type("text/plain; version=0.0.4").into_response()
}

/// The label of a path no route serves (404, 405 on an unknown path), so
/// that probing random paths cannot grow the number of series.
pub const UNMATCHED: &str = "unmatched";

/// The served routes as templates (`/api/v1/insights/{id}`), for labelling a
/// request by the route it matched rather than by its raw path.
#[derive(Debug, Clone)]
pub struct Routes(Arc<[Template]>);

#[derive(Debug)]
struct Template {
    label: Arc<str>,
    /// `None` for a `{param}` segment.
    segments: Vec<Option<String>>,
}

impl Routes {
    /// Templates from an OpenAPI document's `paths`, plus `extra` ones.
    pub fn from_spec(spec_json: &str, extra: &[&str]) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec_json).unwrap_or_default();
        let paths = spec.get("paths").and_then(serde_json::Value::as_object);
        let mut labels: Vec<String> = paths.map(|p| p.keys().cloned().collect()).unwrap_or_default();
        labels.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut templates: Vec<Template> = labels
            .into_iter()
            .map(|label| {
                let segments = label
                    .split('/')
                    .map(|seg| (!(seg.starts_with('{') || seg.starts_with(':'))).then(|| seg.to_owned()))
                    .collect();
                Template { label: label.into(), segments }
            })
            .collect();
        // A literal segment wins over a parameter: `/checkins/export` before
        // `/checkins/{id}`.
        templates.sort_by_key(|t| std::cmp::Reverse(t.segments.iter().filter(|s| s.is_some()).count()));
        Self(templates.into())
    }

    /// The template `path` matches, or [`UNMATCHED`].
    pub fn label(&self, path: &str) -> Arc<str> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let n = path.split('/').count();
        self.0
            .iter()
            .find(|t| {
                t.segments.len() == n
                    && t.segments.iter().zip(path.split('/')).all(|(t, seg)| t.as_deref().is_none_or(|t| t == seg))
            })
            .map_or_else(|| UNMATCHED.into(), |t| t.label.clone())
    }
}

/// Counts requests and times them, by method, matched route and status.
#[derive(Debug)]
pub struct HttpMetrics(pub Routes);

impl<E: Endpoint> Middleware<E> for HttpMetrics {
    type Output = HttpMetricsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        HttpMetricsEndpoint(ep, self.0.clone())
    }
}

#[derive(Debug)]
pub struct HttpMetricsEndpoint<E>(E, Routes);

impl<E: Endpoint> Endpoint for HttpMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let method = match *req.method() {
            Method::GET
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::HEAD
            | Method::OPTIONS => req.method().to_string(),
            _ => "other".to_owned(),
        };
        let route = self.1.label(req.uri().path()).to_string();
        let resp = match self.0.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let status = resp.status().as_u16().to_string();
        let labels = [("method", method), ("route", route), ("status", status)];
        metrics::counter!("mindwell_http_requests_total", &labels).increment(1);
        metrics::histogram!("mindwell_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::{Routes, UNMATCHED};

    #[test]
    fn requests_are_labelled_by_route_and_unknown_paths_share_one_label() {
        let spec = r#"{"paths": {"/api/v1/checkins": {}, "/api/v1/checkins/{id}": {}, "/api/v1/checkins/export": {}}}"#;
        let routes = Routes::from_spec(spec, &["/health"]);
        let id = "0190f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f";
        assert_eq!(&*routes.label(&format!("/api/v1/checkins/{id}")), "/api/v1/checkins/{id}");
        assert_eq!(&*routes.label("/api/v1/checkins/export"), "/api/v1/checkins/export");
        assert_eq!(&*routes.label("/api/v1/checkins/"), "/api/v1/checkins");
        assert_eq!(&*routes.label("/health"), "/health");
        assert_eq!(&*routes.label("/api/v1/nope/123"), UNMATCHED);
        assert_eq!(&*routes.label(&format!("/wp-admin/{id}")), UNMATCHED);
    }
}
