//! Notifications between processes: whichever process produces an event
//! publishes it on the deployment's Redis channel; every API replica receives
//! it and forwards it to that user's open streams.
//!
//! Messages carry ids only; the API reads the record itself, so the wire shape
//! of an `Insight` or `Alert` lives in one place (the API).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `insight.completed`: the id is the analysis id.
pub const INSIGHT_COMPLETED: &str = "insight.completed";
/// `alert.created`: the id is the alert id.
pub const ALERT_CREATED: &str = "alert.created";
/// `summary.created`: the id is the summary id.
pub const SUMMARY_CREATED: &str = "summary.created";

/// One event for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// One of the constants above.
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: Uuid,
    pub id: Uuid,
}

/// The channel every process of a deployment publishes on.
pub fn channel(namespace: &str) -> String {
    format!("{namespace}:events")
}
