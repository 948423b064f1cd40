//! `mindwell-api [serve [--with-worker] | migrate]`.
//!
//! `serve` (the default) applies pending migrations and serves HTTP.
//! `--with-worker` also starts one `mindwell-worker` (the binary beside this
//! one) as a child process: the embedded default's one-command set-up.
//! `migrate` applies pending migrations and exits.

use mindwell_api::config::ApiConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry =
        mindwell_shared::telemetry::init("mindwell-api", "info,sqlx=warn,sea_orm=warn,fred=warn,apalis=warn")
            .map_err(anyhow::Error::msg)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.as_slice() == ["migrate"] {
        let backends = mindwell_shared::config::Backends::from_env()?;
        let db = mindwell_shared::db::connect(&backends.database, 2).await?;
        mindwell_api::migrate(&db).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let config = ApiConfig::from_env()?;
    match args.as_slice() {
        [] | ["serve"] => serve(config, false).await,
        ["--with-worker"] | ["serve", "--with-worker"] => serve(config, true).await,
        _ => {
            eprintln!("usage: mindwell-api [serve [--with-worker] | migrate]");
            std::process::exit(2);
        }
    }
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
