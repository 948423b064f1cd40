//! The shape of an analysis result, written by the worker and served by the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Analysis statuses, as stored and as the contract spells them.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const COMPLETED: &str = "completed";
    pub const FAILED: &str = "failed";
}

/// The sentiment of the notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// `negative`, `neutral` or `positive`.
    pub label: String,
    /// The probability of that label, 0..1.
    pub score: f64,
}

/// `labels` of an insight: `{"sentiment", "emotions", "stress_level", "risk_score"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub sentiment: Sentiment,
    /// Emotion name to probability, 0..1.
    pub emotions: BTreeMap<String, f64>,
    /// `low`, `moderate` or `high`.
    pub stress_level: String,
    /// 0..1.
    pub risk_score: f64,
}

/// Alert kinds, severities and statuses as the contract spells them.
pub mod alert {
    pub const LOW_SLEEP: &str = "low_sleep";
    pub const HIGH_STRESS: &str = "high_stress";
    pub const MOOD_DROP: &str = "mood_drop";
    pub const CRISIS_LANGUAGE: &str = "crisis_language";

    pub const INFO: &str = "info";
    pub const WARNING: &str = "warning";
    pub const CRITICAL: &str = "critical";

    pub const OPEN: &str = "open";
    pub const ACKNOWLEDGED: &str = "acknowledged";
    pub const CLOSED: &str = "closed";
}
