//! A browser frontend on another origin (the contract's "Browsers" paragraph):
//! CORS for the listed origins only, cookie-authenticated writes that no other
//! site can forge, the headers every `/api/v1` answer carries, and the client
//! IP behind proxies.

use mindwell_api::browser::Origin;
use mindwell_shared::config::Profile;
use mindwell_tests::{TestApp, TestUser, binary, email};
use reqwest::{Response, header};
use serde_json::{Value, json};

const FRONTEND: &str = "https://app.example.com";
const ELSEWHERE: &str = "https://evil.example.net";

/// An API that lists [`FRONTEND`] in `MINDWELL_CORS_ORIGINS`.
async fn app_for_frontend() -> TestApp {
    TestApp::spawn_with(|c| c.cors_origins = vec![Origin::parse(FRONTEND).expect("origin")]).await
}

fn value<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The lowercase names a comma-separated header lists.
fn listed(resp: &Response, name: &str) -> Vec<String> {
    value(resp, name).unwrap_or_default().split(',').map(|s| s.trim().to_ascii_lowercase()).collect()
}

async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/checkins"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type, idempotency-key")
        .send()
        .await
        .expect("send")
}

/// `POST /api/v1/checkins` authenticated by the `access_token` cookie.
async fn cookie_checkin(app: &TestApp, user: &TestUser, origin: Option<&str>, content_type: &str) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url("/api/v1/checkins"))
        .header(header::COOKIE, format!("access_token={}", user.access))
        .header(header::CONTENT_TYPE, content_type)
        .body(json!({"mood": 6, "sleep_hours": 7}).to_string());
    if let Some(origin) = origin {
        req = req.header(header::ORIGIN, origin);
    }
    let resp = req.send().await.expect("send");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn assert_forbidden((status, body): (u16, Value), what: &str) {
    assert_eq!(status, 403, "{what}: {body}");
    assert_eq!(body["ok"], false, "{what}: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_credentials_allowed() {
    let app = app_for_frontend().await;
    let resp = preflight(&app, FRONTEND).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(value(&resp, "access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(value(&resp, "access-control-allow-credentials"), Some("true"));
    let methods = listed(&resp, "access-control-allow-methods");
    for method in ["get", "post", "put", "patch", "delete"] {
        assert!(methods.contains(&method.to_owned()), "{method} not in {methods:?}");
    }
    let headers = listed(&resp, "access-control-allow-headers");
    for name in ["content-type", "authorization", "idempotency-key", "x-request-id"] {
        assert!(headers.contains(&name.to_owned()), "{name} not in {headers:?}");
    }
}

#[tokio::test]
async fn a_preflight_from_an_origin_not_listed_gets_no_cors_headers() {
    let app = app_for_frontend().await;
    let unlisted = TestApp::spawn().await;
    for (app, origin) in [(&app, ELSEWHERE), (&unlisted, FRONTEND)] {
        let resp = preflight(app, origin).await;
        assert!(!resp.status().is_success(), "{origin}: {}", resp.status());
        assert_eq!(value(&resp, "access-control-allow-origin"), None, "{origin}");
        assert_eq!(value(&resp, "access-control-allow-credentials"), None, "{origin}");
    }
}

#[tokio::test]
async fn an_answer_to_an_allowed_origin_carries_the_cors_headers_and_exposes_the_request_id() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("cors-get")).await;
    let get = |origin: &'static str| {
        app.http.get(app.url("/api/v1/auth/me")).bearer_auth(&user.access).header(header::ORIGIN, origin).send()
    };
    let resp = get(FRONTEND).await.expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(value(&resp, "access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(value(&resp, "access-control-allow-credentials"), Some("true"));
    let exposed = listed(&resp, "access-control-expose-headers");
    assert!(exposed.contains(&"x-request-id".into()) && exposed.contains(&"retry-after".into()), "{exposed:?}");
    let other = get(ELSEWHERE).await.expect("send");
    assert_eq!(other.status().as_u16(), 200, "a bearer client naming another origin is still served");
    assert_eq!(value(&other, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_cookie_post_from_a_foreign_origin_is_403_forbidden() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("csrf-origin")).await;
    assert_forbidden(cookie_checkin(&app, &user, Some(ELSEWHERE), "application/json").await, "foreign origin");
    assert_forbidden(cookie_checkin(&app, &user, Some("null"), "application/json").await, "opaque origin");
}

#[tokio::test]
async fn a_cookie_post_that_is_not_json_is_403_forbidden() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("csrf-type")).await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        assert_forbidden(cookie_checkin(&app, &user, None, content_type).await, content_type);
    }
}

