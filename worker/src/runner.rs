//! Runs one job loop per job of the one list (`mindwell_shared::for_each_job!`)
//! until SIGTERM/SIGINT, then lets in-flight jobs finish. Every job follows the
//! same retry policy, declared on the job: a failed run goes back to the queue
//! with backoff until it has used [`Job::MAX_ATTEMPTS`] runs, then the job ends
//! dead (`AbortError`), where `/admin/jobs` shows it and can retry it.

use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use mindwell_shared::{
    error_chain,
    jobs::{Job, Lane},
    queue::{Backend, QueueConn},
};
use tokio::sync::watch;

use crate::{
    context::{JobError, Outcome, SharedContext},
    jobs::Perform,
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

/// How many jobs of each lane one worker runs at once.
#[derive(Debug, Clone, Copy)]
pub struct Concurrency {
    /// [`Lane::Live`]: analyses and summaries.
    pub live: usize,
    /// [`Lane::Backfill`], kept low so live jobs keep their latency.
    pub backfill: usize,
}

impl Concurrency {
    fn of(self, lane: Lane) -> usize {
        match lane {
            Lane::Live => self.live,
            Lane::Backfill => self.backfill,
            Lane::Single => 1,
        }
    }
}

/// How a worker serves every queue.
#[derive(Debug, Clone)]
pub struct Loops {
    pub name: String,
    pub queue: QueueConn,
    pub ctx: SharedContext,
    pub concurrency: Concurrency,
    /// The poll interval of queues users wait on ([`Job::AWAITED`]); the
    /// others poll at five times that, at least every 100 ms.
    pub poll: Duration,
}

/// Consumes every queue of the job list until `stop` turns true.
pub async fn run(loops: Loops, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    tracing::info!(worker = %loops.name, concurrency = loops.concurrency.live, "worker starting");
    macro_rules! serve_all {
        ($($job:path),+) => {
            futures::future::join_all([$(Box::pin(supervise::<$job>(&loops, stop.clone())) as futures::future::BoxFuture<'_, anyhow::Result<()>>),+]).await
        };
    }
    let results = mindwell_shared::for_each_job!(serve_all);
    for result in results {
        result?;
    }
    tracing::info!("worker stopped");
    Ok(())
}

const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(500);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A loop that ran this long before failing starts again from the shortest backoff.
const RESTART_BACKOFF_RESET: Duration = Duration::from_secs(60);

/// Runs job `J`'s loop again whenever it ends with an error (Redis restarted,
/// the network dropped) until `stop` fires, backing off from 0.5 s to 10 s.
/// Each restart registers under a new name, so the jobs the broken loop held
/// go back to the queue through orphan recovery (jobs are idempotent).
async fn supervise<J: Perform>(loops: &Loops, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let base = format!("{}-{}", loops.name, J::NAME);
    let mut restarts = 0u32;
    let mut backoff = RESTART_BACKOFF_MIN;
    loop {
        let name = if restarts == 0 { base.clone() } else { format!("{base}-r{restarts}") };
        let started = Instant::now();
        let result = serve::<J>(loops, name, stop.clone()).await;
        if *stop.borrow() {
            return result.map_err(anyhow::Error::from);
        }
        if started.elapsed() > RESTART_BACKOFF_RESET {
            backoff = RESTART_BACKOFF_MIN;
        }
        let error = result.err().map(|e| error_chain(&e)).unwrap_or_else(|| "ended".into());
        tracing::warn!(job = J::NAME, error, retry_in = ?backoff, "job loop stopped; restarting");
        metrics::counter!("mindwell_worker_loop_restarts_total", "job" => J::NAME).increment(1);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
        restarts += 1;
    }
}

/// One loop of job `J` on its queue, until `stop` fires or the loop fails.
async fn serve<J: Perform>(loops: &Loops, name: String, mut stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
    let until = async move {
        let _ = stop.wait_for(|s| *s).await;
        Ok::<(), std::io::Error>(())
    };
    let concurrency = loops.concurrency.of(J::LANE);
    let poll = if J::AWAITED { loops.poll } else { (loops.poll * 5).max(Duration::from_millis(100)) };
    let ctx = loops.ctx.clone();
    // The two arms differ only in the storage's type: apalis' builder is
    // generic over it with bounds longer than the repetition they would save.
    match loops.queue.backend.clone() {
        Backend::Redis(conn) => {
            let config = loops.queue.redis_config::<J>().batch_size(concurrency);
            let storage = RedisStorage::<J>::new(conn).with_config(config).poll_with_interval(poll);
            WorkerBuilder::new(name)
                .backend(storage)
                .concurrency(concurrency)
                .data(ctx)
                .build(handle::<J>)
                .run_until(until)
                .await
        }
        Backend::Sqlite(pool) => {
            let config = loops.queue.sqlite_config::<J>().batch_size(concurrency);
            let storage = SqliteStorage::<J>::new(&pool).with_config(config).poll_with_interval(poll);
            WorkerBuilder::new(name)
                .backend(storage)
                .concurrency(concurrency)
                .data(ctx)
                .build(handle::<J>)
                .run_until(until)
                .await
        }
    }
}

/// One delivery of a job of kind `J`: runs it, counts it, and decides from
/// [`Perform::attempts`] whether a failure is retried or ends the job dead.
async fn handle<J: Perform>(job: J, ctx: Data<SharedContext>, attempt: Attempt) -> Result<(), BoxDynError> {
    let started = Instant::now();
    let result = job.perform(&ctx).await;
    record::<J>(&result, started);
    let Err(err) = result else { return Ok(()) };
    let attempts = job.attempts(&ctx, attempt.current()).await;
    // The queue keeps the text as the job's last error: the whole chain.
    let text = error_chain(&err);
    if attempts < J::MAX_ATTEMPTS {
        tracing::warn!(job = J::NAME, ids = %job.audit_ids(), attempts, error = %text, "job failed; will retry");
        after_failure::<J>(false);
        return Err(text.into());
    }
    tracing::error!(job = J::NAME, ids = %job.audit_ids(), attempts, error = %text, "job dead");
    job.on_dead(&ctx, &err).await;
    after_failure::<J>(true);
    Err(AbortError::new(std::io::Error::other(text)).into())
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
