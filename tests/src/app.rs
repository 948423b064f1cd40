//! The API under test: its configuration, spawning it on port 0 over fresh
//! backends, and calling it over HTTP.

use mindwell_api::{config::ApiConfig, state::AppState};
use mindwell_shared::config::{Backends, Database, Profile, Queue};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::{WorkerHandle, fresh_database, redis, redis_url, worker_config};

/// Backends for a test: its own database and its own Redis namespace.
pub async fn test_backends() -> Backends {
    let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
    let _ = fred::prelude::ClientLike::quit(&redis().await).await;
    Backends {
        profile: Profile::Development,
        database: Database::Postgres(fresh_database().await.into()),
        queue: Queue::Redis(redis_url().into()),
        namespace,
    }
}

/// An API configuration for tests: cheap bcrypt, generous rate limits.
pub fn api_config(backends: Backends) -> ApiConfig {
    ApiConfig {
        backends,
        bind: "127.0.0.1:0".into(),
        jwt_secret: mindwell_api::config::Secret::new("test-secret-0123456789abcdef0123456789abcdef"),
        access_ttl_secs: 900,
        refresh_ttl_secs: 3600,
        admin: None,
        rate_auth_per_email: 1000,
        rate_auth_per_ip: 10_000,
        trust_proxy: false,
        trusted_proxy_hops: 1,
        cors_origins: Vec::new(),
        bcrypt_cost: 4,
        db_pool: 8,
        cookie_secure: true,
        dashboard_cache: true,
        shutdown_drain: std::time::Duration::ZERO,
        sse_keep_alive: std::time::Duration::from_secs(15),
    }
}

/// A running API.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub backends: Backends,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    /// An API on a fresh database and namespace.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// An API with a tweaked configuration.
    pub async fn spawn_with(tweak: impl FnOnce(&mut ApiConfig)) -> Self {
        let mut config = api_config(test_backends().await);
        tweak(&mut config);
        Self::start(config).await
    }

    /// An API with exactly this configuration.
    pub async fn start(config: ApiConfig) -> Self {
        let backends = config.backends.clone();
        let state = mindwell_api::prepare(config).await.expect("prepare api");
        let (tx, rx) = oneshot::channel::<()>();
        let (addr, server) = mindwell_api::bind(state.clone(), "127.0.0.1:0", async move {
            let _ = rx.await;
        })
        .await
        .expect("bind api");
        tokio::spawn(server);
        Self {
            base: format!("http://{addr}"),
            state,
            backends,
            http: reqwest::Client::builder().build().expect("http client"),
            stop: Some(tx),
        }
    }

    /// Sends the API its shutdown signal, as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns
    /// the status and the parsed body (`Value::Null` when not JSON).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Starts an in-process worker on this app's backends; it stops when the
    /// handle drops.
    pub async fn start_worker(&self) -> WorkerHandle {
        WorkerHandle::start(worker_config(self.backends.clone())).await
    }

    /// Environment for a `mindwell-worker` process on this app's backends.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let config = worker_config(self.backends.clone());
        let db = match &self.backends.database {
            Database::Postgres(url) => url.expose().to_owned(),
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
        };
        vec![
            ("DATABASE_URL".into(), db),
            ("REDIS_URL".into(), redis_url()),
            ("MINDWELL_NAMESPACE".into(), self.backends.namespace.clone()),
            ("MINDWELL_MODEL_DIR".into(), config.model_dir.display().to_string()),
            ("ORT_DYLIB_PATH".into(), config.ort_dylib.display().to_string()),
            ("MINDWELL_WORKER_CONCURRENCY".into(), "2".into()),
            ("MINDWELL_WORKER_POLL_MS".into(), "50".into()),
            ("RUST_LOG".into(), "warn".into()),
        ]
    }
}
