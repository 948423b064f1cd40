//! The worker's settings, read once from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MINDWELL_MODEL_DIR` | `model-assets` | model folders and `active.json` |
//! | `ORT_DYLIB_PATH` | `.ort/libonnxruntime.so.1.31.1` | the ONNX Runtime library (from the PyPI `onnxruntime` wheel) |
//! | `MINDWELL_WORKER_CONCURRENCY` | `16` | live jobs in flight per worker process (they batch their inference) |
//! | `MINDWELL_BACKFILL_CONCURRENCY` | `2` | backfill (`reanalyze_checkin`) jobs in flight per worker process |
//! | `MINDWELL_INFERENCE_THREADS` | `1` | pipelines (one per inference thread) per worker process |
//! | `MINDWELL_BATCH_MAX` | `32` | most notes in one run of the encoder |
//! | `MINDWELL_BATCH_WAIT_MS` | `2` | longest a note waits for others to join its batch |
//! | `MINDWELL_EXECUTION_PROVIDER` | `cpu` | `cpu`, `cuda` or `cuda:<device>` (needs `onnxruntime-gpu`'s library in `ORT_DYLIB_PATH`) |
//! | `MINDWELL_MODEL_POLL_SECS` | `2` | how often `active.json` is checked for a new version (SIGHUP checks at once) |
//! | `MINDWELL_METRICS_ADDR` | unset (off) | e.g. `0.0.0.0:9100`: serves `/metrics`, `/health`, `/health/ready` |
//! | `MINDWELL_WORKER_POLL_MS` | `20` | how often an idle worker looks for new analyses (other queues: 5× that, at least 100 ms) |
//! | `MINDWELL_ALERT_LOW_SLEEP_HOURS` | `5` | `low_sleep` warning below this many hours |
//! | `MINDWELL_ALERT_CRITICAL_SLEEP_HOURS` | `3` | `low_sleep` critical below this many hours |
//! | `MINDWELL_ALERT_MOOD_DROP` | `3` | `mood_drop` when mood is this far below the 7-day average |
//! | `MINDWELL_CRISIS_RESOURCES` | a help-line text | carried in a critical alert's payload |
//! | `MINDWELL_ESCALATE_AFTER_MINUTES` | `30` | open warning/critical alerts older than this are escalated |
//! | `MINDWELL_STALE_AFTER_SECS` | `300` | `queued`/`running` analyses untouched this long are enqueued again |
//! | `MINDWELL_AUDIT_RETENTION_DAYS` | `365` | audit entries older than this are deleted |
//! | `MINDWELL_JOB_RESULT_RETENTION_DAYS` | `7` | finished jobs' payloads and results are deleted from the queue after this |
//! | `MINDWELL_SMTP_URL` | unset (email off) | e.g. `smtp://relay:25` or `smtps://user:pass@host`; emails go only to users who opted in; in production it must ask for TLS (`smtps://` or `?tls=required`) |
//! | `MINDWELL_SMTP_FROM` | `MindWell <no-reply@localhost>` | sender address |

use std::{path::PathBuf, time::Duration};

use chrono::Duration as Days;
use mindwell_shared::{
    BootError,
    config::{Backends, Profile, parse_var, var},
    secret::Secret,
};

/// Thresholds of the default alert rules.
#[derive(Debug, Clone)]
pub struct AlertRules {
    pub low_sleep_hours: f64,
    pub critical_sleep_hours: f64,
    pub mood_drop: f64,
    pub crisis_resources: String,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            low_sleep_hours: 5.0,
            critical_sleep_hours: 3.0,
            mood_drop: 3.0,
            crisis_resources: "If you are in danger or thinking about ending your life, please reach out now: call your local emergency number, or a crisis line such as 988 (US), 116 123 (UK & IE, Samaritans) or findahelpline.com for other countries. You are not alone.".into(),
        }
    }
}

/// Thresholds of the upkeep tasks (the `maintenance` job).
#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Open critical (or warning) alerts older than this are escalated.
    pub escalate_after: Days,
    /// Analyses `queued`/`running` untouched this long are enqueued again.
    pub stale_after: Days,
    /// Audit entries older than this are deleted.
    pub audit_retention: Days,
    /// Finished jobs' results kept in the queue (apalis-redis never expires them).
    pub job_result_retention: Days,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            escalate_after: Days::minutes(30),
            stale_after: Days::minutes(5),
            audit_retention: Days::days(365),
            job_result_retention: Days::days(7),
        }
    }
}

/// Everything `mindwell-worker` reads from its environment.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub backends: Backends,
    pub model_dir: PathBuf,
    pub ort_dylib: PathBuf,
    pub concurrency: usize,
    pub backfill_concurrency: usize,
    pub inference_threads: usize,
    pub batch: crate::inference::BatchConfig,
    pub provider: crate::inference::ExecutionProvider,
    pub model_poll: Duration,
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub poll_interval: Duration,
    pub rules: AlertRules,
    pub maintenance: MaintenanceConfig,
    /// SMTP URL and sender, when email is on.
    pub smtp: Option<(Secret, String)>,
}

