//! The dashboard cache never shows a user a dashboard older than their last write.

use std::time::Duration;

use mindwell_tests::{TestApp, email};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_shows_up_on_the_next_dashboard_read() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("cache")).await;
    let get =
        || async { app.call("GET", "/api/v1/dashboard?range=7d", Some(&user.access), None).await.1["data"].clone() };

    assert_eq!(get().await["checkin_count"], 0);
    assert_eq!(get().await["checkin_count"], 0, "served from the cache");
    let redis = mindwell_tests::redis().await;
    let key = format!("{}:dash:{}", app.backends.namespace, user.id);
    let cached: Option<String> = fred::prelude::HashesInterface::hget(&redis, &key, "7:true").await.expect("hget");
    assert!(cached.is_some_and(|v| v.starts_with("0|")), "the dashboard was cached");

    // A check-in: the next read counts it.
    let (_, analysis) =
        app.checkin(&user, json!({"mood": 9, "sleep_hours": 8, "notes": "A lovely, happy day with friends."})).await;
    let d = get().await;
    assert_eq!(d["checkin_count"], 1);
    assert_eq!(d["recent_insights"][0]["status"], "queued");

    // The worker completes the analysis: the next read shows it.
    let worker = app.start_worker().await;
    app.wait_for_insight(&user, &analysis, Duration::from_secs(30)).await;
    let d = get().await;
    assert_eq!(d["recent_insights"][0]["status"], "completed", "{d}");
    assert_eq!(d["sentiment"]["positive"], 1);
    worker.stop().await;

    // An alert closed: the open count drops at once.
    let alert = app.insert_alert(&user, "low_sleep", "open").await;
    app.state.kv.dashboard_invalidate(uuid::Uuid::parse_str(&user.id).expect("uuid")).await.expect("invalidate");
    assert_eq!(get().await["open_alerts"], 1);
    app.call("PATCH", &format!("/api/v1/alerts/{alert}"), Some(&user.access), Some(json!({"status": "closed"}))).await;
    assert_eq!(get().await["open_alerts"], 0);

    // A new time zone: days are recounted.
    let (status, _) = app
        .call("PUT", "/api/v1/me/settings", Some(&user.access), Some(json!({"timezone": "Pacific/Kiritimati"})))
        .await;
    assert_eq!(status, 200);
    let d = get().await;
    let today_there = chrono::Utc::now().with_timezone(&chrono_tz::Pacific::Kiritimati).date_naive().to_string();
    assert_eq!(d["mood"]["trend"][0]["date"], today_there.as_str(), "{d}");
}
