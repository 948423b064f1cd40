//! Telemetry for every binary.
//!
//! - Logs: JSON lines through `tracing` (filter `RUST_LOG`).
//! - Errors: to Sentry (or any Sentry-compatible server) when `SENTRY_DSN` is
//!   set — `error!` events become Sentry events, lower levels breadcrumbs; no
//!   default PII is sent.
//! - Traces: spans over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   is set (e.g. `http://otel-collector:4318`; `/v1/traces` is appended).
//! - Metrics: one process-wide Prometheus recorder, and for the worker and the
//!   scheduler a small HTTP listener (`MINDWELL_METRICS_ADDR`) serving
//!   `/metrics`, `/health` (alive) and `/health/ready` (its backends answer).

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc, sync::OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{
    EndpointExt, IntoResponse, Route, Server, get, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Where errors and traces go; both off unless configured.
#[derive(Debug, Clone, Default)]
pub struct Exporters {
    /// `SENTRY_DSN`.
    pub sentry_dsn: Option<crate::secret::Secret>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL.
    pub otlp_endpoint: Option<String>,
    /// `MINDWELL_ENV`, as Sentry's environment.
    pub environment: String,
}

impl Exporters {
    /// Reads `SENTRY_DSN`, `OTEL_EXPORTER_OTLP_ENDPOINT` and `MINDWELL_ENV`.
    pub fn from_env() -> Self {
        Self {
            sentry_dsn: crate::config::var("SENTRY_DSN").map(Into::into),
            otlp_endpoint: crate::config::var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            environment: crate::config::var("MINDWELL_ENV").unwrap_or_else(|| "development".into()),
        }
    }
}

/// Keeps the exporters alive; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops error and trace export"]
pub struct TelemetryGuard {
    sentry: Option<sentry::ClientInitGuard>,
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("sentry", &self.sentry.is_some())
            .field("otlp", &self.tracer.is_some())
            .finish()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take()
            && let Err(e) = tracer.shutdown()
        {
            eprintln!("OTLP traces not flushed: {e}");
        }
        if let Some(sentry) = self.sentry.take() {
            sentry.flush(Some(std::time::Duration::from_secs(2)));
        }
    }
}

/// The subscriber every binary logs through: JSON lines filtered by `RUST_LOG`
/// (else `default_filter`), plus the Sentry and OTLP layers `exporters` asks
/// for. Call from within the tokio runtime (the OTLP exporter runs on it).
pub fn subscriber(
    service: &'static str,
    default_filter: &str,
    exporters: &Exporters,
) -> Result<(impl tracing::Subscriber + Send + Sync + 'static, TelemetryGuard), String> {
    use tracing_subscriber::{
        EnvFilter, Layer,
        filter::{LevelFilter, filter_fn},
        layer::SubscriberExt,
    };

    let sentry = exporters.sentry_dsn.as_ref().map(|dsn| dsn.expose()).map(|dsn| {
        let mut options = sentry::ClientOptions::default();
        options.release = Some(format!("{service}@{}", env!("CARGO_PKG_VERSION")).into());
        options.environment = Some(exporters.environment.clone().into());
        options.send_default_pii = false;
        sentry::init((dsn, options))
    });
    let tracer = match exporters.otlp_endpoint.as_deref() {
        None => None,
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                .build()
                .map_err(|e| format!("OTLP exporter: {e}"))?;
            let batch = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                exporter,
                opentelemetry_sdk::runtime::Tokio,
            )
            .build();
            Some(
                opentelemetry_sdk::trace::SdkTracerProvider::builder()
                    .with_span_processor(batch)
                    .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(service).build())
                    .build(),
            )
        }
    };
    let otel = tracer.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider;
        tracing_opentelemetry::layer().with_tracer(provider.tracer(service))
    });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().json().with_filter(filter))
        .with(sentry.as_ref().map(|_| {
            sentry::integrations::tracing::BreadcrumbLayer::new()
                .with_filter(filter_fn(|m| matches!(*m.level(), tracing::Level::WARN | tracing::Level::INFO)))
        }))
        .with(sentry.as_ref().map(|_| sentry::integrations::tracing::ErrorLayer::new().with_filter(LevelFilter::ERROR)))
        .with(otel);
    Ok((subscriber, TelemetryGuard { sentry, tracer }))
}

/// Installs [`subscriber`] as the process' global subscriber.
pub fn init(service: &'static str, default_filter: &str) -> Result<TelemetryGuard, String> {
    let (subscriber, guard) = subscriber(service, default_filter, &Exporters::from_env())?;
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    Ok(guard)
}

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
