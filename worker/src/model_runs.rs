//! Runs of model versions that do not serve users: shadow candidates beside the
//! active models on a share of live jobs, and backfills of past check-ins. Both
//! write `model_runs` rows only — never the analysis users see, never alerts.

use chrono::Utc;
use mindwell_shared::{
    entities::{ai_analysis_results as analyses, daily_checkins as checkins, model_runs},
    jobs::ReanalyzeCheckin,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    analyze::{self, JobContext, JobError, Outcome, Scored},
    inference::Engine,
    rules::History,
};

/// `shadow` or `backfill`, as stored.
pub mod purpose {
    pub const SHADOW: &str = "shadow";
    pub const BACKFILL: &str = "backfill";
}

/// Whether check-in `id` falls in the shadow share. Deterministic per check-in
/// (its random UUID bits), so a redelivered job decides the same way.
pub fn sampled(id: Uuid, share: f64) -> bool {
    let bits = u64::from_be_bytes(id.as_bytes()[8..16].try_into().unwrap_or_default());
    #[expect(clippy::cast_precision_loss, reason = "a fraction")]
    let x = bits as f64 / u64::MAX as f64;
    x < share
}

/// The outputs compared between versions.
pub fn output(s: &Scored) -> Value {
    let map = |v: &[(String, f32)]| v.iter().map(|(l, p)| (l.clone(), json!(p))).collect::<serde_json::Map<_, _>>();
    json!({
        "labels": s.labels,
        "sentiment": map(&s.text.sentiment),
        "emotions": map(&s.text.emotions),
        "stress": map(&s.risk.levels),
        "valence": s.text.valence,
    })
}

struct Run<'a> {
    checkin: &'a checkins::Model,
    purpose: &'static str,
    version: &'a str,
    scored: &'a Scored,
    baseline: Option<(String, Value, Option<f64>)>,
}

/// Stores a run unless one for the same check-in, version and purpose exists.
async fn store(ctx: &JobContext, run: Run<'_>) -> Result<bool, DbErr> {
    let (baseline_version, baseline_output, baseline_latency) = match run.baseline {
        Some((v, o, l)) => (Some(v), Some(o), l),
        None => (None, None, None),
    };
    let inserted = model_runs::Entity::insert(model_runs::ActiveModel {
        id: Set(Uuid::now_v7()),
        checkin_id: Set(run.checkin.id),
        user_id: Set(run.checkin.user_id),
        purpose: Set(run.purpose.to_owned()),
        model_version: Set(run.version.to_owned()),
        output: Set(output(run.scored)),
        latency_ms: Set(run.scored.latency_ms),
        baseline_version: Set(baseline_version),
        baseline_output: Set(baseline_output),
        baseline_latency_ms: Set(baseline_latency),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            model_runs::Column::CheckinId,
            model_runs::Column::ModelVersion,
            model_runs::Column::Purpose,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&ctx.db)
    .await?;
    Ok(inserted > 0)
}

/// Scores `checkin` with the shadow `candidate` and stores it beside what the
/// active engine said.
pub async fn record_shadow(
    ctx: &JobContext,
    candidate: &Engine,
    checkin: &checkins::Model,
    history: &History,
    active: &Engine,
    active_scored: &Scored,
) -> Result<(), JobError> {
    let scored = analyze::score(candidate, checkin, history).await?;
    store(
        ctx,
        Run {
            checkin,
            purpose: purpose::SHADOW,
            version: &candidate.version,
            scored: &scored,
            baseline: Some((active.version.to_string(), output(active_scored), Some(active_scored.latency_ms))),
        },
    )
    .await?;
    metrics::counter!("mindwell_shadow_runs_total", "version" => candidate.version.to_string()).increment(1);
    Ok(())
}

/// One `reanalyze_checkin` job: scores a past check-in with the job's versions
/// and stores it beside the analysis users saw.
#[tracing::instrument(name = "reanalyze_checkin", skip_all, fields(checkin_id = %job.checkin_id))]
pub async fn run_backfill(job: &ReanalyzeCheckin, ctx: &JobContext) -> Result<Outcome, JobError> {
    let engine = ctx.models.variant(&job.versions).await?;
    let done = model_runs::Entity::find()
        .filter(model_runs::Column::CheckinId.eq(job.checkin_id))
        .filter(model_runs::Column::ModelVersion.eq(&*engine.version))
        .filter(model_runs::Column::Purpose.eq(purpose::BACKFILL))
        .one(&ctx.db)
        .await?;
    if done.is_some() {
        return Ok(Outcome::Skipped);
    }
    let Some(checkin) = checkins::Entity::find_by_id(job.checkin_id).one(&ctx.db).await? else {
        return Ok(Outcome::Skipped);
    };
    let history = analyze::history(&ctx.db, &checkin).await?;
    let scored = analyze::score(&engine, &checkin, &history).await?;
    let baseline = analyses::Entity::find()
        .filter(analyses::Column::CheckinId.eq(checkin.id))
        .filter(analyses::Column::Status.eq(mindwell_shared::analysis::status::COMPLETED))
        .order_by_desc(analyses::Column::CompletedAt)
        .one(&ctx.db)
        .await?
        .and_then(|a| Some((a.model_version?, baseline_output(a.raw_features.as_ref()?, a.labels.as_ref()?), None)));
    let stored = store(
        ctx,
        Run { checkin: &checkin, purpose: purpose::BACKFILL, version: &engine.version, scored: &scored, baseline },
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
