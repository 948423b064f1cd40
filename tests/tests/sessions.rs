//! Accounts and sessions: listing and ending logins, changing a password, and
//! resetting a forgotten one with a code sent by email.

use std::time::Duration;

use mindwell_shared::{config::Database, entities::audit_logs};
use mindwell_tests::{TestApp, TestUser, WorkerHandle, email, fake_smtp, worker_config};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

/// Tokens of one login.
struct Login {
    access: String,
    refresh: String,
}

/// Signs in `user` from a client that says it is `agent`.
async fn login_as(app: &TestApp, user: &TestUser, password: &str, agent: &str) -> Login {
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", agent)
        .json(&json!({"email": user.email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    Login {
        access: body["data"]["tokens"]["access_token"].as_str().expect("access").to_owned(),
        refresh: body["data"]["tokens"]["refresh_token"].as_str().expect("refresh").to_owned(),
    }
}

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let (status, body) = app.call("GET", "/api/v1/auth/sessions", Some(access), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().expect("a list").clone()
}

async fn me(app: &TestApp, access: &str) -> u16 {
    app.call("GET", "/api/v1/auth/me", Some(access), None).await.0
}

async fn refresh(app: &TestApp, refresh: &str) -> u16 {
    app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.0
}

async fn audited(app: &TestApp, action: &str) -> u64 {
    audit_logs::Entity::find().filter(audit_logs::Column::Action.eq(action)).count(app.db()).await.expect("count")
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_their_user_agent_and_the_current_one_marked() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("list")).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let phone = login_as(&app, &user, &user.password, &"Phone/1.0 ".repeat(40)).await;

    let list = sessions(&app, &phone.access).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[1]["current"], false);
    let agent = list[0]["user_agent"].as_str().expect("the agent");
    assert_eq!(agent.chars().count(), 255, "truncated to 255 characters");
    assert!(agent.starts_with("Phone/1.0"));
    assert!(list[1]["user_agent"].is_null(), "signup sent no user agent");
    assert!(list[0]["created_at"].as_str() > list[1]["created_at"].as_str());
    for key in ["id", "created_at", "last_used_at", "user_agent", "current"] {
        assert!(list[0].get(key).is_some(), "{key} missing");
    }

    // A refresh is a use of that session, and keeps its id.
    let before = list[1]["last_used_at"].as_str().expect("time").to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(refresh(&app, &user.refresh).await, 200);
    let list = sessions(&app, &phone.access).await;
    assert_eq!(list.len(), 2);
    assert!(list[1]["last_used_at"].as_str().expect("time") > before.as_str());
}

#[tokio::test]
async fn a_deleted_sessions_access_and_refresh_tokens_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("delete")).await;
    let laptop = login_as(&app, &user, &user.password, "Laptop").await;
    let list = sessions(&app, &laptop.access).await;
    let signup_session = list.iter().find(|s| s["current"] == false).expect("the signup session");
    let id = signup_session["id"].as_str().expect("id");

    let (status, body) = app.call("DELETE", &format!("/api/v1/auth/sessions/{id}"), Some(&laptop.access), None).await;
    assert_eq!((status, &body["data"]), (200, &json!({})));
    assert_eq!(me(&app, &user.access).await, 401, "its access token is dead");
    assert_eq!(refresh(&app, &user.refresh).await, 401, "its refresh token is dead");
    assert_eq!(me(&app, &laptop.access).await, 200, "the other session lives on");
    let list = sessions(&app, &laptop.access).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    assert_eq!(audited(&app, "auth.session_ended").await, 1);
}

