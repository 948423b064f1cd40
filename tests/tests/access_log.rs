//! Access transparency: every read or change of a user's data by a coach or an
//! admin shows in the user's `GET /me/access-log`, newest first; the user's
//! own reads add nothing, and nobody sees another user's log.

use std::time::Duration;

use mindwell_shared::entities::access_log;
use mindwell_tests::{TestApp, TestUser, email};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(45);

/// A user with an analysed check-in and an alert, whose data a coach (with an
/// `insights` consent) and the admin then read and change.
struct Scene {
    app: TestApp,
    user: TestUser,
    coach: TestUser,
    admin_id: String,
    analysis: String,
}

async fn scene() -> Scene {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let worker = app.start_worker().await;
    let mut user = app.signup(&email("watched")).await;
    let (_, analysis) = app.checkin(&user, json!({"mood": 3, "sleep_hours": 7, "notes": "A calm day."})).await;
    app.wait_for_insight(&user, &analysis, WAIT).await;
    worker.stop().await;
    app.insert_alert(&user, "low_sleep", "open").await;

    let coach = app.coach(&admin, &email("coach")).await;
    let body = json!({"coach_id": coach.id, "scope": "insights"});
    let (status, consent) = app.call("POST", "/api/v1/me/consents", Some(&user.access), Some(body)).await;
    assert_eq!(status, 201, "{consent}");

    let dashboard = format!("/api/v1/coach/users/{}/dashboard", user.id);
    let (status, body) = app.call("GET", &dashboard, Some(&coach.access), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&coach.access), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.call("GET", "/api/v1/alerts", Some(&coach.access), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["items"].as_array().map(Vec::len), Some(1), "{body}");

    let patch = format!("/api/v1/admin/users/{}", user.id);
    let (status, body) = app.call("PATCH", &patch, Some(&admin), Some(json!({"role": "coach"}))).await;
    assert_eq!(status, 200, "{body}");
    // The new role ended the user's sessions.
    user.access = app.login(&user.email, &user.password).await;
    let (_, me) = app.call("GET", "/api/v1/auth/me", Some(&admin), None).await;
    let admin_id = me["data"]["id"].as_str().expect("admin id").to_owned();
    Scene { app, user, coach, admin_id, analysis }
}

/// Every entry of `user`'s log, one `limit=1` page at a time.
async fn log_one_by_one(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = "/api/v1/me/access-log?limit=1".to_owned();
    loop {
        let (status, body) = app.call("GET", &path, Some(&user.access), None).await;
        assert_eq!(status, 200, "{body}");
        let items = body["data"]["items"].as_array().expect("items").clone();
        assert!(items.len() <= 1, "{body}");
        entries.extend(items);
        match body["data"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/me/access-log?limit=1&cursor={cursor}"),
            None => return entries,
        }
        assert!(entries.len() < 20, "the cursor never ends");
    }
}

/// `(actor_id, actor_role, action, subject)` of each entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("actor_id"), s("actor_role"), s("action"), s("subject"))
        })
        .collect()
}

#[tokio::test]
async fn coach_and_admin_reads_and_changes_show_in_the_users_access_log_newest_first() {
    let Scene { app, user, coach, admin_id, analysis } = scene().await;
    let entry = |actor: &str, role: &str, action: &str, subject: &str| {
        (actor.to_owned(), role.to_owned(), action.to_owned(), subject.to_owned())
    };
    let expected = vec![
        entry(&admin_id, "admin", "user.updated", "account"),
        entry(&coach.id, "coach", "alerts.read", "alerts"),
        entry(&coach.id, "coach", "insight.read", &analysis),
        entry(&coach.id, "coach", "dashboard.read", "dashboard"),
    ];
    let entries = log_one_by_one(&app, &user).await;
    assert_eq!(summary(&entries), expected);
    for e in &entries {
        assert!(e["id"].is_string() && e["created_at"].is_string(), "{e}");
    }

    let (status, all) = app.call("GET", "/api/v1/me/access-log", Some(&user.access), None).await;
    assert_eq!(status, 200);
    assert_eq!(all["data"]["items"], Value::Array(entries));
    assert_eq!(all["data"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_users_own_reads_add_nothing_and_the_export_carries_the_log() {
    let Scene { app, user, analysis, .. } = scene().await;
    let before = log_one_by_one(&app, &user).await;
    for path in ["/api/v1/dashboard".to_owned(), format!("/api/v1/insights/{analysis}"), "/api/v1/alerts".to_owned()] {
        let (status, body) = app.call("GET", &path, Some(&user.access), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, export) = app.call("GET", "/api/v1/me/export", Some(&user.access), None).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(log_one_by_one(&app, &user).await, before);
    let mut oldest_first = before.clone();
    oldest_first.reverse();
    assert_eq!(export["data"]["access_log"], Value::Array(oldest_first));
}

#[tokio::test]
async fn another_users_log_is_not_visible_and_erasure_removes_the_log() {
    let Scene { app, user, coach, .. } = scene().await;
    let stranger = app.signup(&email("stranger")).await;
    let (status, body) = app.call("GET", "/api/v1/me/access-log", Some(&stranger.access), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["items"], json!([]), "{body}");
    // The coach's own log holds only the admin's promotion of them, not the user's entries.
    let coach_log = summary(&log_one_by_one(&app, &coach).await);
    assert_eq!(coach_log.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["user.updated"]);

    let user_id = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let stored = || access_log::Entity::find().filter(access_log::Column::UserId.eq(user_id)).count(app.db());
    assert_eq!(stored().await.expect("count"), 4);
    let (status, body) = app.call("DELETE", "/api/v1/me", Some(&user.access), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored().await.expect("count"), 0);
}
