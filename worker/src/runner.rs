//! Runs the job loops, one per queue (`analyze_checkin`, `generate_summary`,
//! `maintenance`, `reanalyze_checkin`), until SIGTERM/SIGINT, then lets in-flight
//! jobs finish.

use std::time::Instant;

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use mindwell_shared::{
    jobs::{AnalyzeCheckin, GenerateSummary, Job, Maintenance, ReanalyzeCheckin},
    queue::{Backend, QueueConn},
};
use tokio::sync::watch;

use crate::{
    analyze::{self, JobError, Outcome, SharedContext},
    maintenance, model_runs, summary,
};

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

/// Counts a run (`mindwell_jobs_started_total`, `mindwell_jobs_total{outcome}`:
/// succeeded, skipped or failed) and times it.
fn record<J: Job>(result: &Result<Outcome, JobError>, started: Instant) {
    let outcome = match result {
        Ok(Outcome::Completed) => "succeeded",
        Ok(Outcome::Skipped) => "skipped",
        Err(_) => "failed",
    };
    metrics::counter!("mindwell_jobs_started_total", "job" => J::NAME).increment(1);
    metrics::histogram!("mindwell_job_duration_seconds", "job" => J::NAME, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("mindwell_jobs_total", "job" => J::NAME, "outcome" => outcome).increment(1);
}

/// Counts what happens after a failed run: `retried` or `dead`.
fn after_failure<J: Job>(dead: bool) {
    let outcome = if dead { "dead" } else { "retried" };
    metrics::counter!("mindwell_jobs_total", "job" => J::NAME, "outcome" => outcome).increment(1);
}

/// One delivery of an `analyze_checkin` job.
///
/// A failed run goes back to the queue with backoff; once the analysis has used
/// `max_attempts` runs (counted in the database, so they survive crashes) it is
/// marked `failed` and the job ends dead (`AbortError`), where `/admin/jobs`
/// shows it.
async fn handle_analyze(job: AnalyzeCheckin, ctx: Data<SharedContext>) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = analyze::run(&job, &ctx).await;
    record::<AnalyzeCheckin>(&result, started);
    let Err(err) = result else { return Ok(()) };
    let attempts = analyze::attempts(&ctx.db, job.analysis_id).await.unwrap_or(0);
    if attempts < ctx.max_attempts {
        tracing::warn!(analysis_id = %job.analysis_id, attempts, error = %err, "job failed; will retry");
        after_failure::<AnalyzeCheckin>(false);
        return Err(err.into());
    }
    tracing::error!(analysis_id = %job.analysis_id, attempts, error = %err, "job dead");
    if let Err(e) = analyze::mark_failed(&ctx.db, job.analysis_id, &err.to_string()).await {
        tracing::error!(analysis_id = %job.analysis_id, error = %e, "could not mark the analysis failed");
    }
    ctx.invalidate_dashboard(job.user_id).await;
    after_failure::<AnalyzeCheckin>(true);
    Err(AbortError::new(err).into())
}

/// Ends a job dead once it used its attempts; retries it with backoff before.
fn settle<J: Job>(result: Result<Outcome, JobError>, attempt: &Attempt) -> Result<(), BoxDynError> {
    match result {
        Ok(_) => Ok(()),
        Err(err) if attempt.current() >= J::MAX_ATTEMPTS as usize => {
            tracing::error!(job = J::NAME, error = %err, "job dead");
            after_failure::<J>(true);
            Err(AbortError::new(err).into())
        }
        Err(err) => {
            tracing::warn!(job = J::NAME, error = %err, "job failed; will retry");
            after_failure::<J>(false);
            Err(err.into())
        }
    }
}

async fn handle_summary(job: GenerateSummary, ctx: Data<SharedContext>, attempt: Attempt) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = summary::run(&job, &ctx).await;
    record::<GenerateSummary>(&result, started);
    settle::<GenerateSummary>(result, &attempt)
}

async fn handle_maintenance(job: Maintenance, ctx: Data<SharedContext>, attempt: Attempt) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = maintenance::run(&job, &ctx).await;
    record::<Maintenance>(&result, started);
    settle::<Maintenance>(result, &attempt)
}

async fn handle_reanalyze(
    job: ReanalyzeCheckin,
    ctx: Data<SharedContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = model_runs::run_backfill(&job, &ctx).await;
    record::<ReanalyzeCheckin>(&result, started);
    settle::<ReanalyzeCheckin>(result, &attempt)
}

