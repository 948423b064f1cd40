//! `mindwell-scheduler [run]` and
//! `mindwell-scheduler run-once daily|weekly [--date YYYY-MM-DD] [--user ID]`.
//!
//! `run` ticks forever (one leader among replicas enqueues). `run-once`
//! enqueues one pass of summaries now and exits when they are written, with a
//! progress bar on a terminal; it exits non-zero if they are not done within
//! `MINDWELL_RUN_ONCE_TIMEOUT_SECS` (default 600).
//!
//! The command line is parsed before anything else happens, so `--help` and
//! usage errors need no configuration and print no log line.

use std::{io::IsTerminal, time::Duration};

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mindwell_scheduler::{Scheduler, SchedulerConfig, enqueue_summaries};
use mindwell_shared::{
    config::parse_var,
    entities::summaries,
    jobs::{GenerateSummary, Period},
    queue::QueueConn,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

/// What `run` reads (`scheduler/src/lib.rs`).
const RUN_ENV: &str = concat!(
    "Environment:\n",
    mindwell_shared::shared_env_help!(),
    "  MINDWELL_SCHEDULER_TICK_SECS
                               how often the leader looks for due work; the lease lasts three ticks [default: 30]
  MINDWELL_METRICS_ADDR        serve /metrics, /health, /health/ready here [default: off]"
);

/// What `run-once` reads.
const RUN_ONCE_ENV: &str = concat!(
    "Environment:\n",
    mindwell_shared::shared_env_help!(),
    "  MINDWELL_RUN_ONCE_TIMEOUT_SECS
                               give up (exit 1) when the summaries are not written by then [default: 600]"
);

/// Enqueues MindWell's time-based jobs for the worker fleet: summaries by each
/// user's local day, the alert scanner, the stale-analysis sweeper and
/// retention clean-up.
#[derive(Debug, Parser)]
#[command(name = "mindwell-scheduler", version, after_help = RUN_ENV)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Tick until SIGTERM; one leader among the replicas enqueues (the default)
    #[command(after_help = RUN_ENV)]
    Run,
    /// Enqueue one pass of summaries now and exit when they are written (workers must run)
    #[command(subcommand, after_help = RUN_ONCE_ENV)]
    RunOnce(Pass),
}

/// Which summaries `run-once` writes.
#[derive(Debug, Subcommand)]
enum Pass {
    /// Daily summaries
    #[command(after_help = RUN_ONCE_ENV)]
    Daily(PassArgs),
    /// Weekly summaries
    #[command(after_help = RUN_ONCE_ENV)]
    Weekly(PassArgs),
}

#[derive(Debug, clap::Args)]
struct PassArgs {
    /// The period's first day [default: the period due now in each user's zone]
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<NaiveDate>,
    /// Only this user [default: every user with data]
    #[arg(long, value_name = "ID")]
    user: Option<Uuid>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = mindwell_shared::telemetry::init("mindwell-scheduler", "info,sqlx=warn,fred=warn")
        .map_err(anyhow::Error::msg)?;
    let config = SchedulerConfig::from_env()?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&config).await,
        Command::RunOnce(Pass::Daily(args)) => run_once(&config, Period::Daily, args).await,
        Command::RunOnce(Pass::Weekly(args)) => run_once(&config, Period::Weekly, args).await,
    }
}

async fn run(config: &SchedulerConfig) -> anyhow::Result<()> {
    let scheduler = Scheduler::connect(config).await?;
    tracing::info!(id = %scheduler.id, "scheduler starting");
    if let Some(addr) = config.metrics_addr {
        let (stop, until) = tokio::sync::oneshot::channel::<()>();
        let (local, server) = mindwell_shared::telemetry::bind(addr, scheduler.ready_check(), async move {
            let _ = until.await;
        })
        .await?;
        tracing::info!(addr = %local, "serving /metrics and /health");
        tokio::spawn(server);
        let result = scheduler.run(mindwell_shared::time::shutdown_signal()).await;
        let _ = stop.send(());
        return result;
    }
    scheduler.run(mindwell_shared::time::shutdown_signal()).await
}

async fn run_once(config: &SchedulerConfig, period: Period, PassArgs { date, user }: PassArgs) -> anyhow::Result<()> {
    let db = mindwell_shared::db::connect(&config.backends.database, 2).await?;
    let queue = QueueConn::connect(&config.backends).await?;
    let jobs = enqueue_summaries(&db, &queue, period, date, user).await?;
    let total = jobs.len() as u64;
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("{} summaries", period.as_str()));
    let timeout = Duration::from_secs(parse_var("MINDWELL_RUN_ONCE_TIMEOUT_SECS", 600u64)?);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let done = written(&db, &jobs).await?;
        bar.set_position(done);
        if done >= total {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            bar.abandon();
            anyhow::bail!("{done} of {total} summaries written after {timeout:?}: are workers running?");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bar.finish();
    println!("{total} {} summaries written", period.as_str());
    Ok(())
}

/// How many of `jobs` have their summary.
async fn written(db: &sea_orm::DatabaseConnection, jobs: &[GenerateSummary]) -> anyhow::Result<u64> {
    let mut done = 0;
    for chunk in jobs.chunks(500) {
        for start in chunk.iter().map(|j| j.start).collect::<std::collections::BTreeSet<_>>() {
            let users: Vec<uuid::Uuid> = chunk.iter().filter(|j| j.start == start).map(|j| j.user_id).collect();
            done += summaries::Entity::find()
                .filter(summaries::Column::UserId.is_in(users))
                .filter(summaries::Column::Period.eq(jobs[0].period.as_str()))
                .filter(summaries::Column::PeriodStart.eq(start))
                .count(db)
                .await?;
        }
    }
    Ok(done)
}
