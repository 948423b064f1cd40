//! What every job runs with (rust-lang/crates.io's `worker/environment.rs`):
//! the database, the models, the rules, the queue and Redis; and what a run
//! answers ([`Outcome`], [`JobError`]).

use std::sync::Arc;

use mindwell_shared::{events, queue::QueueConn};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::{
    config::{AlertRules, MaintenanceConfig},
    inference::{ModelError, Models},
    notify::EmailSender,
};

/// What a job needs: the database, the models and the rules.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    /// The active models (swapped in place when `active.json` changes) and the shadow candidate.
    pub models: Arc<Models>,
    pub rules: AlertRules,
    /// Redis, to mark the user's cached dashboards stale and publish events;
    /// `None` when embedded.
    pub cache: Option<fred::clients::Client>,
    pub namespace: String,
    /// For jobs that enqueue jobs (the stale sweeper).
    pub queue: QueueConn,
    pub maintenance: MaintenanceConfig,
    /// Email, when SMTP is configured.
    pub email: Option<Arc<dyn EmailSender>>,
}

/// Shared handle passed to every job run.
pub type SharedContext = Arc<Context>;

impl Context {
    /// Publishes `kind` about record `id` to `user`'s notification streams; a
    /// failure is logged (notifications are best effort, the data is stored).
    pub async fn publish(&self, kind: &str, user: Uuid, id: Uuid) {
        use fred::interfaces::PubsubInterface;
        let Some(redis) = &self.cache else { return };
        let event = events::Event { kind: kind.to_owned(), user_id: user, id };
        let message = serde_json::to_string(&event).unwrap_or_default();
        let result: Result<i64, _> = redis.publish(events::channel(&self.namespace), message).await;
        if let Err(e) = result {
            tracing::warn!(%user, error = %e, "event not published");
        }
    }

    /// Makes `user`'s cached dashboards stale; a failure is logged, the
    /// entries expire on their own.
    pub async fn invalidate_dashboard(&self, user: Uuid) {
        let Some(redis) = &self.cache else { return };
        if let Err(e) = mindwell_shared::cache::invalidate_dashboard(redis, &self.namespace, user).await {
            tracing::warn!(%user, error = %e, "dashboard cache not invalidated");
        }
    }
}

/// Why one run of a job failed. Each variant keeps its cause; log or store it
/// with [`mindwell_shared::error_chain`].
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database")]
    Database(#[from] DbErr),
    #[error("inference")]
    Model(#[from] ModelError),
    #[error("queue")]
    Queue(#[from] mindwell_shared::queue::QueueError),
    #[error("redis")]
    Redis(#[from] fred::error::Error),
    /// The mail server refused or could not be reached; the job is tried again.
    #[error("email: {0}")]
    Email(String),
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Already done, or its subject is gone: nothing written.
    Skipped,
}
