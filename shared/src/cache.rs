//! Keys of the dashboard cache, shared by the API (which reads and fills it)
//! and the worker (which invalidates it when an analysis completes).
//!
//! One Redis hash per user: field `gen` is a generation counter that every
//! write of the user's data increments; each cached dashboard is stored as
//! `<gen>|<json>` and only served while its generation is current, so a value
//! computed before a write can never be served after it.

use uuid::Uuid;

/// The hash holding `user`'s cached dashboards.
pub fn dashboard_key(namespace: &str, user: Uuid) -> String {
    format!("{namespace}:dash:{user}")
}

/// The generation field of the hash.
pub const GENERATION_FIELD: &str = "gen";

/// How long a user's cached dashboards live without a write.
pub const TTL_SECS: i64 = 300;

/// The hash where each worker publishes its models' status (one field per
/// worker id), read by `GET /api/v1/admin/models`.
pub fn models_status_key(namespace: &str) -> String {
    format!("{namespace}:models:workers")
}

/// Makes every cached dashboard of `user` stale: bumps the generation and
/// renews the hash's lifetime, in one round trip. The one invalidation, for the
/// API (after a write) and the worker (after an analysis or an escalation).
pub async fn invalidate_dashboard(
    redis: &fred::clients::Client,
    namespace: &str,
    user: Uuid,
) -> Result<(), fred::error::Error> {
    use fred::interfaces::{HashesInterface, KeysInterface};
    let key = dashboard_key(namespace, user);
    let pipe = redis.pipeline();
    let _: () = pipe.hincrby(&key, GENERATION_FIELD, 1).await?;
    let _: () = pipe.expire(&key, TTL_SECS, None).await?;
    let _: (i64, i64) = pipe.all().await?;
    Ok(())
}
