//! Runs the job loop on the configured queue until SIGTERM/SIGINT, then lets
//! in-flight jobs finish.

use std::time::Instant;

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use mindwell_shared::{
    jobs::{AnalyzeCheckin, Job},
    queue::{Backend, QueueConn},
};

use crate::analyze::{self, Outcome, SharedContext};

/// A name unique to this process start, so orphan recovery tells replicas apart.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &nonce[..8])
}

/// One delivery of an `analyze_checkin` job.
///
/// A failed run goes back to the queue with backoff; once the analysis has used
/// `max_attempts` runs it is marked `failed` and the job ends dead
/// (`AbortError`), where `/admin/jobs` can see it.
async fn handle(job: AnalyzeCheckin, ctx: Data<SharedContext>) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = analyze::run(&job, &ctx).await;
    let secs = started.elapsed().as_secs_f64();
    metrics::histogram!("mindwell_job_duration_seconds", "job" => AnalyzeCheckin::NAME).record(secs);
    match result {
        Ok(outcome) => {
            let label = if outcome == Outcome::Completed { "succeeded" } else { "skipped" };
            metrics::counter!("mindwell_jobs_total", "job" => AnalyzeCheckin::NAME, "outcome" => label).increment(1);
            tracing::info!(analysis_id = %job.analysis_id, outcome = label, secs, "job done");
            Ok(())
        }
        Err(err) => {
            let attempts = analyze::attempts(&ctx.db, job.analysis_id).await.unwrap_or(0);
            if attempts >= ctx.max_attempts {
                tracing::error!(analysis_id = %job.analysis_id, attempts, error = %err, "job dead");
                if let Err(e) = analyze::mark_failed(&ctx.db, job.analysis_id, &err.to_string()).await {
                    tracing::error!(analysis_id = %job.analysis_id, error = %e, "could not mark the analysis failed");
                }
                ctx.invalidate_dashboard(job.user_id).await;
                metrics::counter!("mindwell_jobs_total", "job" => AnalyzeCheckin::NAME, "outcome" => "dead")
                    .increment(1);
                Err(AbortError::new(err).into())
            } else {
                tracing::warn!(analysis_id = %job.analysis_id, attempts, error = %err, "job failed; will retry");
                metrics::counter!("mindwell_jobs_total", "job" => AnalyzeCheckin::NAME, "outcome" => "retried")
                    .increment(1);
                Err(err.into())
            }
        }
    }
}

/// Consumes `analyze_checkin` jobs from `queue` until `shutdown` resolves.
pub async fn run<F>(
    queue: QueueConn,
    ctx: SharedContext,
    concurrency: usize,
    poll: std::time::Duration,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let name = worker_id();
    tracing::info!(worker = %name, concurrency, "worker starting");
    match queue.backend.clone() {
        Backend::Redis(conn) => {
            let config = queue.redis_config::<AnalyzeCheckin>().batch_size(concurrency);
            let storage = RedisStorage::<AnalyzeCheckin>::new(conn).with_config(config).poll_with_interval(poll);
            WorkerBuilder::new(name)
                .backend(storage)
                .concurrency(concurrency)
                .data(ctx)
                .build(handle)
                .run_until(async move {
                    shutdown.await;
                    Ok::<(), std::io::Error>(())
                })
                .await?;
        }
        Backend::Sqlite(pool) => {
            let config = queue.sqlite_config::<AnalyzeCheckin>().batch_size(concurrency);
            let storage = SqliteStorage::<AnalyzeCheckin>::new(&pool).with_config(config).poll_with_interval(poll);
            WorkerBuilder::new(name)
                .backend(storage)
                .concurrency(concurrency)
                .data(ctx)
                .build(handle)
                .run_until(async move {
                    shutdown.await;
                    Ok::<(), std::io::Error>(())
                })
                .await?;
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}
