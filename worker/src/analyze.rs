//! The `analyze_checkin` job: models over one check-in, then the analysis and its
//! alerts written back.
//!
//! At least once in, exactly once out: a completed analysis is never written
//! again, and alerts are unique per check-in and rule (`uq_alerts_checkin_type`),
//! so a redelivered or retried job changes nothing.

use std::{sync::Arc, time::Instant};

use chrono::Duration;
use mindwell_shared::{
    analysis::{Labels, Sentiment, status},
    entities::{ai_analysis_results as analyses, alerts, daily_checkins as checkins},
    events,
    jobs::AnalyzeCheckin,
    now,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait, prelude::Expr, sea_query::ExprTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    config::AlertRules,
    crisis,
    inference::{Engine, FEATURE_NAMES, ModelError, Models, RiskScores, TextScores},
    rules::{self, AlertDraft, History},
};

/// What a job needs: the database, the models and the rules.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub db: DatabaseConnection,
    /// The active models (swapped in place when `active.json` changes) and the shadow candidate.
    pub models: Arc<Models>,
    pub rules: AlertRules,
    pub max_attempts: u32,
    /// Redis, to mark the user's cached dashboards stale; `None` when embedded.
    pub cache: Option<fred::clients::Client>,
    pub namespace: String,
    /// For jobs that enqueue jobs (the stale sweeper).
    pub queue: mindwell_shared::queue::QueueConn,
    pub maintenance: crate::maintenance::MaintenanceConfig,
    /// Email, when SMTP is configured.
    pub email: Option<Arc<dyn crate::notify::EmailSender>>,
}

impl JobContext {
    /// Publishes `kind` about record `id` to `user`'s notification streams; a
    /// failure is logged (notifications are best effort, the data is stored).
    pub async fn publish(&self, kind: &str, user: Uuid, id: Uuid) {
        use fred::interfaces::PubsubInterface;
        let Some(redis) = &self.cache else { return };
        let event = mindwell_shared::events::Event { kind: kind.to_owned(), user_id: user, id };
        let message = serde_json::to_string(&event).unwrap_or_default();
        let result: Result<i64, _> = redis.publish(mindwell_shared::events::channel(&self.namespace), message).await;
        if let Err(e) = result {
            tracing::warn!(%user, error = %e, "event not published");
        }
    }

    /// Makes `user`'s cached dashboards stale (see `mindwell_shared::cache`);
    /// a failure is logged, the entries expire on their own.
    pub async fn invalidate_dashboard(&self, user: Uuid) {
        use fred::interfaces::{HashesInterface, KeysInterface};
        let Some(redis) = &self.cache else { return };
        let key = mindwell_shared::cache::dashboard_key(&self.namespace, user);
        let result: Result<(), fred::error::Error> = async {
            let _: i64 = redis.hincrby(&key, mindwell_shared::cache::GENERATION_FIELD, 1).await?;
            let _: i64 = redis.expire(&key, mindwell_shared::cache::TTL_SECS, None).await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(%user, error = %e, "dashboard cache not invalidated");
        }
    }
}

/// Why one run of a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("inference: {0}")]
    Model(#[from] ModelError),
    #[error("queue: {0}")]
    Queue(String),
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Already completed or failed, or its check-in is gone: nothing written.
    Skipped,
}

