//! The auth matrix: signup, login, refresh rotation and reuse, logout, tokens,
//! cookies, rate limits.
//!
//! Over 300 lines on purpose: one test binary for the whole auth matrix, so a
//! reader sees every case of the contract's "Accounts" section in one place.

use mindwell_tests::{TestApp, api_config, email, test_backends};
use serde_json::json;

#[tokio::test]
async fn signup_answers_201_with_user_tokens_and_cookies() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "  Ada.Lovelace@Example.COM ", "password": "analytical engine", "full_name": "Ada"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 201);
    let cookies: Vec<String> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ascii").to_owned()).collect();
    let access = cookies.iter().find(|c| c.starts_with("access_token=")).expect("access cookie");
    let refresh = cookies.iter().find(|c| c.starts_with("refresh_token=")).expect("refresh cookie");
    for c in [access, refresh] {
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"), "{c}");
    }
    assert!(refresh.contains("Path=/api/v1/auth"), "{refresh}");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["ok"], true);
    assert_eq!(body["error"], serde_json::Value::Null);
    let user = &body["data"]["user"];
    assert_eq!(user["email"], "ada.lovelace@example.com");
    assert_eq!(user["role"], "user");
    assert_eq!(user["full_name"], "Ada");
    assert!(user["created_at"].as_str().expect("time").ends_with('Z'));
    let tokens = &body["data"]["tokens"];
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert_ne!(tokens["access_token"], tokens["refresh_token"]);
}

#[tokio::test]
async fn a_taken_email_is_409_email_taken_whatever_its_case() {
    let app = TestApp::spawn().await;
    let e = email("dup");
    app.signup(&e).await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": e.to_uppercase(), "password": "another password"})),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "email_taken");
}

#[tokio::test]
async fn signup_always_creates_role_user_even_when_asked_for_admin() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": email("sneaky"), "password": "sneaky password 9", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["data"]["user"]["role"], "user");
}

#[tokio::test]
async fn login_gives_the_same_answer_for_a_wrong_password_and_an_unknown_email() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("login")).await;
    let (ok, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": user.email.to_uppercase(), "password": user.password})),
        )
        .await;
    assert_eq!(ok, 200, "{body}");
    assert!(body["data"]["user"]["last_login"].is_string());
    let (s1, wrong) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": "not the password"})))
        .await;
    let (s2, unknown) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "nobody@example.com", "password": "whatever123"})),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong["error"], unknown["error"]);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn me_accepts_a_bearer_token_or_the_access_cookie_and_nothing_else() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("me")).await;
    let (status, body) = app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["id"], user.id.as_str());

    let cookie = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("access_token={}", user.access))
        .send()
        .await
        .expect("send");
    assert_eq!(cookie.status().as_u16(), 200);

    let (none, body) = app.call("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!((none, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    // The refresh token is not an access token.
    let (refresh, _) = app.call("GET", "/api/v1/auth/me", Some(&user.refresh), None).await;
    assert_eq!(refresh, 401);
    // A tampered signature.
    let mut forged = user.access.clone();
    forged.pop();
    forged.push(if user.access.ends_with('A') { 'B' } else { 'A' });
    let (tampered, _) = app.call("GET", "/api/v1/auth/me", Some(&forged), None).await;
    assert_eq!(tampered, 401);
}

#[tokio::test]
async fn unsigned_expired_and_foreign_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("alg")).await;
    let parts: Vec<&str> = user.access.split('.').collect();
    // alg "none" with the real claims.
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&unsigned), None).await.0, 401);

    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": user.id, "role": "admin", "jti": uuid::Uuid::new_v4(), "fam": uuid::Uuid::new_v4(), "typ": "access", "iat": now - 1000, "exp": now - 100});
    let key = jsonwebtoken::EncodingKey::from_secret(b"test-secret-0123456789abcdef0123456789abcdef");
    let expired = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("encode");
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&expired), None).await.0, 401);

    let claims = json!({"sub": user.id, "role": "user", "jti": uuid::Uuid::new_v4(), "fam": uuid::Uuid::new_v4(), "typ": "access", "iat": now, "exp": now + 600});
    let other_key = jsonwebtoken::EncodingKey::from_secret(b"another-secret-0123456789abcdef0123456789");
    let foreign = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &other_key).expect("encode");
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&foreign), None).await.0, 401);

    let refresh_typed = json!({"sub": user.id, "role": "user", "jti": uuid::Uuid::new_v4(), "fam": uuid::Uuid::new_v4(), "typ": "refresh", "iat": now, "exp": now + 600});
    let wrong_type = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &refresh_typed, &key).expect("encode");
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&wrong_type), None).await.0, 401);
}

