use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Job, Lane};

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
    const LANE: Lane = Lane::Backfill;

    fn dedup_key(&self) -> String {
        let versions: Vec<String> = self.versions.iter().map(|(k, v)| format!("{k}@{v}")).collect();
        format!("{}:{}", self.checkin_id, versions.join("+"))
    }

    fn audit_ids(&self) -> serde_json::Value {
        serde_json::json!({ "checkin_id": self.checkin_id })
    }
}
