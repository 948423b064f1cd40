//! `/metrics` (Prometheus text), request counting and latency histograms.

use std::{sync::OnceLock, time::Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, handler};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once.
pub fn install() {
    HANDLE.get_or_init(|| {
        let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &buckets)
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

/// `GET /metrics`.
#[handler]
pub fn metrics_text() -> Response {
    let body = HANDLE.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default();
    body.with_content_type("text/plain; version=0.0.4").into_response()
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
