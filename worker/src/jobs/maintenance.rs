//! The `maintenance` job: alert escalation, the stale-analysis sweeper and
//! retention clean-up. Each takes its clock from the job (`as_of`), so the
//! scheduler decides what "now" is and tests can move it.

use chrono::Duration;
use mindwell_shared::{
    domain::{AlertStatus, Role, Severity, analysis, audit},
    entities::{alerts, audit_logs, consents, idempotency_keys, refresh_tokens, users},
    events,
    jobs::{AnalyzeCheckin, Maintenance},
    now,
    queue::redis_keys,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::Perform;
use crate::context::{Context, JobError, Outcome};

impl Perform for Maintenance {
    async fn perform(&self, ctx: &Context) -> Result<Outcome, JobError> {
        run(self, ctx).await
    }
}

/// Runs one maintenance task.
#[tracing::instrument(name = "maintenance", skip_all)]
async fn run(job: &Maintenance, ctx: &Context) -> Result<Outcome, JobError> {
    match job {
        Maintenance::ScanAlerts { as_of } => scan_alerts(ctx, *as_of).await,
        Maintenance::SweepStale { as_of } => sweep_stale(ctx, *as_of).await,
        Maintenance::Cleanup { as_of } => cleanup(ctx, *as_of).await,
    }
}

/// Escalates open alerts left unacknowledged past the threshold: a warning
/// becomes critical, a critical one is marked escalated; the user's consenting
/// coaches and the admins are notified, and the change is audited.
async fn scan_alerts(ctx: &Context, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    let due = alerts::Entity::find()
        .filter(alerts::Column::Status.eq(AlertStatus::Open))
        .filter(alerts::Column::Severity.is_in([Severity::Warning, Severity::Critical]))
        .filter(alerts::Column::CreatedAt.lte(as_of - ctx.maintenance.escalate_after))
        .order_by_asc(alerts::Column::CreatedAt)
        .limit(1000)
        .all(db)
        .await?;
    let admins: Vec<Uuid> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Role.eq(Role::Admin))
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
            .col_expr(alerts::Column::Severity, Expr::value(Severity::Critical))
            .col_expr(alerts::Column::Payload, Expr::value(payload))
            .col_expr(alerts::Column::UpdatedAt, Expr::value(now()))
            .filter(alerts::Column::Id.eq(a.id))
            .filter(alerts::Column::Status.eq(AlertStatus::Open))
            .exec(db)
            .await?;
        if changed.rows_affected == 0 {
            continue;
        }
        audit::record(
            db,
            None,
            "alert.escalated",
            json!({ "alert_id": a.id, "user_id": a.user_id, "from": a.severity }),
        )
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
async fn sweep_stale(ctx: &Context, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
    let stale = analysis::sweep_stale(&ctx.db, as_of - ctx.maintenance.stale_after, 500).await?;
    let mut requeued = 0;
    for job in stale.into_iter().map(AnalyzeCheckin::from) {
        let id = job.analysis_id;
        if let Err(e) = ctx.queue.push(job).await {
            tracing::warn!(analysis_id = %id, error = %mindwell_shared::error_chain(&e), "sweeper could not enqueue");
            continue;
        }
        requeued += 1;
    }
    metrics::counter!("mindwell_jobs_swept_total").increment(requeued);
    tracing::info!(requeued, "stale sweep done");
    Ok(Outcome::Completed)
}

/// Deletes what retention no longer keeps.
async fn cleanup(ctx: &Context, as_of: chrono::DateTime<chrono::Utc>) -> Result<Outcome, JobError> {
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
/// retention window, in every queue of the job list. Dead jobs stay for operators.
async fn purge_job_results(ctx: &Context, as_of: chrono::DateTime<chrono::Utc>) -> Result<u64, JobError> {
    let Some(redis) = &ctx.cache else { return Ok(0) };
    let cutoff = (as_of - ctx.maintenance.job_result_retention).timestamp();
    let mut purged = 0u64;
    for (_, keys) in ctx.queue.queues() {
        purged += redis_keys::purge_done(redis, &keys, cutoff).await?;
    }
    Ok(purged)
}
