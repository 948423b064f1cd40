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

use fred::interfaces::{HashesInterface, KeysInterface, ListInterface, SetsInterface, SortedSetsInterface};
use mindwell_shared::{analysis::status, entities::ai_analysis_results as analyses, jobs::AnalyzeCheckin, now};
use poem_openapi::{Object, OpenApi, param::Path};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use super::Tag;
use crate::{
    audit,
    auth::guard::Auth,
    body::{Reply, ok},
    error::ApiError,
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

/// One queue's depths and (up to 100 of) its dead jobs, from apalis-redis' keys.
async fn queue_stats(
    pool: &fred::clients::Pool,
    name: &str,
    queue: &str,
) -> Result<(QueueStats, Vec<DeadJob>), fred::error::Error> {
    let queued: u64 = pool.llen(format!("{queue}:active")).await?;
    let scheduled: u64 = pool.zcard(format!("{queue}:scheduled")).await?;
    let workers: Vec<String> = pool.zrange(format!("{queue}:workers"), 0, -1, None, false, None, false).await?;
    let mut running = 0u64;
    for w in &workers {
        let n: u64 = pool.scard(format!("{queue}:inflight:{w}")).await?;
        running += n;
    }
    let dead_ids: Vec<String> = pool.smembers(format!("{queue}:dead")).await?;
    let mut dead_jobs = Vec::new();
    for id in dead_ids.iter().take(100) {
        let payload: Option<String> = pool.hget(format!("{queue}:data"), id).await?;
        let meta: BTreeMap<String, String> = pool.hgetall(format!("{queue}:meta:{id}")).await?;
        let last_error = meta.get("result").map(|r| {
            serde_json::from_str::<serde_json::Value>(r)
                .ok()
                .and_then(|v| v["Err"].as_str().map(str::to_owned))
                .unwrap_or_else(|| r.clone())
        });
        dead_jobs.push(DeadJob {
            id: id.clone(),
            queue: name.into(),
            payload: payload.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
            attempts: meta.get("attempts").and_then(|a| a.parse().ok()),
            last_error,
        });
    }
    let stats = QueueStats {
        name: name.into(),
        queued,
        scheduled,
        running,
        dead: dead_ids.len() as u64,
        workers: workers.len() as u64,
    };
    Ok((stats, dead_jobs))
}

fn redis_err(e: fred::error::Error) -> ApiError {
    ApiError::Unavailable(format!("redis: {e}"))
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
        let counts: Vec<(String, i64)> = analyses::Entity::find()
            .select_only()
            .column(analyses::Column::Status)
            .column_as(Expr::col(analyses::Column::Id).count(), "n")
            .group_by(analyses::Column::Status)
            .into_tuple()
            .all(&state.db)
            .await?;
        let analyses = counts.into_iter().map(|(s, n)| (s, u64::try_from(n).unwrap_or(0))).collect();
        let Some(pool) = state.kv.redis_pool() else {
            return Ok(ok(JobsOverview { backend: "sqlite".into(), queues: vec![], dead_jobs: vec![], analyses }));
        };
        let mut queues = Vec::new();
        let mut dead_jobs = Vec::new();
        for (name, key) in state.queue.queues() {
            let (stats, dead) = queue_stats(pool, name, &key).await.map_err(redis_err)?;
            queues.push(stats);
            dead_jobs.extend(dead);
        }
        dead_jobs.truncate(100);
        Ok(ok(JobsOverview { backend: "redis".into(), queues, dead_jobs, analyses }))
    }

    /// Put a dead job back: its analysis returns to `queued` with a fresh
    /// attempt count and a new job is enqueued for it.
    #[oai(path = "/:id/retry", method = "post")]
    async fn retry(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
    ) -> Result<Reply<Retried>, ApiError> {
        auth.0.require_admin()?;
        let pool = state.kv.redis_pool().ok_or(ApiError::NotFound)?;
        let queue = state.queue.queue_name::<AnalyzeCheckin>();
        let is_dead: bool = pool.sismember(format!("{queue}:dead"), &id.0).await.map_err(redis_err)?;
        if !is_dead {
            return Err(ApiError::NotFound);
        }
        let payload: Option<String> = pool.hget(format!("{queue}:data"), &id.0).await.map_err(redis_err)?;
        let job: AnalyzeCheckin = payload
            .and_then(|p| serde_json::from_str(&p).ok())
            .ok_or_else(|| ApiError::Conflict("the dead job has no readable payload".into()))?;
        analyses::Entity::update_many()
            .col_expr(analyses::Column::Status, Expr::value(status::QUEUED))
            .col_expr(analyses::Column::Attempts, Expr::value(0))
            .col_expr(analyses::Column::Error, Expr::value(Option::<String>::None))
            .col_expr(analyses::Column::CompletedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
            .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
            .filter(analyses::Column::Id.eq(job.analysis_id))
            .filter(analyses::Column::Status.eq(status::FAILED))
            .exec(&state.db)
            .await?;
        state.queue.push(job.clone()).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let _: u64 = pool.srem(format!("{queue}:dead"), &id.0).await.map_err(redis_err)?;
        let _: u64 = pool.del(format!("{queue}:meta:{}", id.0)).await.map_err(redis_err)?;
        audit::record(
            &state.db,
            Some(auth.0.id),
            "job.retried",
            json!({ "job_id": id.0, "analysis_id": job.analysis_id }),
        )
        .await?;
        Ok(ok(Retried { id: id.0, status: status::QUEUED.into() }))
    }
}
