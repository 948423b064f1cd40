//! The `generate_summary` job: one user's day or week as metrics and a short,
//! readable text made here — the numbers through a template, and the period's
//! most representative sentences of the user's own notes, chosen by embedding
//! centrality with the same encoder as the analyses. No text leaves the worker.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, Utc};
use mindwell_shared::{
    domain::{
        AnalysisStatus,
        summary::{self, SLEEP_TARGET_HOURS, Words},
    },
    entities::{ai_analysis_results as analyses, alerts, daily_checkins as checkins, summaries},
    events,
    jobs::GenerateSummary,
    now,
    time::local_midnight,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Perform;
use crate::{
    context::{Context, JobError, Outcome},
    crisis,
};

/// Version of the summary method, recorded with each summary.
pub const METHOD: &str = "summary-extractive@1.0.0";
/// At most this many sentences are embedded per summary.
const MAX_SENTENCES: usize = 64;

#[derive(Debug, Default)]
struct Stats {
    count: usize,
    mood: Vec<f64>,
    sleep: Vec<f64>,
}

impl Stats {
    fn avg(v: &[f64]) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a period's check-ins")]
        (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64 * 100.0).round() / 100.0)
    }
}

async fn period_rows(
    db: &DatabaseConnection,
    user: Uuid,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> Result<Vec<checkins::Model>, DbErr> {
    checkins::Entity::find()
        .filter(checkins::Column::UserId.eq(user))
        .filter(checkins::Column::Timestamp.gte(from))
        .filter(checkins::Column::Timestamp.lt(to))
        .all(db)
        .await
}

fn sentences(notes: &[String]) -> Vec<String> {
    notes
        .iter()
        .flat_map(|n| n.split(['.', '!', '?', '\n']))
        .map(str::trim)
        .filter(|s| s.split_whitespace().count() >= 3)
        .map(str::to_owned)
        .take(MAX_SENTENCES)
        .collect()
}

impl Perform for GenerateSummary {
    async fn perform(&self, ctx: &Context) -> Result<Outcome, JobError> {
        run(self, ctx).await
    }
}

/// Runs the job once.
#[tracing::instrument(name = "generate_summary", skip_all, fields(user = %job.user_id, period = job.period.as_str(), start = %job.start))]
async fn run(job: &GenerateSummary, ctx: &Context) -> Result<Outcome, JobError> {
    let db = &ctx.db;
    let exists = summaries::Entity::find()
        .filter(summaries::Column::UserId.eq(job.user_id))
        .filter(summaries::Column::Period.eq(job.period.as_str()))
        .filter(summaries::Column::PeriodStart.eq(job.start))
        .one(db)
        .await?;
    if exists.is_some() {
        return Ok(Outcome::Skipped);
    }
    let tz = mindwell_shared::time::user_tz(db, job.user_id).await?;
    let end = job.start.checked_add_days(Days::new(job.period.days())).unwrap_or(job.start);
    let (from, to) = (local_midnight(tz, job.start), local_midnight(tz, end));
    let rows = period_rows(db, job.user_id, from, to).await?;
    if rows.is_empty() {
        return Ok(Outcome::Skipped);
    }
    let prev_start = job.start.checked_sub_days(Days::new(job.period.days())).unwrap_or(job.start);
    let previous = period_rows(db, job.user_id, local_midnight(tz, prev_start), from).await?;

    let stats = |rows: &[checkins::Model]| Stats {
        count: rows.len(),
        mood: rows.iter().map(|r| f64::from(r.mood)).collect(),
        sleep: rows.iter().map(|r| r.sleep_hours).collect(),
    };
    let (now_s, prev_s) = (stats(&rows), stats(&previous));
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let labels: Vec<Option<Value>> = analyses::Entity::find()
        .select_only()
        .column(analyses::Column::Labels)
        .filter(analyses::Column::CheckinId.is_in(ids.clone()))
        .filter(analyses::Column::Status.eq(AnalysisStatus::Completed))
        .into_tuple()
        .all(db)
        .await?;
    let mut sentiment: BTreeMap<String, u64> = BTreeMap::new();
    let mut emotions: BTreeMap<String, f64> = BTreeMap::new();
    for l in labels.iter().flatten() {
        if let Some(s) = l["sentiment"]["label"].as_str() {
            *sentiment.entry(s.to_owned()).or_default() += 1;
        }
        for (name, p) in l["emotions"].as_object().into_iter().flatten() {
            *emotions.entry(name.clone()).or_default() += p.as_f64().unwrap_or(0.0);
        }
    }
    let raised: Vec<String> = alerts::Entity::find()
        .select_only()
        .column(alerts::Column::Type)
        .filter(alerts::Column::CheckinId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let mut alert_counts: BTreeMap<String, u64> = BTreeMap::new();
    for a in raised {
        *alert_counts.entry(a).or_default() += 1;
    }
    // Per night: the day's average sleep against the target, summed over days.
    let mut nights: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for r in &rows {
        nights.entry(r.timestamp.with_timezone(&tz).date_naive()).or_default().push(r.sleep_hours);
    }
    let sleep_debt: f64 =
        nights.values().filter_map(|v| Stats::avg(v)).map(|avg| (SLEEP_TARGET_HOURS - avg).max(0.0)).sum();
    let top_emotion = emotions
        .iter()
        .filter(|(n, _)| n.as_str() != "neutral")
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(n, _)| n.clone());
    let analysed = labels.iter().flatten().count();
    #[expect(clippy::cast_precision_loss, reason = "a period's analyses")]
    let emotion_avgs: BTreeMap<String, f64> =
        emotions.iter().map(|(n, sum)| (n.clone(), (sum / analysed.max(1) as f64 * 1000.0).round() / 1000.0)).collect();
    let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| ((a - b) * 100.0).round() / 100.0);
    let extremes = |v: &[f64]| {
        json!({
            "min": v.iter().copied().reduce(f64::min),
            "max": v.iter().copied().reduce(f64::max),
            "avg": Stats::avg(v),
        })
    };
    let metrics = json!({
        "checkins": now_s.count,
        "mood": extremes(&now_s.mood),
        "sleep": extremes(&now_s.sleep),
        "sleep_debt_hours": (sleep_debt * 100.0).round() / 100.0,
        "sentiment": sentiment,
        "emotions": emotion_avgs,
        "top_emotion": top_emotion,
        "alerts": alert_counts,
        "change": {
            "previous_checkins": prev_s.count,
            "mood_avg": delta(Stats::avg(&now_s.mood), Stats::avg(&prev_s.mood)),
            "sleep_avg": delta(Stats::avg(&now_s.sleep), Stats::avg(&prev_s.sleep)),
        },
    });

    let notes: Vec<String> = rows.iter().map(|r| r.notes.clone()).collect();
    // A sentence the crisis detector flags is never quoted back, to anyone:
    // the text says a hard moment was noted and where help is instead.
    let candidates: Vec<String> = sentences(&notes).into_iter().filter(|s| crisis::detect(s).is_empty()).collect();
    let crisis_noted = notes.iter().any(|n| !crisis::detect(n).is_empty());
    let quotes = if candidates.is_empty() { Vec::new() } else { representative(ctx, candidates).await? };
    let words =
        Words { quotes: &quotes, crisis_resources: crisis_noted.then_some(ctx.rules.crisis_resources.as_str()) };
    let text = summary::render(job.period, job.start, &metrics, words);

    let id = Uuid::now_v7();
    let inserted = summaries::Entity::insert(summaries::ActiveModel {
        id: Set(id),
        user_id: Set(job.user_id),
        period: Set(job.period.as_str().to_owned()),
        period_start: Set(job.start),
        period_end: Set(end.checked_sub_days(Days::new(1)).unwrap_or(job.start)),
        summary: Set(text),
        metrics: Set(metrics),
        model_version: Set(format!("{METHOD}+{}", ctx.models.active().version)),
        created_at: Set(now()),
    })
    .on_conflict_do_nothing_on([summaries::Column::UserId, summaries::Column::Period, summaries::Column::PeriodStart])
    .exec(db)
    .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        return Ok(Outcome::Skipped);
    }
    ctx.invalidate_dashboard(job.user_id).await;
    ctx.publish(events::SUMMARY_CREATED, job.user_id, id).await;
    crate::notify::email_user(
        ctx.email.as_ref(),
        db,
        job.user_id,
        &format!("Your {} MindWell summary is ready", job.period.as_str()),
        &format!("Your summary for the period starting {} is waiting in the app.\n", job.start),
    )
    .await;
    Ok(Outcome::Completed)
}

/// The (at most two) sentences closest on average to all the others.
async fn representative(ctx: &Context, candidates: Vec<String>) -> Result<Vec<String>, JobError> {
    if candidates.len() <= 2 {
        return Ok(candidates);
    }
    let emb = ctx.models.active().embed(candidates.clone()).await?;
    let sim = emb.dot(&emb.t());
    let mut scored: Vec<(usize, f32)> = (0..candidates.len()).map(|i| (i, sim.row(i).sum())).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut picked: Vec<usize> = scored.iter().take(2).map(|(i, _)| *i).collect();
    picked.sort_unstable();
    Ok(picked.into_iter().map(|i| candidates[i].clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fragments_are_not_sentences() {
        let s = sentences(&["Ok. I walked by the river today! Tired?".into()]);
        assert_eq!(s, vec!["I walked by the river today".to_owned()]);
    }
}
