//! `models backfill --model NAME --version V [--since DATE]`: re-analyse past
//! check-ins with one model's version (the others at their active versions),
//! writing `model_runs` rows that `models compare` reads.
//!
//! Idempotent per check-in and version: check-ins that already have a backfill
//! run of the version are left out, and the worker skips any it finds done.
//! Throttled: at most `--rate` jobs per second (default 50), pausing while more
//! than `--max-pending` (default 500) wait in the queue; the backfill queue has
//! its own low concurrency in every worker, so live jobs keep their latency.

use std::{collections::HashSet, time::Duration};

use anyhow::{Context, bail};
use chrono::{NaiveTime, TimeZone, Utc};
use fred::interfaces::{ClientLike, ListInterface};
use mindwell_shared::{
    config::Queue,
    db,
    entities::{daily_checkins as checkins, model_runs},
    jobs::ReanalyzeCheckin,
    queue::{QueueConn, redis_keys::QueueKeys},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Args, progress};
use crate::{
    config::WorkerConfig,
    inference::{ActiveFile, ActiveModels, Manifest},
};

pub(super) async fn run(config: &WorkerConfig, args: &Args) -> anyhow::Result<()> {
    let model = args.required("model")?;
    let version = args.required("version")?;
    let since = args.date("since")?;
    let rate: f64 = args.flag("rate").map_or(Ok(50.0), str::parse).context("--rate: a number of jobs per second")?;
    let max_pending: u64 = args.flag("max-pending").map_or(Ok(500), str::parse).context("--max-pending: a number")?;
    if rate <= 0.0 {
        bail!("--rate must be positive");
    }

    let dir = config.model_dir.join(model).join(version);
    let manifest = Manifest::load_verified(&dir).with_context(|| format!("{model} {version}"))?;
    manifest.validate()?;
    let mut versions = ActiveFile::read(&config.model_dir)?.versions;
    versions.extend(manifest.requires.clone());
    versions.insert(model.to_owned(), version.to_owned());
    let folders = ActiveModels::at(&config.model_dir, &versions)?;
    let ids = [&folders.encoder, &folders.heads, &folders.risk]
        .into_iter()
        .map(|d| Manifest::load_verified(d).map(|m| m.id()))
        .collect::<Result<Vec<_>, _>>()?;
    let target = ids.join("+");

    let db = db::connect(&config.backends.database, 2).await?;
    let done: HashSet<Uuid> = model_runs::Entity::find()
        .select_only()
        .column(model_runs::Column::CheckinId)
        .filter(model_runs::Column::ModelVersion.eq(&target))
        .filter(model_runs::Column::Purpose.eq(mindwell_shared::domain::RunPurpose::Backfill))
        .into_tuple()
        .all(&db)
        .await?
        .into_iter()
        .collect();
    let mut query =
        checkins::Entity::find().select_only().column(checkins::Column::Id).order_by_asc(checkins::Column::Timestamp);
    if let Some(since) = since {
        query = query.filter(checkins::Column::Timestamp.gte(Utc.from_utc_datetime(&since.and_time(NaiveTime::MIN))));
    }
    let all: Vec<Uuid> = query.into_tuple().all(&db).await?;
    let todo: Vec<Uuid> = all.iter().copied().filter(|id| !done.contains(id)).collect();
    println!(
        "backfill {target}: {} check-ins, {} already done, {} to enqueue",
        all.len(),
        all.len() - todo.len(),
        todo.len()
    );

    let queue = QueueConn::connect(&config.backends).await?;
    let redis = match &config.backends.queue {
        Queue::Redis(url) => {
            let client =
                fred::clients::Client::new(fred::types::config::Config::from_url(url.expose())?, None, None, None);
            client.init().await?;
            Some(client)
        }
        Queue::Sqlite(_) => None,
    };
    let active_list = QueueKeys::new(&queue.queue_name::<ReanalyzeCheckin>()).active();
    let bar = progress(todo.len() as u64, "enqueued");
    let gap = Duration::from_secs_f64(1.0 / rate);
    let mut next = tokio::time::Instant::now();
    for (i, id) in todo.iter().enumerate() {
        if i % 50 == 0
            && let Some(redis) = &redis
        {
            while redis.llen::<u64, _>(&active_list).await? > max_pending {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        tokio::time::sleep_until(next).await;
        next += gap;
        queue.push(ReanalyzeCheckin { checkin_id: *id, versions: versions.clone() }).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("enqueued {} re-analyses", todo.len());

    if args.flag("wait").is_some() {
        let expected = done.len() + todo.len();
        let bar = progress(expected as u64, "analysed");
        let mut last = (0, tokio::time::Instant::now());
        loop {
            let n = model_runs::Entity::find()
                .filter(model_runs::Column::ModelVersion.eq(&target))
                .filter(model_runs::Column::Purpose.eq(mindwell_shared::domain::RunPurpose::Backfill))
                .count(&db)
                .await?;
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            bar.set_position(n as u64);
            if n >= expected {
                break;
            }
            if n > last.0 {
                last = (n, tokio::time::Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(300) {
                bail!("no progress for 5 minutes at {n}/{expected}: are workers running?");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bar.finish_and_clear();
        println!("analysed {expected} check-ins with {target}");
    }
    Ok(())
}
