use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Job, Lane};
use crate::domain::analysis;

/// Analyse one check-in: run the models over it and write the analysis and its alerts.
///
/// Idempotent on `analysis_id`: a completed analysis is never written again, and
/// alerts are unique per check-in and rule. Its attempts are counted on the
/// analysis row, so they survive worker crashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzeCheckin {
    pub analysis_id: Uuid,
    pub checkin_id: Uuid,
    pub user_id: Uuid,
    /// The `X-Request-Id` of the request that caused it, for tracing.
    #[serde(default)]
    pub request_id: Option<String>,
}

impl From<crate::entities::ai_analysis_results::Model> for AnalyzeCheckin {
    /// The job that runs a stored analysis.
    fn from(a: crate::entities::ai_analysis_results::Model) -> Self {
        Self { analysis_id: a.id, checkin_id: a.checkin_id, user_id: a.user_id, request_id: a.request_id }
    }
}

impl Job for AnalyzeCheckin {
    const NAME: &'static str = "analyze_checkin";
    const QUEUE: &'static str = "analyze_checkin";
    const MAX_ATTEMPTS: u32 = 5;
    const LANE: Lane = Lane::Live;
    const AWAITED: bool = true;

    fn dedup_key(&self) -> String {
        self.analysis_id.to_string()
    }

    /// The analysis goes back to `queued` with a fresh attempt count.
    async fn before_retry(&self, db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        analysis::requeue_failed(db, self.analysis_id).await.map(|_| ())
    }

    fn audit_ids(&self) -> serde_json::Value {
        serde_json::json!({ "analysis_id": self.analysis_id })
    }
}
