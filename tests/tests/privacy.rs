//! Roles, coaches and consent, settings, export and erasure, admin.
//!
//! Over 300 lines on purpose: who may see what is one matrix, kept in one file
//! so that a gap between roles and scopes shows.

use mindwell_shared::entities::{
    ai_analysis_results as analyses, alerts, audit_logs, consents, daily_checkins as checkins, user_settings, users,
};
use mindwell_tests::{TestApp, email};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

fn uuid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).expect("uuid")
}

#[tokio::test]
async fn settings_default_validate_and_update_in_part() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("settings")).await;
    let (status, body) = app.call("GET", "/api/v1/me/settings", Some(&user.access), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        json!({"timezone": "UTC", "language": "en", "notifications": {"email": false, "push": true}})
    );
    let (status, body) =
        app.call("PUT", "/api/v1/me/settings", Some(&user.access), Some(json!({"timezone": "Mars/Olympus"}))).await;
    assert_eq!((status, body["error"]["details"]["fields"]["timezone"].is_string()), (422, true));
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/me/settings",
            Some(&user.access),
            Some(json!({"timezone": "Asia/Kolkata", "notifications": {"email": true}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"timezone": "Asia/Kolkata", "language": "en", "notifications": {"email": true, "push": true}})
    );
    let (_, again) = app.call("GET", "/api/v1/me/settings", Some(&user.access), None).await;
    assert_eq!(again["data"], body["data"]);
}

#[tokio::test]
async fn consent_lets_a_coach_in_and_revocation_shuts_them_out_at_once() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let coach = app.coach(&admin, &email("coach")).await;
    let user = app.signup(&email("client")).await;
    let dashboard = format!("/api/v1/coach/users/{}/dashboard", user.id);

    assert_eq!(app.call("GET", &dashboard, Some(&coach.access), None).await.0, 403);
    let (status, body) = app
        .call("POST", "/api/v1/me/consents", Some(&user.access), Some(json!({"coach_id": user.id, "scope": "trends"})))
        .await;
    assert_eq!((status, body["error"]["details"]["fields"]["coach_id"].as_str()), (422, Some("is not a coach")));
    let (status, body) = app
        .call("POST", "/api/v1/me/consents", Some(&user.access), Some(json!({"coach_id": coach.id, "scope": "gossip"})))
        .await;
    assert_eq!((status, body["error"]["details"]["fields"]["scope"].is_string()), (422, true));

    let (status, consent) = app
        .call("POST", "/api/v1/me/consents", Some(&user.access), Some(json!({"coach_id": coach.id, "scope": "trends"})))
        .await;
    assert_eq!(status, 201, "{consent}");
    assert_eq!(consent["data"]["revoked_at"], serde_json::Value::Null);
    let consent_id = consent["data"]["id"].as_str().expect("id").to_owned();

    let (_, analysis) = app.checkin(&user, json!({"mood": 6, "sleep_hours": 7})).await;
    let (status, body) = app.call("GET", &dashboard, Some(&coach.access), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["checkin_count"], 1);
    assert_eq!(body["data"]["recent_insights"], json!([]), "trends alone shows no insights");
    assert_eq!(app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&coach.access), None).await.0, 404);

    let (_, listed) = app.call("GET", "/api/v1/coach/users", Some(&coach.access), None).await;
    assert_eq!(listed["data"]["items"][0]["user"]["id"], user.id.as_str());
    assert_eq!(listed["data"]["items"][0]["scopes"], json!(["trends"]));

    app.call(
        "POST",
        "/api/v1/me/consents",
        Some(&user.access),
        Some(json!({"coach_id": coach.id, "scope": "insights"})),
    )
    .await;
    let (_, body) = app.call("GET", &dashboard, Some(&coach.access), None).await;
    assert_eq!(body["data"]["recent_insights"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&coach.access), None).await.0, 200);

    // Revoke both: the very next request is refused, and the receipts stay.
    let (_, list) = app.call("GET", "/api/v1/me/consents", Some(&user.access), None).await;
    for c in list["data"].as_array().expect("consents") {
        let (status, revoked) = app
            .call("DELETE", &format!("/api/v1/me/consents/{}", c["id"].as_str().expect("id")), Some(&user.access), None)
            .await;
        assert_eq!(status, 200);
        assert!(revoked["data"]["revoked_at"].is_string());
    }
    assert_eq!(app.call("GET", &dashboard, Some(&coach.access), None).await.0, 403);
    assert_eq!(app.call("GET", &format!("/api/v1/insights/{analysis}"), Some(&coach.access), None).await.0, 404);
    let (_, listed) = app.call("GET", "/api/v1/coach/users", Some(&coach.access), None).await;
    assert_eq!(listed["data"]["items"], json!([]));
    let kept = consents::Entity::find()
        .filter(consents::Column::UserId.eq(uuid(&user.id)))
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(kept, 2);
    let audited = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.is_in(["consent.granted", "consent.revoked"]))
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(audited, 4);

    // A stranger cannot revoke someone else's consent, nor learn it exists.
    let stranger = app.signup(&email("stranger")).await;
    assert_eq!(
        app.call("DELETE", &format!("/api/v1/me/consents/{consent_id}"), Some(&stranger.access), None).await.0,
        404
    );
}

