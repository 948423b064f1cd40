//! `mindwell-worker [run]`: one worker process of the fleet. Start as many as the
//! queue needs; each registers under a unique id.
//!
//! `mindwell-worker models …`: the data scientists' commands (see
//! [`mindwell_worker::models`]).

use mindwell_worker::config::WorkerConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = mindwell_shared::telemetry::init("mindwell-worker", "info,ort=warn,sqlx=warn,apalis=warn")
        .map_err(anyhow::Error::msg)?;
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
