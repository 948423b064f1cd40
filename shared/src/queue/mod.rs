//! The job queue: Redis through apalis-redis in production, a SQLite file through
//! apalis-sqlite in the embedded default. Both carry the same [`Job`] payloads.
//! [`redis_keys`] is the one reader of apalis-redis' key layout.

pub mod redis_keys;
pub mod retry;

use std::{path::Path, sync::Arc, time::Duration};

use apalis::prelude::TaskSink;
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqliteConnectOptions, SqlitePool, SqliteStorage};

use crate::{
    BootError, config,
    jobs::{ALL, Job},
};

/// How often a worker's queue connection sends a heartbeat; the in-flight jobs
/// of a worker silent for [`MISSED_HEARTBEATS`] of these go to the others.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// Heartbeats a worker may miss before its in-flight jobs are re-enqueued.
pub const MISSED_HEARTBEATS: usize = 5;

/// The queue backend's connection.
#[derive(Clone)]
pub enum Backend {
    Redis(ConnectionManager),
    Sqlite(SqlitePool),
}

/// A connection to the queue, with the deployment's namespace; cheap to clone.
#[derive(Clone)]
pub struct QueueConn {
    pub backend: Backend,
    namespace: Arc<str>,
}

impl std::fmt::Debug for QueueConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Redis(_) => "redis",
            Backend::Sqlite(_) => "sqlite",
        };
        f.debug_struct("QueueConn").field("backend", &kind).field("namespace", &self.namespace).finish()
    }
}

impl QueueConn {
    /// Connects to the configured queue; for SQLite, creates the file and its tables.
    pub async fn connect(backends: &config::Backends) -> Result<Self, BootError> {
        let backend = match &backends.queue {
            config::Queue::Redis(url) => redis_connection(url.expose())
                .await
                .map(Backend::Redis)
                .map_err(|e| BootError::queue("cannot reach Redis", e))?,
            config::Queue::Sqlite(path) => Backend::Sqlite(sqlite_pool(path).await?),
        };
        Ok(Self { backend, namespace: backends.namespace.as_str().into() })
    }

    /// The full queue name of job `J`: `<namespace>:<queue>`.
    pub fn queue_name<J: Job>(&self) -> String {
        self.full_name(J::QUEUE)
    }

    /// The full name of queue `queue`: `<namespace>:<queue>`, the prefix of its
    /// apalis-redis keys.
    pub fn full_name(&self, queue: &str) -> String {
        format!("{}:{queue}", self.namespace)
    }

    /// Every queue of the job list ([`crate::jobs::ALL`]): its name and its
    /// apalis-redis keys.
    pub fn queues(&self) -> impl Iterator<Item = (&'static str, redis_keys::QueueKeys)> + '_ {
        ALL.iter().map(|k| (k.queue, redis_keys::QueueKeys::new(&self.full_name(k.queue))))
    }

    /// Configuration for the Redis storage of job `J`.
    pub fn redis_config<J: Job>(&self) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(self.queue_name::<J>())
            .heartbeat_interval(HEARTBEAT)
            .missed_heartbeats(MISSED_HEARTBEATS)
    }

    /// Configuration for the SQLite storage of job `J`.
    pub fn sqlite_config<J: Job>(&self) -> apalis_sqlite::Config {
        apalis_sqlite::Config::default()
            .queue(self.queue_name::<J>())
            .heartbeat_interval(HEARTBEAT)
            .missed_heartbeats(MISSED_HEARTBEATS)
    }

    /// Enqueues one job, waiting at most [`PUSH_TIMEOUT`]: while the queue is
    /// down a caller (a request storing a check-in) gives up quickly, and the
    /// job's row stays `queued` for the stale-job sweeper.
    pub async fn push<J: Job>(&self, job: J) -> Result<(), QueueError> {
        tokio::time::timeout(PUSH_TIMEOUT, self.push_now(job)).await.map_err(|_| QueueError::Timeout(PUSH_TIMEOUT))?
    }

    async fn push_now<J: Job>(&self, job: J) -> Result<(), QueueError> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut storage = RedisStorage::<J>::new(conn.clone()).with_config(self.redis_config::<J>());
                storage.push(job).await.map_err(|e| QueueError::Push(Box::new(e)))?;
            }
            Backend::Sqlite(pool) => {
                let mut storage = SqliteStorage::<J>::new(pool).with_config(self.sqlite_config::<J>());
                storage.push(job).await.map_err(|e| QueueError::Push(Box::new(e)))?;
            }
        }
        metrics::counter!("mindwell_jobs_enqueued_total", "job" => J::NAME).increment(1);
        Ok(())
    }
}

/// How long [`QueueConn::push`] waits for the queue.
pub const PUSH_TIMEOUT: Duration = Duration::from_millis(500);

/// A job could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no answer from the queue within {0:?}")]
    Timeout(Duration),
    #[error("enqueue failed")]
    Push(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The queue's Redis connection: it reconnects after an outage within a
/// second of Redis being back (the default backoff grows to many seconds), and
/// no command or connection attempt waits more than 2 s.
async fn redis_connection(url: &str) -> Result<ConnectionManager, apalis_redis::RedisError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_max_delay(Duration::from_secs(1))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_connection_timeout(Some(Duration::from_secs(2)));
    apalis_redis::Client::open(url)?.get_connection_manager_with_config(config).await
}

/// The embedded queue's pool: its file private to this user like the
/// database's ([`crate::db::private_sqlite_file`]), with `secure_delete` on.
async fn sqlite_pool(path: &Path) -> Result<SqlitePool, BootError> {
    crate::db::private_sqlite_file(path)?;
    let options = format!("sqlite://{}?mode=rwc", path.display())
        .parse::<SqliteConnectOptions>()
        .map_err(|e| BootError::queue(format!("cannot open {}", path.display()), e))?
        .pragma("secure_delete", "ON");
    let pool = SqlitePool::connect_with(options)
        .await
        .map_err(|e| BootError::queue(format!("cannot open {}", path.display()), e))?;
    SqliteStorage::setup(&pool).await.map_err(|e| BootError::queue(format!("cannot set up {}", path.display()), e))?;
    Ok(pool)
}
