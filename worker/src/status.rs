//! What a worker tells operators: its models (in Redis, for `GET
//! /api/v1/admin/models`), queue depths, database pool and Redis health (as
//! metrics), and whether it is ready (for `/health/ready`).

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use fred::interfaces::{ClientLike, HashesInterface, KeysInterface};
use mindwell_shared::{queue::redis_keys, worker_status::Published};
use sea_orm::DatabaseBackend;
use tokio::sync::watch;

use crate::context::SharedContext;

/// How often the status and gauges are refreshed.
const EVERY: Duration = Duration::from_secs(5);

use mindwell_shared::cache::models_status_key as models_key;

/// Refreshes the status and gauges every few seconds until `stop` turns true,
/// then removes this worker's status.
pub fn spawn(worker: String, ctx: SharedContext, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            pool_gauges(&ctx);
            let Some(redis) = &ctx.cache else { continue };
            let up = redis.ping::<String>(None).await.is_ok();
            metrics::gauge!("mindwell_redis_up").set(if up { 1.0 } else { 0.0 });
            if !up {
                continue;
            }
            if let Err(e) = publish(redis, &ctx, &worker).await {
                tracing::warn!(error = %e, "worker status not published");
            }
            if let Err(e) = queue_gauges(redis, &ctx).await {
                tracing::warn!(error = %e, "queue depths not read");
            }
        }
        if let Some(redis) = &ctx.cache {
            let _: Result<i64, _> = redis.hdel(models_key(&ctx.namespace), &worker).await;
        }
    });
}

async fn publish(redis: &fred::clients::Client, ctx: &SharedContext, worker: &str) -> Result<(), fred::error::Error> {
    let status = Published { worker: worker.to_owned(), updated_at: Utc::now(), models: ctx.models.status() };
    let key = models_key(&ctx.namespace);
    let _: i64 = redis.hset(&key, (worker, serde_json::to_string(&status).unwrap_or_default())).await?;
    let _: bool = redis.expire(&key, 120, None).await?;
    Ok(())
}

/// `mindwell_queue_depth{queue,state}` for every queue of the job list.
async fn queue_gauges(redis: &fred::clients::Client, ctx: &SharedContext) -> Result<(), fred::error::Error> {
    for (name, keys) in ctx.queue.queues() {
        let d = redis_keys::depths(redis, &keys).await?;
        #[expect(clippy::cast_precision_loss, reason = "queue lengths")]
        for (state, n) in [("pending", d.queued + d.scheduled), ("running", d.running), ("dead", d.dead)] {
            metrics::gauge!("mindwell_queue_depth", "queue" => name, "state" => state).set(n as f64);
        }
    }
    Ok(())
}

/// `mindwell_db_pool_connections{state}`: idle and in use.
fn pool_gauges(ctx: &SharedContext) {
    let (size, idle) = match ctx.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = ctx.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = ctx.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(size);
    metrics::gauge!("mindwell_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("mindwell_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
}

/// Ready when the database and (if used) Redis answer; the models are loaded
/// before the listener starts.
pub fn ready_check(ctx: SharedContext) -> mindwell_shared::telemetry::ReadyCheck {
    Arc::new(move || {
        let ctx = ctx.clone();
        Box::pin(async move {
            let db = ctx.db.ping().await.is_ok();
            let redis = match &ctx.cache {
                Some(r) => r.ping::<String>(None).await.is_ok(),
                None => true,
            };
            db && redis
        })
    })
}
