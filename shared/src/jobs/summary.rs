use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Job;
pub use crate::domain::Period;

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
