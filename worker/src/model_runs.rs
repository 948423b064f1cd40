//! Runs of model versions that do not serve users: shadow candidates beside the
//! active models on a share of live jobs, and backfills of past check-ins. Both
//! write `model_runs` rows only — never the analysis users see, never alerts.

use chrono::Utc;
use mindwell_shared::{
    domain::RunPurpose,
    entities::{daily_checkins as checkins, model_runs},
};
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait, sea_query::OnConflict};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    context::{Context, JobError},
    inference::Engine,
    rules::History,
    scoring::{self, Scored},
};

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

pub struct Run<'a> {
    pub checkin: &'a checkins::Model,
    pub purpose: RunPurpose,
    pub version: &'a str,
    pub scored: &'a Scored,
    /// The version it is compared with, its output and latency.
    pub baseline: Option<(String, Value, Option<f64>)>,
}

/// Stores a run unless one for the same check-in, version and purpose exists.
pub async fn store(ctx: &Context, run: Run<'_>) -> Result<bool, DbErr> {
    let (baseline_version, baseline_output, baseline_latency) = match run.baseline {
        Some((v, o, l)) => (Some(v), Some(o), l),
        None => (None, None, None),
    };
    let inserted = model_runs::Entity::insert(model_runs::ActiveModel {
        id: Set(Uuid::now_v7()),
        checkin_id: Set(run.checkin.id),
        user_id: Set(run.checkin.user_id),
        purpose: Set(run.purpose.into()),
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
    ctx: &Context,
    candidate: &Engine,
    checkin: &checkins::Model,
    history: &History,
    active: &Engine,
    active_scored: &Scored,
) -> Result<(), JobError> {
    let scored = scoring::score(candidate, checkin, history).await?;
    store(
        ctx,
        Run {
            checkin,
            purpose: RunPurpose::Shadow,
            version: &candidate.version,
            scored: &scored,
            baseline: Some((active.version.to_string(), output(active_scored), Some(active_scored.latency_ms))),
        },
    )
    .await?;
    metrics::counter!("mindwell_shadow_runs_total", "version" => candidate.version.to_string()).increment(1);
    Ok(())
}
