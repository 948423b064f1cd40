//! The contract's error table, body by body: each code of
//! `docs/api-v1.md` provoked against a real app and its whole JSON body
//! snapshotted (`tests/tests/snapshots/`), so that a changed code, message or
//! `details` fails the build. Under CI (`CI=true`) a mismatch or a missing
//! snapshot fails; locally, review a change with `cargo insta review`.
//!
//! Only what changes from run to run is redacted (the seconds of a 429);
//! request ids travel in a header and error bodies carry no times.

use insta::assert_json_snapshot;
use mindwell_shared::config::Database;
use mindwell_tests::{TestApp, email, pg_admin_url};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Posts `body` as it is, with `content_type`, to `/api/v1/checkins`.
async fn post_raw(app: &TestApp, token: &str, body: &'static str, content_type: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/api/v1/checkins"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_call_without_a_token_is_401_unauthorized() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(status, 401);
    assert_json_snapshot!(body);
    // A forged token gets the very same answer.
    let (status, forged) = app.call("GET", "/api/v1/auth/me", Some("not.a.token"), None).await;
    assert_eq!((status, forged), (401, body));
}

#[tokio::test]
async fn a_wrong_password_is_401_invalid_credentials() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("wrong-password")).await;
    let (status, body) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": "not the password"})))
        .await;
    assert_eq!(status, 401);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_rotated_refresh_token_presented_again_is_401_token_reused() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("reused")).await;
    let refresh = Some(json!({"refresh_token": user.refresh}));
    let (status, _) = app.call("POST", "/api/v1/auth/refresh", None, refresh.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = app.call("POST", "/api/v1/auth/refresh", None, refresh).await;
    assert_eq!(status, 401);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_user_on_a_coach_route_is_403_forbidden() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("not-a-coach")).await;
    let (status, body) = app.call("GET", "/api/v1/coach/users", Some(&user.access), None).await;
    assert_eq!(status, 403);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_missing_insight_an_unknown_route_and_a_bad_id_are_the_same_404_not_found() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("not-found")).await;
    let missing = format!("/api/v1/insights/{}", uuid::Uuid::now_v7());
    let (status, body) = app.call("GET", &missing, Some(&user.access), None).await;
    assert_eq!(status, 404);
    assert_json_snapshot!(body);
    for path in ["/api/v1/nothing-here", "/api/v1/insights/not-a-uuid"] {
        let (status, other) = app.call("GET", path, Some(&user.access), None).await;
        assert_eq!((status, &other), (404, &body), "{path}");
    }
}

#[tokio::test]
async fn a_method_the_route_lacks_is_405_method_not_allowed() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("method")).await;
    let (status, body) = app.call("DELETE", "/api/v1/checkins", Some(&user.access), None).await;
    assert_eq!(status, 405);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_taken_email_is_409_email_taken() {
    let app = TestApp::spawn().await;
    let taken = email("taken");
    app.signup(&taken).await;
    let (status, body) = app
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"email": taken, "password": "another password"})))
        .await;
    assert_eq!(status, 409);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_409_conflict() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("idempotency")).await;
    let mut answers = Vec::new();
    for mood in [6, 2] {
        let resp = app
            .http
            .post(app.url("/api/v1/checkins"))
            .bearer_auth(&user.access)
            .header("Idempotency-Key", "key-1")
            .json(&json!({"mood": mood, "sleep_hours": 6}))
            .send()
            .await
            .expect("send");
        answers.push((resp.status().as_u16(), resp.json::<Value>().await.expect("json")));
    }
    let [(first, created), (second, conflict)] = <[_; 2]>::try_from(answers).expect("two answers");
    assert_eq!((first, second), (202, 409), "{created}");
    assert_json_snapshot!(conflict);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("too-large")).await;
    let notes = "n".repeat(70 * 1024);
    let body = json!({"mood": 5, "sleep_hours": 7, "notes": notes});
    let (status, body) = app.call("POST", "/api/v1/checkins", Some(&user.access), Some(body)).await;
    assert_eq!(status, 413);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn malformed_json_is_422_invalid_input_naming_the_body_whatever_its_content_type() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("malformed")).await;
    let (status, body) = post_raw(&app, &user.access, "{\"mood\": 5,", "application/json").await;
    assert_eq!(status, 422);
    assert_json_snapshot!(body);
    let (status, plain) = post_raw(&app, &user.access, "{\"mood\": 5,", "text/plain").await;
    assert_eq!((status, plain), (422, body));
}

#[tokio::test]
async fn every_bad_field_is_named_in_one_422_invalid_input() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("fields")).await;
    let bad = json!({"mood": 0, "sleep_hours": 25, "notes": 12, "meta": [1]});
    let (status, body) = app.call("POST", "/api/v1/checkins", Some(&user.access), Some(bad)).await;
    assert_eq!(status, 422);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_weak_signup_is_422_invalid_input_naming_email_and_password() {
    let app = TestApp::spawn().await;
    let weak = json!({"email": "not-an-email", "password": "short"});
    let (status, body) = app.call("POST", "/api/v1/auth/signup", None, Some(weak)).await;
    assert_eq!(status, 422);
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn auth_calls_over_the_limit_are_429_rate_limited_with_retry_after() {
    let app = TestApp::spawn_with(|c| c.rate_auth_per_email = 1).await;
    let login = json!({"email": email("limited"), "password": "whatever123"});
    let (status, _) = app.call("POST", "/api/v1/auth/login", None, Some(login.clone())).await;
    assert_eq!(status, 401);
    let resp = app.http.post(app.url("/api/v1/auth/login")).json(&login).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body: Value = resp.json().await.expect("json");
    // The seconds left in the window vary; the header and the body agree.
    assert_eq!(body["error"]["details"]["retry_after"].as_u64(), retry_after, "{body}");
    assert!(matches!(retry_after, Some(1..=60)), "{retry_after:?}");
    let seconds = retry_after.unwrap_or_default().to_string();
    assert_json_snapshot!(body, {
        ".error.details.retry_after" => "[seconds]",
        ".error.message" => insta::dynamic_redaction(move |message, _| {
            message.as_str().unwrap_or_default().replace(&seconds, "[seconds]")
        }),
    });
}

#[tokio::test]
async fn a_failing_query_is_500_internal_and_reveals_nothing_of_the_cause() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("internal")).await;
    // A schema the code does not expect: the query fails as a bug would.
    app.db().execute_unprepared("ALTER TABLE users RENAME TO users_elsewhere").await.expect("rename users");
    let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.to_string().contains("users"), "the cause leaked: {body}");
    assert_json_snapshot!(body);
}

#[tokio::test]
async fn a_database_that_went_away_is_503_unavailable() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("unavailable")).await;
    let Database::Postgres(url) = &app.backends.database else { panic!("the tests run on PostgreSQL") };
    let name = url.expose().rsplit_once('/').map(|(_, name)| name).expect("database name");
    let admin = sea_orm::Database::connect(pg_admin_url()).await.expect("connect admin");
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.expect("drop the app's database");
    let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await;
    assert_eq!(status, 503, "{body}");
    assert_json_snapshot!(body);
}