impl WorkerConfig {
    pub fn from_env() -> Result<Self, BootError> {
        if var("MINDWELL_JOB_MAX_ATTEMPTS").is_some() {
            tracing::warn!(
                "MINDWELL_JOB_MAX_ATTEMPTS is no longer read: each job declares its own attempts (5 for analyses)"
            );
        }
        let defaults = AlertRules::default();
        let backends = Backends::from_env()?;
        let smtp_url = var("MINDWELL_SMTP_URL");
        if let Some(url) = &smtp_url {
            check_smtp_tls(url, backends.profile)?;
        }
        Ok(Self {
            backends,
            model_dir: PathBuf::from(var("MINDWELL_MODEL_DIR").unwrap_or_else(|| "model-assets".into())),
            ort_dylib: PathBuf::from(var("ORT_DYLIB_PATH").unwrap_or_else(|| ".ort/libonnxruntime.so.1.31.1".into())),
            concurrency: parse_var("MINDWELL_WORKER_CONCURRENCY", 16usize)?.max(1),
            backfill_concurrency: parse_var("MINDWELL_BACKFILL_CONCURRENCY", 2usize)?.max(1),
            inference_threads: parse_var("MINDWELL_INFERENCE_THREADS", 1usize)?.max(1),
            batch: crate::inference::BatchConfig {
                max_batch: parse_var("MINDWELL_BATCH_MAX", 32usize)?.max(1),
                max_wait: Duration::from_millis(parse_var("MINDWELL_BATCH_WAIT_MS", 2u64)?),
            },
            provider: parse_var("MINDWELL_EXECUTION_PROVIDER", crate::inference::ExecutionProvider::Cpu)?,
            model_poll: Duration::from_secs(parse_var("MINDWELL_MODEL_POLL_SECS", 2u64)?.max(1)),
            metrics_addr: var("MINDWELL_METRICS_ADDR")
                .map(|a| a.parse().map_err(|_| BootError::Config(format!("MINDWELL_METRICS_ADDR={a}: not an address"))))
                .transpose()?,
            poll_interval: Duration::from_millis(parse_var("MINDWELL_WORKER_POLL_MS", 20u64)?.max(5)),
            rules: AlertRules {
                low_sleep_hours: parse_var("MINDWELL_ALERT_LOW_SLEEP_HOURS", defaults.low_sleep_hours)?,
                critical_sleep_hours: parse_var("MINDWELL_ALERT_CRITICAL_SLEEP_HOURS", defaults.critical_sleep_hours)?,
                mood_drop: parse_var("MINDWELL_ALERT_MOOD_DROP", defaults.mood_drop)?,
                crisis_resources: var("MINDWELL_CRISIS_RESOURCES").unwrap_or(defaults.crisis_resources),
            },
            maintenance: MaintenanceConfig {
                escalate_after: Days::minutes(parse_var("MINDWELL_ESCALATE_AFTER_MINUTES", 30)?),
                stale_after: Days::seconds(parse_var("MINDWELL_STALE_AFTER_SECS", 300)?),
                audit_retention: Days::days(parse_var("MINDWELL_AUDIT_RETENTION_DAYS", 365)?),
                job_result_retention: Days::days(parse_var("MINDWELL_JOB_RESULT_RETENTION_DAYS", 7)?),
            },
            smtp: smtp_url.map(|url| {
                (url.into(), var("MINDWELL_SMTP_FROM").unwrap_or_else(|| "MindWell <no-reply@localhost>".into()))
            }),
        })
    }
}

/// In production, email must travel encrypted: `smtps://`, or `smtp://` with
/// `tls=required` (STARTTLS that cannot be stripped). Plain `smtp://`, and
/// `tls=opportunistic` which an attacker on the path can downgrade, are
/// start-up errors. The message never echoes the URL: it may hold a password.
pub fn check_smtp_tls(url: &str, profile: Profile) -> Result<(), BootError> {
    if profile != Profile::Production {
        return Ok(());
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    let tls_required =
        rest.split_once('?').is_some_and(|(_, query)| query.split('&').any(|p| p.eq_ignore_ascii_case("tls=required")));
    if scheme == "smtps" || (scheme == "smtp" && tls_required) {
        return Ok(());
    }
    Err(BootError::Config(
        "MINDWELL_SMTP_URL must use TLS in production: `smtps://…` or `smtp://…?tls=required`".into(),
    ))
}

#[cfg(test)]
mod tests {
    use mindwell_shared::config::Profile;

    use super::check_smtp_tls;

    #[test]
    fn production_refuses_smtp_without_tls_and_names_the_variable() {
        for ok in ["smtps://user:pass@mail.example.com", "smtp://mail.example.com:587?tls=required", "SMTPS://host"] {
            assert!(check_smtp_tls(ok, Profile::Production).is_ok(), "{ok}");
        }
        for bad in
            ["smtp://relay:25", "smtp://user:hunter22@relay:587?tls=opportunistic", "smtp://relay?tls=none", "relay:25"]
        {
            let err = check_smtp_tls(bad, Profile::Production).expect_err(bad).to_string();
            assert!(err.contains("MINDWELL_SMTP_URL"), "{err}");
            assert!(!err.contains("hunter22"), "the URL's password leaks: {err}");
        }
    }

    #[test]
    fn development_accepts_a_plain_relay() {
        assert!(check_smtp_tls("smtp://relay:25", Profile::Development).is_ok());
    }
}
