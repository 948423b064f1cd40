//! The analysis lifecycle, in one place for the API, the worker and the
//! scheduler: `queued → running → completed | failed`, and back to `queued`
//! when an operator retries a dead job or the sweeper finds one stuck.
//!
//! The database is the source of truth. Every transition is a guarded
//! `UPDATE … WHERE status IN (…)`, so a redelivered job, two workers or a
//! retry racing a completion change a row at most once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::kinds::AnalysisStatus;
use crate::{entities::ai_analysis_results as analyses, now};

/// The sentiment of the notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// `negative`, `neutral` or `positive`.
    pub label: String,
    /// The probability of that label, 0..1.
    pub score: f64,
}

/// `labels` of an insight: `{"sentiment", "emotions", "stress_level", "risk_score"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub sentiment: Sentiment,
    /// Emotion name to probability, 0..1.
    pub emotions: BTreeMap<String, f64>,
    /// `low`, `moderate` or `high`.
    pub stress_level: String,
    /// 0..1.
    pub risk_score: f64,
}

/// A new `queued` analysis of `checkin_id`, stored with its check-in.
pub fn queued(
    id: Uuid,
    checkin_id: Uuid,
    user_id: Uuid,
    request_id: Option<String>,
    at: DateTime<Utc>,
) -> analyses::ActiveModel {
    analyses::ActiveModel {
        id: Set(id),
        checkin_id: Set(checkin_id),
        user_id: Set(user_id),
        status: Set(AnalysisStatus::Queued.into()),
        model_version: Set(None),
        summary: Set(None),
        labels: Set(None),
        confidence: Set(None),
        raw_features: Set(None),
        error: Set(None),
        attempts: Set(0),
        request_id: Set(request_id),
        created_at: Set(at),
        started_at: Set(None),
        completed_at: Set(None),
        updated_at: Set(at),
    }
}

/// Claims a run: `queued`/`running` → `running`, attempts + 1. `false` when the
/// analysis is finished or gone (nothing to do).
pub async fn claim<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    let at = now();
    let claimed = analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(AnalysisStatus::Running))
        .col_expr(analyses::Column::Attempts, Expr::col(analyses::Column::Attempts).add(1))
        .col_expr(analyses::Column::StartedAt, Expr::value(at))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(at))
        .filter(analyses::Column::Id.eq(id))
        .filter(analyses::Column::Status.is_in(AnalysisStatus::UNFINISHED))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected > 0)
}

/// What a completed analysis stores.
#[derive(Debug, Clone)]
pub struct Completion {
    pub model_version: String,
    pub summary: String,
    pub labels: Labels,
    pub confidence: f64,
    /// Every model input and output, kept for retraining.
    pub raw_features: serde_json::Value,
}

/// `running` → `completed` with its results. `false` when another run
/// finished it first (nothing written).
pub async fn complete<C: ConnectionTrait>(db: &C, id: Uuid, done: Completion) -> Result<bool, DbErr> {
    let at = now();
    let result = analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(AnalysisStatus::Completed))
        .col_expr(analyses::Column::ModelVersion, Expr::value(done.model_version))
        .col_expr(analyses::Column::Summary, Expr::value(done.summary))
        .col_expr(analyses::Column::Labels, Expr::value(serde_json::to_value(done.labels).unwrap_or_default()))
        .col_expr(analyses::Column::Confidence, Expr::value(done.confidence))
        .col_expr(analyses::Column::RawFeatures, Expr::value(done.raw_features))
        .col_expr(analyses::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(analyses::Column::CompletedAt, Expr::value(at))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(at))
        .filter(analyses::Column::Id.eq(id))
        .filter(analyses::Column::Status.eq(AnalysisStatus::Running))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// `queued`/`running` → `failed` with `error`, when its job is dead.
pub async fn fail<C: ConnectionTrait>(db: &C, id: Uuid, error: &str) -> Result<(), DbErr> {
    let at = now();
    analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(AnalysisStatus::Failed))
        .col_expr(analyses::Column::Error, Expr::value(error.to_owned()))
        .col_expr(analyses::Column::CompletedAt, Expr::value(at))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(at))
        .filter(analyses::Column::Id.eq(id))
        .filter(analyses::Column::Status.is_in(AnalysisStatus::UNFINISHED))
        .exec(db)
        .await?;
    Ok(())
}

/// `failed` → `queued` with a fresh attempt count, when an operator retries
/// its dead job. `false` when it is not failed.
pub async fn requeue_failed<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    let result = analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(AnalysisStatus::Queued))
        .col_expr(analyses::Column::Attempts, Expr::value(0))
        .col_expr(analyses::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(analyses::Column::CompletedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
        .filter(analyses::Column::Id.eq(id))
        .filter(analyses::Column::Status.eq(AnalysisStatus::Failed))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The runs recorded so far for an analysis (0 if it is gone).
pub async fn attempts<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<u32, DbErr> {
    let n: Option<i32> =
        analyses::Entity::find_by_id(id).select_only().column(analyses::Column::Attempts).into_tuple().one(db).await?;
    Ok(n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

/// Up to `limit` analyses left `queued`/`running` and untouched since before
/// `cutoff`, each touched first (so the next sweep leaves it alone for another
/// interval), to be enqueued again.
pub async fn sweep_stale<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<analyses::Model>, DbErr> {
    let stale = analyses::Entity::find()
        .filter(analyses::Column::Status.is_in(AnalysisStatus::UNFINISHED))
        .filter(analyses::Column::UpdatedAt.lt(cutoff))
        .order_by_asc(analyses::Column::UpdatedAt)
        .limit(limit)
        .all(db)
        .await?;
    for a in &stale {
        analyses::Entity::update_many()
            .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
            .filter(analyses::Column::Id.eq(a.id))
            .exec(db)
            .await?;
    }
    Ok(stale)
}

/// How many analyses stand in each status.
pub async fn counts_by_status<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, u64>, DbErr> {
    let counts: Vec<(String, i64)> = analyses::Entity::find()
        .select_only()
        .column(analyses::Column::Status)
        .column_as(Expr::col(analyses::Column::Id).count(), "n")
        .group_by(analyses::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counts.into_iter().map(|(s, n)| (s, u64::try_from(n).unwrap_or(0))).collect())
}
