//! `mindwell-worker`: runs the ONNX models over check-ins from the job queue and
//! writes analyses and alerts back.
//!
//! Errors: [`analyze::JobError`] for one run of a job, [`inference::ModelError`]
//! for loading and running models, `anyhow` only in `main`.

pub mod analyze;
pub mod config;
pub mod crisis;
pub mod inference;
pub mod maintenance;
pub mod notify;
pub mod rules;
pub mod runner;
pub mod summary;

use std::sync::Arc;

use analyze::JobContext;
use config::WorkerConfig;
use inference::{ActiveModels, PipelinePool};
use mindwell_shared::{db, queue::QueueConn};

/// Loads ONNX Runtime and the active models, connects to the database and the
/// queue, and runs until `shutdown` resolves.
pub async fn serve<F>(config: WorkerConfig, shutdown: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    inference::runtime(&config.ort_dylib)?;
    let active = ActiveModels::resolve(&config.model_dir)?;
    let pool_size = config.inference_threads;
    let models = tokio::task::spawn_blocking(move || PipelinePool::load(&active, pool_size, 1)).await??;
    tracing::info!(version = %models.version, "models loaded");
    let connections = u32::try_from(config.concurrency + 2).unwrap_or(8);
    let db = db::connect(&config.backends.database, connections).await?;
    let queue = QueueConn::connect(&config.backends).await?;
    let cache = match &config.backends.queue {
        mindwell_shared::config::Queue::Redis(url) => {
            use fred::interfaces::ClientLike;
            let client = fred::clients::Client::new(fred::types::config::Config::from_url(url)?, None, None, None);
            client.init().await?;
            Some(client)
        }
        mindwell_shared::config::Queue::Sqlite(_) => None,
    };
    let ctx = Arc::new(JobContext {
        db,
        models,
        rules: config.rules.clone(),
        max_attempts: config.max_attempts,
        cache,
        namespace: config.backends.namespace.clone(),
        queue: queue.clone(),
        maintenance: config.maintenance.clone(),
        email: match &config.smtp {
            Some((url, from)) => Some(Arc::new(notify::Smtp::new(url, from).map_err(anyhow::Error::msg)?)),
            None => None,
        },
    });
    runner::run(queue, ctx, config.concurrency, config.poll_interval, shutdown).await
}
