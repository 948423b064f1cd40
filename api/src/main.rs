//! `mindwell-api [serve [--with-worker] | migrate]`.
//!
//! `serve` (the default) applies pending migrations and serves HTTP.
//! `--with-worker` also starts one `mindwell-worker` (the binary beside this
//! one) as a child process: the embedded default's one-command set-up.
//! `migrate` applies pending migrations and exits.
//!
//! The command line is parsed before anything else happens, so `--help` and
//! usage errors need no configuration and print no log line.

use clap::{Parser, Subcommand};
use mindwell_api::config::ApiConfig;

/// What `serve` reads besides the shared variables (`api/src/config.rs`).
const SERVE_ENV: &str = concat!(
    "Environment:\n",
    mindwell_shared::shared_env_help!(),
    "  MINDWELL_BIND                listen address [default: 127.0.0.1:8080]
  MINDWELL_JWT_SECRET          HS256 key, at least 32 bytes; known placeholders are refused except with
                               MINDWELL_ENV=test [default: random per start, development only]
  MINDWELL_ACCESS_TTL_SECS, MINDWELL_REFRESH_TTL_SECS
                               token lifetimes [default: 900, 2592000]
  MINDWELL_ADMIN_EMAIL, MINDWELL_ADMIN_PASSWORD
                               bootstrap admin, created if missing
  MINDWELL_RATE_AUTH_PER_EMAIL, MINDWELL_RATE_AUTH_PER_IP
                               auth calls per minute [default: 10, 100]
  MINDWELL_TRUST_PROXY         client IP from X-Forwarded-For [default: false]
  MINDWELL_TRUSTED_PROXY_HOPS  proxies appending to X-Forwarded-For; the client IP is the entry
                               this far from the right [default: 1]
  MINDWELL_CORS_ORIGINS        comma-separated browser origins allowed by CORS, with credentials
                               (https://app.example.com) [default: none]
  MINDWELL_BCRYPT_COST         bcrypt cost [default: 12]
  MINDWELL_DB_POOL             database connections [default: 16]
  MINDWELL_COOKIE_SECURE       Secure flag on auth cookies [default: true]
  MINDWELL_DASHBOARD_CACHE     cache dashboards in Redis [default: true]
  MINDWELL_SHUTDOWN_DRAIN_MS   after SIGTERM, serve this long with readiness at 503 [default: 5000]
  MINDWELL_SSE_KEEPALIVE_SECS  keep-alive comment interval of SSE streams [default: 15]"
);

/// What `migrate` reads.
const MIGRATE_ENV: &str = concat!("Environment:\n", mindwell_shared::shared_env_help!());

/// MindWell's HTTP API.
#[derive(Debug, Parser)]
#[command(name = "mindwell-api", version, args_conflicts_with_subcommands = true, after_help = SERVE_ENV)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // `serve`'s flags, for `mindwell-api` with no command.
    #[command(flatten)]
    serve: Serve,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations and serve HTTP (the default)
    #[command(after_help = SERVE_ENV)]
    Serve(Serve),
    /// Apply pending migrations and exit
    #[command(after_help = MIGRATE_ENV)]
    Migrate,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Also start one mindwell-worker (the binary beside this one) as a child process
    #[arg(long)]
    with_worker: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry =
        mindwell_shared::telemetry::init("mindwell-api", "info,sqlx=warn,sea_orm=warn,fred=warn,apalis=warn")
            .map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Migrate => migrate().await,
        Command::Serve(Serve { with_worker }) => serve(ApiConfig::from_env()?, with_worker).await,
    }
}

async fn migrate() -> anyhow::Result<()> {
    let backends = mindwell_shared::config::Backends::from_env()?;
    let db = mindwell_shared::db::connect(&backends.database, 2).await?;
    mindwell_api::migrate(&db).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(config: ApiConfig, with_worker: bool) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let state = mindwell_api::prepare(config).await?;
    let mut worker = if with_worker { Some(spawn_worker()?) } else { None };
    let (addr, server) = mindwell_api::bind(state, &bind, mindwell_shared::time::shutdown_signal()).await?;
    tracing::info!(%addr, "listening");
    let result = server.await;
    if let Some(child) = worker.as_mut() {
        stop_worker(child).await;
    }
    result.map_err(Into::into)
}

/// Starts `mindwell-worker` from this binary's folder, with this environment.
fn spawn_worker() -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("mindwell-worker");
    anyhow::ensure!(path.is_file(), "{} not found: build it with `cargo build --bins`", path.display());
    let child = tokio::process::Command::new(&path).kill_on_drop(true).spawn()?;
    tracing::info!(pid = child.id(), "embedded worker started");
    Ok(child)
}

/// Asks the worker to finish its in-flight jobs (SIGTERM), then waits for it.
async fn stop_worker(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
    }
    if tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}
