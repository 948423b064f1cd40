//! What more than one MindWell binary needs: configuration, the database and
//! queue connections, the generated entities and the behaviour beside them
//! ([`domain`]: enums, the analysis lifecycle, audit), job payloads and the one
//! list of jobs ([`jobs`]), caches and events.
//!
//! Errors: [`BootError`] is for start-up (configuration, connecting); each binary
//! keeps its own error type for the work it does.

pub mod cache;
pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod events;
pub mod jobs;
pub mod queue;
pub mod redis;
pub mod secret;
pub mod telemetry;
pub mod time;
pub mod worker_status;

use std::time::{SystemTime, UNIX_EPOCH};

/// Why a binary could not start. Each variant keeps its cause as `source`;
/// print it with [`error_chain`] (or `anyhow`'s `{:#}`) to see the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// A setting is missing or invalid; the message names it.
    #[error("configuration: {0}")]
    Config(String),
    #[error("database")]
    Database(#[from] sea_orm::DbErr),
    #[error("job queue: {what}")]
    Queue {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("redis")]
    Redis(#[from] fred::error::Error),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BootError {
    /// The queue failed at `what`, because of `source`.
    pub fn queue(what: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Queue { what: what.into(), source: Box::new(source) }
    }
}

/// `error: cause: cause's cause: …`, for logging an error once with its whole chain.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cause = e.source();
    }
    out
}

/// Now, in UTC, truncated to microseconds: the precision PostgreSQL keeps, so a
/// value read back compares equal to the one written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let micros =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
