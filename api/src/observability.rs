//! `/metrics` (Prometheus text), request counting and latency histograms.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, handler};

/// Installs the process-wide recorder once.
pub fn install() {
    mindwell_shared::telemetry::install_recorder();
}

/// `GET /metrics`.
#[handler]
pub fn metrics_text() -> Response {
    mindwell_shared::telemetry::render().with_content_type("text/plain; version=0.0.4").into_response()
}

/// Collapses ids so a route label has few values: `/api/v1/insights/{id}`.
fn route_label(path: &str) -> String {
    path.split('/')
        .map(|seg| if uuid::Uuid::parse_str(seg).is_ok() { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Counts requests and times them, by method, route and status.
#[derive(Debug, Default)]
pub struct HttpMetrics;

impl<E: Endpoint> Middleware<E> for HttpMetrics {
    type Output = HttpMetricsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        HttpMetricsEndpoint(ep)
    }
}

#[derive(Debug)]
pub struct HttpMetricsEndpoint<E>(E);

impl<E: Endpoint> Endpoint for HttpMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let method = req.method().to_string();
        let route = route_label(req.uri().path());
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