#[tokio::test]
async fn a_json_cookie_post_from_the_apis_own_or_an_allowed_origin_or_none_passes() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("csrf-pass")).await;
    for origin in [Some(app.base.as_str()), Some(FRONTEND), None] {
        let (status, body) = cookie_checkin(&app, &user, origin, "application/json; charset=utf-8").await;
        assert_eq!(status, 202, "{origin:?}: {body}");
    }
}

#[tokio::test]
async fn cookie_refresh_and_logout_follow_the_same_rule() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("csrf-refresh")).await;
    let post = |path: &str, origin: &str, content_type: &str| {
        app.http
            .post(app.url(path))
            .header(header::COOKIE, format!("refresh_token={}", user.refresh))
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, content_type)
            .body("{}")
            .send()
    };
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        let resp = post(path, ELSEWHERE, "application/json").await.expect("send");
        assert_forbidden((resp.status().as_u16(), resp.json().await.expect("json")), path);
        let resp = post(path, FRONTEND, "text/plain").await.expect("send");
        assert_forbidden((resp.status().as_u16(), resp.json().await.expect("json")), path);
    }
    // Refused, they changed nothing: the refresh token still works once.
    let resp = post("/api/v1/auth/refresh", FRONTEND, "application/json").await.expect("send");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn bearer_requests_are_untouched_by_the_cookie_rules() {
    let app = app_for_frontend().await;
    let user = app.signup(&email("csrf-bearer")).await;
    let post = |content_type: &'static str| {
        app.http
            .post(app.url("/api/v1/checkins"))
            .bearer_auth(&user.access)
            .header(header::COOKIE, format!("access_token={}", user.access))
            .header(header::ORIGIN, ELSEWHERE)
            .header(header::CONTENT_TYPE, content_type)
            .body(json!({"mood": 6, "sleep_hours": 7}).to_string())
            .send()
    };
    assert_eq!(post("application/json").await.expect("send").status().as_u16(), 202);
    assert_ne!(post("text/plain").await.expect("send").status().as_u16(), 403);
}

#[tokio::test]
async fn every_api_answer_says_no_store_and_nosniff_and_hsts_only_in_production() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("headers")).await;
    let answers = [
        app.http.get(app.url("/api/v1/auth/me")).bearer_auth(&user.access).send().await,
        app.http.get(app.url("/api/v1/auth/me")).send().await,
        app.http.get(app.url("/api/v1/no-such-thing")).send().await,
        app.http.get(app.url("/api/v1/openapi.json")).send().await,
    ];
    for resp in answers {
        let resp = resp.expect("send");
        let what = format!("{} {}", resp.url().path(), resp.status());
        assert_eq!(value(&resp, "cache-control"), Some("no-store"), "{what}");
        assert_eq!(value(&resp, "x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(value(&resp, "strict-transport-security"), None, "{what}");
    }
    let production = TestApp::spawn_with(|c| c.backends.profile = Profile::Production).await;
    let resp = production.http.get(production.url("/api/v1/auth/me")).send().await.expect("send");
    assert_eq!(value(&resp, "strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
}

#[tokio::test]
async fn two_hundred_logins_with_rotating_fake_forwarded_ips_behind_one_proxy_are_rate_limited() {
    let app = TestApp::spawn_with(|c| {
        c.trust_proxy = true;
        c.trusted_proxy_hops = 1;
        c.rate_auth_per_ip = 100;
    })
    .await;
    let login = |i: usize, client: &'static str| {
        app.http
            .post(app.url("/api/v1/auth/login"))
            // The client wrote the left entry; the trusted proxy appended the right one.
            .header("x-forwarded-for", format!("198.51.{}.{}, {client}", i / 250, i % 250 + 1))
            .json(&json!({"email": format!("nobody{i}@example.com"), "password": "whatever123"}))
            .send()
    };
    let mut limited = 0;
    for i in 0..200 {
        if login(i, "203.0.113.7").await.expect("send").status().as_u16() == 429 {
            limited += 1;
        }
    }
    assert_eq!(limited, 100, "the per-IP limit (100) held against rotating left entries");
    let other = login(200, "203.0.113.8").await.expect("send");
    assert_eq!(other.status().as_u16(), 401, "another client behind the same proxy is not limited");
}

#[test]
fn an_invalid_cors_origin_stops_the_start_naming_the_variable() {
    let out = std::process::Command::new(binary("mindwell-api"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("MINDWELL_ENV")
        .env("MINDWELL_DATA_DIR", std::env::temp_dir().join("mindwell-browser-test-never-created"))
        .env("MINDWELL_CORS_ORIGINS", "https://app.example.com, https://*.example.com")
        .output()
        .expect("run mindwell-api");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {err}");
    assert!(err.contains("MINDWELL_CORS_ORIGINS") && err.contains("*.example.com"), "{err}");
}