/// Runs the job once. `Err` leaves the analysis `running` for a retry; the
/// caller decides, from [`attempts`], whether the job is dead.
#[tracing::instrument(name = "analyze_checkin", skip_all, fields(analysis_id = %job.analysis_id, request_id = job.request_id.as_deref().unwrap_or("")))]
pub async fn run(job: &AnalyzeCheckin, ctx: &JobContext) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    // Claim this run: queued/running -> running, attempts + 1. Nothing to do otherwise.
    let claimed = analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(status::RUNNING))
        .col_expr(analyses::Column::Attempts, Expr::col(analyses::Column::Attempts).add(1))
        .col_expr(analyses::Column::StartedAt, Expr::value(now()))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
        .filter(analyses::Column::Id.eq(job.analysis_id))
        .filter(analyses::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        tracing::info!("analysis already finished or gone; nothing to do");
        return Ok(Outcome::Skipped);
    }
    let Some(checkin) = checkins::Entity::find_by_id(job.checkin_id).one(db).await? else {
        return Ok(Outcome::Skipped);
    };

    let history = history(db, &checkin).await?;
    // Rules that need no model go first, so crisis language is flagged even if
    // inference fails below.
    let crisis = crisis::detect(&checkin.notes);
    let drafts = rules::rule_alerts(checkin.mood, checkin.sleep_hours, &crisis, &history, &ctx.rules);
    for alert in insert_alerts(db, &checkin, job.analysis_id, &drafts).await? {
        ctx.publish(events::ALERT_CREATED, checkin.user_id, alert).await;
    }
    if !crisis.is_empty() && drafts.iter().any(|d| d.kind == mindwell_shared::analysis::alert::CRISIS_LANGUAGE) {
        // Once per analysis: only the first run gets here with nothing sent yet.
        if claimed_first_time(db, job.analysis_id).await? {
            crate::notify::email_user(
                ctx.email.as_ref(),
                db,
                checkin.user_id,
                "MindWell: we are here for you",
                &format!("Something in your latest check-in worried us.\n\n{}\n", ctx.rules.crisis_resources),
            )
            .await;
        }
    }

    // One engine for the whole run, even if a swap happens meanwhile.
    let engine = ctx.models.active();
    let scored = score(&engine, &checkin, &history).await?;
    let Scored { text, features, risk, labels, confidence, .. } = &scored;
    let summary = summary(&checkin, labels, !checkin.notes.trim().is_empty());
    let raw = json!({
        "features": FEATURE_NAMES.iter().zip(features).map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "sentiment": text.sentiment.iter().map(|(l, p)| (l.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "valence": text.valence,
        "emotions": text.emotions.iter().map(|(l, p)| (l.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "stress": risk.levels.iter().map(|(l, p)| (l.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "tokens": text.tokens,
        "crisis_phrases": crisis,
        "model_version": &*engine.version,
    });

    let stress = rules::stress_alert(&labels.stress_level, labels.risk_score);
    let confidence = *confidence;
    let txn = db.begin().await?;
    let done = analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(status::COMPLETED))
        .col_expr(analyses::Column::ModelVersion, Expr::value(engine.version.to_string()))
        .col_expr(analyses::Column::Summary, Expr::value(summary))
        .col_expr(analyses::Column::Labels, Expr::value(serde_json::to_value(labels).unwrap_or_default()))
        .col_expr(analyses::Column::Confidence, Expr::value(confidence))
        .col_expr(analyses::Column::RawFeatures, Expr::value(raw))
        .col_expr(analyses::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(analyses::Column::CompletedAt, Expr::value(now()))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
        .filter(analyses::Column::Id.eq(job.analysis_id))
        .filter(analyses::Column::Status.eq(status::RUNNING))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(Outcome::Skipped);
    }
    let raised = insert_alerts(&txn, &checkin, job.analysis_id, stress.as_slice()).await?;
    txn.commit().await?;
    tracing::info!(model_version = %engine.version, alerts = raised.len(), "analysis completed");
    ctx.invalidate_dashboard(checkin.user_id).await;
    ctx.publish(events::INSIGHT_COMPLETED, checkin.user_id, job.analysis_id).await;
    for alert in raised {
        ctx.publish(events::ALERT_CREATED, checkin.user_id, alert).await;
    }
    if let Some(shadow) = ctx.models.shadow()
        && crate::model_runs::sampled(checkin.id, shadow.share)
    {
        // Best effort and after the user's analysis is stored: a shadow failure
        // never fails the job.
        if let Err(e) =
            crate::model_runs::record_shadow(ctx, &shadow.engine, &checkin, &history, &engine, &scored).await
        {
            tracing::warn!(candidate = %shadow.engine.version, error = %e, "shadow run failed");
        }
    }
    Ok(Outcome::Completed)
}

/// What the models say about one check-in.
#[derive(Debug, Clone)]
pub struct Scored {
    pub text: TextScores,
    pub features: [f32; 9],
    pub risk: RiskScores,
    pub labels: Labels,
    pub confidence: f64,
    /// Time spent in the models, queueing for a batch included.
    pub latency_ms: f64,
}

/// Runs `engine` over a check-in and its history.
pub async fn score(engine: &Engine, checkin: &checkins::Model, history: &History) -> Result<Scored, ModelError> {
    let started = Instant::now();
    let notes = checkin.notes.trim();
    let text = if notes.is_empty() { neutral_text() } else { engine.text(notes.to_owned()).await? };
    let features = features(checkin, history, &text);
    let risk = engine.risk(features).await?;
    let (labels, confidence) = labels(&text, &risk);
    Ok(Scored { text, features, risk, labels, confidence, latency_ms: started.elapsed().as_secs_f64() * 1e3 })
}

/// Whether this is the analysis' first run (so one-time effects happen once).
async fn claimed_first_time(db: &DatabaseConnection, analysis_id: Uuid) -> Result<bool, DbErr> {
    Ok(attempts(db, analysis_id).await? == 1)
}

/// Marks the analysis `failed` with `error`, when its job is dead.
pub async fn mark_failed(db: &DatabaseConnection, analysis_id: Uuid, error: &str) -> Result<(), DbErr> {
    analyses::Entity::update_many()
        .col_expr(analyses::Column::Status, Expr::value(status::FAILED))
        .col_expr(analyses::Column::Error, Expr::value(error.to_owned()))
        .col_expr(analyses::Column::CompletedAt, Expr::value(now()))
        .col_expr(analyses::Column::UpdatedAt, Expr::value(now()))
        .filter(analyses::Column::Id.eq(analysis_id))
        .filter(analyses::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .exec(db)
        .await?;
    Ok(())
}

/// The runs recorded so far for an analysis (0 if it is gone).
pub async fn attempts(db: &DatabaseConnection, analysis_id: Uuid) -> Result<u32, DbErr> {
    let n: Option<i32> = analyses::Entity::find_by_id(analysis_id)
        .select_only()
        .column(analyses::Column::Attempts)
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

/// The user's check-ins of the 7 days before `checkin`.
pub async fn history(db: &DatabaseConnection, checkin: &checkins::Model) -> Result<History, DbErr> {
    let rows: Vec<(i16, f64)> = checkins::Entity::find()
        .select_only()
        .column(checkins::Column::Mood)
        .column(checkins::Column::SleepHours)
        .filter(checkins::Column::UserId.eq(checkin.user_id))
        .filter(checkins::Column::Timestamp.gte(checkin.timestamp - Duration::days(7)))
        .filter(checkins::Column::Timestamp.lt(checkin.timestamp))
        .filter(checkins::Column::Id.ne(checkin.id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(History {
        moods: rows.iter().map(|(m, _)| f64::from(*m)).collect(),
        sleeps: rows.iter().map(|(_, s)| *s).collect(),
    })
}

/// Stores the alerts not stored yet; returns the ids of those it stored.
async fn insert_alerts<C: ConnectionTrait>(
    db: &C,
    checkin: &checkins::Model,
    analysis_id: Uuid,
    drafts: &[AlertDraft],
) -> Result<Vec<Uuid>, DbErr> {
    let mut created = Vec::new();
    for draft in drafts {
        let at = now();
        let id = Uuid::now_v7();
        let result = alerts::Entity::insert(alerts::ActiveModel {
            id: Set(id),
            user_id: Set(checkin.user_id),
            checkin_id: Set(Some(checkin.id)),
            ai_result_id: Set(Some(analysis_id)),
            r#type: Set(draft.kind.to_owned()),
            severity: Set(draft.severity.to_owned()),
            status: Set(mindwell_shared::analysis::alert::OPEN.to_owned()),
            payload: Set(draft.payload.clone()),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict_do_nothing_on([alerts::Column::CheckinId, alerts::Column::Type])
        .exec(db)
        .await?;
        if matches!(result, sea_orm::TryInsertResult::Inserted(_)) {
            metrics::counter!("mindwell_alerts_raised_total", "type" => draft.kind, "severity" => draft.severity)
                .increment(1);
            created.push(id);
        }
    }
    Ok(created)
}

fn neutral_text() -> TextScores {
    TextScores {
        sentiment: vec![("negative".into(), 0.0), ("neutral".into(), 1.0), ("positive".into(), 0.0)],
        valence: 0.0,
        emotions: vec![("neutral".into(), 1.0)],
        tokens: 0,
    }
}

#[expect(clippy::cast_possible_truncation, reason = "model inputs are f32")]
fn features(checkin: &checkins::Model, history: &History, text: &TextScores) -> [f32; 9] {
    let mood = f64::from(checkin.mood);
    let mood_avg = history.mood_avg().unwrap_or(mood);
    #[expect(clippy::cast_precision_loss, reason = "a handful of check-ins")]
    let count = history.moods.len() as f64;
    [
        mood,
        checkin.sleep_hours,
        mood_avg,
        mood - mood_avg,
        history.sleep_avg().unwrap_or(checkin.sleep_hours),
        count,
        f64::from(text.sentiment_of("negative")),
        f64::from(text.sentiment_of("positive")),
        f64::from(text.valence),
    ]
    .map(|v| v as f32)
}

fn round3(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}

/// The contract's `labels` and the analysis' confidence: the lower of the two
/// models' top-class probabilities.
fn labels(text: &TextScores, risk: &RiskScores) -> (Labels, f64) {
    let top = |v: &[(String, f32)]| {
        v.iter().max_by(|a, b| a.1.total_cmp(&b.1)).cloned().unwrap_or_else(|| ("neutral".into(), 0.0))
    };
    let (sentiment, s_score) = top(&text.sentiment);
    let (stress_level, r_score) = top(&risk.levels);
    let p = |name: &str| risk.levels.iter().find(|(l, _)| l == name).map_or(0.0, |(_, p)| *p);
    let risk_score = (p("high") + 0.5 * p("moderate")).clamp(0.0, 1.0);
    let labels = Labels {
        sentiment: Sentiment { label: sentiment, score: round3(s_score) },
        emotions: text.emotions.iter().map(|(l, p)| (l.clone(), round3(*p))).collect(),
        stress_level,
        risk_score: round3(risk_score),
    };
    (labels, round3(s_score.min(r_score)))
}

fn summary(checkin: &checkins::Model, labels: &Labels, has_notes: bool) -> String {
    let emotion = labels
        .emotions
        .iter()
        .filter(|(name, _)| name.as_str() != "neutral")
        .max_by(|a, b| a.1.total_cmp(b.1))
        .filter(|(_, p)| **p >= 0.3)
        .map(|(name, _)| format!(", mostly {name}"));
    let tone = if has_notes {
        format!("Your notes read {}{}. ", labels.sentiment.label, emotion.unwrap_or_default())
    } else {
        String::new()
    };
    format!(
        "{tone}Mood {}/10 after {:.1} h of sleep; stress looks {}.",
        checkin.mood, checkin.sleep_hours, labels.stress_level
    )
}

/// Shared handle passed to every job run.
pub type SharedContext = Arc<JobContext>;
