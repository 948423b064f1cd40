//! `GET /api/v1/admin/models`: what every running worker serves — active model
//! versions, the shadow candidate, and why the last change of `active.json`
//! was refused, if it was. Workers publish this to Redis every few seconds
//! (`worker/src/status.rs`); entries older than `STALE_SECS` are workers gone.

use std::collections::BTreeMap;

use chrono::Utc;
use fred::interfaces::HashesInterface;
use mindwell_shared::worker_status::Published;
use poem_openapi::{Object, OpenApi};

use super::Tag;
use crate::{
    auth::guard::Auth,
    body::{Reply, ok},
    error::ApiError,
    state::AppState,
    types::Time,
};

/// A worker that has not refreshed its entry for this long is gone.
const STALE_SECS: i64 = 30;

/// The shadow candidate a worker runs beside its active models.
#[derive(Debug, Clone, Object)]
pub struct ShadowModels {
    /// `encoder@v+text-heads@v+risk@v`.
    pub version: String,
    /// Share of live jobs it also runs on (0..=1).
    pub share: f64,
}

/// One worker's models.
#[derive(Debug, Clone, Object)]
pub struct WorkerModels {
    pub worker: String,
    /// Model name to the version serving live jobs.
    pub active: BTreeMap<String, String>,
    /// `encoder@v+text-heads@v+risk@v`, as analyses record it.
    pub version: String,
    #[oai(nullable)]
    pub shadow: Option<ShadowModels>,
    /// Why the last change of `active.json` was not applied (the previous
    /// versions keep serving).
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub last_error_at: Option<Time>,
    pub loaded_at: Time,
    pub updated_at: Time,
}

/// `GET /admin/models`.
#[derive(Debug, Clone, Object)]
pub struct ModelsOverview {
    /// `redis`, or `sqlite` in the embedded mode (no worker reports there).
    pub backend: String,
    pub workers: Vec<WorkerModels>,
}

/// The model endpoint.
#[derive(Debug, Default)]
pub struct ModelsApi;

#[OpenApi(prefix_path = "/api/v1/admin/models", tag = "Tag::Admin")]
impl ModelsApi {
    /// Every live worker's active model versions, shadow candidate and last load error.
    #[oai(path = "/", method = "get")]
    async fn list(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<ModelsOverview>, ApiError> {
        auth.0.require_admin()?;
        let Some(pool) = state.kv.redis_pool() else {
            return Ok(ok(ModelsOverview { backend: "sqlite".into(), workers: vec![] }));
        };
        let key = mindwell_shared::cache::models_status_key(state.kv.namespace());
        let entries: BTreeMap<String, String> = pool.hgetall(&key).await?;
        let now = Utc::now();
        let mut workers = Vec::new();
        for (field, raw) in entries {
            let Ok(p) = serde_json::from_str::<Published>(&raw) else {
                tracing::warn!(worker = %field, "unreadable worker model status");
                continue;
            };
            if (now - p.updated_at).num_seconds() > STALE_SECS {
                let _: Result<i64, _> = pool.hdel(&key, &field).await;
                continue;
            }
            let m = p.models;
            workers.push(WorkerModels {
                worker: p.worker,
                active: m.active,
                version: m.version,
                shadow: m.shadow.map(|s| ShadowModels { version: s.version, share: s.share }),
                last_error: m.last_error,
                last_error_at: m.last_error_at.map(Time::from),
                loaded_at: m.loaded_at.into(),
                updated_at: p.updated_at.into(),
            });
        }
        Ok(ok(ModelsOverview { backend: "redis".into(), workers }))
    }
}
