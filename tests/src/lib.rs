//! Test harness: the real API on port 0 over a fresh PostgreSQL database (a
//! clone of a migrated template) and real Redis under a namespace of its own,
//! and real workers (in-process, or as `mindwell-worker` processes) running
//! the real models.
//!
//! PostgreSQL and Redis must be running (`MINDWELL_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `MINDWELL_TEST_REDIS`,
//! default `redis://127.0.0.1:6379`): without them every test fails, loudly.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use mindwell_api::{config::ApiConfig, state::AppState};
use mindwell_migrations::{Migrator, MigratorTrait};
use mindwell_shared::config::{Backends, Database, Profile, Queue};
use mindwell_worker::config::WorkerConfig;
use sea_orm::{ConnectionTrait, Database as Db, DatabaseConnection};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// The admin connection URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("MINDWELL_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The test Redis URL.
pub fn redis_url() -> String {
    std::env::var("MINDWELL_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn db_url(name: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// Creates a database for one test, cloned from a template migrated once per
/// schema version (the template's name carries a hash of the migrations).
pub async fn fresh_database() -> String {
    let admin = Db::connect(pg_admin_url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {}: {e}. The tests need it.", pg_admin_url()));
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let hash = hex::encode(&Sha256::digest(names.join(",").as_bytes())[..6]);
    let template = format!("mwtpl_{hash}");
    admin.execute_unprepared("SELECT pg_advisory_lock(727201)").await.expect("advisory lock");
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"),
        ))
        .await
        .expect("query pg_database")
        .is_some();
    if !exists {
        let building = format!("{template}_build");
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building}")).await.expect("drop build db");
        admin.execute_unprepared(&format!("CREATE DATABASE {building}")).await.expect("create build db");
        let db = Db::connect(db_url(&building)).await.expect("connect build db");
        Migrator::up(&db, None).await.expect("migrate template");
        db.close().await.expect("close build db");
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("rename template");
    }
    admin.execute_unprepared("SELECT pg_advisory_unlock(727201)").await.expect("advisory unlock");
    let name = format!("mwtest_{}", uuid::Uuid::new_v4().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await.expect("clone template");
    admin.close().await.ok();
    db_url(&name)
}

/// A connected client of the test Redis; panics (never skips) without one.
pub async fn redis() -> fred::prelude::Client {
    let redis =
        fred::prelude::Client::new(fred::prelude::Config::from_url(&redis_url()).expect("redis url"), None, None, None);
    fred::prelude::ClientLike::init(&redis)
        .await
        .unwrap_or_else(|e| panic!("Redis is not reachable at {}: {e}. The tests need it.", redis_url()));
    redis
}

/// Backends for a test: its own database and its own Redis namespace.
pub async fn test_backends() -> Backends {
    let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
    let _ = fred::prelude::ClientLike::quit(&redis().await).await;
    Backends {
        profile: Profile::Development,
        database: Database::Postgres(fresh_database().await),
        queue: Queue::Redis(redis_url()),
        namespace,
    }
}

/// An API configuration for tests: cheap bcrypt, generous rate limits.
pub fn api_config(backends: Backends) -> ApiConfig {
    ApiConfig {
        backends,
        bind: "127.0.0.1:0".into(),
        jwt_secret: mindwell_api::config::Secret("test-secret-0123456789abcdef0123456789abcdef".into()),
        access_ttl_secs: 900,
        refresh_ttl_secs: 3600,
        admin: None,
        rate_auth_per_email: 1000,
        rate_auth_per_ip: 10_000,
        trust_proxy: false,
        bcrypt_cost: 4,
        db_pool: 8,
        cookie_secure: true,
        dashboard_cache: true,
        shutdown_drain: std::time::Duration::ZERO,
    }
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH`, else the one `scripts/fetch-onnxruntime.sh` fetched.
pub fn ort_dylib() -> PathBuf {
    std::env::var("ORT_DYLIB_PATH").map_or_else(|_| repo_root().join(".ort/libonnxruntime.so.1.31.1"), PathBuf::from)
}

/// A TCP port free at the moment of asking, for a process under test.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A worker configuration pointing at the repository's models and runtime.
pub fn worker_config(backends: Backends) -> WorkerConfig {
    let root = repo_root();
    WorkerConfig {
        backends,
        model_dir: root.join("model-assets"),
        ort_dylib: ort_dylib(),
        concurrency: 4,
        backfill_concurrency: 1,
        inference_threads: 1,
        batch: mindwell_worker::inference::BatchConfig::default(),
        provider: mindwell_worker::inference::ExecutionProvider::Cpu,
        model_poll: Duration::from_secs(1),
        metrics_addr: None,
        poll_interval: Duration::from_millis(50),
        max_attempts: 3,
        rules: mindwell_worker::config::AlertRules::default(),
        maintenance: mindwell_worker::maintenance::MaintenanceConfig::default(),
        smtp: None,
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

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
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

    /// Signs up `email` (password `correct horse battery`).
    pub async fn signup(&self, email: &str) -> TestUser {
        let password = "correct horse battery".to_owned();
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": email, "password": password, "full_name": "Test User"})),
            )
            .await;
        assert_eq!(status, 201, "signup failed: {body}");
        TestUser {
            id: body["data"]["user"]["id"].as_str().expect("id").to_owned(),
            email: email.to_lowercase(),
            password,
            access: body["data"]["tokens"]["access_token"].as_str().expect("access").to_owned(),
            refresh: body["data"]["tokens"]["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Posts a check-in; returns `(checkin id, analysis id)`.
    pub async fn checkin(&self, user: &TestUser, body: Value) -> (String, String) {
        let (status, resp) = self.call("POST", "/api/v1/checkins", Some(&user.access), Some(body)).await;
        assert_eq!(status, 202, "checkin failed: {resp}");
        (
            resp["data"]["checkin"]["id"].as_str().expect("checkin id").to_owned(),
            resp["data"]["analysis_id"].as_str().expect("analysis id").to_owned(),
        )
    }

    /// Polls an insight until it is `completed` or `failed`.
    pub async fn wait_for_insight(&self, user: &TestUser, analysis_id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) =
                self.call("GET", &format!("/api/v1/insights/{analysis_id}"), Some(&user.access), None).await;
            assert_eq!(status, 200, "insight: {body}");
            let s = body["data"]["status"].as_str().unwrap_or_default();
            if s == "completed" || s == "failed" {
                return body["data"].clone();
            }
            assert!(Instant::now() < deadline, "insight {analysis_id} still {s} after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
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
            Database::Postgres(url) => url.clone(),
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

/// A built binary of this workspace (`cargo build --bins` first).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: run `cargo build --bins` (scripts/test.sh does)", path.display());
    path
}

/// An in-process worker, stopped on drop.
pub struct WorkerHandle {
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl WorkerHandle {
    pub async fn start(config: WorkerConfig) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let result = mindwell_worker::serve(config, async move {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = result {
                panic!("worker failed: {e:#}");
            }
        });
        Self { stop: Some(tx), task: Some(task) }
    }

    /// Asks the worker to stop and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A unique email for a test.
pub fn email(tag: &str) -> String {
    format!("{tag}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// The bootstrap admin's credentials in [`TestApp::spawn_with_admin`].
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// See [`ADMIN_EMAIL`].
pub const ADMIN_PASSWORD: &str = "admin password 1";

impl TestApp {
    /// An API with a bootstrap admin, and that admin's access token.
    pub async fn spawn_with_admin() -> (Self, String) {
        let app = Self::spawn_with(|c| {
            c.admin = Some((ADMIN_EMAIL.into(), mindwell_api::config::Secret(ADMIN_PASSWORD.into())));
        })
        .await;
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        (app, token)
    }

    /// Signs in; returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) =
            self.call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await;
        assert_eq!(status, 200, "login failed: {body}");
        body["data"]["tokens"]["access_token"].as_str().expect("token").to_owned()
    }

    /// Signs up a user and makes them a coach (through the admin API); returns
    /// them with a fresh token carrying the new role.
    pub async fn coach(&self, admin: &str, email: &str) -> TestUser {
        let mut user = self.signup(email).await;
        let (status, body) = self
            .call("PATCH", &format!("/api/v1/admin/users/{}", user.id), Some(admin), Some(json!({"role": "coach"})))
            .await;
        assert_eq!(status, 200, "promote: {body}");
        user.access = self.login(&user.email, &user.password).await;
        user
    }

    /// Stores an alert for `user` directly (as a worker would).
    pub async fn insert_alert(&self, user: &TestUser, kind: &str, status: &str) -> String {
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let id = uuid::Uuid::now_v7();
        let at = mindwell_shared::now();
        mindwell_shared::entities::alerts::Entity::insert(mindwell_shared::entities::alerts::ActiveModel {
            id: Set(id),
            user_id: Set(uuid::Uuid::parse_str(&user.id).expect("uuid")),
            checkin_id: Set(None),
            ai_result_id: Set(None),
            r#type: Set(kind.into()),
            severity: Set("warning".into()),
            status: Set(status.into()),
            payload: Set(json!({})),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(self.db())
        .await
        .expect("insert alert");
        id.to_string()
    }
}

/// Every Redis key matching `pattern` (a full SCAN).
pub async fn redis_keys(pattern: &str) -> Vec<String> {
    use fred::prelude::KeysInterface;
    let redis = redis().await;
    let mut cursor = "0".to_owned();
    let mut keys = Vec::new();
    loop {
        let (next, page): (String, Vec<String>) =
            redis.scan_page(cursor, pattern.to_owned(), Some(1000), None).await.expect("scan");
        keys.extend(page);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
}

/// A minimal SMTP server on loopback that accepts every message and hands
/// each one (envelope recipient and data) to the returned channel.
pub async fn fake_smtp() -> (String, tokio::sync::mpsc::UnboundedReceiver<(String, String)>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake ESMTP\r\n").await;
                let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let _ = tx.send((rcpt.clone(), std::mem::take(&mut data)));
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 fake\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        rcpt = line[8..].trim().trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (format!("smtp://{addr}"), rx)
}

/// A TCP proxy in front of the test Redis that can cut every connection and
/// refuse new ones, then come back on the same port: a Redis outage for one
/// test, without touching the Redis other tests share.
pub struct RedisProxy {
    pub port: u16,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RedisProxy {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let target = redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned();
        let (up, mut rx) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let Some(l) = listener.take() else {
                    // Down: wait to come back, then listen on the same port.
                    if rx.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Some(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("rebind proxy"));
                    continue;
                };
                let mut conns = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = l.accept() => {
                            let Ok((mut client, _)) = accepted else { continue };
                            let target = target.clone();
                            conns.spawn(async move {
                                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                }
                            });
                        }
                        changed = rx.changed() => {
                            if changed.is_err() || !*rx.borrow() {
                                break;
                            }
                        }
                    }
                }
                // Cut: refuse new connections and drop every open one.
                drop(l);
                conns.shutdown().await;
            }
        });
        Self { port, up, task }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Redis goes away: open connections drop, new ones are refused.
    pub fn cut(&self) {
        let _ = self.up.send(false);
    }

    /// Redis is back.
    pub fn restore(&self) {
        let _ = self.up.send(true);
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
