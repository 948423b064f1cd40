//! Days in a user's time zone, and the process's shutdown signal.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a local day begins in `tz`, in UTC. Where a DST gap swallows
/// midnight, the day begins at the first valid instant after it.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc))
}

/// A time zone by IANA name, UTC when unknown.
pub fn tz(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// `user`'s time zone from their settings, UTC when unset or unknown.
pub async fn user_tz(db: &impl sea_orm::ConnectionTrait, user: uuid::Uuid) -> Result<Tz, sea_orm::DbErr> {
    use sea_orm::{EntityTrait, QuerySelect};
    let name: Option<String> = crate::entities::user_settings::Entity::find_by_id(user)
        .select_only()
        .column(crate::entities::user_settings::Column::Timezone)
        .into_tuple()
        .one(db)
        .await?;
    Ok(tz(name.as_deref().unwrap_or("UTC")))
}

/// Resolves on SIGTERM or Ctrl-C: every binary's cue to finish what it is
/// doing and stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_starts_at_local_midnight() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        assert_eq!(local_midnight(Tz::UTC, date).to_rfc3339(), "2026-11-22T00:00:00+00:00");
        assert_eq!(local_midnight(tz("Asia/Kolkata"), date).to_rfc3339(), "2026-11-21T18:30:00+00:00");
        // São Paulo skipped midnight on 2018-11-04 (DST began at 00:00).
        let gap = NaiveDate::from_ymd_opt(2018, 11, 4).unwrap_or_default();
        assert_eq!(local_midnight(tz("America/Sao_Paulo"), gap).to_rfc3339(), "2018-11-04T03:00:00+00:00");
    }
}
