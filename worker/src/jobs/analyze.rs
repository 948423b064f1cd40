//! The `analyze_checkin` job: models over one check-in, then the analysis and its
//! alerts written back.
//!
//! At least once in, exactly once out: the analysis moves through its
//! lifecycle (`mindwell_shared::domain::analysis`) only forward, and alerts are
//! unique per check-in and rule (`uq_alerts_checkin_type`), so a redelivered or
//! retried job changes nothing. Its attempts are counted on the analysis row,
//! so they survive worker crashes.

use mindwell_shared::{
    domain::{
        AlertStatus, AlertType,
        analysis::{self, Completion},
    },
    entities::{alerts, daily_checkins as checkins},
    error_chain, events,
    jobs::AnalyzeCheckin,
    now,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::Perform;
use crate::{
    context::{Context, JobError, Outcome},
    crisis,
    inference::FEATURE_NAMES,
    model_runs,
    rules::{self, AlertDraft},
    scoring::{self, Scored},
};

impl Perform for AnalyzeCheckin {
    async fn perform(&self, ctx: &Context) -> Result<Outcome, JobError> {
        run(self, ctx).await
    }

    /// Counted on the analysis row, so crashes and redeliveries count too.
    async fn attempts(&self, ctx: &Context, _delivery: usize) -> u32 {
        analysis::attempts(&ctx.db, self.analysis_id).await.unwrap_or(0)
    }

    /// The analysis is `failed` with its error, and its dashboards refreshed.
    async fn on_dead(&self, ctx: &Context, error: &JobError) {
        if let Err(e) = analysis::fail(&ctx.db, self.analysis_id, &error_chain(error)).await {
            tracing::error!(analysis_id = %self.analysis_id, error = %error_chain(&e), "could not mark the analysis failed");
        }
        ctx.invalidate_dashboard(self.user_id).await;
    }
}

/// Runs the job once. `Err` leaves the analysis `running` for a retry.
#[tracing::instrument(name = "analyze_checkin", skip_all, fields(analysis_id = %job.analysis_id, request_id = job.request_id.as_deref().unwrap_or("")))]
async fn run(job: &AnalyzeCheckin, ctx: &Context) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    if !analysis::claim(db, job.analysis_id).await? {
        tracing::info!("analysis already finished or gone; nothing to do");
        return Ok(Outcome::Skipped);
    }
    let Some(checkin) = checkins::Entity::find_by_id(job.checkin_id).one(db).await? else {
        return Ok(Outcome::Skipped);
    };

    let history = scoring::history(db, &checkin).await?;
    // Rules that need no model go first, so crisis language is flagged even if
    // inference fails below.
    let crisis = crisis::detect(&checkin.notes);
    let drafts = rules::rule_alerts(checkin.mood, checkin.sleep_hours, &crisis, &history, &ctx.rules);
    for alert in insert_alerts(db, &checkin, job.analysis_id, &drafts).await? {
        ctx.publish(events::ALERT_CREATED, checkin.user_id, alert).await;
    }
    if !crisis.is_empty() && drafts.iter().any(|d| d.kind == AlertType::CrisisLanguage) {
        // Once per analysis: only the first run gets here with nothing sent yet.
        if analysis::attempts(db, job.analysis_id).await? == 1 {
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
    let scored = scoring::score(&engine, &checkin, &history).await?;
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
    let completion = Completion {
        model_version: engine.version.to_string(),
        summary,
        labels: labels.clone(),
        confidence: *confidence,
        raw_features: raw,
    };
    let txn = db.begin().await?;
    if !analysis::complete(&txn, job.analysis_id, completion).await? {
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
        && model_runs::sampled(checkin.id, shadow.share)
    {
        // Best effort and after the user's analysis is stored: a shadow failure
        // never fails the job.
        if let Err(e) = model_runs::record_shadow(ctx, &shadow.engine, &checkin, &history, &engine, &scored).await {
            tracing::warn!(candidate = %shadow.engine.version, error = %error_chain(&e), "shadow run failed");
        }
    }
    Ok(Outcome::Completed)
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
            r#type: Set(draft.kind.into()),
            severity: Set(draft.severity.into()),
            status: Set(AlertStatus::Open.into()),
            payload: Set(draft.payload.clone()),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict_do_nothing_on([alerts::Column::CheckinId, alerts::Column::Type])
        .exec(db)
        .await?;
        if matches!(result, sea_orm::TryInsertResult::Inserted(_)) {
            metrics::counter!("mindwell_alerts_raised_total", "type" => draft.kind.as_str(), "severity" => draft.severity.as_str())
                .increment(1);
            created.push(id);
        }
    }
    Ok(created)
}

fn summary(checkin: &checkins::Model, labels: &mindwell_shared::domain::analysis::Labels, has_notes: bool) -> String {
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
