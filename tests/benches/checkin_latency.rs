//! Check-in → completed insight latency at a steady 20 check-ins/s with one
//! worker, against PostgreSQL and Redis (`scripts/bench.sh`).
//!
//! Prints p50/p95/max of pick-up (created → started) and of the whole
//! analysis (created → completed), from the timestamps the system records.

use std::time::{Duration, Instant};

use mindwell_shared::entities::ai_analysis_results as analyses;
use mindwell_tests::{TestApp, email};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

const RATE_PER_SEC: u64 = 20;
const SECONDS: u64 = 15;

fn pct(sorted: &[f64], p: f64) -> f64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index"
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("bench")).await;
    let notes = [
        "Slept well and had a productive, happy day.",
        "Feeling anxious about the deadline, hard to focus.",
        "Quiet evening, read a book, nothing special.",
        "Argued with my partner and I feel awful and tired.",
    ];
    // Warm the pipeline.
    let (_, a) = app.checkin(&user, json!({"mood": 6, "sleep_hours": 7, "notes": notes[0]})).await;
    app.wait_for_insight(&user, &a, Duration::from_secs(30)).await;

    let total = RATE_PER_SEC * SECONDS;
    let mut ids = Vec::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE_PER_SEC));
    for i in 0..total {
        tick.tick().await;
        let note = notes[usize::try_from(i).unwrap_or(0) % notes.len()];
        let mood = 3 + i % 6;
        ids.push(app.checkin(&user, json!({"mood": mood, "sleep_hours": 6.5, "notes": note})).await.1);
    }
    let sent_in = started.elapsed();
    for id in &ids {
        app.wait_for_insight(&user, id, Duration::from_secs(60)).await;
    }
    let uid = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let rows = analyses::Entity::find().filter(analyses::Column::UserId.eq(uid)).all(app.db()).await.expect("rows");
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut pickup: Vec<f64> = rows.iter().filter_map(|r| r.started_at.map(|s| ms(s - r.created_at))).collect();
    let mut total_ms: Vec<f64> = rows.iter().filter_map(|r| r.completed_at.map(|c| ms(c - r.created_at))).collect();
    pickup.sort_by(f64::total_cmp);
    total_ms.sort_by(f64::total_cmp);
    println!(
        "check-in -> insight, {total} check-ins at {RATE_PER_SEC}/s (sent in {:.1} s), one worker (concurrency 2)",
        sent_in.as_secs_f64()
    );
    println!("{:<22} {:>9} {:>9} {:>9}", "ms", "p50", "p95", "max");
    for (name, v) in [("pick-up (queued->run)", &pickup), ("completed", &total_ms)] {
        println!(
            "{name:<22} {:>9.1} {:>9.1} {:>9.1}",
            pct(v, 0.5),
            pct(v, 0.95),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    worker.stop().await;
}
