//! The wire type of what each worker publishes about its models, written by
//! the worker (`worker/src/status.rs`) into the hash
//! [`crate::cache::models_status_key`] (one field per worker id) and read by
//! `GET /api/v1/admin/models`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a worker serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsStatus {
    /// Model name to the version serving live jobs.
    pub active: BTreeMap<String, String>,
    /// `encoder@v+text-heads@v+risk@v` of the active engine.
    pub version: String,
    /// The shadow candidate's version and share, if one runs.
    pub shadow: Option<ShadowStatus>,
    /// Why the last change of `active.json` was not applied, if it was not.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// When the active engine was loaded.
    pub loaded_at: DateTime<Utc>,
}

/// The shadow part of [`ModelsStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowStatus {
    /// `encoder@v+text-heads@v+risk@v`.
    pub version: String,
    /// Share of live jobs it also runs on (0..=1).
    pub share: f64,
}

/// One entry of the hash: a worker's [`ModelsStatus`], who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub worker: String,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub models: ModelsStatus,
}
