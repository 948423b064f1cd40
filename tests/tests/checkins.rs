//! Check-ins: stored before the answer, idempotent, paginated, private.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use mindwell_shared::entities::{ai_analysis_results as analyses, daily_checkins as checkins};
use mindwell_tests::{TestApp, email};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn a_checkin_is_stored_with_a_queued_analysis_before_the_202() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("store")).await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/checkins",
            Some(&user.access),
            Some(json!({"mood": 7, "sleep_hours": 7.5, "notes": "Good day", "meta": {"client": "ios"}, "timestamp": "2026-01-02T10:00:00+02:00"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let data = &body["data"];
    assert_eq!(data["status"], "queued");
    assert_eq!(data["checkin"]["mood"], 7);
    assert_eq!(data["checkin"]["sleep_hours"], 7.5);
    assert_eq!(data["checkin"]["notes"], "Good day");
    assert_eq!(data["checkin"]["meta"], json!({"client": "ios"}));
    assert_eq!(data["checkin"]["user_id"], user.id.as_str());
    assert_eq!(data["checkin"]["timestamp"], "2026-01-02T08:00:00Z");

    let id = uuid::Uuid::parse_str(data["checkin"]["id"].as_str().expect("id")).expect("uuid");
    let analysis = uuid::Uuid::parse_str(data["analysis_id"].as_str().expect("analysis")).expect("uuid");
    let row = checkins::Entity::find_by_id(id).one(app.db()).await.expect("query").expect("stored");
    assert_eq!((row.mood, row.notes.as_str()), (7, "Good day"));
    let a = analyses::Entity::find_by_id(analysis).one(app.db()).await.expect("query").expect("analysis row");
    assert_eq!((a.checkin_id, a.status.as_str()), (id, "queued"));

    let (status, insight) = app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&user.access), None).await;
    assert_eq!(status, 200);
    assert_eq!(insight["data"]["status"], "queued");
    assert_eq!(insight["data"]["labels"], serde_json::Value::Null);
}

#[tokio::test]
async fn defaults_fill_notes_meta_and_timestamp() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("defaults")).await;
    let before = Utc::now() - Duration::seconds(2);
    let (status, body) =
        app.call("POST", "/api/v1/checkins", Some(&user.access), Some(json!({"mood": 3, "sleep_hours": 0}))).await;
    assert_eq!(status, 202, "{body}");
    let c = &body["data"]["checkin"];
    assert_eq!((c["notes"].as_str(), c["meta"].clone()), (Some(""), json!({})));
    let ts = chrono::DateTime::parse_from_rfc3339(c["timestamp"].as_str().expect("ts")).expect("rfc3339");
    assert!(ts > before && c["timestamp"].as_str().expect("ts").ends_with('Z'));
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("idem")).await;
    let send = |body: serde_json::Value, key: &'static str| {
        let req = app
            .http
            .post(app.url("/api/v1/checkins"))
            .bearer_auth(&user.access)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let resp = req.send().await.expect("send");
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.expect("json"))
        }
    };
    let body = json!({"mood": 6, "sleep_hours": 6});
    let (first, a) = send(body.clone(), "key-1").await;
    let (second, b) = send(body.clone(), "key-1").await;
    assert_eq!((first, second), (202, 200));
    assert_eq!(a["data"], b["data"]);
    let (conflict, c) = send(json!({"mood": 2, "sleep_hours": 6}), "key-1").await;
    assert_eq!((conflict, c["error"]["code"].as_str()), (409, Some("conflict")));
    let (other_key, _) = send(body, "key-2").await;
    assert_eq!(other_key, 202);
    let uid = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let stored =
        checkins::Entity::find().filter(checkins::Column::UserId.eq(uid)).count(app.db()).await.expect("count");
    assert_eq!(stored, 2);

    // Keys are per user: another user's identical key is a new check-in.
    let other = app.signup(&email("idem-other")).await;
    let resp = app
        .http
        .post(app.url("/api/v1/checkins"))
        .bearer_auth(&other.access)
        .header("Idempotency-Key", "key-1")
        .json(&json!({"mood": 6, "sleep_hours": 6}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 202);
}

#[tokio::test]
async fn pages_cover_every_checkin_once_newest_first() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("pages")).await;
    let now = Utc::now();
    let mut expected = Vec::new();
    for i in 0..23 {
        // Pairs share a timestamp, so the cursor must break ties by id.
        let ts = (now - Duration::hours(i64::from(i / 2) * 5)).to_rfc3339();
        let (id, _) = app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "timestamp": ts})).await;
        expected.push(id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut last_ts: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/checkins?limit=7&cursor={c}"),
            None => "/api/v1/checkins?limit=7".to_owned(),
        };
        let (status, body) = app.call("GET", &path, Some(&user.access), None).await;
        assert_eq!(status, 200, "{body}");
        for item in body["data"]["items"].as_array().expect("items") {
            let ts = item["timestamp"].as_str().expect("ts").to_owned();
            if let Some(prev) = &last_ts {
                assert!(ts <= *prev, "not newest first: {ts} after {prev}");
            }
            last_ts = Some(ts);
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match body["data"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().collect::<HashSet<_>>(), expected.iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn range_keeps_only_the_last_n_days() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("range")).await;
    let now = Utc::now();
    app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "timestamp": now.to_rfc3339()})).await;
    app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "timestamp": (now - Duration::days(10)).to_rfc3339()}))
        .await;
    app.checkin(&user, json!({"mood": 5, "sleep_hours": 7, "timestamp": (now - Duration::days(40)).to_rfc3339()}))
        .await;
    let count = |range: &'static str| {
        let path = format!("/api/v1/checkins?range={range}");
        let app = &app;
        let token = user.access.clone();
        async move { app.call("GET", &path, Some(&token), None).await.1["data"]["items"].as_array().map_or(0, Vec::len) }
    };
    assert_eq!(count("1d").await, 1);
    assert_eq!(count("30d").await, 2);
    assert_eq!(count("90d").await, 3);
    let (_, default) = app.call("GET", "/api/v1/checkins", Some(&user.access), None).await;
    assert_eq!(default["data"]["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn nobody_sees_another_users_checkins_or_insights() {
    let app = TestApp::spawn().await;
    let alice = app.signup(&email("alice")).await;
    let bob = app.signup(&email("bob")).await;
    let (_, analysis) = app.checkin(&alice, json!({"mood": 4, "sleep_hours": 6, "notes": "private"})).await;
    let (status, body) = app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&bob.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (_, list) = app.call("GET", "/api/v1/checkins", Some(&bob.access), None).await;
    assert_eq!(list["data"]["items"], json!([]));
    let (status, _) = app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&alice.access), None).await;
    assert_eq!(status, 200);
}
