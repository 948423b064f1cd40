//! The `maintenance` job: alert escalation, the stale-analysis sweeper and
//! retention clean-up. Each takes its clock from the job (`as_of`), so the
//! scheduler decides what "now" is and tests can move it.

use chrono::Duration;
use mindwell_shared::{
    analysis::{alert, status},
    entities::{
        ai_analysis_results as analyses, alerts, audit_logs, consents, idempotency_keys, refresh_tokens, users,
    },
    events,
    jobs::{AnalyzeCheckin, Maintenance},
    now,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::analyze::{JobContext, JobError, Outcome};

/// Thresholds of the upkeep tasks.
#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Open critical (or warning) alerts older than this are escalated.
    pub escalate_after: Duration,
    /// Analyses `queued`/`running` untouched this long are enqueued again.
    pub stale_after: Duration,
    /// Audit entries older than this are deleted.
    pub audit_retention: Duration,
    /// Finished jobs' results kept in the queue (apalis-redis never expires them).
    pub job_result_retention: Duration,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            escalate_after: Duration::minutes(30),
            stale_after: Duration::minutes(5),
            audit_retention: Duration::days(365),
            job_result_retention: Duration::days(7),
        }
    }
}

/// Runs one maintenance task.
#[tracing::instrument(name = "maintenance", skip_all)]
pub async fn run(job: &Maintenance, ctx: &JobContext) -> Result<Outcome, JobError> {
    match job {
        Maintenance::ScanAlerts { as_of } => scan_alerts(ctx, *as_of).await,
        Maintenance::SweepStale { as_of } => sweep_stale(ctx, *as_of).await,
        Maintenance::Cleanup { as_of } => cleanup(ctx, *as_of).await,
    }
}

/// Escalates open alerts left unacknowledged past the threshold: a warning
/// becomes critical, a critical one is marked escalated; the user's consenting
/// coaches and the admins are notified, and the change is audited.
async fn scan_alerts(ctx: &JobContext, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    let due = alerts::Entity::find()
        .filter(alerts::Column::Status.eq(alert::OPEN))
        .filter(alerts::Column::Severity.is_in([alert::WARNING, alert::CRITICAL]))
        .filter(alerts::Column::CreatedAt.lte(as_of - ctx.maintenance.escalate_after))
        .order_by_asc(alerts::Column::CreatedAt)
        .limit(1000)
        .all(db)
        .await?;
    let admins: Vec<Uuid> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Role.eq("admin"))
        .filter(users::Column::Disabled.eq(false))
        .into_tuple()
        .all(db)
        .await?;
    let mut escalated = 0;
    for a in due.into_iter().filter(|a| a.payload.get("escalated_at").is_none()) {
        let mut payload = a.payload.clone();
        payload["escalated_at"] = json!(as_of);
        payload["escalated_from"] = json!(a.severity);
        let changed = alerts::Entity::update_many()
            .col_expr(alerts::Column::Severity, Expr::value(alert::CRITICAL))
            .col_expr(alerts::Column::Payload, Expr::value(payload))
            .col_expr(alerts::Column::UpdatedAt, Expr::value(now()))
            .filter(alerts::Column::Id.eq(a.id))
            .filter(alerts::Column::Status.eq(alert::OPEN))
            .exec(db)
            .await?;
        if changed.rows_affected == 0 {
            continue;
        }
        audit_logs::Entity::insert(audit_logs::ActiveModel {
            id: Set(Uuid::now_v7()),
            actor_id: Set(None),
            action: Set("alert.escalated".into()),
            context: Set(json!({ "alert_id": a.id, "user_id": a.user_id, "from": a.severity })),
            created_at: Set(now()),
        })
        .exec_without_returning(db)
        .await?;
        let coaches: Vec<Uuid> = consents::Entity::find()
            .select_only()
            .column(consents::Column::CoachId)
            .filter(consents::Column::UserId.eq(a.user_id))
            .filter(consents::Column::RevokedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        let mut notify: Vec<Uuid> = coaches.into_iter().chain(admins.iter().copied()).collect();
        notify.sort_unstable();
        notify.dedup();
        for who in notify {
            ctx.publish(events::ALERT_CREATED, who, a.id).await;
        }
        ctx.invalidate_dashboard(a.user_id).await;
        metrics::counter!("mindwell_alerts_escalated_total").increment(1);
        escalated += 1;
    }
    tracing::info!(escalated, "alert scan done");
    Ok(Outcome::Completed)
}

