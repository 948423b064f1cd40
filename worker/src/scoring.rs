//! What the models say about one check-in, shared by the live analysis
//! (`jobs/analyze.rs`), shadow runs and backfills (`model_runs.rs`): the
//! history the features need, the features, both models, and the contract's
//! `labels` made from their outputs.

use std::time::Instant;

use chrono::Duration;
use mindwell_shared::{domain::analysis::Labels, domain::analysis::Sentiment, entities::daily_checkins as checkins};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    inference::{Engine, ModelError, RiskScores, TextScores},
    rules::History,
};

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

/// The user's check-ins of the 7 days before `checkin`.
pub async fn history<C: ConnectionTrait>(db: &C, checkin: &checkins::Model) -> Result<History, DbErr> {
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
