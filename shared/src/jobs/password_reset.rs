use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Job;

/// Someone asked to reset the password of `email`'s account. The worker
/// issues the code (so it never travels in a payload or a log) and mails it;
/// for an unknown or disabled account it does nothing, so the API does the
/// same work either way.
///
/// Idempotent: the code is keyed by `request_id`; a redelivery replaces it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPasswordReset {
    pub request_id: Uuid,
    pub email: String,
}

impl std::fmt::Debug for SendPasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendPasswordReset").field("request_id", &self.request_id).finish_non_exhaustive()
    }
}

impl Job for SendPasswordReset {
    const NAME: &'static str = "send_password_reset";
    const QUEUE: &'static str = "send_password_reset";
    const MAX_ATTEMPTS: u32 = 3;
    const AWAITED: bool = true;

    fn dedup_key(&self) -> String {
        self.request_id.to_string()
    }

    fn audit_ids(&self) -> serde_json::Value {
        serde_json::json!({ "request_id": self.request_id })
    }
}
