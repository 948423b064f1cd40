//! What is due: which users get which summaries, decided by each user's local day.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use mindwell_shared::{
    entities::{daily_checkins as checkins, user_settings},
    jobs::{GenerateSummary, Period},
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

pub use mindwell_shared::time::local_midnight;

/// The period due at `now` for a user in `tz`: yesterday for daily; for
/// weekly, the Monday-to-Sunday week that ended, once the user's Monday began.
pub fn due_start(period: Period, tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&tz).date_naive();
    match period {
        Period::Daily => today.checked_sub_days(Days::new(1)).unwrap_or(today),
        Period::Weekly => {
            let since_monday = u64::from(today.weekday().num_days_from_monday());
            let this_monday = today.checked_sub_days(Days::new(since_monday)).unwrap_or(today);
            this_monday.checked_sub_days(Days::new(7)).unwrap_or(this_monday)
        }
    }
}

/// The time zones users have chosen.
pub async fn time_zones(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    user_settings::Entity::find()
        .select_only()
        .column(user_settings::Column::Timezone)
        .distinct()
        .into_tuple()
        .all(db)
        .await
}

/// Users of time zone `tz` (or exactly `only`) with check-ins in the period
/// starting on `start`.
pub async fn users_with_data(
    db: &DatabaseConnection,
    tz_name: &str,
    period: Period,
    start: NaiveDate,
    only: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    let tz: Tz = tz_name.parse().unwrap_or(Tz::UTC);
    let end = start.checked_add_days(Days::new(period.days())).unwrap_or(start);
    let in_tz = user_settings::Entity::find()
        .select_only()
        .column(user_settings::Column::UserId)
        .filter(user_settings::Column::Timezone.eq(tz_name))
        .into_query();
    let mut query = checkins::Entity::find()
        .select_only()
        .column(checkins::Column::UserId)
        .distinct()
        .filter(checkins::Column::UserId.in_subquery(in_tz))
        .filter(checkins::Column::Timestamp.gte(local_midnight(tz, start)))
        .filter(checkins::Column::Timestamp.lt(local_midnight(tz, end)));
    if let Some(user) = only {
        query = query.filter(checkins::Column::UserId.eq(user));
    }
    query.into_tuple().all(db).await
}

/// Every summary due at `now` (or for `date`, when given), across time zones.
pub async fn due_summaries(
    db: &DatabaseConnection,
    period: Period,
    now: DateTime<Utc>,
    date: Option<NaiveDate>,
    only: Option<Uuid>,
) -> Result<Vec<GenerateSummary>, DbErr> {
    let mut jobs = Vec::new();
    for tz_name in time_zones(db).await? {
        let tz: Tz = tz_name.parse().unwrap_or(Tz::UTC);
        let start = date.unwrap_or_else(|| due_start(period, tz, now));
        for user_id in users_with_data(db, &tz_name, period, start, only).await? {
            jobs.push(GenerateSummary { user_id, period, start });
        }
    }
    Ok(jobs)
}

/// Whether `now` falls on a Monday somewhere — weekly summaries are looked for
/// only then.
pub fn weekly_may_be_due(tz: Tz, now: DateTime<Utc>) -> bool {
    now.with_timezone(&tz).weekday() == Weekday::Mon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_yesterday_is_counted_in_their_own_zone() {
        // 20:00 UTC on the 22nd is already 01:30 on the 23rd in Kolkata.
        let now =
            DateTime::parse_from_rfc3339("2026-11-22T20:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap_or(Tz::UTC);
        assert_eq!(due_start(Period::Daily, Tz::UTC, now).to_string(), "2026-11-21");
        assert_eq!(due_start(Period::Daily, kolkata, now).to_string(), "2026-11-22");
    }

    #[test]
    fn the_week_due_is_the_one_that_ended() {
        let now =
            DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(due_start(Period::Weekly, Tz::UTC, now).to_string(), "2026-11-16");
        assert!(weekly_may_be_due(Tz::UTC, now));
    }
}
