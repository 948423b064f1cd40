use serde::{Deserialize, Serialize};

use super::{Job, Lane};

/// Periodic upkeep, run by whichever worker takes it. Each task takes its
/// clock from the job (`as_of`), so the scheduler decides what "now" is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Maintenance {
    /// Escalate open critical alerts left unacknowledged too long.
    ScanAlerts { as_of: chrono::DateTime<chrono::Utc> },
    /// Re-enqueue analyses stuck in `queued`/`running` (the database, not the
    /// queue, is the source of truth).
    SweepStale { as_of: chrono::DateTime<chrono::Utc> },
    /// Delete expired refresh tokens and idempotency keys, audit entries past
    /// their retention, and finished jobs' results in every queue.
    Cleanup { as_of: chrono::DateTime<chrono::Utc> },
}

impl Job for Maintenance {
    const NAME: &'static str = "maintenance";
    const QUEUE: &'static str = "maintenance";
    const MAX_ATTEMPTS: u32 = 3;
    const LANE: Lane = Lane::Single;

    fn dedup_key(&self) -> String {
        match self {
            Self::ScanAlerts { as_of } => format!("scan_alerts:{as_of}"),
            Self::SweepStale { as_of } => format!("sweep_stale:{as_of}"),
            Self::Cleanup { as_of } => format!("cleanup:{as_of}"),
        }
    }
}
