//! `/api/v1/admin/jobs`: queue depths, running and dead jobs, and retrying a
//! dead job.
//!
//! apalis-redis 1.0.0's own listing and metrics calls fail (see the README), so
//! this reads its keys directly: `<queue>:active` (list), `:scheduled` (sorted
//! set), `:workers` (sorted set) with one `:inflight:<worker>` set each,
//! `:dead` (set), `:data` (hash of payloads) and `:meta:<id>` (hash with the
//! last result and attempts). The database, the source of truth, adds the
//! analyses' own statuses.

use std::collections::BTreeMap;

use mindwell_shared::{
    domain::{AnalysisStatus, analysis, audit},
    queue::{
        redis_keys::{self, QueueKeys},
        retry::{RetryError, retry_dead},
    },
};
use poem_openapi::{Object, OpenApi, param::Path};
use serde_json::json;

use super::Tag;
use crate::{
    auth::guard::Auth,
    body::{Reply, ok},
    error::{ApiError, failure},
    state::AppState,
};

/// One queue's depths.
#[derive(Debug, Clone, Object)]
pub struct QueueStats {
    pub name: String,
    /// Ready to run now.
    pub queued: u64,
    /// Waiting for their time (new pushes and retries with backoff).
    pub scheduled: u64,
    /// Taken by a worker and not yet finished.
    pub running: u64,
    pub dead: u64,
    /// Workers registered on the queue.
    pub workers: u64,
}

/// A job that used up its attempts.
#[derive(Debug, Clone, Object)]
pub struct DeadJob {
    /// The queue's task id, for `POST /admin/jobs/{id}/retry`.
    pub id: String,
    pub queue: String,
    pub payload: serde_json::Value,
    #[oai(nullable)]
    pub attempts: Option<u64>,
    #[oai(nullable)]
    pub last_error: Option<String>,
}

/// The queue as operators see it.
#[derive(Debug, Clone, Object)]
pub struct JobsOverview {
    /// `redis` or `sqlite` (embedded; no per-queue figures).
    pub backend: String,
    pub queues: Vec<QueueStats>,
    pub dead_jobs: Vec<DeadJob>,
    /// Analyses by status, from the database.
    pub analyses: BTreeMap<String, u64>,
}

/// The answer to a retry.
#[derive(Debug, Clone, Object)]
pub struct Retried {
    pub id: String,
    /// `queued` again.
    pub status: String,
}

/// One queue's depths and (up to 100 of) its dead jobs.
async fn queue_stats(
    pool: &fred::clients::Pool,
    name: &str,
    keys: &QueueKeys,
) -> Result<(QueueStats, Vec<DeadJob>), fred::error::Error> {
    let d = redis_keys::depths(pool, keys).await?;
    let stats = QueueStats {
        name: name.into(),
        queued: d.queued,
        scheduled: d.scheduled,
        running: d.running,
        dead: d.dead,
        workers: d.workers,
    };
    let dead_jobs = redis_keys::dead_jobs(pool, keys, 100)
        .await?
        .into_iter()
        .map(|j| DeadJob {
            id: j.id,
            queue: name.into(),
            payload: j.payload.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
            attempts: j.attempts,
            last_error: j.last_error,
        })
        .collect();
    Ok((stats, dead_jobs))
}

/// The job endpoints.
#[derive(Debug, Default)]
pub struct JobsApi;

#[OpenApi(prefix_path = "/api/v1/admin/jobs", tag = "Tag::Admin")]
impl JobsApi {
    /// Queue depths, running jobs, dead jobs with their last error.
    #[oai(path = "/", method = "get")]
    async fn overview(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<JobsOverview>, ApiError> {
        auth.0.require_admin()?;
        let analyses = analysis::counts_by_status(&state.db).await?;
        let Some(pool) = state.kv.redis_pool() else {
            return Ok(ok(JobsOverview { backend: "sqlite".into(), queues: vec![], dead_jobs: vec![], analyses }));
        };
        let mut queues = Vec::new();
        let mut dead_jobs = Vec::new();
        for (name, keys) in state.queue.queues() {
            let (stats, dead) = queue_stats(pool, name, &keys).await?;
            queues.push(stats);
            dead_jobs.extend(dead);
        }
        dead_jobs.truncate(100);
        Ok(ok(JobsOverview { backend: "redis".into(), queues, dead_jobs, analyses }))
    }

    /// Put a dead job back, whatever its queue: what it affects is reset (an
    /// analysis returns to `queued` with a fresh attempt count) and a new job
    /// is enqueued with its payload.
    #[oai(path = "/:id/retry", method = "post")]
    async fn retry(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
    ) -> Result<Reply<Retried>, ApiError> {
        auth.0.require_admin()?;
        let pool = state.kv.redis_pool().ok_or(ApiError::NotFound)?;
        let mut found = None;
        for (name, keys) in state.queue.queues() {
            if let Some(payload) = redis_keys::dead_payload(pool, &keys, &id.0).await? {
                found = Some((name, keys, payload));
                break;
            }
        }
        let (name, keys, payload) = found.ok_or(ApiError::NotFound)?;
        let payload = payload.ok_or_else(|| ApiError::Conflict("the dead job has no readable payload".into()))?;
        let ids = retry_dead(&state.queue, &state.db, name, &payload).await.map_err(|e| match e {
            RetryError::UnknownQueue(_) => ApiError::NotFound,
            RetryError::Payload(_) => ApiError::Conflict("the dead job has no readable payload".into()),
            RetryError::Database(e) => e.into(),
            RetryError::Queue(e) => ApiError::Unavailable(failure("queue", e)),
        })?;
        redis_keys::forget_dead(pool, &keys, &id.0).await?;
        let mut context = json!({ "job_id": id.0, "queue": name });
        if let (Some(c), Some(ids)) = (context.as_object_mut(), ids.as_object()) {
            c.extend(ids.clone());
        }
        audit::record(&state.db, Some(auth.0.id), "job.retried", context).await?;
        Ok(ok(Retried { id: id.0, status: AnalysisStatus::Queued.into() }))
    }
}
