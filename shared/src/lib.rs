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
    /// A setting's value could not be used; `source` says why.
    #[error("{name} is not valid")]
    Invalid {
        name: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BootError {
    /// Setting `name` is not valid, because of `source`.
    pub fn invalid(name: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Invalid { name, source: Box::new(source) }
    }

    /// The queue failed at `what`, because of `source`.
    pub fn queue(what: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Queue { what: what.into(), source: Box::new(source) }
    }
}

/// Writes an error and its sources on one line, `a: b: c` (zero2prod's
/// `error_chain_fmt`), for logging an error once with its whole chain; a
/// source whose text its parent already shows (sea-orm's and many others'
/// `Display` include their source) is skipped.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            let text = e.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            next = e.source();
        }
        Ok(())
    }
}

/// [`Chain`] as a `String`: what a job stores as its error.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    Chain(error).to_string()
}

/// Now, in UTC, truncated to microseconds: the precision PostgreSQL keeps, so a
/// value read back compares equal to the one written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let micros =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("database")]
    struct Top(#[source] sea_orm::DbErr);

    #[test]
    fn a_chain_names_each_cause_once() {
        let inner = sea_orm::DbErr::Custom("disk full".into());
        let err = Top(sea_orm::DbErr::Query(sea_orm::RuntimeErr::Internal(inner.to_string())));
        assert_eq!(error_chain(&err), "database: Query Error: Custom Error: disk full");
        let io = std::io::Error::other("no answer");
        let boot = BootError::Io { what: "cannot create .data".into(), source: io };
        assert_eq!(error_chain(&boot), "cannot create .data: no answer");
    }
}
