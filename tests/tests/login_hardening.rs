//! A failed login names its target (the account, or a keyed hash of an unknown
//! email) and the client IP, never the email; a successful login rehashes a
//! password whose bcrypt cost is no longer the configured one.

use mindwell_shared::entities::users;
use mindwell_tests::{TestApp, api_config, email};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

async fn failed_login(app: &TestApp, email: &str) {
    let (status, body) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": "not the password"})))
        .await;
    assert_eq!(status, 401, "{body}");
}

async fn failed_login_entries(app: &TestApp, admin: &str) -> Vec<Value> {
    let (status, body) = app.call("GET", "/api/v1/admin/audit-logs?action=auth.login_failed", Some(admin), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn failed_logins_name_the_target_account_or_a_stable_hash_and_never_the_email() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let target = app.signup(&email("Target")).await;
    let unknown = email("Nobody");
    failed_login(&app, &target.email).await;
    failed_login(&app, &target.email.to_uppercase()).await;
    failed_login(&app, &unknown).await;

    let entries = failed_login_entries(&app, &admin).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    let text = serde_json::to_string(&entries).expect("json").to_lowercase();
    assert!(!text.contains(&target.email) && !text.contains(&unknown.to_lowercase()), "an email leaks: {text}");
    assert!(!text.contains("@example.com"), "an email leaks: {text}");
    // Newest first: the unknown email, then the two against the account.
    let contexts: Vec<&Value> = entries.iter().map(|e| &e["context"]).collect();
    for c in &contexts[1..] {
        assert_eq!(c["user_id"], target.id.as_str(), "{c}");
        assert_eq!(c["reason"], "bad_credentials");
        assert_eq!(c["ip"], "127.0.0.1");
    }
    let tag = contexts[0]["email_hmac"].as_str().expect("email_hmac").to_owned();
    assert!(contexts[0]["user_id"].is_null(), "{}", contexts[0]);
    assert_eq!(contexts[0]["ip"], "127.0.0.1");
    assert_eq!(tag.len(), 32);

    // The same unknown email, however spelt, gets the same hash.
    failed_login(&app, &format!(" {} ", unknown.to_uppercase())).await;
    let again = failed_login_entries(&app, &admin).await;
    assert_eq!(again[0]["context"]["email_hmac"], tag.as_str());
}

fn stored_cost(hash: &str) -> &str {
    hash.split('$').nth(2).expect("a bcrypt hash")
}

#[tokio::test]
async fn a_login_rehashes_the_password_when_the_bcrypt_cost_changed() {
    let cheap = TestApp::spawn_with(|c| c.bcrypt_cost = 4).await;
    let mut config = api_config(cheap.backends.clone());
    config.bcrypt_cost = 5;
    let dearer = TestApp::start(config).await;

    let user = cheap.signup(&email("rehash")).await;
    let id: uuid::Uuid = user.id.parse().expect("uuid");
    let hash = |app: &TestApp| {
        let db = app.db().clone();
        async move { users::Entity::find_by_id(id).one(&db).await.expect("query").expect("user").password_hash }
    };
    assert_eq!(stored_cost(&hash(&cheap).await), "04");

    dearer.login(&user.email, &user.password).await;
    assert_eq!(stored_cost(&hash(&dearer).await), "05", "rehashed at the new cost");
    dearer.login(&user.email, &user.password).await;
    cheap.login(&user.email, &user.password).await;
    assert_eq!(stored_cost(&hash(&cheap).await), "04", "and back");

    // A failed login leaves the hash alone.
    let before = hash(&dearer).await;
    let (status, _) = dearer
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": "wrong password"})))
        .await;
    assert_eq!(status, 401);
    assert_eq!(hash(&dearer).await, before);
}
