//! `GET /api/v1/dashboard`: the caller's trends over the last N days of their
//! own time zone. [`build`] also serves the coach's view of a user.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use mindwell_shared::{
    domain::{AlertStatus, AnalysisStatus},
    entities::{ai_analysis_results as analyses, alerts, daily_checkins as checkins},
    now,
};
use poem_openapi::{Object, OpenApi, Tags, param::Query, types::ToJSON};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, prelude::DateTimeUtc,
};
use uuid::Uuid;

use crate::{
    access::View,
    auth::guard::Auth,
    body::RawReply,
    error::ApiError,
    infra::dashboard_cache,
    insights::Insight,
    paging,
    state::AppState,
    summaries::{self, Summary},
};

#[derive(Tags)]
enum Tag {
    /// The user's trends.
    Dashboard,
}

/// How far back a streak is followed.
const STREAK_LOOKBACK_DAYS: u32 = 366;

/// One day's average.
#[derive(Debug, Clone, Object)]
pub struct TrendPoint {
    /// `YYYY-MM-DD` in the user's time zone.
    pub date: String,
    pub avg: f64,
}

/// Mood over the range: over check-ins, not over daily averages.
#[derive(Debug, Clone, Object)]
pub struct MoodStats {
    #[oai(nullable)]
    pub avg: Option<f64>,
    #[oai(nullable)]
    pub min: Option<i32>,
    #[oai(nullable)]
    pub max: Option<i32>,
    /// One point per day with check-ins, oldest first.
    pub trend: Vec<TrendPoint>,
}

/// Sleep over the range.
#[derive(Debug, Clone, Object)]
pub struct SleepStats {
    #[oai(nullable)]
    pub avg: Option<f64>,
    pub trend: Vec<TrendPoint>,
}

/// Completed insights in the range, by sentiment.
#[derive(Debug, Clone, Default, Object)]
pub struct SentimentCounts {
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
}

