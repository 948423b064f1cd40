//! `mindwell-scheduler`: enqueues time-based jobs for the worker fleet — daily
//! and weekly summaries by each user's local day, the alert scanner, the
//! stale-analysis sweeper and retention clean-up.
//!
//! Several replicas may run. Exactly one enqueues each tick: the holder of a
//! Redis lease (`<ns>:scheduler:leader`, renewed every tick, expiring after
//! three missed ticks). As a second guard every job is enqueued under a Redis
//! key that only its first enqueuer can set (`SET NX`), so even two leaders
//! (a partition, a clock jump) enqueue each job once; and every job's effect
//! is idempotent in the database.

pub mod plan;

use std::time::Duration;

use chrono::{DateTime, Utc};
use fred::{
    clients::Client,
    interfaces::{ClientLike, KeysInterface, LuaInterface},
    types::{Expiration, SetOptions},
};
use mindwell_shared::{
    config::{Backends, parse_var},
    jobs::{Job, Maintenance, Period},
    queue::QueueConn,
};
use sea_orm::DatabaseConnection;

/// The scheduler's settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub backends: Backends,
    /// `MINDWELL_SCHEDULER_TICK_SECS` (default 30): how often the leader looks for due work.
    pub tick: Duration,
    /// `MINDWELL_METRICS_ADDR` (default off): `/metrics`, `/health` and `/health/ready`.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl SchedulerConfig {
    pub fn from_env() -> Result<Self, mindwell_shared::BootError> {
        Ok(Self {
            backends: Backends::from_env()?,
            tick: Duration::from_secs(parse_var("MINDWELL_SCHEDULER_TICK_SECS", 30u64)?.max(1)),
            metrics_addr: mindwell_shared::config::var("MINDWELL_METRICS_ADDR")
                .map(|a| {
                    a.parse().map_err(|_| {
                        mindwell_shared::BootError::Config(format!("MINDWELL_METRICS_ADDR={a}: not an address"))
                    })
                })
                .transpose()?,
        })
    }
}

/// Renews the lease if `ARGV[1]` holds it, or takes it if free.
const LEASE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"#;

/// One scheduler process.
#[derive(Debug)]
pub struct Scheduler {
    pub id: String,
    db: DatabaseConnection,
    queue: QueueConn,
    redis: Client,
    namespace: String,
    tick: Duration,
}

impl Scheduler {
    /// Connects to the database, the queue and Redis (required: the lease lives there).
    pub async fn connect(config: &SchedulerConfig) -> anyhow::Result<Self> {
        let mindwell_shared::config::Queue::Redis(url) = &config.backends.queue else {
            anyhow::bail!("mindwell-scheduler run needs REDIS_URL (its lease lives in Redis)");
        };
        let redis = mindwell_shared::redis::client(url.expose(), Duration::from_secs(2)).await?;
        Ok(Self {
            id: format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            db: mindwell_shared::db::connect(&config.backends.database, 4).await?,
            queue: QueueConn::connect(&config.backends).await?,
            redis,
            namespace: config.backends.namespace.clone(),
            tick: config.tick,
        })
    }

    /// Ready when the database and Redis answer.
    pub fn ready_check(&self) -> mindwell_shared::telemetry::ReadyCheck {
        let (db, redis) = (self.db.clone(), self.redis.clone());
        std::sync::Arc::new(move || {
            let (db, redis) = (db.clone(), redis.clone());
            Box::pin(async move { db.ping().await.is_ok() && redis.ping::<String>(None).await.is_ok() })
        })
    }

    /// Takes or renews the leader lease; `true` while this replica leads.
    pub async fn lead(&self) -> anyhow::Result<bool> {
        let ttl_ms = i64::try_from(self.tick.as_millis() * 3).unwrap_or(90_000);
        let key = format!("{}:scheduler:leader", self.namespace);
        let held: i64 = self.redis.eval(LEASE_SCRIPT, vec![key], vec![self.id.clone(), ttl_ms.to_string()]).await?;
        Ok(held == 1)
    }

    /// Enqueues `job` unless some scheduler already did (`SET NX`, kept 3 days).
    async fn enqueue_once<J: Job>(&self, key: &str, job: J) -> anyhow::Result<bool> {
        let guard = format!("{}:scheduled:{}:{key}", self.namespace, J::NAME);
        let fresh: Option<String> =
            self.redis.set(guard.clone(), "1", Some(Expiration::EX(3 * 86_400)), Some(SetOptions::NX), false).await?;
        if fresh.is_none() {
            return Ok(false);
        }
        if let Err(e) = self.queue.push(job).await {
            // Let the next tick try again.
            let _: i64 = self.redis.del(guard).await?;
            return Err(e.into());
        }
        Ok(true)
    }

    /// One tick at `now`: enqueues whatever is due. Returns the jobs enqueued.
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut enqueued = 0;
        for period in [Period::Daily, Period::Weekly] {
            for job in plan::due_summaries(&self.db, period, now, None, None).await? {
                if self.enqueue_once(&job.dedup_key(), job).await? {
                    enqueued += 1;
                }
            }
        }
        let minute = now.timestamp() / 60;
        let upkeep = [
            (format!("sweep:{minute}"), Maintenance::SweepStale { as_of: now }),
            (format!("scan:{}", minute / 5), Maintenance::ScanAlerts { as_of: now }),
            (format!("cleanup:{}", minute / 60), Maintenance::Cleanup { as_of: now }),
        ];
        for (key, job) in upkeep {
            if self.enqueue_once(&key, job).await? {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    /// Ticks until `shutdown` resolves; only the lease holder enqueues.
    pub async fn run<F: std::future::Future<Output = ()>>(&self, shutdown: F) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {}
            }
            match self.lead().await {
                Ok(true) => match self.tick(Utc::now()).await {
                    Ok(n) => tracing::info!(enqueued = n, "tick"),
                    Err(e) => tracing::error!(error = format!("{e:#}"), "tick failed"),
                },
                Ok(false) => tracing::debug!("another replica leads"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "lease unavailable"),
            }
        }
        // Hand the lease over at once.
        let key = format!("{}:scheduler:leader", self.namespace);
        let current: Option<String> = self.redis.get(&key).await?;
        if current.as_deref() == Some(self.id.as_str()) {
            let _: i64 = self.redis.del(key).await?;
        }
        Ok(())
    }
}

/// Enqueues the summaries of one period (`date`: its start; default the
/// period due now in each user's zone), for every user with data or only
/// `user`; returns the jobs enqueued. Needs no lease: the jobs are idempotent.
pub async fn enqueue_summaries(
    db: &DatabaseConnection,
    queue: &QueueConn,
    period: Period,
    date: Option<chrono::NaiveDate>,
    user: Option<uuid::Uuid>,
) -> anyhow::Result<Vec<mindwell_shared::jobs::GenerateSummary>> {
    let jobs = plan::due_summaries(db, period, Utc::now(), date, user).await?;
    for job in &jobs {
        queue.push(job.clone()).await?;
    }
    Ok(jobs)
}
