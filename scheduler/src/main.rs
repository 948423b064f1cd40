//! `mindwell-scheduler [run]` and
//! `mindwell-scheduler run-once daily|weekly [--date YYYY-MM-DD] [--user ID]`.
//!
//! `run` ticks forever (one leader among replicas enqueues). `run-once`
//! enqueues one pass of summaries now and exits when they are written, with a
//! progress bar on a terminal; it exits non-zero if they are not done within
//! `MINDWELL_RUN_ONCE_TIMEOUT_SECS` (default 600).

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use mindwell_scheduler::{Scheduler, SchedulerConfig, enqueue_summaries};
use mindwell_shared::{
    config::parse_var,
    entities::summaries,
    jobs::{GenerateSummary, Period},
    queue::QueueConn,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const USAGE: &str = "usage: mindwell-scheduler [run] | run-once daily|weekly [--date YYYY-MM-DD] [--user ID]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = mindwell_shared::telemetry::init("mindwell-scheduler", "info,sqlx=warn,fred=warn")
        .map_err(anyhow::Error::msg)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = SchedulerConfig::from_env()?;
    match args.first().map(String::as_str) {
        None | Some("run") => {
            let scheduler = Scheduler::connect(&config).await?;
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
        Some("run-once") => run_once(&config, &args[1..]).await,
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn run_once(config: &SchedulerConfig, args: &[String]) -> anyhow::Result<()> {
    let period = match args.first().map(String::as_str) {
        Some("daily") => Period::Daily,
        Some("weekly") => Period::Weekly,
        _ => anyhow::bail!("{USAGE}"),
    };
    let mut date = None;
    let mut user = None;
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--date" => date = Some(value.parse().map_err(|_| anyhow::anyhow!("--date {value}: use YYYY-MM-DD"))?),
            "--user" => user = Some(value.parse().map_err(|_| anyhow::anyhow!("--user {value}: not a UUID"))?),
            _ => anyhow::bail!("unknown option {flag}\n{USAGE}"),
        }
    }
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
