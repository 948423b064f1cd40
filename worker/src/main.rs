//! `mindwell-worker [run]`: one worker process of the fleet. Start as many as the
//! queue needs; each registers under a unique id.
//!
//! `mindwell-worker models …`: the data scientists' commands (see
//! [`mindwell_worker::models`]).

use mindwell_worker::config::WorkerConfig;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,ort=warn,sqlx=warn,apalis=warn")),
        )
        .json()
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("run") => {}
        Some("models") => {
            if let Err(e) = mindwell_worker::models::main(&args[1..]).await {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
            return Ok(());
        }
        Some(other) => {
            eprintln!("{}\nunknown command {other:?}", mindwell_worker::models::USAGE);
            std::process::exit(2);
        }
    }
    let config = WorkerConfig::from_env()?;
    mindwell_worker::serve(config, mindwell_shared::time::shutdown_signal()).await
}
