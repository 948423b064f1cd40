//! Models a data scientist owns, in service: a running worker swaps versions
//! without failing a job (and refuses a broken one), shadow runs never reach
//! users or alerts, backfills are idempotent, and feature logs leave out users
//! who deleted their data. model_checks.rs covers `models check` and `eval`.

#[path = "model_ops/assets.rs"]
mod assets;

use std::{path::Path, time::Duration};

use assets::{model_dir, new_version, read_json, text, worker_cli};
use mindwell_shared::{
    entities::{ai_analysis_results as analyses, alerts, model_runs},
    jobs::ReanalyzeCheckin,
    queue::QueueConn,
};
use mindwell_tests::{TestApp, WorkerHandle, email, worker_config};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

fn set_active(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let mut active = read_json(&dir.join("active.json"));
    edit(&mut active);
    let tmp = dir.join("active.json.tmp");
    std::fs::write(&tmp, active.to_string()).expect("write");
    std::fs::rename(tmp, dir.join("active.json")).expect("rename");
}

async fn workers_models(app: &TestApp, admin: &str) -> Value {
    let (status, body) = app.call("GET", "/api/v1/admin/models", Some(admin), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["workers"].clone()
}

/// Polls `GET /admin/models` until `until` holds for the first worker.
async fn wait_models(app: &TestApp, admin: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let workers = workers_models(app, admin).await;
        if workers.get(0).is_some_and(&until) {
            return workers[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "admin/models never showed the change: {workers}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_active_version_is_swapped_in_under_load_and_a_broken_one_is_refused() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let dir = model_dir();
    new_version(&dir, "risk", "1.0.1", |_, _| {}, true);
    let mut config = worker_config(app.backends.clone());
    config.model_dir.clone_from(&dir);
    let worker = WorkerHandle::start(config).await;
    let user = app.signup(&email("swap")).await;
    let old = "encoder@1.0.0+text-heads@1.0.0+risk@1.0.0";
    let new = "encoder@1.0.0+text-heads@1.0.0+risk@1.0.1";
    wait_models(&app, &admin, |w| w["version"] == old).await;

    let mut ids = Vec::new();
    for i in 0..40 {
        if i == 15 {
            set_active(&dir, |a| a["risk"] = json!("1.0.1"));
        }
        let note = format!("Day {i}: a long walk, then work; tired but fine.");
        ids.push(app.checkin(&user, json!({"mood": 6, "sleep_hours": 7, "notes": note})).await.1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_models(&app, &admin, |w| w["active"]["risk"] == "1.0.1").await;
    for i in 0..5 {
        ids.push(
            app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "notes": format!("After the swap {i}.")})).await.1,
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let insight = app.wait_for_insight(&user, id, Duration::from_secs(60)).await;
        assert_eq!(insight["status"], "completed", "job {i} failed during the swap: {insight}");
        let version = insight["model_version"].as_str().expect("model_version").to_owned();
        assert!(version == old || version == new, "unexpected version {version}");
        if i >= 40 {
            assert_eq!(version, new, "check-in {i} came after the swap");
        }
        seen.insert(version);
    }
    assert!(seen.contains(old), "the first check-ins ran on the old version");

    // A version whose golden example fails is refused; the previous keeps serving.
    new_version(&dir, "risk", "1.0.2", |_, m| m["golden"][0]["expected"]["probabilities"][0] = json!(0.5), true);
    set_active(&dir, |a| a["risk"] = json!("1.0.2"));
    let status = wait_models(&app, &admin, |w| w["last_error"].as_str().is_some_and(|e| e.contains("golden"))).await;
    assert_eq!(status["active"]["risk"], "1.0.1", "{status}");
    assert!(status["last_error_at"].is_string(), "{status}");
    let (_, analysis) = app.checkin(&user, json!({"mood": 7, "sleep_hours": 8, "notes": "Still fine."})).await;
    let insight = app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    assert_eq!(insight["model_version"], new, "{insight}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shadow_results_are_stored_apart_and_never_reach_users_or_alerts() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let dir = model_dir();
    new_version(&dir, "risk", "1.1.0", |_, _| {}, true);
    set_active(&dir, |a| a["shadow"] = json!({"models": {"risk": "1.1.0"}, "share": 1.0}));
    let mut config = worker_config(app.backends.clone());
    config.model_dir.clone_from(&dir);
    let worker = WorkerHandle::start(config).await;
    let status = wait_models(&app, &admin, |w| w["shadow"].is_object()).await;
    assert_eq!(status["shadow"]["version"], "encoder@1.0.0+text-heads@1.0.0+risk@1.1.0", "{status}");

    let user = app.signup(&email("shadow")).await;
    let (checkin, analysis) =
        app.checkin(&user, json!({"mood": 2, "sleep_hours": 2, "notes": "Awful night, I barely slept."})).await;
    let insight = app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    assert_eq!(insight["model_version"], "encoder@1.0.0+text-heads@1.0.0+risk@1.0.0");
    let checkin_id = Uuid::parse_str(&checkin).expect("uuid");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let runs = loop {
        let runs = model_runs::Entity::find()
            .filter(model_runs::Column::CheckinId.eq(checkin_id))
            .all(app.db())
            .await
            .expect("runs");
        if !runs.is_empty() || tokio::time::Instant::now() > deadline {
            break runs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(runs.len(), 1, "one shadow run: {runs:?}");
    assert_eq!(runs[0].purpose, "shadow");
    assert!(runs[0].model_version.ends_with("risk@1.1.0"));
    assert_eq!(runs[0].baseline_version.as_deref(), insight["model_version"].as_str());

    // Users see only the active analysis; alerts come only from it.
    for path in [format!("/api/v1/insights/{analysis}"), "/api/v1/dashboard".into(), "/api/v1/alerts".into()] {
        let (status, body) = app.call("GET", &path, Some(&user.access), None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.to_string().contains("risk@1.1.0"), "{path} shows the shadow: {body}");
    }
    let raised =
        alerts::Entity::find().filter(alerts::Column::CheckinId.eq(checkin_id)).all(app.db()).await.expect("alerts");
    assert!(!raised.is_empty(), "2 h of sleep raises low_sleep");
    let analysis_id = Uuid::parse_str(&analysis).expect("uuid");
    for a in &raised {
        assert_eq!(a.ai_result_id, Some(analysis_id), "alert {} came from elsewhere", a.r#type);
    }
    let analyses_of_checkin = analyses::Entity::find()
        .filter(analyses::Column::CheckinId.eq(checkin_id))
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(analyses_of_checkin, 1, "the shadow wrote no analysis");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backfill_runs_each_checkin_once_per_version_however_often_it_is_started() {
    let app = TestApp::spawn().await;
    let dir = model_dir();
    new_version(&dir, "risk", "1.0.1", |_, _| {}, true);
    let mut config = worker_config(app.backends.clone());
    config.model_dir.clone_from(&dir);
    let worker = WorkerHandle::start(config).await;
    let user = app.signup(&email("backfill")).await;
    let mut checkins = Vec::new();
    for mood in [3, 6, 9] {
        let (c, a) = app.checkin(&user, json!({"mood": mood, "sleep_hours": 7, "notes": "An ordinary day."})).await;
        app.wait_for_insight(&user, &a, Duration::from_secs(30)).await;
        checkins.push(c);
    }
    let env = app.worker_env();
    let args = ["models", "backfill", "--model", "risk", "--version", "1.0.1", "--wait"];
    let first = worker_cli(&dir, &env, &args);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("3 to enqueue"), "{}", text(&first));

    // The same job delivered again, and the whole backfill started again, write nothing.
    let queue = QueueConn::connect(&app.backends).await.expect("queue");
    let versions = [("encoder", "1.0.0"), ("text-heads", "1.0.0"), ("risk", "1.0.1")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .collect();
    queue
        .push(ReanalyzeCheckin { checkin_id: Uuid::parse_str(&checkins[0]).expect("uuid"), versions })
        .await
        .expect("push");
    let again = worker_cli(&dir, &env, &args);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("3 already done, 0 to enqueue"), "{}", text(&again));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let runs = model_runs::Entity::find().all(app.db()).await.expect("runs");
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().all(|r| r.purpose == "backfill" && r.model_version.ends_with("risk@1.0.1")));
    assert!(runs.iter().all(|r| r.baseline_version.as_deref() == Some("encoder@1.0.0+text-heads@1.0.0+risk@1.0.0")));

    let compare = worker_cli(&dir, &env, &["models", "compare", "risk/1.0.0", "risk/1.0.1"]);
    let t = text(&compare);
    assert!(compare.status.success(), "{t}");
    assert!(t.contains("3 runs") && t.contains("stress level 100.0%"), "{t}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feature_logs_export_to_csv_and_parquet_without_users_who_deleted_their_data() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let stays = app.signup(&email("stays")).await;
    let leaves = app.signup(&email("leaves")).await;
    for user in [&stays, &stays, &leaves] {
        let (_, a) = app.checkin(user, json!({"mood": 5, "sleep_hours": 6.5, "notes": "Quiet day at home."})).await;
        app.wait_for_insight(user, &a, Duration::from_secs(30)).await;
    }
    let (status, body) = app.call("DELETE", "/api/v1/me", Some(&leaves.access), None).await;
    assert!(status == 200 || status == 204, "{status} {body}");

    let dir = model_dir();
    let env = app.worker_env();
    let today = chrono::Utc::now().date_naive();
    let (from, to) = ((today - chrono::Days::new(1)).to_string(), (today + chrono::Days::new(1)).to_string());
    let csv = dir.join("features.csv");
    let out =
        worker_cli(&dir, &env, &["models", "export", "--from", &from, "--to", &to, "--out", csv.to_str().expect("p")]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 3, "a header and the 2 check-ins of the user who stayed: {written}");
    for column in ["user_key", "model_version", "feature_mood_avg_7d", "sentiment_positive", "stress_high", "valence"] {
        assert!(lines[0].split(',').any(|c| c == column), "no column {column}: {}", lines[0]);
    }
    assert!(!written.contains("Quiet day") && !written.contains(&stays.id), "no note text or user id leaves");

    let parquet = dir.join("features.parquet");
    let out = worker_cli(
        &dir,
        &env,
        &["models", "export", "--from", &from, "--to", &to, "--out", parquet.to_str().expect("p")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("wrote 2 rows"), "{}", text(&out));
    let bytes = std::fs::read(&parquet).expect("parquet");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"), "not a Parquet file");
    worker.stop().await;
}