/// Runs a worker for job `J` with handler `$handler` on `$queue` until `$stop` fires.
macro_rules! serve_queue {
    ($queue:expr, $job:ty, $handler:expr, $ctx:expr, $concurrency:expr, $poll:expr, $name:expr, $stop:expr) => {
        async {
            let queue: &QueueConn = $queue;
            let mut stop: watch::Receiver<bool> = $stop;
            let until = async move {
                let _ = stop.wait_for(|s| *s).await;
                Ok::<(), std::io::Error>(())
            };
            let name: String = $name;
            match queue.backend.clone() {
                Backend::Redis(conn) => {
                    let config = queue.redis_config::<$job>().batch_size($concurrency);
                    let storage = RedisStorage::<$job>::new(conn).with_config(config).poll_with_interval($poll);
                    WorkerBuilder::new(name)
                        .backend(storage)
                        .concurrency($concurrency)
                        .data($ctx)
                        .build($handler)
                        .run_until(until)
                        .await
                }
                Backend::Sqlite(pool) => {
                    let config = queue.sqlite_config::<$job>().batch_size($concurrency);
                    let storage = SqliteStorage::<$job>::new(&pool).with_config(config).poll_with_interval($poll);
                    WorkerBuilder::new(name)
                        .backend(storage)
                        .concurrency($concurrency)
                        .data($ctx)
                        .build($handler)
                        .run_until(until)
                        .await
                }
            }
        }
    };
}

/// Runs `serve_queue!` again whenever its loop ends with an error (Redis
/// restarted, the network dropped) until `$stop` fires, backing off from 0.5 s
/// to 10 s. Each restart registers under a new name, so the jobs the broken
/// loop held go back to the queue through orphan recovery (analyses are
/// idempotent: a completed one is skipped).
macro_rules! supervise {
    ($queue:expr, $job:ty, $handler:expr, $ctx:expr, $concurrency:expr, $poll:expr, $name:expr, $stop:expr) => {
        async {
            let mut stop: watch::Receiver<bool> = $stop;
            let base = format!("{}-{}", $name, <$job as Job>::NAME);
            let mut restarts = 0u32;
            let mut backoff = RESTART_BACKOFF_MIN;
            loop {
                let name = if restarts == 0 { base.clone() } else { format!("{base}-r{restarts}") };
                let started = Instant::now();
                let result =
                    serve_queue!($queue, $job, $handler, $ctx.clone(), $concurrency, $poll, name, stop.clone()).await;
                if *stop.borrow() {
                    return result.map_err(anyhow::Error::from);
                }
                if started.elapsed() > RESTART_BACKOFF_RESET {
                    backoff = RESTART_BACKOFF_MIN;
                }
                let error = result.err().map(|e| e.to_string()).unwrap_or_else(|| "ended".into());
                tracing::warn!(job = <$job as Job>::NAME, error, retry_in = ?backoff, "job loop stopped; restarting");
                metrics::counter!("mindwell_worker_loop_restarts_total", "job" => <$job as Job>::NAME).increment(1);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
                restarts += 1;
            }
        }
    };
}

const RESTART_BACKOFF_MIN: std::time::Duration = std::time::Duration::from_millis(500);
const RESTART_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(10);
/// A loop that ran this long before failing starts again from the shortest backoff.
const RESTART_BACKOFF_RESET: std::time::Duration = std::time::Duration::from_secs(60);

/// How many jobs of each queue one worker runs at once.
#[derive(Debug, Clone, Copy)]
pub struct Concurrency {
    /// `analyze_checkin` and `generate_summary`.
    pub live: usize,
    /// `reanalyze_checkin` (backfills), kept low so live jobs keep their latency.
    pub backfill: usize,
}

/// Consumes every queue until `stop` turns true.
pub async fn run(
    name: &str,
    queue: QueueConn,
    ctx: SharedContext,
    concurrency: Concurrency,
    poll: std::time::Duration,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    tracing::info!(worker = %name, concurrency = concurrency.live, "worker starting");
    let (live, backfill, rx) = (concurrency.live, concurrency.backfill, stop);
    // A check-in's insight is awaited by its user: its queue polls at `poll`.
    // Summaries, maintenance and backfills are not, and poll less often.
    let slow = (poll * 5).max(std::time::Duration::from_millis(100));
    let (a, s, m, r) = tokio::join!(
        supervise!(&queue, AnalyzeCheckin, handle_analyze, ctx, live, poll, name, rx.clone()),
        supervise!(&queue, GenerateSummary, handle_summary, ctx, live, slow, name, rx.clone()),
        supervise!(&queue, Maintenance, handle_maintenance, ctx, 1, slow, name, rx.clone()),
        supervise!(&queue, ReanalyzeCheckin, handle_reanalyze, ctx, backfill, slow, name, rx.clone()),
    );
    a?;
    s?;
    m?;
    r?;
    tracing::info!("worker stopped");
    Ok(())
}