/// Enqueues again the analyses stuck in `queued`/`running`.
async fn sweep_stale(ctx: &JobContext, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
    let stale = analyses::Entity::find()
        .filter(analyses::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .filter(analyses::Column::UpdatedAt.lt(as_of - ctx.maintenance.stale_after))
        .order_by_asc(analyses::Column::UpdatedAt)
        .limit(500)
        .all(&ctx.db)
        .await?;
    let mut requeued = 0;
    for a in stale {
        // Touch first: the next sweep leaves it alone for another interval.
        analyses::Entity::update_many()
            .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
            .filter(analyses::Column::Id.eq(a.id))
            .exec(&ctx.db)
            .await?;
        let job = AnalyzeCheckin {
            analysis_id: a.id,
            checkin_id: a.checkin_id,
            user_id: a.user_id,
            request_id: a.request_id,
        };
        if let Err(e) = ctx.queue.push(job).await {
            tracing::warn!(analysis_id = %a.id, error = %e, "sweeper could not enqueue");
            continue;
        }
        requeued += 1;
    }
    metrics::counter!("mindwell_jobs_swept_total").increment(requeued);
    tracing::info!(requeued, "stale sweep done");
    Ok(Outcome::Completed)
}

/// Deletes what retention no longer keeps.
async fn cleanup(ctx: &JobContext, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    let tokens = refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(as_of - Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    let keys = idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::ExpiresAt.lt(as_of))
        .exec(db)
        .await?
        .rows_affected;
    let audit = audit_logs::Entity::delete_many()
        .filter(audit_logs::Column::CreatedAt.lt(as_of - ctx.maintenance.audit_retention))
        .exec(db)
        .await?
        .rows_affected;
    let results = purge_job_results(ctx, as_of).await?;
    tracing::info!(tokens, keys, audit, results, "clean-up done");
    Ok(Outcome::Completed)
}

/// Deletes the stored payloads and results of jobs that finished before the
/// retention window, in each queue's `done` set. Dead jobs stay for operators.
async fn purge_job_results(ctx: &JobContext, as_of: chrono::DateTime<chrono::Utc>) -> Result<u64, JobError> {
    use fred::interfaces::{HashesInterface, KeysInterface, SetsInterface};
    let Some(redis) = &ctx.cache else { return Ok(0) };
    let cutoff = (as_of - ctx.maintenance.job_result_retention).timestamp();
    let mut purged = 0u64;
    for queue in [
        ctx.queue.queue_name::<AnalyzeCheckin>(),
        ctx.queue.queue_name::<mindwell_shared::jobs::GenerateSummary>(),
        ctx.queue.queue_name::<Maintenance>(),
    ] {
        let done: Vec<String> = redis.smembers(format!("{queue}:done")).await.map_err(redis_err)?;
        for id in done {
            let meta = format!("{queue}:meta:{id}");
            let done_at: Option<i64> = redis.hget(&meta, "done_at").await.map_err(redis_err)?;
            if done_at.is_some_and(|t| t > cutoff) {
                continue;
            }
            let _: i64 = redis.del(&meta).await.map_err(redis_err)?;
            let _: i64 = redis.hdel(format!("{queue}:data"), &id).await.map_err(redis_err)?;
            let _: i64 = redis.srem(format!("{queue}:done"), &id).await.map_err(redis_err)?;
            purged += 1;
        }
    }
    Ok(purged)
}

fn redis_err(e: fred::error::Error) -> JobError {
    JobError::Queue(e.to_string())
}
