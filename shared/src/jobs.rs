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
