//! `mindwell-worker`: runs the ONNX models over check-ins from the job queue and
//! writes analyses and alerts back.
//!
//! Layout: [`jobs`] holds one file per job, [`context`] what they all run
//! with, [`runner`] the loops that serve the one list of jobs, [`scoring`] the
//! models over a check-in (live and backfill), [`inference`] the ONNX models,
//! [`models`] the data scientists' commands.
//!
//! Errors: [`context::JobError`] for one run of a job, [`inference::ModelError`]
//! for loading and running models, `anyhow` only in `main` and [`models`] (the CLI).

pub mod config;
pub mod context;
pub mod crisis;
pub mod inference;
pub mod jobs;
pub mod model_runs;
pub mod models;
pub mod notify;
pub mod promote;
pub mod rules;
pub mod runner;
pub mod scoring;
pub mod status;

use std::sync::Arc;

use config::WorkerConfig;
use context::Context;
use inference::{Models, engine::EngineSettings};
use mindwell_shared::{db, queue::QueueConn};
use tokio::sync::watch;

impl WorkerConfig {
    /// How this worker loads its models.
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            pipelines: self.inference_threads,
            threads_each: 1,
            provider: self.provider,
            batch: self.batch,
        }
    }
}

/// Loads ONNX Runtime and the active models, connects to the database and the
/// queue, and runs until `shutdown` resolves.
pub async fn serve<F>(config: WorkerConfig, shutdown: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    mindwell_shared::telemetry::install_recorder();
    inference::runtime(&config.ort_dylib)?;
    let models = Models::load(config.model_dir.clone(), config.engine_settings()).await?;
    tracing::info!(version = %models.active().version, "models loaded");
    let connections = u32::try_from(config.concurrency.min(16) + config.backfill_concurrency + 2).unwrap_or(8);
    let db = db::connect(&config.backends.database, connections).await?;
    let queue = QueueConn::connect(&config.backends).await?;
    let cache = match &config.backends.queue {
        mindwell_shared::config::Queue::Redis(url) => {
            Some(mindwell_shared::redis::client(url.expose(), std::time::Duration::from_secs(2)).await?)
        }
        mindwell_shared::config::Queue::Sqlite(_) => None,
    };
    let ctx = Arc::new(Context {
        db,
        models: models.clone(),
        rules: config.rules.clone(),
        cache,
        namespace: config.backends.namespace.clone(),
        queue: queue.clone(),
        maintenance: config.maintenance.clone(),
        email: match &config.smtp {
            Some((url, from)) => Some(Arc::new(notify::Smtp::new(url.expose(), from)?)),
            None => None,
        },
    });

    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    if let Some(redis) = &ctx.cache {
        let moved = promote::promote_all(redis, &queue).await?;
        tracing::info!(moved, "due jobs promoted");
        promote::spawn(redis.clone(), queue.clone(), stop.clone());
    }
    let name = runner::worker_id();
    models.clone().watch(config.model_poll, stop.clone());
    status::spawn(name.clone(), ctx.clone(), stop.clone());
    if let Some(addr) = config.metrics_addr {
        let mut until = stop.clone();
        let stopped = async move {
            let _ = until.wait_for(|s| *s).await;
        };
        let (local, server) = mindwell_shared::telemetry::bind(addr, status::ready_check(ctx.clone()), stopped).await?;
        tracing::info!(addr = %local, "serving /metrics and /health");
        tokio::spawn(server);
    }
    let concurrency = runner::Concurrency { live: config.concurrency, backfill: config.backfill_concurrency };
    runner::run(runner::Loops { name, queue, ctx, concurrency, poll: config.poll_interval }, stop).await
}
