//! Settings shared by every binary, read once from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MINDWELL_ENV` | `development` | `production` turns missing secrets and embedded backends into start-up errors |
//! | `DATABASE_URL` | embedded SQLite at `$MINDWELL_DATA_DIR/mindwell.sqlite` | PostgreSQL URL in production |
//! | `REDIS_URL` | embedded SQLite job queue at `$MINDWELL_DATA_DIR/queue.sqlite` | Redis URL: job queue, rate limits, token revocation |
//! | `MINDWELL_DATA_DIR` | `.data` | where the embedded backends keep their files |
//! | `MINDWELL_NAMESPACE` | `mindwell` | prefix of every Redis key and queue name, so several deployments (or test runs) can share one Redis |

use std::{env, path::PathBuf};

/// The `--help` lines for the variables every binary reads (this module and
/// `telemetry.rs`), for the `Environment:` section of each command's help.
/// A macro, so that `concat!` can join it with a command's own lines.
#[macro_export]
macro_rules! shared_env_help {
    () => {
        "  MINDWELL_ENV                 development (default) or production: missing URLs and secrets are errors
  DATABASE_URL                 PostgreSQL URL [default: SQLite in MINDWELL_DATA_DIR]
  REDIS_URL                    Redis URL [default: SQLite job queue in MINDWELL_DATA_DIR]
  MINDWELL_DATA_DIR            folder of the embedded backends [default: .data]
  MINDWELL_NAMESPACE           prefix of Redis keys and queue names [default: mindwell]
  RUST_LOG                     log filter [default: info]
  SENTRY_DSN, OTEL_EXPORTER_OTLP_ENDPOINT
                               where errors and traces go [default: off]
"
    };
}

use crate::{BootError, secret::Secret};

/// Where the process runs: development allows embedded backends and a
/// generated JWT secret, production does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Production,
}

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// Its URL may carry a password.
    Postgres(Secret),
    /// A SQLite file: the embedded default.
    Sqlite(PathBuf),
}

impl Database {
    /// The connection URL SeaORM takes.
    pub fn url(&self) -> String {
        match self {
            Self::Postgres(url) => url.expose().to_owned(),
            Self::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
        }
    }
}

/// Which job queue (and key-value store) to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// Its URL may carry a password.
    Redis(Secret),
    /// A SQLite file read by the embedded worker; rate limits and revocations
    /// then live in the API process.
    Sqlite(PathBuf),
}

/// The backends every binary connects to.
#[derive(Debug, Clone)]
pub struct Backends {
    pub profile: Profile,
    pub database: Database,
    pub queue: Queue,
    /// Prefix of Redis keys and queue names.
    pub namespace: String,
}

/// Reads an optional environment variable; an empty value counts as unset.
pub fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads and parses an environment variable, or returns `default`.
pub fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> Result<T, BootError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| BootError::Config(format!("{name}={raw:?} is not valid"))),
    }
}

impl Backends {
    /// Reads `MINDWELL_ENV`, `DATABASE_URL`, `REDIS_URL` and `MINDWELL_DATA_DIR`.
    pub fn from_env() -> Result<Self, BootError> {
        let profile = match var("MINDWELL_ENV").as_deref() {
            None | Some("development" | "dev" | "test") => Profile::Development,
            Some("production" | "prod") => Profile::Production,
            Some(other) => {
                return Err(BootError::Config(format!("MINDWELL_ENV={other:?}: use development or production")));
            }
        };
        let data_dir = PathBuf::from(var("MINDWELL_DATA_DIR").unwrap_or_else(|| ".data".into()));
        let database = match var("DATABASE_URL") {
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Database::Sqlite(PathBuf::from(path.split('?').next().unwrap_or_default()))
            }
            Some(url) => Database::Postgres(url.into()),
            None => Database::Sqlite(data_dir.join("mindwell.sqlite")),
        };
        let queue = match var("REDIS_URL") {
            Some(url) => Queue::Redis(url.into()),
            None => Queue::Sqlite(data_dir.join("queue.sqlite")),
        };
        if profile == Profile::Production {
            if matches!(database, Database::Sqlite(_)) {
                return Err(BootError::Config("production needs DATABASE_URL (PostgreSQL)".into()));
            }
            if matches!(queue, Queue::Sqlite(_)) {
                return Err(BootError::Config("production needs REDIS_URL".into()));
            }
        }
        let namespace = var("MINDWELL_NAMESPACE").unwrap_or_else(|| "mindwell".into());
        if !namespace.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(BootError::Config(format!("MINDWELL_NAMESPACE={namespace:?}: use letters, digits, - _ .")));
        }
        Ok(Self { profile, database, queue, namespace })
    }
}
