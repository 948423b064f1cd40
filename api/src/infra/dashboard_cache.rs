//! The per-user dashboard cache: cache-aside in one Redis hash per user (see
//! `mindwell_shared::cache`), made stale by bumping the hash's generation
//! counter on every write of the user's data. The in-process store caches
//! nothing, so the embedded mode always computes.

use std::future::Future;

use fred::interfaces::{HashesInterface, KeysInterface};
use mindwell_shared::cache;
use uuid::Uuid;

use super::kv::Kv;
use crate::error::ApiError;

/// The JSON `build` produces for `user` under `field`, from the cache when
/// current; `build`'s answer is stored for the next read. With `enabled`
/// false the cache is skipped; a cache failure is logged and `build` answers.
pub async fn cached<F>(kv: &Kv, enabled: bool, user: Uuid, field: &str, build: F) -> Result<String, ApiError>
where
    F: Future<Output = Result<String, ApiError>>,
{
    if !enabled {
        return build.await;
    }
    let generation = match kv.dashboard_get(user, field).await {
        Ok((Some(json), _)) => {
            metrics::counter!("mindwell_dashboard_cache_total", "outcome" => "hit").increment(1);
            return Ok(json);
        }
        Ok((None, generation)) => Some(generation),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard cache unreadable");
            None
        }
    };
    metrics::counter!("mindwell_dashboard_cache_total", "outcome" => "miss").increment(1);
    let json = build.await?;
    if let Some(generation) = generation
        && let Err(e) = kv.dashboard_put(user, field, generation, &json).await
    {
        tracing::warn!(error = %e, "dashboard cache not written");
    }
    Ok(json)
}

/// Marks `user`'s cached dashboards stale after a write; failures are logged
/// (the entries expire on their own).
pub async fn invalidate(kv: &Kv, user: Uuid) {
    if let Err(e) = kv.dashboard_invalidate(user).await {
        tracing::warn!(%user, error = %e, "dashboard cache not invalidated");
    }
}

impl Kv {
    /// A cached dashboard of `user` under `field`, if still current, and the
    /// generation a freshly computed one must be stored under.
    pub async fn dashboard_get(&self, user: Uuid, field: &str) -> Result<(Option<String>, u64), ApiError> {
        let Some(client) = self.redis_client()? else { return Ok((None, 0)) };
        let key = cache::dashboard_key(self.namespace(), user);
        let (value, generation): (Option<String>, Option<u64>) =
            client.hmget(key, vec![field.to_owned(), cache::GENERATION_FIELD.to_owned()]).await?;
        let generation = generation.unwrap_or(0);
        let current = value.and_then(|v| {
            let (g, json) = v.split_once('|')?;
            (g.parse::<u64>().ok() == Some(generation)).then(|| json.to_owned())
        });
        Ok((current, generation))
    }

    /// Stores a dashboard computed while `generation` was current.
    pub async fn dashboard_put(&self, user: Uuid, field: &str, generation: u64, json: &str) -> Result<(), ApiError> {
        let Some(client) = self.redis_client()? else { return Ok(()) };
        let key = cache::dashboard_key(self.namespace(), user);
        let pipe = client.pipeline();
        let _: () = pipe.hset(&key, (field, format!("{generation}|{json}"))).await?;
        let _: () = pipe.expire(&key, cache::TTL_SECS, None).await?;
        let _: ((), ()) = pipe.all().await?;
        Ok(())
    }

    /// Makes every cached dashboard of `user` stale: call after any write of
    /// their data.
    pub async fn dashboard_invalidate(&self, user: Uuid) -> Result<(), ApiError> {
        let Some(client) = self.redis_client()? else { return Ok(()) };
        cache::invalidate_dashboard(client, self.namespace(), user).await?;
        Ok(())
    }

    /// Drops every cached dashboard of `user` (on erasure).
    pub async fn dashboard_forget(&self, user: Uuid) -> Result<(), ApiError> {
        let Some(client) = self.redis_client()? else { return Ok(()) };
        let _: i64 = client.del(cache::dashboard_key(self.namespace(), user)).await?;
        Ok(())
    }
}
