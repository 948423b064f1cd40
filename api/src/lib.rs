//! `mindwell-api`: the HTTP API of MindWell, as the contract in the README
//! describes it. One module per resource; each owns its routes, types and queries.
//!
//! Layout, in the direction imports go (never back, so no file imports a
//! file that imports it):
//! - resources: `auth`, `checkins`, `insights`, `dashboard`, `alerts`, `me`,
//!   `summaries`, `coach`, `admin`, `notifications`;
//! - what they share: `access` (who sees whose data), `idempotency`, `body`
//!   (request bodies and the success envelope), `paging`, `types`, `error`
//!   and `fallback` (the error envelope);
//! - `browser`: CORS, the cookie CSRF rule and the security headers, as
//!   middleware around every route;
//! - [`state::AppState`] and what it holds: `config`, [`infra`] (Redis
//!   state, the dashboard cache, JWT keys, the event hub, the requeue loop)
//!   and `shutdown`.
//!
//! Errors: handlers return [`error::ApiError`]; start-up returns
//! [`mindwell_shared::BootError`] or `anyhow` at the top.

pub mod access;
pub mod admin;
pub mod alerts;
pub mod auth;
pub mod body;
pub mod browser;
pub mod checkins;
pub mod coach;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod fallback;
pub mod health;
pub mod idempotency;
pub mod infra;
pub mod insights;
pub mod me;
pub mod notifications;
pub mod observability;
pub mod paging;
pub mod request_id;
pub mod shutdown;
pub mod state;
pub mod summaries;
pub mod types;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use mindwell_migrations::{Migrator, MigratorTrait};
use mindwell_shared::{
    config::{Profile, Queue},
    db,
    domain::Role,
    entities::users,
    now,
    queue::QueueConn,
};
use poem::{
    Endpoint, EndpointExt, Route, Server, get,
    listener::{Acceptor, Listener, TcpListener},
    middleware::{AddData, CookieJarManager},
};
use poem_openapi::OpenApiService;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    admin::{AdminApi, jobs::JobsApi, models::ModelsApi},
    alerts::AlertsApi,
    auth::password,
    checkins::CheckinsApi,
    coach::CoachApi,
    config::ApiConfig,
    dashboard::DashboardApi,
    infra::{hub::Hub, jwt::JwtKeys, kv::Kv, requeue::Requeue},
    insights::InsightsApi,
    me::{MeApi, access_log::AccessLogApi, consents::ConsentsApi, settings::SettingsApi},
    notifications::NotificationsApi,
    state::AppState,
    summaries::SummariesApi,
};

/// `/api/v1/auth`, one file per action.
type AuthApi = (
    auth::signup::SignupApi,
    auth::login::LoginApi,
    auth::refresh::RefreshApi,
    auth::logout::LogoutApi,
    auth::me::CurrentUserApi,
    auth::sessions::SessionsApi,
    auth::password_change::PasswordChangeApi,
    auth::password_reset::PasswordResetApi,
);

/// Every `/api/v1` resource.
type Apis = (
    AuthApi,
    CheckinsApi,
    InsightsApi,
    DashboardApi,
    AlertsApi,
    (SettingsApi, ConsentsApi, MeApi, AccessLogApi),
    SummariesApi,
    CoachApi,
    (AdminApi, JobsApi, ModelsApi),
    NotificationsApi,
);

/// The OpenAPI service: every `/api/v1` resource.
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(Apis::default(), "MindWell API", "1.0.0")
        .description("REST API of MindWell. Every body under /api/v1 is an envelope: {ok, data, error}.")
}

