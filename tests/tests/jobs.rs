//! The one list of jobs (`mindwell_shared::for_each_job!`) drives what
//! operators rely on for every queue: retention purging and dead-job retry.

use std::time::Duration;

use chrono::Utc;
use fred::prelude::SetsInterface;
use mindwell_shared::{
    entities::audit_logs,
    jobs::{ALL, Maintenance, ReanalyzeCheckin},
};
use mindwell_tests::{TestApp, email};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_len(key: &str) -> u64 {
    let redis = mindwell_tests::redis().await;
    redis.scard(key).await.expect("scard")
}

/// A backfill job with the shipped active versions for a check-in that does
/// not exist: it runs, finds nothing, and finishes.
fn backfill_of_nothing() -> ReanalyzeCheckin {
    let versions = [("encoder", "1.0.0"), ("text-heads", "1.0.0"), ("risk", "1.0.0")];
    ReanalyzeCheckin {
        checkin_id: Uuid::now_v7(),
        versions: versions.map(|(k, v)| (k.to_owned(), v.to_owned())).into_iter().collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_finished_jobs_of_every_queue_including_backfills() {
    let app = TestApp::spawn().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("purge-all")).await;
    let (_, analysis) = app.checkin(&user, json!({"mood": 6, "sleep_hours": 7})).await;
    app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    app.state.queue.push(backfill_of_nothing()).await.expect("push");
    let done = |queue: &str| format!("{}:{queue}:done", app.backends.namespace);
    for queue in ["analyze_checkin", "reanalyze_checkin"] {
        let key = done(queue);
        wait_for(&format!("a finished {queue} job"), || async { set_len(&key).await > 0 }).await;
    }

    let later = Utc::now() + chrono::Duration::days(10);
    app.state.queue.push(Maintenance::Cleanup { as_of: later }).await.expect("push");
    // The clean-up itself finishes into the maintenance queue's done set
    // after its purge: every other queue of the list ends empty.
    for kind in ALL.iter().filter(|k| k.queue != "maintenance") {
        let key = done(kind.queue);
        wait_for(&format!("the purge of {}", kind.queue), || async { set_len(&key).await == 0 }).await;
    }
    assert!(
        mindwell_tests::redis_keys(&format!("{}:reanalyze_checkin:meta:*", app.backends.namespace)).await.is_empty()
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backfill_job_is_listed_and_an_admin_can_retry_it() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let worker = app.start_worker().await;
    // Versions no worker has: every run fails, and after the job's three
    // attempts (`ReanalyzeCheckin::MAX_ATTEMPTS`) it is dead.
    let checkin = Uuid::now_v7();
    let mut job = backfill_of_nothing();
    job.checkin_id = checkin;
    job.versions.insert("encoder".into(), "9.9.9".into());
    app.state.queue.push(job).await.expect("push");
    let dead_key = format!("{}:reanalyze_checkin:dead", app.backends.namespace);
    wait_for("the dead backfill job", || async { set_len(&dead_key).await == 1 }).await;

    let (status, jobs) = app.call("GET", "/api/v1/admin/jobs", Some(&admin), None).await;
    assert_eq!(status, 200, "{jobs}");
    let dead = jobs["data"]["dead_jobs"]
        .as_array()
        .and_then(|d| d.iter().find(|j| j["queue"] == "reanalyze_checkin"))
        .cloned()
        .unwrap_or_else(|| panic!("no dead backfill job in {jobs}"));
    assert_eq!(dead["payload"]["checkin_id"], checkin.to_string());
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert!(dead["last_error"].as_str().is_some_and(|e| e.contains("9.9.9")), "{dead}");
    let queue = jobs["data"]["queues"].as_array().and_then(|q| q.iter().find(|q| q["name"] == "reanalyze_checkin"));
    assert_eq!(queue.map(|q| q["dead"].clone()), Some(json!(1)), "{jobs}");

    let id = dead["id"].as_str().expect("job id").to_owned();
    let (status, body) = app.call("POST", &format!("/api/v1/admin/jobs/{id}/retry"), Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"id": id, "status": "queued"}));
    let redis = mindwell_tests::redis().await;
    let still_dead: bool = redis.sismember(&dead_key, &id).await.expect("sismember");
    assert!(!still_dead, "the retried job left the dead set");
    assert_eq!(app.call("POST", &format!("/api/v1/admin/jobs/{id}/retry"), Some(&admin), None).await.0, 404);

    let audit = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("job.retried"))
        .one(app.db())
        .await
        .expect("query")
        .expect("an audit entry");
    assert_eq!(audit.context["queue"], "reanalyze_checkin");
    assert_eq!(audit.context["checkin_id"], checkin.to_string());
    assert_eq!(audit.context["job_id"], id.as_str());
    worker.stop().await;
}
