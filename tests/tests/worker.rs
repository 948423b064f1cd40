//! The worker fleet: real models over real check-ins, alerts, exactly-once
//! effects, and recovery from a killed worker.
//!
//! Over 300 lines on purpose: the crash, redelivery and dead-job tests share
//! the same fixtures (models made to fail, killed processes) and read as one story.

use std::time::Duration;

use mindwell_shared::{
    entities::{ai_analysis_results as analyses, alerts},
    jobs::{AnalyzeCheckin, Job},
};
use mindwell_tests::{TestApp, binary, email};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

async fn alerts_of(app: &TestApp, user_id: &str) -> Vec<alerts::Model> {
    let uid = uuid::Uuid::parse_str(user_id).expect("uuid");
    alerts::Entity::find().filter(alerts::Column::UserId.eq(uid)).all(app.db()).await.expect("alerts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkin_reaches_completed_with_sane_labels() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("labels")).await;
    let (_, happy) = app
        .checkin(&user, json!({"mood": 9, "sleep_hours": 8, "notes": "What a wonderful day! I loved the hike with my friends and feel great."}))
        .await;
    let (_, sad) = app
        .checkin(&user, json!({"mood": 2, "sleep_hours": 6, "notes": "I feel terrible, everything went wrong and I am so sad and angry."}))
        .await;
    let happy = app.wait_for_insight(&user, &happy, WAIT).await;
    let sad = app.wait_for_insight(&user, &sad, WAIT).await;
    for insight in [&happy, &sad] {
        assert_eq!(insight["status"], "completed", "{insight}");
        let labels = &insight["labels"];
        let score = labels["sentiment"]["score"].as_f64().expect("score");
        assert!((0.0..=1.0).contains(&score));
        let risk = labels["risk_score"].as_f64().expect("risk");
        assert!((0.0..=1.0).contains(&risk));
        assert!(["low", "moderate", "high"].contains(&labels["stress_level"].as_str().expect("stress")));
        let emotions = labels["emotions"].as_object().expect("emotions");
        let total: f64 = emotions.values().filter_map(serde_json::Value::as_f64).sum();
        assert!((total - 1.0).abs() < 0.01, "emotions sum to {total}");
        let version = insight["model_version"].as_str().expect("version");
        assert!(version.contains("@"), "{version}");
        assert!(insight["summary"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(insight["completed_at"].as_str().is_some_and(|s| s.ends_with('Z')));
        let confidence = insight["confidence"].as_f64().expect("confidence");
        assert!((0.0..=1.0).contains(&confidence));
    }
    assert_eq!(happy["labels"]["sentiment"]["label"], "positive", "{happy}");
    assert_eq!(sad["labels"]["sentiment"]["label"], "negative", "{sad}");
    assert!(sad["labels"]["risk_score"].as_f64() > happy["labels"]["risk_score"].as_f64());

    let id = uuid::Uuid::parse_str(happy["id"].as_str().expect("id")).expect("uuid");
    let row = analyses::Entity::find_by_id(id).one(app.db()).await.expect("query").expect("row");
    let raw = row.raw_features.expect("raw features kept");
    assert_eq!(raw["features"]["mood"], 9.0);
    assert!(raw["features"].as_object().is_some_and(|f| f.len() == 9));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crisis_language_raises_one_critical_alert_with_resources() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("crisis")).await;
    let (_, analysis) = app
        .checkin(
            &user,
            json!({"mood": 2, "sleep_hours": 2.5, "notes": "I can't do this anymore. I want to end my life."}),
        )
        .await;
    let insight = app.wait_for_insight(&user, &analysis, WAIT).await;
    assert_eq!(insight["status"], "completed");
    let alerts = alerts_of(&app, &user.id).await;
    let crisis: Vec<_> = alerts.iter().filter(|a| a.r#type == "crisis_language").collect();
    assert_eq!(crisis.len(), 1, "{alerts:?}");
    assert_eq!(crisis[0].severity, "critical");
    assert_eq!(crisis[0].status, "open");
    assert!(crisis[0].payload["resources"].as_str().is_some_and(|r| r.contains("988")));
    assert_eq!(crisis[0].ai_result_id.map(|id| id.to_string()), Some(analysis.clone()));
    let sleep: Vec<_> = alerts.iter().filter(|a| a.r#type == "low_sleep").collect();
    assert_eq!(sleep.len(), 1);
    assert_eq!(sleep[0].severity, "critical");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mood_three_below_the_weekly_average_raises_mood_drop() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("drop")).await;
    let now = chrono::Utc::now();
    for days in [3, 2, 1] {
        let ts = (now - chrono::Duration::days(days)).to_rfc3339();
        let (_, a) = app.checkin(&user, json!({"mood": 8, "sleep_hours": 7.5, "timestamp": ts})).await;
        app.wait_for_insight(&user, &a, WAIT).await;
    }
    assert!(alerts_of(&app, &user.id).await.is_empty());
    let (_, a) = app.checkin(&user, json!({"mood": 4, "sleep_hours": 7.5, "notes": "meh"})).await;
    app.wait_for_insight(&user, &a, WAIT).await;
    let alerts = alerts_of(&app, &user.id).await;
    let drops: Vec<_> = alerts.iter().filter(|a| a.r#type == "mood_drop").collect();
    assert_eq!(drops.len(), 1, "{alerts:?}");
    assert_eq!(drops[0].severity, "warning");
    assert_eq!(drops[0].payload["previous_7d_avg"], 8.0);
    assert_eq!(drops[0].payload["drop"], 4.0);
    // Only this check-in's rules fired: the model may add high_stress, nothing else.
    assert!(alerts.iter().all(|a| a.r#type == "mood_drop" || a.r#type == "high_stress"), "{alerts:?}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_job_writes_nothing_twice() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("redeliver")).await;
    let (checkin, analysis) =
        app.checkin(&user, json!({"mood": 3, "sleep_hours": 4, "notes": "I want to die, I hate everything"})).await;
    let first = app.wait_for_insight(&user, &analysis, WAIT).await;
    let before = alerts_of(&app, &user.id).await;
    assert!(before.len() >= 2, "{before:?}");
    // Deliver the same job twice more, as at-least-once delivery may.
    let job = AnalyzeCheckin {
        analysis_id: uuid::Uuid::parse_str(&analysis).expect("uuid"),
        checkin_id: uuid::Uuid::parse_str(&checkin).expect("uuid"),
        user_id: uuid::Uuid::parse_str(&user.id).expect("uuid"),
        request_id: None,
    };
    app.state.queue.push(job.clone()).await.expect("push");
    app.state.queue.push(job).await.expect("push");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = alerts_of(&app, &user.id).await;
    assert_eq!(before.len(), after.len());
    let cid = uuid::Uuid::parse_str(&checkin).expect("uuid");
    let rows =
        analyses::Entity::find().filter(analyses::Column::CheckinId.eq(cid)).count(app.db()).await.expect("count");
    assert_eq!(rows, 1);
    let again = app.wait_for_insight(&user, &analysis, WAIT).await;
    assert_eq!(first["completed_at"], again["completed_at"]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_jobs_complete_on_another_worker_exactly_once() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("kill")).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let notes =
            format!("Day {i}: {}", "long day at work with many meetings and little rest, feeling tired. ".repeat(12));
        ids.push(app.checkin(&user, json!({"mood": 5, "sleep_hours": 4.5, "notes": notes})).await.1);
    }
    let mut doomed = std::process::Command::new(binary("mindwell-worker"))
        .envs(app.worker_env())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn worker");
    // Let it take jobs, then kill it without warning.
    let uid = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let started = analyses::Entity::find()
            .filter(analyses::Column::UserId.eq(uid))
            .filter(analyses::Column::Status.ne("queued"))
            .count(app.db())
            .await
            .expect("count");
        if started >= 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first worker never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill().expect("kill -9");
    doomed.wait().expect("reap");

    let survivor = app.start_worker().await;
    for id in &ids {
        let insight = app.wait_for_insight(&user, id, Duration::from_secs(60)).await;
        assert_eq!(insight["status"], "completed", "{insight}");
    }
    let rows = analyses::Entity::find().filter(analyses::Column::UserId.eq(uid)).count(app.db()).await.expect("count");
    assert_eq!(rows, 40);
    let alerts = alerts_of(&app, &user.id).await;
    let sleep = alerts.iter().filter(|a| a.r#type == "low_sleep").count();
    assert_eq!(sleep, 40, "one low_sleep alert per check-in, never two");
    survivor.stop().await;
}

/// Copies `model-assets` to a temporary folder with models that pass their
/// golden examples but fail on a long note: the encoder's manifest lets 4096
/// tokens through to a graph with position embeddings for 512 (and keeps only
/// its first golden example, so the truncation example does not catch it).
fn models_that_fail_on_long_notes() -> std::path::PathBuf {
    let src = mindwell_tests::repo_root().join("model-assets");
    let dst = std::env::temp_dir().join(format!("mindwell-broken-models-{}", uuid::Uuid::new_v4().simple()));
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    copy(&src, &dst);
    let active: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dst.join("active.json")).expect("active")).expect("json");
    let manifest_path = dst.join("encoder").join(active["encoder"].as_str().expect("version")).join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest")).expect("json");
    manifest["max_length"] = json!(4096);
    manifest["golden"].as_array_mut().expect("goldens").truncate(1);
    std::fs::write(&manifest_path, manifest.to_string()).expect("write");
    dst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_keeps_failing_ends_failed_and_dead_yet_crisis_language_is_flagged() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let mut config = mindwell_tests::worker_config(app.backends.clone());
    config.model_dir = models_that_fail_on_long_notes();
    let worker = mindwell_tests::WorkerHandle::start(config.clone()).await;
    let user = app.signup(&email("failing")).await;
    let note = format!("I keep thinking about suicide. {}", "Again and again, every night. ".repeat(110));
    let (_, analysis) = app.checkin(&user, json!({"mood": 3, "sleep_hours": 6, "notes": note})).await;
    let insight = app.wait_for_insight(&user, &analysis, WAIT).await;
    assert_eq!(insight["status"], "failed", "{insight}");
    assert_eq!(insight["labels"], serde_json::Value::Null);

    let id = uuid::Uuid::parse_str(&analysis).expect("uuid");
    let row = analyses::Entity::find_by_id(id).one(app.db()).await.expect("query").expect("row");
    // The job's own retry policy: as many runs as it declares, then dead.
    assert_eq!(row.attempts, i32::try_from(AnalyzeCheckin::MAX_ATTEMPTS).expect("small"));
    assert!(row.error.as_deref().is_some_and(|e| e.contains("ONNX Runtime")), "{:?}", row.error);
    let alerts = alerts_of(&app, &user.id).await;
    assert_eq!(alerts.iter().filter(|a| a.r#type == "crisis_language").count(), 1, "{alerts:?}");

    // The job sits in the queue's dead set, where operators can inspect it.
    let redis = mindwell_tests::redis().await;
    let dead_key = format!("{}:analyze_checkin:dead", app.backends.namespace);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let dead: u64 = fred::prelude::SetsInterface::scard(&redis, &dead_key).await.expect("scard");
        if dead == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no dead job in {dead_key}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.stop().await;

    // Operators see it with its last error, and once the models are mended a
    // retry completes it.
    let (status, jobs) = app.call("GET", "/api/v1/admin/jobs", Some(&admin), None).await;
    assert_eq!(status, 200, "{jobs}");
    let dead = &jobs["data"]["dead_jobs"][0];
    assert_eq!(dead["payload"]["analysis_id"], analysis.as_str());
    assert!(dead["last_error"].as_str().is_some_and(|e| e.contains("ONNX Runtime")), "{dead}");
    assert_eq!(jobs["data"]["queues"][0]["dead"], 1);
    assert_eq!(jobs["data"]["analyses"]["failed"], 1);
    let job_id = dead["id"].as_str().expect("job id").to_owned();
    let healthy = app.start_worker().await;
    let (status, body) = app.call("POST", &format!("/api/v1/admin/jobs/{job_id}/retry"), Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    let insight = app.wait_for_insight(&user, &analysis, WAIT).await;
    assert_eq!(insight["status"], "completed", "{insight}");
    let (_, jobs) = app.call("GET", "/api/v1/admin/jobs", Some(&admin), None).await;
    assert_eq!(jobs["data"]["queues"][0]["dead"], 0);
    assert_eq!(app.call("POST", &format!("/api/v1/admin/jobs/{job_id}/retry"), Some(&admin), None).await.0, 404);
    let alerts = alerts_of(&app, &user.id).await;
    assert_eq!(alerts.iter().filter(|a| a.r#type == "crisis_language").count(), 1, "still one crisis alert");
    healthy.stop().await;
    let _ = std::fs::remove_dir_all(config.model_dir);
}

/// apalis-redis' fetch script promotes all due jobs with one Lua `unpack`,
/// which fails beyond ~8,000 values; the worker's chunked promoter keeps a
/// larger backlog moving (`worker/src/promote.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_beyond_luas_unpack_limit_still_drains() {
    use futures::StreamExt;
    use mindwell_shared::queue::QueueConn;
    let app = TestApp::spawn().await;
    let queue = QueueConn::connect(&app.backends).await.expect("queue");
    futures::stream::iter(0..9_000)
        .for_each_concurrent(64, |_| {
            let queue = queue.clone();
            async move {
                // Jobs for analyses that do not exist: each run finds nothing to claim.
                let job = AnalyzeCheckin {
                    analysis_id: uuid::Uuid::now_v7(),
                    checkin_id: uuid::Uuid::now_v7(),
                    user_id: uuid::Uuid::now_v7(),
                    request_id: None,
                };
                queue.push(job).await.expect("push");
            }
        })
        .await;
    let scheduled = format!("{}:analyze_checkin:scheduled", app.backends.namespace);
    let redis = mindwell_tests::redis().await;
    let before: u64 = fred::prelude::SortedSetsInterface::zcard(&redis, &scheduled).await.expect("zcard");
    assert_eq!(before, 9_000, "the backlog waits in the scheduled set");

    let worker = app.start_worker().await;
    let user = app.signup(&email("backlog")).await;
    let (_, analysis) = app.checkin(&user, json!({"mood": 6, "sleep_hours": 7, "notes": "Behind a long queue."})).await;
    let insight = app.wait_for_insight(&user, &analysis, Duration::from_secs(120)).await;
    assert_eq!(insight["status"], "completed", "{insight}");
    let left: u64 = fred::prelude::SortedSetsInterface::zcard(&redis, &scheduled).await.expect("zcard");
    assert_eq!(left, 0);
    worker.stop().await;
}
