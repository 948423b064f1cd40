//! The scheduler and its jobs: summaries by local day, exactly once; one
//! enqueuer among replicas; the sweeper; alert escalation.
//!
//! Just over 300 lines: every time-driven job, one test binary.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use mindwell_scheduler::{Scheduler, SchedulerConfig};
use mindwell_shared::{
    entities::{ai_analysis_results as analyses, alerts, audit_logs, daily_checkins as checkins, summaries},
    jobs::{GenerateSummary, Maintenance, Period},
};
use mindwell_tests::{TestApp, binary, email};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

fn uuid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).expect("uuid")
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_is_written_once_however_often_its_job_runs() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("summary")).await;
    let yesterday = Utc::now().date_naive().pred_opt().expect("date");
    for (hour, mood, notes) in [
        (8, 7, "Slept well and went for a long walk by the river. Felt calm."),
        (20, 4, "Work was stressful and I argued with a colleague. I feel drained tonight."),
    ] {
        let ts = yesterday.and_hms_opt(hour, 0, 0).expect("time").and_utc().to_rfc3339();
        app.checkin(&user, json!({"mood": mood, "sleep_hours": 6, "notes": notes, "timestamp": ts})).await;
    }
    let job = GenerateSummary { user_id: uuid(&user.id), period: Period::Daily, start: yesterday };
    for _ in 0..3 {
        app.state.queue.push(job.clone()).await.expect("push");
    }
    let uid = uuid(&user.id);
    wait_for("the summary", || async {
        summaries::Entity::find().filter(summaries::Column::UserId.eq(uid)).count(app.db()).await.unwrap_or(0) > 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = summaries::Entity::find().filter(summaries::Column::UserId.eq(uid)).all(app.db()).await.expect("rows");
    assert_eq!(rows.len(), 1);
    let s = &rows[0];
    assert_eq!(s.metrics["checkins"], 2);
    assert_eq!(s.metrics["mood"]["avg"], 5.5);
    assert_eq!(s.metrics["sleep_debt_hours"], 2.0, "one night of 6 h against 8 h");
    assert!(s.summary.contains("2 check-ins"), "{}", s.summary);
    assert!(s.model_version.starts_with("summary-extractive@"));
    let emotions = s.metrics["emotions"].as_object().expect("emotion averages");
    let total: f64 = emotions.values().filter_map(serde_json::Value::as_f64).sum();
    assert!(emotions.is_empty() || (total - 1.0).abs() < 0.01, "{emotions:?}");

    let (status, page) = app.call("GET", "/api/v1/summaries?period=daily", Some(&user.access), None).await;
    assert_eq!(status, 200);
    assert_eq!(page["data"]["items"][0]["period_start"], yesterday.to_string());
    assert_eq!(page["data"]["items"][0]["period_end"], yesterday.to_string());
    let (_, dash) = app.call("GET", "/api/v1/dashboard", Some(&user.access), None).await;
    assert_eq!(dash["data"]["latest_summary"]["id"], s.id.to_string().as_str());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_summary_covers_the_users_own_day() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("kolkata")).await;
    app.call("PUT", "/api/v1/me/settings", Some(&user.access), Some(json!({"timezone": "Asia/Kolkata"}))).await;
    let day = Utc::now().date_naive().pred_opt().and_then(|d| d.pred_opt()).expect("date");
    // 23:30 on `day` in Kolkata is 18:00 UTC; 00:30 the next day is 19:00 UTC.
    for (utc, mood) in [("T18:00:00Z", 3), ("T19:00:00Z", 9)] {
        app.checkin(&user, json!({"mood": mood, "sleep_hours": 7, "timestamp": format!("{day}{utc}")})).await;
    }
    let config = SchedulerConfig { backends: app.backends.clone(), tick: Duration::from_secs(30), metrics_addr: None };
    let db = mindwell_shared::db::connect(&config.backends.database, 2).await.expect("db");
    let jobs = mindwell_scheduler::enqueue_summaries(&db, &app.state.queue, Period::Daily, Some(day), None)
        .await
        .expect("enqueue");
    assert_eq!(jobs.len(), 1);
    let uid = uuid(&user.id);
    wait_for("the summary", || async {
        summaries::Entity::find().filter(summaries::Column::UserId.eq(uid)).count(app.db()).await.unwrap_or(0) > 0
    })
    .await;
    let s = summaries::Entity::find()
        .filter(summaries::Column::UserId.eq(uid))
        .one(app.db())
        .await
        .expect("q")
        .expect("row");
    assert_eq!(s.period_start, day);
    assert_eq!(s.metrics["checkins"], 1, "only the check-in of the user's own day");
    assert_eq!(s.metrics["mood"]["avg"], 3.0);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scheduler_replicas_enqueue_each_job_once() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("replicas")).await;
    let yesterday = (Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "timestamp": yesterday})).await;
    let config = SchedulerConfig { backends: app.backends.clone(), tick: Duration::from_secs(30), metrics_addr: None };
    let (a, b) = (Scheduler::connect(&config).await.expect("a"), Scheduler::connect(&config).await.expect("b"));
    let leaders = [a.lead().await.expect("lease"), b.lead().await.expect("lease")];
    assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "exactly one leader: {leaders:?}");
    assert!(a.lead().await.expect("renew") == leaders[0], "the lease is renewed by its holder");
    // Even ticking together (a split brain), each job goes out once.
    let now = Utc::now();
    let (x, y) = tokio::join!(a.tick(now), b.tick(now));
    let total = x.expect("tick") + y.expect("tick");
    // On a Monday yesterday's check-in lies in the week that just ended, so its
    // weekly summary is due too.
    let weekly = usize::from(chrono::Datelike::weekday(&now) == chrono::Weekday::Mon);
    assert_eq!(total, 1 + weekly + 3, "one daily summary, a weekly one on Mondays, three upkeep jobs, once");
    assert_eq!(a.tick(now).await.expect("tick") + b.tick(now).await.expect("tick"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_recovers_an_analysis_whose_job_vanished() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("sweep")).await;
    // A check-in whose job never reached the queue (or vanished from it): the
    // rows exist, no job does.
    let (checkin_id, analysis_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let old = Utc::now() - chrono::Duration::hours(1);
    checkins::Entity::insert(checkins::ActiveModel {
        id: Set(checkin_id),
        user_id: Set(uuid(&user.id)),
        mood: Set(6),
        sleep_hours: Set(7.0),
        notes: Set("fine".into()),
        meta: Set(json!({})),
        timestamp: Set(old),
        created_at: Set(old),
    })
    .exec_without_returning(app.db())
    .await
    .expect("checkin");
    analyses::Entity::insert(analyses::ActiveModel {
        id: Set(analysis_id),
        checkin_id: Set(checkin_id),
        user_id: Set(uuid(&user.id)),
        status: Set("queued".into()),
        attempts: Set(0),
        created_at: Set(old),
        updated_at: Set(old),
        ..Default::default()
    })
    .exec_without_returning(app.db())
    .await
    .expect("analysis");
    let (checkin, analysis) = (checkin_id.to_string(), analysis_id.to_string());
    let worker = app.start_worker().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&user.access), None).await.1;
    assert_eq!(still["data"]["status"], "queued", "nothing to run until the sweep");
    app.state.queue.push(Maintenance::SweepStale { as_of: Utc::now() }).await.expect("push");
    let insight = app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    assert_eq!(insight["status"], "completed");
    let rows = analyses::Entity::find()
        .filter(analyses::Column::CheckinId.eq(uuid(&checkin)))
        .count(app.db())
        .await
        .expect("q");
    assert_eq!(rows, 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_alerts_are_escalated_after_the_configured_time() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("escalate")).await;
    let old_critical = app.insert_alert(&user, "crisis_language", "open").await;
    let old_warning = app.insert_alert(&user, "low_sleep", "open").await;
    let fresh = app.insert_alert(&user, "mood_drop", "open").await;
    alerts::Entity::update(alerts::ActiveModel {
        id: Set(uuid(&old_critical)),
        severity: Set("critical".into()),
        ..Default::default()
    })
    .exec(app.db())
    .await
    .expect("critical");
    let worker = app.start_worker().await;
    // Two alerts are two hours old, past the 30-minute threshold; one is fresh.
    for id in [&old_critical, &old_warning] {
        alerts::Entity::update(alerts::ActiveModel {
            id: Set(uuid(id)),
            created_at: Set(Utc::now() - chrono::Duration::hours(2)),
            ..Default::default()
        })
        .exec(app.db())
        .await
        .expect("age");
    }
    app.state.queue.push(Maintenance::ScanAlerts { as_of: Utc::now() }).await.expect("push");
    wait_for("two escalations", || async {
        audit_logs::Entity::find()
            .filter(audit_logs::Column::Action.eq("alert.escalated"))
            .count(app.db())
            .await
            .unwrap_or(0)
            == 2
    })
    .await;
    let db = app.db().clone();
    let get = |id: String| {
        let db = db.clone();
        async move { alerts::Entity::find_by_id(uuid(&id)).one(&db).await.expect("q").expect("row") }
    };
    let c = get(old_critical).await;
    assert_eq!(c.severity, "critical");
    assert!(c.payload["escalated_at"].is_string());
    let w = get(old_warning).await;
    assert_eq!((w.severity.as_str(), w.payload["escalated_from"].as_str()), ("critical", Some("warning")));
    let f = get(fresh).await;
    assert!(f.payload.get("escalated_at").is_none());
    // A second scan escalates nothing again.
    app.state.queue.push(Maintenance::ScanAlerts { as_of: Utc::now() }).await.expect("push");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("alert.escalated"))
        .count(app.db())
        .await
        .expect("q");
    assert_eq!(n, 2);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_enqueues_a_pass_and_exits_when_it_is_written() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("runonce")).await;
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    app.checkin(&user, json!({"mood": 6, "sleep_hours": 7.5, "timestamp": "2026-03-02T12:00:00Z"})).await;
    let env = app.worker_env();
    let status = tokio::process::Command::new(binary("mindwell-scheduler"))
        .args(["run-once", "daily", "--date", &day.to_string(), "--user", &user.id])
        .envs(env)
        .env("MINDWELL_RUN_ONCE_TIMEOUT_SECS", "60")
        .status()
        .await
        .expect("run-once");
    assert!(status.success(), "{status}");
    let s =
        summaries::Entity::find().filter(summaries::Column::UserId.eq(uuid(&user.id))).one(app.db()).await.expect("q");
    assert_eq!(s.map(|s| s.period_start), Some(day));
    let bad = tokio::process::Command::new(binary("mindwell-scheduler"))
        .args(["run-once", "hourly"])
        .envs(app.worker_env())
        .status()
        .await
        .expect("run-once");
    assert!(!bad.success());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_up_deletes_expired_tokens_keys_and_old_job_results() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("cleanup")).await;
    let (_, analysis) = app.checkin(&user, json!({"mood": 6, "sleep_hours": 7})).await;
    app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    let done_key = format!("{}:analyze_checkin:done", app.backends.namespace);
    let done = || async {
        let redis = mindwell_tests::redis().await;
        let n: u64 = fred::prelude::SetsInterface::scard(&redis, &done_key).await.expect("scard");
        n
    };
    wait_for("the job's result", || async { done().await > 0 }).await;

    // Ten days on: the refresh token (1 h in tests) and the finished job's result are past retention.
    let later = Utc::now() + chrono::Duration::days(10);
    app.state.queue.push(Maintenance::Cleanup { as_of: later }).await.expect("push");
    wait_for("the clean-up", || async {
        mindwell_shared::entities::refresh_tokens::Entity::find().count(app.db()).await.unwrap_or(1) == 0
    })
    .await;
    wait_for("the purge of job results", || async {
        done().await == 0
            && mindwell_tests::redis_keys(&format!("{}:analyze_checkin:meta:*", app.backends.namespace))
                .await
                .is_empty()
    })
    .await;
    // What users still need stays.
    assert_eq!(app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&user.access), None).await.0, 200);
    worker.stop().await;
}
