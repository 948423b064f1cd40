//! End-to-end throughput of one worker process under a backlog (`scripts/bench.sh`).
//!
//! Posts `MINDWELL_BENCH_BACKLOG` (default 10,000) short-note check-ins through
//! the API with no worker running, then starts one release `mindwell-worker`
//! process and prints analyses completed per second (overall and between 10%
//! and 90% done) and the worker's CPU seconds per analysis. Needs a release
//! build of the binaries (`cargo build --release --bins`), PostgreSQL and Redis.

use std::time::{Duration, Instant};

use futures::StreamExt;
use mindwell_shared::{domain::AnalysisStatus, entities::ai_analysis_results as analyses};
use mindwell_tests::{TestApp, binary, email};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

const NOTES: [&str; 4] = [
    "Slept well and had a productive, happy day.",
    "Feeling anxious about the deadline, hard to focus.",
    "Quiet evening, read a book, nothing special.",
    "Argued with my partner and I feel awful and tired.",
];

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backlog: usize = std::env::var("MINDWELL_BENCH_BACKLOG").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let concurrency = std::env::var("MINDWELL_WORKER_CONCURRENCY").unwrap_or_else(|_| "32".into());
    let threads = std::env::var("MINDWELL_INFERENCE_THREADS").unwrap_or_else(|_| "2".into());
    let app = TestApp::spawn().await;
    let users: Vec<_> = futures::stream::iter(0..100)
        .then(|i| {
            let app = &app;
            async move { app.signup(&email(&format!("backlog{i}"))).await }
        })
        .collect()
        .await;

    let seeding = Instant::now();
    futures::stream::iter(0..backlog)
        .for_each_concurrent(32, |i| {
            let (app, user) = (&app, &users[i % users.len()]);
            async move {
                let body = json!({"mood": 3 + i % 6, "sleep_hours": 6.5, "notes": NOTES[i % NOTES.len()]});
                app.checkin(user, body).await;
            }
        })
        .await;
    println!("seeded {backlog} check-ins through the API in {:.1} s", seeding.elapsed().as_secs_f64());

    let mut child = std::process::Command::new(binary("mindwell-worker"))
        .envs(app.worker_env())
        .env("MINDWELL_WORKER_CONCURRENCY", &concurrency)
        .env("MINDWELL_INFERENCE_THREADS", &threads)
        .spawn()
        .expect("start mindwell-worker");
    let pid = child.id();
    let completed = || async {
        analyses::Entity::find()
            .filter(analyses::Column::Status.eq(AnalysisStatus::Completed))
            .count(app.db())
            .await
            .expect("count")
    };
    let started = Instant::now();
    let (mut t10, mut t90) = (None, None);
    let total = backlog as u64;
    loop {
        let n = completed().await;
        let t = started.elapsed();
        if t10.is_none() && n * 10 >= total {
            t10 = Some((t, n));
        }
        if t90.is_none() && n * 10 >= total * 9 {
            t90 = Some((t, n));
        }
        if n >= total {
            break;
        }
        assert!(t < Duration::from_secs(900), "only {n}/{total} analysed after 15 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid);
    let _ = child.kill();
    let _ = child.wait();
    let failed = analyses::Entity::find()
        .filter(analyses::Column::Status.eq(AnalysisStatus::Failed))
        .count(app.db())
        .await
        .expect("count");
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    {
        let steady = match (t10, t90) {
            (Some((a, na)), Some((b, nb))) if b > a => (nb - na) as f64 / (b - a).as_secs_f64(),
            _ => f64::NAN,
        };
        println!("one worker (concurrency {concurrency}, {threads} inference threads), backlog {backlog} short notes:");
        println!(
            "  {:.0} analyses/s overall ({elapsed:.1} s incl. model loading), {steady:.0} analyses/s from 10% to 90%",
            total as f64 / elapsed
        );
        println!(
            "  worker CPU {cpu:.1} s = {:.2} ms per analysis; failed analyses: {failed}",
            cpu * 1000.0 / total as f64
        );
    }
}