#[tokio::test]
async fn refresh_rotates_the_token_and_the_old_one_dies() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("rotate")).await;
    let (status, body) =
        app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await;
    assert_eq!(status, 200, "{body}");
    let next = body["data"]["tokens"]["refresh_token"].as_str().expect("new refresh").to_owned();
    let access = body["data"]["tokens"]["access_token"].as_str().expect("new access").to_owned();
    assert_ne!(next, user.refresh);
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&access), None).await.0, 200);
    let (again, _) = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": next}))).await;
    assert_eq!(again, 200);
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("reuse")).await;
    let (_, first) = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await;
    let rotated = first["data"]["tokens"]["refresh_token"].as_str().expect("rotated").to_owned();
    let family_access = first["data"]["tokens"]["access_token"].as_str().expect("access").to_owned();

    let (status, body) =
        app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "token_reused");
    // Every token of that login is dead: the newest refresh token and its access tokens.
    let (after, _) = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": rotated}))).await;
    assert_eq!(after, 401);
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&family_access), None).await.0, 401);
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await.0, 401);
    // Another login of the same user is untouched.
    let (_, other) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": user.email, "password": user.password})))
        .await;
    let other_access = other["data"]["tokens"]["access_token"].as_str().expect("access");
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(other_access), None).await.0, 200);
}

#[tokio::test]
async fn refresh_reads_the_cookie_when_the_body_has_no_token() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("cookie-refresh")).await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", format!("refresh_token={}", user.refresh))
        // A cookie-authenticated write must be JSON (the contract's "Browsers").
        .header("content-type", "application/json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let (missing, body) = app.call("POST", "/api/v1/auth/refresh", None, None).await;
    assert_eq!((missing, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (garbage, _) = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": "nope"}))).await;
    assert_eq!(garbage, 401);
}

#[tokio::test]
async fn logout_kills_the_access_token_and_the_refresh_token_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("logout")).await;
    let (status, body) =
        app.call("POST", "/api/v1/auth/logout", Some(&user.access), Some(json!({"refresh_token": user.refresh}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({}));
    assert_eq!(app.call("GET", "/api/v1/auth/me", Some(&user.access), None).await.0, 401);
    let (refresh, _) =
        app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh}))).await;
    assert_eq!(refresh, 401);
    assert_eq!(app.call("POST", "/api/v1/auth/logout", None, None).await.0, 401);
}

#[tokio::test]
async fn auth_calls_over_the_per_email_limit_get_429_with_retry_after() {
    let mut config = api_config(test_backends().await);
    config.rate_auth_per_email = 3;
    let app = TestApp::start(config).await;
    let e = email("limited");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let resp = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": e, "password": "whatever123"}))
            .send()
            .await
            .expect("send");
        statuses.push(resp.status().as_u16());
        if let Some(v) = resp.headers().get("retry-after") {
            retry_after = v.to_str().ok().and_then(|s| s.parse::<u64>().ok());
        }
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
    assert!(matches!(retry_after, Some(1..=60)), "{retry_after:?}");
    // Another email from the same client is not limited by it.
    let (other, _) = app
        .call("POST", "/api/v1/auth/login", None, Some(json!({"email": email("free"), "password": "whatever123"})))
        .await;
    assert_eq!(other, 401);
}

#[tokio::test]
async fn auth_calls_over_the_per_ip_limit_get_429() {
    let mut config = api_config(test_backends().await);
    config.rate_auth_per_ip = 2;
    let app = TestApp::start(config).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": format!("ip{i}@example.com"), "password": "whatever123"})),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(statuses, vec![401, 401, 429]);
}

#[tokio::test]
async fn the_bootstrap_admin_is_created_once_and_can_sign_in() {
    let backends = test_backends().await;
    let mut config = api_config(backends.clone());
    config.admin = Some(("Root@Example.com".into(), mindwell_api::config::Secret::new("admin password 1")));
    let app = TestApp::start(config.clone()).await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "root@example.com", "password": "admin password 1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["role"], "admin");
    // A second start leaves the account as it is.
    let again = TestApp::start(config).await;
    let (status, _) = again
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "root@example.com", "password": "admin password 1"})),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn passwords_are_stored_as_bcrypt_hashes_only() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("hash")).await;
    use sea_orm::EntityTrait;
    let id = uuid::Uuid::parse_str(&user.id).expect("uuid");
    let row =
        mindwell_shared::entities::users::Entity::find_by_id(id).one(app.db()).await.expect("query").expect("row");
    assert!(row.password_hash.starts_with("$2"), "{}", row.password_hash);
    assert!(!row.password_hash.contains(&user.password));
}
