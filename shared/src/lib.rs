//! What more than one MindWell binary needs: configuration, the database and
//! queue connections, entities, job payloads and the analysis result shape.
//!
//! Errors: [`BootError`] is for start-up (configuration, connecting); each binary
//! keeps its own error type for the work it does.

pub mod analysis;
pub mod cache;
pub mod config;
pub mod db;
pub mod entities;
pub mod events;
pub mod jobs;
pub mod queue;
pub mod redis;
pub mod telemetry;
pub mod time;

use std::time::{SystemTime, UNIX_EPOCH};

/// Why a binary could not start.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("job queue: {0}")]
    Queue(String),
}

/// Now, in UTC, truncated to microseconds: the precision PostgreSQL keeps, so a
/// value read back compares equal to the one written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let micros =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
