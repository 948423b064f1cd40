//! Prometheus metrics for every binary: one process-wide recorder, and for the
//! worker and the scheduler a small HTTP listener (`MINDWELL_METRICS_ADDR`)
//! serving `/metrics`, `/health` (alive) and `/health/ready` (its backends
//! answer) for Prometheus and Kubernetes probes.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc, sync::OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    EndpointExt, IntoResponse, Route, Server, get, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; later calls do nothing.
pub fn install_recorder() {
    HANDLE.get_or_init(|| {
        let seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &seconds)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("batch_size".into()), &sizes))
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

/// The metrics in Prometheus' text format (empty before [`install_recorder`]).
pub fn render() -> String {
    HANDLE.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default()
}

/// Checks the process' backends; `true` when it can do its work.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

#[handler]
fn metrics_text() -> poem::Response {
    render().with_content_type("text/plain; version=0.0.4").into_response()
}

#[handler]
fn alive() -> poem::Response {
    "ok".into_response()
}

#[handler]
async fn ready(check: Data<&ReadyCheck>) -> poem::Response {
    if (check.0)().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Binds `addr` (failing at once if it cannot) and returns the bound address
/// and the server of `/metrics`, `/health` and `/health/ready`, which runs
/// until `stop` resolves.
pub async fn bind(
    addr: SocketAddr,
    check: ReadyCheck,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>> + Send)> {
    install_recorder();
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let local = acceptor.local_addr().into_iter().find_map(|a| a.as_socket_addr().copied()).unwrap_or(addr);
    let app = Route::new()
        .at("/metrics", get(metrics_text))
        .at("/health", get(alive))
        .at("/health/ready", get(ready))
        .data(check);
    Ok((local, Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(app, stop, None)))
}