#[tokio::test]
async fn another_users_session_or_an_id_that_is_not_a_uuid_is_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.signup(&email("ada")).await;
    let bob = app.signup(&email("bob")).await;
    let bobs = sessions(&app, &bob.access).await[0]["id"].as_str().expect("id").to_owned();

    let (status, body) = app.call("DELETE", &format!("/api/v1/auth/sessions/{bobs}"), Some(&ada.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(me(&app, &bob.access).await, 200, "bob's session is untouched");
    let missing = uuid::Uuid::now_v7();
    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/sessions/{missing}"), Some(&ada.access), None).await.0, 404);
    assert_eq!(app.call("DELETE", "/api/v1/auth/sessions/not-a-uuid", Some(&ada.access), None).await.0, 404);
    assert_eq!(app.call("GET", "/api/v1/auth/sessions", None, None).await.0, 401);
}

#[tokio::test]
async fn logout_all_ends_every_session_the_current_one_included() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("all")).await;
    let other = login_as(&app, &user, &user.password, "Tablet").await;

    let (status, body) = app.call("POST", "/api/v1/auth/logout-all", Some(&user.access), None).await;
    assert_eq!((status, &body["data"]), (200, &json!({})));
    assert_eq!(me(&app, &user.access).await, 401, "the current session ended");
    assert_eq!(me(&app, &other.access).await, 401);
    assert_eq!(refresh(&app, &user.refresh).await, 401);
    assert_eq!(refresh(&app, &other.refresh).await, 401);
    let fresh = app.login(&user.email, &user.password).await;
    assert_eq!(sessions(&app, &fresh).await.len(), 1, "only the new login is active");
    assert_eq!(audited(&app, "auth.logout_all").await, 1);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_the_old_password_no_longer_logs_in() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("change")).await;
    let other = login_as(&app, &user, &user.password, "Other").await;

    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&user.access),
            Some(json!({"current_password": "not my password", "new_password": "a brand new secret"})),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&user.access),
            Some(json!({"current_password": user.password, "new_password": "short"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["details"]["fields"]["new_password"].is_string(), "{body}");

    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&user.access),
            Some(json!({"current_password": user.password, "new_password": "a brand new secret"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let new_access = body["data"]["tokens"]["access_token"].as_str().expect("access");
    let new_refresh = body["data"]["tokens"]["refresh_token"].as_str().expect("refresh");
    assert_eq!(me(&app, new_access).await, 200, "the new session works");
    assert_eq!(me(&app, &user.access).await, 401, "the session that asked ended too");
    assert_eq!(me(&app, &other.access).await, 401);
    assert_eq!(refresh(&app, &other.refresh).await, 401);
    assert_eq!(sessions(&app, new_access).await.len(), 1);
    assert_eq!(refresh(&app, new_refresh).await, 200);

    let (status, _) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": user.password})))
        .await;
    assert_eq!(status, 401, "the old password no longer logs in");
    app.login(&user.email, "a brand new secret").await;
    assert_eq!(audited(&app, "auth.password_changed").await, 1);
}

/// An API and a worker that mails through a fake SMTP server.
async fn with_mail() -> (TestApp, WorkerHandle, UnboundedReceiver<(String, String)>) {
    let app = TestApp::spawn().await;
    let (smtp, inbox) = fake_smtp().await;
    let mut config = worker_config(app.backends.clone());
    config.smtp = Some((smtp.into(), "MindWell <care@example.com>".into()));
    let worker = WorkerHandle::start(config).await;
    (app, worker, inbox)
}

/// Asks for a reset code for `address` and reads it from the mail it gets.
async fn reset_code(app: &TestApp, inbox: &mut UnboundedReceiver<(String, String)>, address: &str) -> String {
    let (status, body) = app.call("POST", "/api/v1/auth/password-reset", None, Some(json!({"email": address}))).await;
    assert_eq!((status, &body["data"]), (202, &json!({})));
    let (to, data) = tokio::time::timeout(Duration::from_secs(20), inbox.recv()).await.expect("a mail").expect("open");
    assert_eq!(to, address);
    let line = data.lines().find(|l| l.contains("Your code:")).unwrap_or_else(|| panic!("no code in {data}"));
    let code: String = line.chars().filter(char::is_ascii_digit).collect();
    assert!(code.len() >= 6, "{line}");
    code
}

async fn confirm(app: &TestApp, address: &str, code: &str, password: &str) -> (u16, Value) {
    app.call(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        None,
        Some(json!({"email": address, "code": code, "new_password": password})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_from_the_reset_mail_sets_a_new_password_once_and_ends_every_session() {
    let (app, worker, mut inbox) = with_mail().await;
    let user = app.signup(&email("reset")).await;
    let code = reset_code(&app, &mut inbox, &user.email).await;

    let (status, body) = confirm(&app, &user.email, &code, "short").await;
    assert_eq!(status, 422);
    assert!(body["error"]["details"]["fields"]["new_password"].is_string(), "{body}");
    let (status, body) = confirm(&app, &user.email, &code, "my reset password").await;
    assert_eq!((status, &body["data"]), (200, &json!({})), "{body}");
    assert_eq!(me(&app, &user.access).await, 401, "every session ended");
    assert_eq!(refresh(&app, &user.refresh).await, 401);
    app.login(&user.email, "my reset password").await;

    let (status, body) = confirm(&app, &user.email, &code, "yet another password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")), "single use");
    assert_eq!(audited(&app, "auth.password_reset").await, 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_kill_the_reset_code() {
    let (app, worker, mut inbox) = with_mail().await;
    let user = app.signup(&email("guess")).await;
    let code = reset_code(&app, &mut inbox, &user.email).await;
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for _ in 0..5 {
        let (status, body) = confirm(&app, &user.email, wrong, "my reset password").await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    }
    let (status, _) = confirm(&app, &user.email, &code, "my reset password").await;
    assert_eq!(status, 401, "the right code is dead after five wrong ones");
    app.login(&user.email, &user.password).await;

    // A new request gives a new code that works.
    let code = reset_code(&app, &mut inbox, &user.email).await;
    assert_eq!(confirm(&app, &user.email, &code, "my reset password").await.0, 200);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_for_an_unknown_email_answers_202_and_sends_nothing() {
    let (app, worker, mut inbox) = with_mail().await;
    let nobody = email("nobody");
    let (status, body) = app.call("POST", "/api/v1/auth/password-reset", None, Some(json!({"email": nobody}))).await;
    assert_eq!((status, &body["data"]), (202, &json!({})));
    assert!(tokio::time::timeout(Duration::from_secs(3), inbox.recv()).await.is_err(), "no mail");
    let (status, body) = confirm(&app, &nobody, "12345678", "my reset password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    worker.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_session_and_password_operations() {
    let app = TestApp::spawn().await;
    let doc: Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.expect("get").json().await.expect("json");
    for (path, method) in [
        ("/api/v1/auth/sessions", "get"),
        ("/api/v1/auth/sessions/{id}", "delete"),
        ("/api/v1/auth/logout-all", "post"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/auth/password-reset", "post"),
        ("/api/v1/auth/password-reset/confirm", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op["summary"].is_string() || op["description"].is_string(), "{method} {path} undocumented: {op}");
    }
    let session = &doc["components"]["schemas"]["Session"]["properties"];
    for key in ["id", "created_at", "last_used_at", "user_agent", "current"] {
        assert!(session.get(key).is_some(), "Session.{key} missing: {session}");
    }
}

#[tokio::test]
async fn on_sqlite_sessions_are_listed_ended_and_passwords_changed_as_on_postgresql() {
    let file = std::env::temp_dir().join(format!("mindwell-sessions-{}.db", uuid::Uuid::new_v4().simple()));
    let app = TestApp::spawn_with(|c| c.backends.database = Database::Sqlite(file.clone())).await;
    let user = app.signup(&email("sqlite")).await;
    let other = login_as(&app, &user, &user.password, "Lite").await;
    let list = sessions(&app, &other.access).await;
    assert_eq!(list.len(), 2);
    assert_eq!((list[0]["current"].as_bool(), list[0]["user_agent"].as_str()), (Some(true), Some("Lite")));
    let id = list[1]["id"].as_str().expect("id");
    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/sessions/{id}"), Some(&other.access), None).await.0, 200);
    assert_eq!(me(&app, &user.access).await, 401);
    assert_eq!(refresh(&app, &user.refresh).await, 401);
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/password",
            Some(&other.access),
            Some(json!({"current_password": user.password, "new_password": "a brand new secret"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(me(&app, &other.access).await, 401);
    let _ = std::fs::remove_file(&file);
}
