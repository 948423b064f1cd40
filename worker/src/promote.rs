//! Moves due jobs from each queue's scheduled set to its active list in chunks.
//!
//! apalis-redis 1.0.0 pushes every job into `<queue>:scheduled`, and its fetch
//! script promotes *all* due ones with a single `RPUSH … unpack(ids)`. Lua's
//! `unpack` fails beyond about 8,000 values, and from then on every fetch of
//! that queue fails: a backlog of 8,000 check-ins (workers down for a while, a
//! burst) would stall the whole fleet for good. This promoter runs before the
//! job loops start and then every [`EVERY`], a chunk at a time, with the same
//! effect as the fetch script's promotion, so the script only ever finds a few.

use std::time::Duration;

use fred::interfaces::LuaInterface;
use mindwell_shared::queue::QueueConn;
use tokio::sync::watch;

/// How often due jobs are promoted.
pub const EVERY: Duration = Duration::from_millis(100);
/// Jobs moved per script call, well under Lua's `unpack` limit.
const CHUNK: u64 = 1_000;

/// KEYS: scheduled set, active list, signal list. ARGV: now (seconds), chunk.
const PROMOTE: &str = r#"
local ids = redis.call("zrangebyscore", KEYS[1], 0, ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
if #ids > 0 then
    redis.call("rpush", KEYS[2], unpack(ids))
    redis.call("zrem", KEYS[1], unpack(ids))
    redis.call("del", KEYS[3])
    redis.call("lpush", KEYS[3], 1)
end
return #ids
"#;

/// Promotes every due job of every queue; returns how many moved.
pub async fn promote_all(redis: &fred::clients::Client, queue: &QueueConn) -> Result<u64, fred::error::Error> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut moved = 0;
    for keys in queue.queues().map(|(_, k)| vec![k.scheduled(), k.active(), k.signal()]) {
        loop {
            let n: u64 = redis.eval(PROMOTE, keys.clone(), vec![now.to_string(), CHUNK.to_string()]).await?;
            moved += n;
            if n < CHUNK {
                break;
            }
        }
    }
    Ok(moved)
}

/// Promotes every [`EVERY`] until `stop` turns true.
pub fn spawn(redis: fred::clients::Client, queue: QueueConn, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            if let Err(e) = promote_all(&redis, &queue).await {
                tracing::warn!(error = %e, "scheduled jobs not promoted");
            }
        }
    });
}
