//! `mindwell-worker [run]`: one worker process of the fleet. Start as many as the
//! queue needs; each registers under a unique id.
//!
//! `mindwell-worker models …`: the data scientists' commands (see
//! [`mindwell_worker::models`]).
//!
//! The command line is parsed before anything else happens, so `--help` and
//! usage errors need no configuration, no ONNX Runtime and print no log line.

use clap::{Parser, Subcommand};
use mindwell_worker::{config::WorkerConfig, models};

/// What `run` reads (`shared/src/config.rs`, `shared/src/telemetry.rs`, `worker/src/config.rs`).
const RUN_ENV: &str = concat!(
    "Environment:\n",
    mindwell_shared::shared_env_help!(),
    "  MINDWELL_MODEL_DIR           model folders and active.json [default: model-assets]
  ORT_DYLIB_PATH               the ONNX Runtime library [default: .ort/libonnxruntime.so.1.31.1]
  MINDWELL_EXECUTION_PROVIDER  cpu, cuda or cuda:<device> [default: cpu]
  MINDWELL_WORKER_CONCURRENCY, MINDWELL_BACKFILL_CONCURRENCY
                               live and backfill jobs in flight [default: 16, 2]
  MINDWELL_INFERENCE_THREADS   model pipelines, one per inference thread [default: 1]
  MINDWELL_BATCH_MAX, MINDWELL_BATCH_WAIT_MS
                               most notes per model run, longest wait for a batch [default: 32, 2]
  MINDWELL_MODEL_POLL_SECS     how often active.json is checked [default: 2]
  MINDWELL_METRICS_ADDR        serve /metrics, /health, /health/ready here [default: off]
  MINDWELL_WORKER_POLL_MS      idle poll interval of analyses; other queues poll at 5x [default: 20]
  MINDWELL_ALERT_LOW_SLEEP_HOURS, MINDWELL_ALERT_CRITICAL_SLEEP_HOURS, MINDWELL_ALERT_MOOD_DROP,
  MINDWELL_CRISIS_RESOURCES    alert rules [default: 5, 3, 3, a help-line text]
  MINDWELL_ESCALATE_AFTER_MINUTES, MINDWELL_STALE_AFTER_SECS,
  MINDWELL_AUDIT_RETENTION_DAYS, MINDWELL_JOB_RESULT_RETENTION_DAYS
                               upkeep thresholds [default: 30, 300, 365, 7]
  MINDWELL_SMTP_URL, MINDWELL_SMTP_FROM
                               email channel [default: off]"
);

/// One worker process of MindWell's fleet: analyses check-ins with the ONNX
/// models and runs the summary, upkeep and backfill jobs from the queue.
#[derive(Debug, Parser)]
#[command(name = "mindwell-worker", version, after_help = RUN_ENV)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take jobs from the queue until SIGTERM, then finish those in flight (the default)
    #[command(after_help = RUN_ENV)]
    Run,
    /// The data scientists' commands: check, evaluate, compare, backfill and export
    #[command(subcommand, after_help = "Environment: see each command's --help.")]
    Models(models::Command),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = mindwell_shared::telemetry::init("mindwell-worker", "info,ort=warn,sqlx=warn,apalis=warn")
        .map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let config = WorkerConfig::from_env()?;
            mindwell_worker::serve(config, mindwell_shared::time::shutdown_signal()).await
        }
        Command::Models(command) => {
            if let Err(e) = models::main(command).await {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