/// Applies pending migrations. On PostgreSQL they run in one transaction
/// holding an advisory lock, so API replicas starting together take turns: the
/// first applies them, the others then find nothing pending.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7243920160001)").await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Connects everything and prepares the shared state: migrations, the
/// bootstrap admin, the dummy hash.
pub async fn prepare(config: ApiConfig) -> anyhow::Result<AppState> {
    observability::install();
    let db = db::connect(&config.backends.database, config.db_pool).await?;
    migrate(&db).await?;
    let queue = QueueConn::connect(&config.backends).await?;
    let (kv, hub) = match &config.backends.queue {
        Queue::Redis(url) => (
            Kv::redis(url.expose(), 4, &config.backends.namespace).await?,
            Hub::redis(url.expose(), &config.backends.namespace).await?,
        ),
        Queue::Sqlite(_) => (Kv::memory(&config.backends.namespace), Hub::idle()),
    };
    let dummy_hash = password::hash(
        password::Password::parse("dummy-password-for-timing".into()).map_err(anyhow::Error::msg)?,
        config.bcrypt_cost,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = AppState {
        db,
        requeue: Requeue::start(queue.clone()),
        queue,
        kv,
        jwt: Arc::new(JwtKeys::new(&config)),
        config: Arc::new(config),
        dummy_hash: dummy_hash.into(),
        hub,
        phase: shutdown::Phase::default(),
    };
    bootstrap_admin(&state).await?;
    Ok(state)
}

/// Creates the admin named by `MINDWELL_ADMIN_EMAIL` if missing; an existing
/// account is left as it is.
async fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    let Some((email, secret)) = &state.config.admin else {
        return Ok(());
    };
    let email = password::Email::parse(email).map_err(|e| anyhow::anyhow!("MINDWELL_ADMIN_EMAIL {e}"))?;
    if users::Entity::find().filter(users::Column::Email.eq(email.as_str())).one(&state.db).await?.is_some() {
        return Ok(());
    }
    let pw = password::Password::parse(secret.expose().to_owned())
        .map_err(|e| anyhow::anyhow!("MINDWELL_ADMIN_PASSWORD {e}"))?;
    let hash = password::hash(pw, state.config.bcrypt_cost).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let at = now();
    users::Entity::insert(users::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash),
        full_name: Set(Some("Administrator".into())),
        role: Set(Role::Admin.into()),
        disabled: Set(false),
        created_at: Set(at),
        updated_at: Set(at),
        last_login: Set(None),
    })
    .on_conflict_do_nothing_on([users::Column::Email])
    .exec(&state.db)
    .await?;
    tracing::info!("bootstrap admin created");
    Ok(())
}

/// The whole route tree with its middleware.
pub fn app(state: AppState) -> impl Endpoint {
    let phase = state.phase.clone();
    let api = api_service();
    let routes = observability::Routes::from_spec(
        &api.spec(),
        &["/api/v1/openapi.json", "/docs", "/health", "/health/ready", "/metrics"],
    );
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let csrf = browser::csrf::CookieCsrf::new(&state.config);
    let cors = browser::cors::CorsLayer::new(&state.config.cors_origins);
    let headers = browser::headers::SecurityHeaders { hsts: state.config.backends.profile == Profile::Production };
    Route::new()
        .nest("/", api)
        .at("/api/v1/openapi.json", spec)
        .nest("/docs", docs)
        .at("/health", get(health::live))
        .at("/health/ready", get(health::ready))
        .at("/metrics", get(observability::metrics_text))
        .around(fallback::refuse_nul_query)
        .with(AddData::new(state))
        .with(csrf)
        .with(CookieJarManager::new())
        .catch_all_error(fallback::catch_all)
        .with(cors)
        .with(headers)
        .with(observability::HttpMetrics(routes))
        .with(request_id::RequestIdLayer)
        .around(move |ep, req| shutdown::close_connections(ep, req, phase.clone()))
}

/// Binds `addr` (port 0 picks a free one) and returns the bound address and
/// the server future. Once `shutdown` resolves the API drains, closes its
/// listener and its connections, and ends when in-flight requests finish (see
/// [`shutdown`]).
pub async fn bind<F>(
    state: AppState,
    addr: &str,
    shutdown: F,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = std::io::Result<()>>)>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let acceptor = TcpListener::bind(addr.to_owned()).into_acceptor().await?;
    let local = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .ok_or_else(|| anyhow::anyhow!("no local address"))?;
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let acceptor = shutdown::ClosableAcceptor::new(acceptor, close_rx);
    let shutdown = shutdown::sequence(shutdown, state.phase.clone(), state.config.shutdown_drain, close_tx);
    let server = Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
        app(state),
        shutdown,
        Some(Duration::from_secs(30)),
    );
    Ok((local, server))
}
