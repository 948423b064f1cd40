//! The one reader of apalis-redis 1.0.0's key layout, for the worker (queue
//! gauges, promotion, retention purge) and the API (`/admin/jobs`, dead-job
//! retry). apalis-redis' own listing and metrics calls fail in 1.0.0 (see the
//! README), so these read its keys directly; the names come from
//! `apalis_redis::Config`, so a change of layout upstream shows up here only.
//!
//! Per queue `<namespace>:<queue>`: `:active` (list, ready), `:scheduled`
//! (sorted set, waiting for their time), `:workers` (sorted set) with one
//! `:inflight:<worker>` set each, `:dead` and `:done` (sets), `:data` (hash of
//! payloads) and `:meta:<id>` (hash: last result, attempts, `done_at`).

use std::collections::BTreeMap;

use fred::{
    error::Error,
    interfaces::{HashesInterface, KeysInterface, ListInterface, SetsInterface, SortedSetsInterface},
};

/// What a Redis client must answer to read the queue: fred's `Client` and `Pool` do.
pub trait Redis: HashesInterface + KeysInterface + ListInterface + SetsInterface + SortedSetsInterface + Sync {}
impl<T: HashesInterface + KeysInterface + ListInterface + SetsInterface + SortedSetsInterface + Sync> Redis for T {}

/// The keys of one queue.
#[derive(Debug, Clone)]
pub struct QueueKeys(apalis_redis::Config);

impl QueueKeys {
    /// The keys of the queue named `full_name` (`<namespace>:<queue>`).
    pub fn new(full_name: &str) -> Self {
        Self(apalis_redis::Config::default().queue(full_name))
    }
    pub fn active(&self) -> String {
        self.0.active_jobs_list()
    }
    pub fn scheduled(&self) -> String {
        self.0.scheduled_jobs_set()
    }
    pub fn signal(&self) -> String {
        self.0.signal_list()
    }
    pub fn workers(&self) -> String {
        self.0.workers_set()
    }
    pub fn inflight(&self, worker: &str) -> String {
        format!("{}:{worker}", self.0.inflight_jobs_set())
    }
    pub fn dead(&self) -> String {
        self.0.dead_jobs_set()
    }
    pub fn done(&self) -> String {
        self.0.done_jobs_set()
    }
    pub fn data(&self) -> String {
        self.0.job_data_hash()
    }
    pub fn meta(&self, id: &str) -> String {
        format!("{}:{id}", self.0.job_meta_hash())
    }
}

/// A queue's depths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depths {
    /// Ready to run now.
    pub queued: u64,
    /// Waiting for their time (new pushes and retries with backoff).
    pub scheduled: u64,
    /// Taken by a worker and not yet finished.
    pub running: u64,
    pub dead: u64,
    /// Workers registered on the queue.
    pub workers: u64,
}

/// Reads a queue's depths.
pub async fn depths<R: Redis>(redis: &R, keys: &QueueKeys) -> Result<Depths, Error> {
    let queued: u64 = redis.llen(keys.active()).await?;
    let scheduled: u64 = redis.zcard(keys.scheduled()).await?;
    let workers: Vec<String> = redis.zrange(keys.workers(), 0, -1, None, false, None, false).await?;
    let mut running = 0u64;
    for w in &workers {
        running += redis.scard::<u64, _>(keys.inflight(w)).await?;
    }
    let dead: u64 = redis.scard(keys.dead()).await?;
    Ok(Depths { queued, scheduled, running, dead, workers: workers.len() as u64 })
}

/// A job that used up its attempts, as the queue holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadJob {
    pub id: String,
    /// The payload as JSON text, if still stored.
    pub payload: Option<String>,
    pub attempts: Option<u64>,
    pub last_error: Option<String>,
}

/// Up to `limit` of a queue's dead jobs.
pub async fn dead_jobs<R: Redis>(redis: &R, keys: &QueueKeys, limit: usize) -> Result<Vec<DeadJob>, Error> {
    let ids: Vec<String> = redis.smembers(keys.dead()).await?;
    let mut jobs = Vec::new();
    for id in ids.into_iter().take(limit) {
        let payload: Option<String> = redis.hget(keys.data(), &id).await?;
        let meta: BTreeMap<String, String> = redis.hgetall(keys.meta(&id)).await?;
        let last_error = meta.get("result").map(|r| {
            serde_json::from_str::<serde_json::Value>(r)
                .ok()
                .and_then(|v| v["Err"].as_str().map(str::to_owned))
                .unwrap_or_else(|| r.clone())
        });
        jobs.push(DeadJob { id, payload, attempts: meta.get("attempts").and_then(|a| a.parse().ok()), last_error });
    }
    Ok(jobs)
}

/// The payload of dead job `id`: `None` when `id` is not dead in this queue,
/// `Some(None)` when it is but its payload is gone.
pub async fn dead_payload<R: Redis>(redis: &R, keys: &QueueKeys, id: &str) -> Result<Option<Option<String>>, Error> {
    if !redis.sismember::<bool, _, _>(keys.dead(), id).await? {
        return Ok(None);
    }
    Ok(Some(redis.hget(keys.data(), id).await?))
}

/// Removes dead job `id` from the dead set with its result (after a retry
/// enqueued it again under a new id).
pub async fn forget_dead<R: Redis>(redis: &R, keys: &QueueKeys, id: &str) -> Result<(), Error> {
    let _: u64 = redis.srem(keys.dead(), id).await?;
    let _: u64 = redis.del(keys.meta(id)).await?;
    Ok(())
}

/// Deletes the payloads and results of jobs that finished before `cutoff`
/// (unix seconds) from the queue's `done` set; dead jobs stay for operators.
/// apalis-redis never expires them. Returns how many went.
pub async fn purge_done<R: Redis>(redis: &R, keys: &QueueKeys, cutoff: i64) -> Result<u64, Error> {
    let done: Vec<String> = redis.smembers(keys.done()).await?;
    let mut purged = 0u64;
    for id in done {
        let meta = keys.meta(&id);
        let done_at: Option<i64> = redis.hget(&meta, "done_at").await?;
        if done_at.is_some_and(|t| t > cutoff) {
            continue;
        }
        let _: i64 = redis.del(&meta).await?;
        let _: i64 = redis.hdel(keys.data(), &id).await?;
        let _: i64 = redis.srem(keys.done(), &id).await?;
        purged += 1;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_apalis_redis_layout() {
        let k = QueueKeys::new("mw:analyze_checkin");
        assert_eq!(k.active(), "mw:analyze_checkin:active");
        assert_eq!(k.scheduled(), "mw:analyze_checkin:scheduled");
        assert_eq!(k.inflight("w1"), "mw:analyze_checkin:inflight:w1");
        assert_eq!(k.dead(), "mw:analyze_checkin:dead");
        assert_eq!(k.done(), "mw:analyze_checkin:done");
        assert_eq!(k.data(), "mw:analyze_checkin:data");
        assert_eq!(k.meta("42"), "mw:analyze_checkin:meta:42");
    }
}