/// The dashboard.
#[derive(Debug, Clone, Object)]
pub struct Dashboard {
    pub range_days: u32,
    pub checkin_count: u64,
    /// Consecutive days with a check-in, ending today (or yesterday when there
    /// is none yet today).
    pub streak_days: u32,
    pub mood: MoodStats,
    pub sleep: SleepStats,
    pub sentiment: SentimentCounts,
    pub open_alerts: u64,
    /// The 5 newest insights of any status (empty for a coach without the
    /// `insights` scope).
    pub recent_insights: Vec<Insight>,
    #[oai(nullable)]
    pub latest_summary: Option<Summary>,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[expect(clippy::cast_precision_loss, reason = "counts of check-ins")]
fn mean(sum: f64, n: usize) -> f64 {
    round2(sum / n as f64)
}

/// Builds `user`'s dashboard over the last `days` local days as `view` shows
/// it: the insights list stays empty and the latest summary carries no word of
/// the notes unless `view.notes`.
pub async fn build(state: &AppState, user: Uuid, days: u32, view: View) -> Result<Dashboard, ApiError> {
    let tz = mindwell_shared::time::user_tz(&state.db, user).await?;
    let at = now();
    let start = paging::range_start(tz, days, at);
    let lookback = paging::range_start(tz, days.max(STREAK_LOOKBACK_DAYS), at);

    let rows_q = checkins::Entity::find()
        .select_only()
        .column(checkins::Column::Timestamp)
        .column(checkins::Column::Mood)
        .column(checkins::Column::SleepHours)
        .filter(checkins::Column::UserId.eq(user))
        .filter(checkins::Column::Timestamp.gte(lookback))
        .into_tuple::<(DateTimeUtc, i16, f64)>()
        .all(&state.db);
    let in_range = checkins::Entity::find()
        .select_only()
        .column(checkins::Column::Id)
        .filter(checkins::Column::UserId.eq(user))
        .filter(checkins::Column::Timestamp.gte(start))
        .into_query();
    let labels_q = analyses::Entity::find()
        .select_only()
        .column(analyses::Column::Labels)
        .filter(analyses::Column::UserId.eq(user))
        .filter(analyses::Column::Status.eq(AnalysisStatus::Completed))
        .filter(analyses::Column::CheckinId.in_subquery(in_range))
        .into_tuple::<Option<serde_json::Value>>()
        .all(&state.db);
    let alerts_q = alerts::Entity::find()
        .filter(alerts::Column::UserId.eq(user))
        .filter(alerts::Column::Status.eq(AlertStatus::Open))
        .count(&state.db);
    let insights_q = async {
        if !view.notes {
            return Ok(Vec::new());
        }
        analyses::Entity::find()
            .filter(analyses::Column::UserId.eq(user))
            .order_by_desc(analyses::Column::CreatedAt)
            .order_by_desc(analyses::Column::Id)
            .limit(5)
            .all(&state.db)
            .await
    };
    let (rows, labels, open_alerts, insights, latest) = tokio::try_join!(
        async { Ok(rows_q.await?) },
        async { Ok(labels_q.await?) },
        async { Ok(alerts_q.await?) },
        async { Ok(insights_q.await?) },
        summaries::latest(state, user, view)
    )?;

    let mut per_day: BTreeMap<NaiveDate, (f64, f64, usize)> = BTreeMap::new();
    let mut all_days = BTreeSet::new();
    let (mut mood_sum, mut sleep_sum, mut count) = (0.0, 0.0, 0usize);
    let (mut min, mut max) = (None::<i16>, None::<i16>);
    for (ts, mood, sleep) in &rows {
        let day = ts.with_timezone(&tz).date_naive();
        all_days.insert(day);
        if *ts < start {
            continue;
        }
        let e = per_day.entry(day).or_insert((0.0, 0.0, 0));
        e.0 += f64::from(*mood);
        e.1 += sleep;
        e.2 += 1;
        mood_sum += f64::from(*mood);
        sleep_sum += sleep;
        count += 1;
        min = Some(min.map_or(*mood, |m| m.min(*mood)));
        max = Some(max.map_or(*mood, |m| m.max(*mood)));
    }
    let today = at.with_timezone(&tz).date_naive();
    let mut day = if all_days.contains(&today) { Some(today) } else { today.checked_sub_days(Days::new(1)) };
    let mut streak = 0u32;
    while let Some(d) = day.filter(|d| all_days.contains(d)) {
        streak += 1;
        day = d.checked_sub_days(Days::new(1));
    }
    let mut sentiment = SentimentCounts::default();
    for label in labels.iter().flatten().filter_map(|l| l["sentiment"]["label"].as_str()) {
        match label {
            "negative" => sentiment.negative += 1,
            "neutral" => sentiment.neutral += 1,
            "positive" => sentiment.positive += 1,
            _ => {}
        }
    }
    let trend = |pick: fn(&(f64, f64, usize)) -> f64| {
        per_day.iter().map(|(d, v)| TrendPoint { date: d.to_string(), avg: mean(pick(v), v.2) }).collect::<Vec<_>>()
    };
    Ok(Dashboard {
        range_days: days,
        checkin_count: count as u64,
        streak_days: streak,
        mood: MoodStats {
            avg: (count > 0).then(|| mean(mood_sum, count)),
            min: min.map(i32::from),
            max: max.map(i32::from),
            trend: trend(|v| v.0),
        },
        sleep: SleepStats { avg: (count > 0).then(|| mean(sleep_sum, count)), trend: trend(|v| v.1) },
        sentiment,
        open_alerts,
        recent_insights: insights.into_iter().map(Into::into).collect(),
        latest_summary: latest,
    })
}

/// The dashboard endpoint.
#[derive(Debug, Default)]
pub struct DashboardApi;

#[OpenApi(prefix_path = "/api/v1/dashboard", tag = "Tag::Dashboard")]
impl DashboardApi {
    /// Trends of the last `range` days (`Nd`, 1–365, default 30d) in the
    /// caller's time zone.
    #[oai(path = "/", method = "get")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        range: Query<Option<String>>,
    ) -> Result<RawReply<Dashboard>, ApiError> {
        let days = paging::range_days(range.0.as_deref())?;
        Ok(RawReply::new(cached(&state, auth.0.id, days, View::FULL).await?))
    }
}

/// [`build`] behind the per-user cache, as the JSON of the dashboard: a hit is
/// served as stored, without parsing.
pub async fn cached(state: &AppState, user: Uuid, days: u32, view: View) -> Result<String, ApiError> {
    let compute =
        async { Ok(build(state, user, days, view).await?.to_json().map(|v| v.to_string()).unwrap_or_default()) };
    // One entry per view: a `trends` view never reads a cached `insights` one.
    let field = format!("{days}:{}", view.notes);
    dashboard_cache::cached(&state.kv, state.config.dashboard_cache, user, &field, compute).await
}
