//! The `reanalyze_checkin` job: one past check-in scored with a backfill's
//! model versions, stored as a `model_runs` row beside the analysis users saw
//! (never the analysis itself, never alerts).

use mindwell_shared::{
    domain::{AnalysisStatus, RunPurpose},
    entities::{ai_analysis_results as analyses, daily_checkins as checkins, model_runs},
    jobs::ReanalyzeCheckin,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::Perform;
use crate::{
    context::{Context, JobError, Outcome},
    model_runs::{Run, store},
    scoring,
};

impl Perform for ReanalyzeCheckin {
    async fn perform(&self, ctx: &Context) -> Result<Outcome, JobError> {
        run_backfill(self, ctx).await
    }
}

/// One `reanalyze_checkin` job: scores a past check-in with the job's versions
/// and stores it beside the analysis users saw.
#[tracing::instrument(name = "reanalyze_checkin", skip_all, fields(checkin_id = %job.checkin_id))]
async fn run_backfill(job: &ReanalyzeCheckin, ctx: &Context) -> Result<Outcome, JobError> {
    let engine = ctx.models.variant(&job.versions).await?;
    let done = model_runs::Entity::find()
        .filter(model_runs::Column::CheckinId.eq(job.checkin_id))
        .filter(model_runs::Column::ModelVersion.eq(&*engine.version))
        .filter(model_runs::Column::Purpose.eq(RunPurpose::Backfill))
        .one(&ctx.db)
        .await?;
    if done.is_some() {
        return Ok(Outcome::Skipped);
    }
    let Some(checkin) = checkins::Entity::find_by_id(job.checkin_id).one(&ctx.db).await? else {
        return Ok(Outcome::Skipped);
    };
    let history = scoring::history(&ctx.db, &checkin).await?;
    let scored = scoring::score(&engine, &checkin, &history).await?;
    let baseline = analyses::Entity::find()
        .filter(analyses::Column::CheckinId.eq(checkin.id))
        .filter(analyses::Column::Status.eq(AnalysisStatus::Completed))
        .order_by_desc(analyses::Column::CompletedAt)
        .one(&ctx.db)
        .await?
        .and_then(|a| Some((a.model_version?, baseline_output(a.raw_features.as_ref()?, a.labels.as_ref()?), None)));
    let stored = store(
        ctx,
        Run { checkin: &checkin, purpose: RunPurpose::Backfill, version: &engine.version, scored: &scored, baseline },
    )
    .await?;
    Ok(if stored { Outcome::Completed } else { Outcome::Skipped })
}

/// The stored analysis in [`output`]'s shape.
fn baseline_output(raw: &Value, labels: &Value) -> Value {
    json!({
        "labels": labels,
        "sentiment": raw["sentiment"],
        "emotions": raw["emotions"],
        "stress": raw["stress"],
        "valence": raw["valence"],
    })
}
