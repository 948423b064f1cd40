//! What operators see when a dependency or the API itself goes away under
//! traffic: a Redis outage (through a proxy this test owns, so the Redis other
//! tests share stays up) and the API's shutdown drain.

use std::time::{Duration, Instant};

use mindwell_shared::{
    config::Queue,
    entities::{ai_analysis_results as analyses, alerts},
};
use mindwell_tests::{RedisProxy, TestApp, WorkerHandle, api_config, email, test_backends, worker_config};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_redis_outage_checkins_are_accepted_and_analysed_once_when_it_is_back() {
    let proxy = RedisProxy::start().await;
    let mut backends = test_backends().await;
    backends.queue = Queue::Redis(proxy.url().into());
    let app = TestApp::start(api_config(backends.clone())).await;
    // The stale sweeper stays at its default (5 min) and is never run: what
    // recovers below is the API's own retry and the worker's restarted loops.
    let worker = WorkerHandle::start(worker_config(backends.clone())).await;
    let scheduler = mindwell_scheduler::Scheduler::connect(&mindwell_scheduler::SchedulerConfig {
        backends: backends.clone(),
        tick: Duration::from_secs(1),
        metrics_addr: None,
    })
    .await
    .expect("scheduler");
    let user = app.signup(&email("outage")).await;
    let note =
        |n: usize| json!({"mood": 3, "sleep_hours": 4, "notes": format!("Redis outage, note {n}: a short night.")});
    let (_, first) = app.checkin(&user, note(0)).await;
    app.wait_for_insight(&user, &first, WAIT).await;

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut during = Vec::new();
    for n in 1..=5 {
        let started = Instant::now();
        let (_, analysis) = app.checkin(&user, note(n)).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "a check-in took {took:?} while Redis was down");
        during.push(analysis);
    }
    let started = Instant::now();
    let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await;
    assert_eq!(status, 200, "signed-in calls go on without Redis: {body}");
    assert!(started.elapsed() < Duration::from_secs(2), "auth/me took {:?} without Redis", started.elapsed());
    let (status, body) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": user.password})))
        .await;
    assert_eq!(status, 200, "sign-in goes on without Redis (rate limit not enforced): {body}");
    let (status, ready) = app.call("GET", "/health/ready", None, None).await;
    assert_eq!((status, ready["checks"]["redis"].as_str()), (503, Some("unavailable")), "{ready}");
    let lead = tokio::time::timeout(Duration::from_secs(10), scheduler.lead()).await;
    assert!(matches!(lead, Ok(Err(_))), "the scheduler's lease call must fail, not hang, without Redis");

    // Long enough for every job loop of the worker to fail and back off.
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore();

    // The worker's loops come back by themselves: a new check-in is analysed.
    let (_, after) = app.checkin(&user, note(6)).await;
    app.wait_for_insight(&user, &after, WAIT).await;
    let deadline = Instant::now() + WAIT;
    while !matches!(scheduler.lead().await, Ok(true)) {
        assert!(Instant::now() < deadline, "the scheduler did not take its lease again after Redis came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The check-ins accepted during the outage could not be enqueued then; the
    // API enqueues them once Redis answers again.
    for analysis in &during {
        let insight = app.wait_for_insight(&user, analysis, WAIT).await;
        assert_eq!(insight["status"], "completed", "{insight}");
    }

    // Each of the 7 check-ins analysed exactly once, each alert raised once.
    let uid = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let rows = analyses::Entity::find().filter(analyses::Column::UserId.eq(uid)).all(app.db()).await.expect("rows");
    assert_eq!(rows.len(), 7);
    for row in &rows {
        assert_eq!((row.status.as_str(), row.attempts), ("completed", 1), "analysis {} ran more than once", row.id);
    }
    let raised = alerts::Entity::find().filter(alerts::Column::UserId.eq(uid)).all(app.db()).await.expect("alerts");
    let mut keys: Vec<_> = raised.iter().map(|a| (a.ai_result_id, a.r#type.clone())).collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "an alert was raised twice for one analysis");

    // What an operator sees (API and worker share this process's recorder).
    let metrics = mindwell_shared::telemetry::render();
    for series in [
        "mindwell_redis_fail_open_total{check=\"revocation\"}",
        "mindwell_redis_fail_open_total{check=\"rate_limit\"}",
        "mindwell_enqueue_failures_total{job=\"analyze_checkin\"}",
        "mindwell_enqueue_retried_total{job=\"analyze_checkin\"}",
        "mindwell_worker_loop_restarts_total{job=\"analyze_checkin\"}",
    ] {
        assert!(metrics.contains(series), "/metrics lacks {series}");
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_the_api_drains_closes_its_listener_then_its_connections() {
    let mut app = TestApp::spawn_with(|c| c.shutdown_drain = Duration::from_millis(1000)).await;
    let user = app.signup(&email("drain")).await;
    let (status, _) = app.call("GET", "/health/ready", None, None).await;
    assert_eq!(status, 200);

    app.shut_down();
    let began = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Draining: not ready, but serving as before, connections kept alive.
    let resp = app.http.get(app.url("/health/ready")).send().await.expect("ready while draining");
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().get("connection").is_none(), "keep-alive while draining");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "draining", "{body}");
    let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await;
    assert_eq!(status, 200, "requests are served while draining: {body}");
    let fresh = reqwest::Client::new().get(app.url("/health")).send().await.expect("new connection while draining");
    assert_eq!(fresh.status().as_u16(), 200);

    // Then the listener closes: a new connection is refused ...
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::Client::new().get(app.url("/health")).send().await.is_ok() {
        assert!(Instant::now() < deadline, "the API still accepts connections 10 s after shutdown began");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(began.elapsed() >= Duration::from_millis(900), "the listener closed before the drain ended");
    // ... while a kept-alive connection is still answered, and told to close.
    let resp = app.http.get(app.url("/api/v1/auth/me")).bearer_auth(&user.access).send().await.expect("kept-alive");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
}