#[tokio::test]
async fn coach_routes_are_for_coaches_and_admin_routes_for_admins() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let user = app.signup(&email("plain")).await;
    for path in ["/api/v1/coach/users", &format!("/api/v1/coach/users/{}/dashboard", user.id)] {
        let (status, body) = app.call("GET", path, Some(&user.access), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{path}");
    }
    for path in ["/api/v1/admin/users", "/api/v1/admin/audit-logs", "/api/v1/admin/jobs"] {
        assert_eq!(app.call("GET", path, Some(&user.access), None).await.0, 403, "{path}");
        assert_eq!(app.call("GET", path, Some(&admin), None).await.0, 200, "{path}");
    }
    let (status, _) = app
        .call("PATCH", &format!("/api/v1/admin/users/{}", user.id), Some(&user.access), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn alerts_move_forward_only_and_every_change_is_audited() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("alerts")).await;
    let other = app.signup(&email("other")).await;
    let id = app.insert_alert(&user, "low_sleep", "open").await;
    app.insert_alert(&user, "mood_drop", "closed").await;
    let theirs = app.insert_alert(&other, "low_sleep", "open").await;

    let (_, open) = app.call("GET", "/api/v1/alerts?status=open", Some(&user.access), None).await;
    assert_eq!(open["data"]["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(open["data"]["items"][0]["type"], "low_sleep");
    let (_, all) = app.call("GET", "/api/v1/alerts", Some(&user.access), None).await;
    assert_eq!(all["data"]["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.call("GET", "/api/v1/alerts?status=maybe", Some(&user.access), None).await.0, 422);

    let path = format!("/api/v1/alerts/{id}");
    let (status, body) = app.call("PATCH", &path, Some(&user.access), Some(json!({"status": "acknowledged"}))).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("acknowledged")), "{body}");
    let (status, body) = app.call("PATCH", &path, Some(&user.access), Some(json!({"status": "acknowledged"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    assert_eq!(app.call("PATCH", &path, Some(&user.access), Some(json!({"status": "closed"}))).await.0, 200);
    assert_eq!(app.call("PATCH", &path, Some(&user.access), Some(json!({"status": "acknowledged"}))).await.0, 409);
    assert_eq!(app.call("PATCH", &path, Some(&user.access), Some(json!({"status": "open"}))).await.0, 422);
    // Someone else's alert does not exist for this user.
    assert_eq!(
        app.call("PATCH", &format!("/api/v1/alerts/{theirs}"), Some(&user.access), Some(json!({"status": "closed"})))
            .await
            .0,
        404
    );
    let changes = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("alert.status_changed"))
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(changes, 2);
}

#[tokio::test]
async fn a_disabled_users_tokens_die_at_once_and_they_cannot_sign_in() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let user = app.signup(&email("disable")).await;
    let (status, body) = app
        .call("PATCH", &format!("/api/v1/admin/users/{}", user.id), Some(&admin), Some(json!({"disabled": true})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await.0, 401);
    assert_eq!(
        app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await.0,
        401
    );
    let (status, _) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": user.password})))
        .await;
    assert_eq!(status, 401);
    let (_, logs) = app.call("GET", "/api/v1/admin/audit-logs?action=user.disabled", Some(&admin), None).await;
    assert_eq!(logs["data"]["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn admins_find_users_by_role_and_email_substring() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    app.signup("Zed.Unique@Example.com").await;
    app.coach(&admin, &email("findcoach")).await;
    let (_, found) = app.call("GET", "/api/v1/admin/users?email=ZED.UNI", Some(&admin), None).await;
    let items = found["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "zed.unique@example.com");
    let (_, coaches) = app.call("GET", "/api/v1/admin/users?role=coach", Some(&admin), None).await;
    assert_eq!(coaches["data"]["items"].as_array().map(Vec::len), Some(1));
    let (_, pct) = app.call("GET", "/api/v1/admin/users?email=%25", Some(&admin), None).await;
    assert_eq!(pct["data"]["items"], json!([]), "a literal % matches nothing");
    let (_, page) = app.call("GET", "/api/v1/admin/users?limit=1", Some(&admin), None).await;
    assert!(page["data"]["next_cursor"].is_string());
    let (status, _) =
        app.call("PATCH", "/api/v1/admin/users/not-a-uuid", Some(&admin), Some(json!({"role": "coach"}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn export_holds_everything_and_delete_leaves_nothing_behind() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let coach = app.coach(&admin, &email("delcoach")).await;
    let user = app.signup(&email("leaver")).await;
    app.checkin(&user, json!({"mood": 4, "sleep_hours": 5, "notes": "private words"})).await;
    app.insert_alert(&user, "low_sleep", "open").await;
    app.call("POST", "/api/v1/me/consents", Some(&user.access), Some(json!({"coach_id": coach.id, "scope": "trends"})))
        .await;
    app.call("PUT", "/api/v1/me/settings", Some(&user.access), Some(json!({"language": "fr"}))).await;

    let (status, export) = app.call("GET", "/api/v1/me/export", Some(&user.access), None).await;
    assert_eq!(status, 200, "{export}");
    let data = &export["data"];
    assert_eq!(data["user"]["id"], user.id.as_str());
    assert_eq!(data["settings"]["language"], "fr");
    assert_eq!(data["checkins"][0]["notes"], "private words");
    for key in ["checkins", "insights", "alerts", "consents"] {
        assert_eq!(data[key].as_array().map(Vec::len), Some(1), "{key}");
    }
    assert_eq!(data["summaries"], json!([]));

    let (status, body) = app.call("DELETE", "/api/v1/me", Some(&user.access), None).await;
    assert_eq!((status, body["data"].clone()), (200, json!({})));
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await.0, 401);
    assert_eq!(
        app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await.0,
        401
    );

    let id = uuid(&user.id);
    let db = app.db();
    assert!(users::Entity::find_by_id(id).one(db).await.expect("q").is_none());
    assert_eq!(checkins::Entity::find().filter(checkins::Column::UserId.eq(id)).count(db).await.expect("q"), 0);
    assert_eq!(analyses::Entity::find().filter(analyses::Column::UserId.eq(id)).count(db).await.expect("q"), 0);
    assert_eq!(alerts::Entity::find().filter(alerts::Column::UserId.eq(id)).count(db).await.expect("q"), 0);
    assert_eq!(consents::Entity::find().filter(consents::Column::UserId.eq(id)).count(db).await.expect("q"), 0);
    assert!(user_settings::Entity::find_by_id(id).one(db).await.expect("q").is_none());
    let gone = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("user.deleted"))
        .one(db)
        .await
        .expect("q")
        .expect("audited");
    let context = gone.context.to_string();
    assert!(!context.contains(&user.email) && !context.contains("private"), "{context}");
    let everything = audit_logs::Entity::find().all(db).await.expect("q");
    assert!(everything.iter().all(|e| !e.context.to_string().contains(&user.email)));
    // Nothing of theirs is left in Redis under this namespace but revocation markers.
    let keys = mindwell_tests::redis_keys(&format!("{}:*{}*", app.backends.namespace, user.id)).await;
    assert!(!keys.is_empty() && keys.iter().all(|k| k.contains(":user:nbf:")), "{keys:?}");
}

#[tokio::test]
async fn the_dashboard_counts_days_in_the_users_time_zone() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("dash")).await;
    let (_, empty) = app.call("GET", "/api/v1/dashboard", Some(&user.access), None).await;
    let d = &empty["data"];
    assert_eq!(
        (d["range_days"].as_u64(), d["checkin_count"].as_u64(), d["streak_days"].as_u64()),
        (Some(30), Some(0), Some(0))
    );
    assert_eq!(d["mood"]["avg"], serde_json::Value::Null);
    assert_eq!(d["latest_summary"], serde_json::Value::Null);

    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    for (offset, mood, sleep) in [(0, 8, 7.0), (0, 6, 5.0), (1, 4, 6.0), (2, 5, 8.0), (10, 9, 9.0)] {
        let ts = (now - day * offset).to_rfc3339();
        app.checkin(&user, json!({"mood": mood, "sleep_hours": sleep, "timestamp": ts})).await;
    }
    app.insert_alert(&user, "low_sleep", "open").await;
    let (status, body) = app.call("GET", "/api/v1/dashboard?range=7d", Some(&user.access), None).await;
    assert_eq!(status, 200, "{body}");
    let d = &body["data"];
    assert_eq!(d["checkin_count"], 4);
    assert_eq!(d["mood"]["avg"], 5.75);
    assert_eq!((d["mood"]["min"].as_i64(), d["mood"]["max"].as_i64()), (Some(4), Some(8)));
    assert_eq!(d["sleep"]["avg"], 6.5);
    assert_eq!(d["streak_days"], 3);
    assert_eq!(d["open_alerts"], 1);
    let trend = d["mood"]["trend"].as_array().expect("trend");
    assert_eq!(trend.len(), 3);
    assert_eq!(trend[2], json!({"date": now.date_naive().to_string(), "avg": 7.0}));
    assert!(trend[0]["date"].as_str() < trend[1]["date"].as_str(), "oldest first");
    assert_eq!(d["recent_insights"].as_array().map(Vec::len), Some(5));
    assert_eq!(app.call("GET", "/api/v1/dashboard?range=400d", Some(&user.access), None).await.0, 422);
}

#[tokio::test]
async fn a_coach_sees_and_acknowledges_consenting_users_alerts_only() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let coach = app.coach(&admin, &email("ackcoach")).await;
    let client = app.signup(&email("client")).await;
    let stranger = app.signup(&email("stranger")).await;
    let theirs = app.insert_alert(&client, "low_sleep", "open").await;
    let other = app.insert_alert(&stranger, "low_sleep", "open").await;
    let path = format!("/api/v1/alerts/{theirs}");
    assert_eq!(app.call("PATCH", &path, Some(&coach.access), Some(json!({"status": "acknowledged"}))).await.0, 404);
    app.call(
        "POST",
        "/api/v1/me/consents",
        Some(&client.access),
        Some(json!({"coach_id": coach.id, "scope": "trends"})),
    )
    .await;
    let (_, list) = app.call("GET", "/api/v1/alerts", Some(&coach.access), None).await;
    let ids: Vec<&str> =
        list["data"]["items"].as_array().expect("items").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, vec![theirs.as_str()], "only the consenting user's alerts");
    let (status, body) = app.call("PATCH", &path, Some(&coach.access), Some(json!({"status": "acknowledged"}))).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("acknowledged")));
    let (_, all) = app.call("GET", "/api/v1/alerts", Some(&admin), None).await;
    assert_eq!(all["data"]["items"].as_array().map(Vec::len), Some(2), "an admin sees every alert");
    assert_eq!(
        app.call("PATCH", &format!("/api/v1/alerts/{other}"), Some(&coach.access), Some(json!({"status": "closed"})))
            .await
            .0,
        404
    );
}
