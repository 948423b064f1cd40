//! Short-lived shared state: auth rate-limit counters, token revocations and
//! (in `dashboard_cache`) cached dashboards.
//!
//! In production it lives in Redis (through fred), shared by every API replica.
//! In the embedded default (no `REDIS_URL`) it lives in this process, which is
//! right because the embedded mode runs one API process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use fred::{
    clients::Pool,
    interfaces::{ClientLike, KeysInterface},
    types::{Expiration, ExpireOptions},
};

use crate::error::{ApiError, Cause, Chain, failure};

/// Where the state lives.
#[derive(Clone)]
enum Store {
    Redis(Pool),
    Memory(Arc<Mutex<HashMap<String, (String, Instant)>>>),
}

/// Redis or in-process key-value state, every key under the deployment's
/// namespace; cheap to clone.
#[derive(Clone)]
pub struct Kv {
    store: Store,
    namespace: Arc<str>,
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.store {
            Store::Redis(_) => "redis",
            Store::Memory(_) => "memory",
        };
        f.debug_struct("Kv").field("store", &kind).field("namespace", &self.namespace).finish()
    }
}

const MEMORY_POISONED: &str = "in-process state poisoned";

/// How long a request waits on Redis before it gives up: a Redis outage
/// costs a request this much at most, not the reconnect loop's time.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(750);

/// `result` of a Redis-backed check (`revocation`, `rate_limit`), or
/// `fallback` when Redis is unavailable: the request goes on without the
/// check, counted in `mindwell_redis_fail_open_total{check}` and logged once
/// per second at most. Other errors pass through.
pub fn or_fail_open<T>(
    check: &'static str,
    result: Result<T, ApiError>,
    fallback: impl FnOnce() -> T,
) -> Result<T, ApiError> {
    match result {
        Err(ApiError::Unavailable(cause)) => {
            fail_open(check, &cause);
            Ok(fallback())
        }
        other => other,
    }
}

fn fail_open(check: &'static str, cause: &Cause) {
    static LAST_LOG: Mutex<Option<Instant>> = Mutex::new(None);
    metrics::counter!("mindwell_redis_fail_open_total", "check" => check).increment(1);
    if let Ok(mut last) = LAST_LOG.lock()
        && last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
    {
        *last = Some(Instant::now());
        tracing::warn!(check, cause = %Chain(cause.as_ref()), "redis unavailable: check skipped");
    }
}

impl Kv {
    /// Connects a pool of `size` Redis connections.
    pub async fn redis(url: &str, size: usize, namespace: &str) -> Result<Self, fred::error::Error> {
        let pool = mindwell_shared::redis::builder(url, COMMAND_TIMEOUT)?.build_pool(size)?;
        pool.init().await?;
        Ok(Self { store: Store::Redis(pool), namespace: namespace.into() })
    }

    /// An empty in-process store.
    pub fn memory(namespace: &str) -> Self {
        Self { store: Store::Memory(Arc::default()), namespace: namespace.into() }
    }

    /// A connected client of the pool; fails at once, without waiting out the
    /// command timeout, while every connection is down and reconnecting.
    fn connected(pool: &Pool) -> Result<&fred::clients::Client, ApiError> {
        let client = pool.next_connected();
        if client.is_connected() { Ok(client) } else { Err(ApiError::Unavailable(failure("redis", "not connected"))) }
    }

    /// The connected Redis client, or `None` for the in-process store.
    pub(super) fn redis_client(&self) -> Result<Option<&fred::clients::Client>, ApiError> {
        match &self.store {
            Store::Redis(pool) => Self::connected(pool).map(Some),
            Store::Memory(_) => Ok(None),
        }
    }

    /// The deployment's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Redis pool, for callers that read keys outside the namespace
    /// scheme (the job queue's own keys).
    pub fn redis_pool(&self) -> Option<&Pool> {
        match &self.store {
            Store::Redis(pool) => Some(pool),
            Store::Memory(_) => None,
        }
    }

    /// Whether the state is shared through Redis.
    pub fn is_redis(&self) -> bool {
        matches!(self.store, Store::Redis(_))
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.namespace)
    }

    /// Counts one hit on `key` in a fixed window of `window_secs`; returns the
    /// count so far and the seconds until the window resets.
    pub async fn hit(&self, key: &str, window_secs: i64) -> Result<(u64, u64), ApiError> {
        let key = self.key(key);
        let key = key.as_str();
        match &self.store {
            Store::Redis(pool) => {
                let pipe = Self::connected(pool)?.pipeline();
                let _: () = pipe.incr(key).await?;
                let _: () = pipe.expire(key, window_secs, Some(ExpireOptions::NX)).await?;
                let _: () = pipe.ttl(key).await?;
                let (count, _, ttl): (u64, i64, i64) = pipe.all().await?;
                Ok((count, u64::try_from(ttl.max(1)).unwrap_or(1)))
            }
            Store::Memory(map) => {
                let mut map = map.lock().map_err(|_| ApiError::Internal(MEMORY_POISONED.into()))?;
                let now = Instant::now();
                map.retain(|_, (_, exp)| *exp > now);
                let window = Duration::from_secs(u64::try_from(window_secs).unwrap_or(60));
                let entry = map.entry(key.to_owned()).or_insert_with(|| ("0".into(), now + window));
                let count = entry.0.parse::<u64>().unwrap_or(0) + 1;
                entry.0 = count.to_string();
                Ok((count, entry.1.saturating_duration_since(now).as_secs().max(1)))
            }
        }
    }

    /// Sets `key` to `value` for `ttl_secs`.
    pub async fn set(&self, key: &str, value: &str, ttl_secs: i64) -> Result<(), ApiError> {
        let ttl_secs = ttl_secs.max(1);
        let key = self.key(key);
        let key = key.as_str();
        match &self.store {
            Store::Redis(pool) => {
                let _: () = Self::connected(pool)?.set(key, value, Some(Expiration::EX(ttl_secs)), None, false).await?;
                Ok(())
            }
            Store::Memory(map) => {
                let exp = Instant::now() + Duration::from_secs(u64::try_from(ttl_secs).unwrap_or(1));
                map.lock()
                    .map_err(|_| ApiError::Internal(MEMORY_POISONED.into()))?
                    .insert(key.to_owned(), (value.to_owned(), exp));
                Ok(())
            }
        }
    }

    /// The values of `keys`, `None` where unset or expired.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, ApiError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        match &self.store {
            Store::Redis(pool) => Ok(Self::connected(pool)?.mget(keys).await?),
            Store::Memory(map) => {
                let map = map.lock().map_err(|_| ApiError::Internal(MEMORY_POISONED.into()))?;
                let now = Instant::now();
                Ok(keys.iter().map(|k| map.get(k).filter(|(_, exp)| *exp > now).map(|(v, _)| v.clone())).collect())
            }
        }
    }

    /// Whether the store answers (for `/health/ready`).
    pub async fn ping(&self) -> Result<(), ApiError> {
        match &self.store {
            Store::Redis(pool) => {
                let _: String = Self::connected(pool)?.ping(None).await?;
                Ok(())
            }
            Store::Memory(_) => Ok(()),
        }
    }
}
