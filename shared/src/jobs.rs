//! Job payloads: what the API (and later the scheduler) enqueues for the worker fleet.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A kind of background job, with its queue and retry policy.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Readable name, used in logs and metrics.
    const NAME: &'static str;
    /// The queue it travels on, after the deployment's namespace.
    const QUEUE: &'static str;
    /// Runs after which the job is dead (its effect marked failed).
    const MAX_ATTEMPTS: u32;
    /// The key that makes the job's effect happen once.
    fn dedup_key(&self) -> String;
}

/// Analyse one check-in: run the models over it and write the analysis and its alerts.
///
/// Idempotent on `analysis_id`: a completed analysis is never written again, and
/// alerts are unique per check-in and rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzeCheckin {
    pub analysis_id: Uuid,
    pub checkin_id: Uuid,
    pub user_id: Uuid,
    /// The `X-Request-Id` of the request that caused it, for tracing.
    #[serde(default)]
    pub request_id: Option<String>,
}

impl Job for AnalyzeCheckin {
    const NAME: &'static str = "analyze_checkin";
    const QUEUE: &'static str = "analyze_checkin";
    const MAX_ATTEMPTS: u32 = 5;
    fn dedup_key(&self) -> String {
        self.analysis_id.to_string()
    }
}

/// `daily` or `weekly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Daily,
    Weekly,
}

impl Period {
    /// As stored and as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// Days the period covers.
    pub fn days(self) -> u64 {
        match self {
            Self::Daily => 1,
            Self::Weekly => 7,
        }
    }
}

/// Summarise one user's period that starts on `start` (a date in their time zone).
///
/// Idempotent: one summary per user, period and start date (`uq_summaries_user_period_start`);
/// a rerun writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateSummary {
    pub user_id: Uuid,
    pub period: Period,
    pub start: chrono::NaiveDate,
}

impl Job for GenerateSummary {
    const NAME: &'static str = "generate_summary";
    const QUEUE: &'static str = "generate_summary";
    const MAX_ATTEMPTS: u32 = 5;
    fn dedup_key(&self) -> String {
        format!("{}:{}:{}", self.user_id, self.period.as_str(), self.start)
    }
}

/// Periodic upkeep, run by whichever worker takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Maintenance {
    /// Escalate open critical alerts left unacknowledged too long.
    ScanAlerts { as_of: chrono::DateTime<chrono::Utc> },
    /// Re-enqueue analyses stuck in `queued`/`running` (the database, not the
    /// queue, is the source of truth).
    SweepStale { as_of: chrono::DateTime<chrono::Utc> },
    /// Delete expired refresh tokens and idempotency keys, and audit entries
    /// past their retention.
    Cleanup { as_of: chrono::DateTime<chrono::Utc> },
}

impl Job for Maintenance {
    const NAME: &'static str = "maintenance";
    const QUEUE: &'static str = "maintenance";
    const MAX_ATTEMPTS: u32 = 3;
    fn dedup_key(&self) -> String {
        match self {
            Self::ScanAlerts { as_of } => format!("scan_alerts:{as_of}"),
            Self::SweepStale { as_of } => format!("sweep_stale:{as_of}"),
            Self::Cleanup { as_of } => format!("cleanup:{as_of}"),
        }
    }
}

/// Re-analyse one past check-in with a given combination of model versions, for
/// a backfill. Writes a `model_runs` row (purpose `backfill`), never the
/// analysis users see, never alerts.
///
/// Idempotent per check-in and version (`uq_model_runs_checkin_version_purpose`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReanalyzeCheckin {
    pub checkin_id: Uuid,
    /// Model name to version: the active ones when the backfill started, with
    /// the backfilled model's version in place.
    pub versions: std::collections::BTreeMap<String, String>,
}

impl Job for ReanalyzeCheckin {
    const NAME: &'static str = "reanalyze_checkin";
    const QUEUE: &'static str = "reanalyze_checkin";
    const MAX_ATTEMPTS: u32 = 3;
    fn dedup_key(&self) -> String {
        let versions: Vec<String> = self.versions.iter().map(|(k, v)| format!("{k}@{v}")).collect();
        format!("{}:{}", self.checkin_id, versions.join("+"))
    }
}
