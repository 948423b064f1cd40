//! The contract's conventions: envelopes, validation errors, limits, unknown
//! routes, request ids, operations endpoints.

use mindwell_tests::{TestApp, email};
use serde_json::{Value, json};

async fn post_raw(app: &TestApp, token: &str, body: &'static str, content_type: Option<&str>) -> (u16, Value) {
    let mut req = app.http.post(app.url("/api/v1/checkins")).bearer_auth(token).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> =
        body["error"]["details"]["fields"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    f.sort();
    f
}

#[tokio::test]
async fn malformed_json_is_422_invalid_input_in_the_envelope() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("malformed")).await;
    for ct in [Some("application/json"), None, Some("text/plain")] {
        let (status, body) = post_raw(&app, &user.access, "{\"mood\": 5,", ct).await;
        assert_eq!(status, 422, "{ct:?}: {body}");
        assert_eq!(body["ok"], false);
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(fields(&body), vec!["body"]);
    }
    let (status, body) = post_raw(&app, &user.access, "[1, 2]", Some("application/json")).await;
    assert_eq!((status, fields(&body)), (422, vec!["body".to_owned()]));
}

#[tokio::test]
async fn every_bad_field_is_named_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("fields")).await;
    let cases = [
        (json!({}), vec!["mood", "sleep_hours"]),
        (json!({"mood": "five", "sleep_hours": true}), vec!["mood", "sleep_hours"]),
        (json!({"mood": 0, "sleep_hours": 25}), vec!["mood", "sleep_hours"]),
        (json!({"mood": 11, "sleep_hours": -1}), vec!["mood", "sleep_hours"]),
        (json!({"mood": 5.5, "sleep_hours": 7}), vec!["mood"]),
        (json!({"mood": 5, "sleep_hours": 7, "notes": 12}), vec!["notes"]),
        (json!({"mood": 5, "sleep_hours": 7, "notes": "x".repeat(4001)}), vec!["notes"]),
        (json!({"mood": 5, "sleep_hours": 7, "timestamp": "yesterday"}), vec!["timestamp"]),
        (json!({"mood": 5, "sleep_hours": 7, "timestamp": "2999-01-01T00:00:00Z"}), vec!["timestamp"]),
        (json!({"mood": 5, "sleep_hours": 7, "meta": [1]}), vec!["meta"]),
        (json!({"mood": 5, "sleep_hours": 7, "meta": {"blob": "y".repeat(9000)}}), vec!["meta"]),
        (json!({"mood": null, "sleep_hours": 7, "notes": null}), vec!["mood"]),
    ];
    for (body, expected) in cases {
        let (status, resp) = app.call("POST", "/api/v1/checkins", Some(&user.access), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {resp}");
        assert_eq!(resp["error"]["code"], "invalid_input");
        assert_eq!(fields(&resp), expected, "{body}");
        let reason = resp["error"]["details"]["fields"][expected[0]].as_str().unwrap_or_default();
        assert!(!reason.is_empty());
    }
    let (status, resp) =
        app.call("POST", "/api/v1/checkins", Some(&user.access), Some(json!({"mood": 0, "sleep_hours": 7}))).await;
    assert_eq!(status, 422);
    assert_eq!(resp["error"]["details"]["fields"]["mood"], "must be between 1 and 10");
}

#[tokio::test]
async fn signup_validation_names_email_and_password() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"email": "not-an-email", "password": "short"})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), vec!["email", "password"]);
    let (status, body) = app
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"email": "a@example.com", "password": "p".repeat(129)})))
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["password".to_owned()]));
    // One of the 10,000 most common passwords, whatever its case, is refused.
    let (status, body) = app
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"email": "b@example.com", "password": "Password123"})))
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["password".to_owned()]));
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("big")).await;
    let notes = "n".repeat(70 * 1024);
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/checkins",
            Some(&user.access),
            Some(json!({"mood": 5, "sleep_hours": 7, "notes": notes})),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_ids_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("routes")).await;
    let (status, body) = app.call("GET", "/api/v1/nothing-here", Some(&user.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = app.call("DELETE", "/api/v1/checkins", Some(&user.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("method_not_allowed")));
    let (status, body) = app.call("GET", "/api/v1/insights/not-a-uuid", Some(&user.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) =
        app.call("GET", &format!("/api/v1/insights/{}", uuid::Uuid::now_v7()), Some(&user.access), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn list_parameters_outside_the_contract_are_422() {
    let app = TestApp::spawn().await;
    let user = app.signup(&email("params")).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("range=0d", "range"),
        ("range=366d", "range"),
        ("range=week", "range"),
        ("cursor=bogus", "cursor"),
    ] {
        let (status, body) = app.call("GET", &format!("/api/v1/checkins?{query}"), Some(&user.access), None).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(fields(&body), vec![field.to_owned()], "{query}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(app.url("/health")).header("x-request-id", "abc-123").send().await.expect("send");
    assert_eq!(resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc-123"));
    let resp = app.http.get(app.url("/api/v1/nowhere")).send().await.expect("send");
    assert!(resp.headers().get("x-request-id").is_some());
}

#[tokio::test]
async fn operations_endpoints_answer_without_the_envelope() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call("GET", "/health", None, None).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = app.call("GET", "/health/ready", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");

    app.signup(&email("metrics")).await;
    let text = app.http.get(app.url("/metrics")).send().await.expect("send").text().await.expect("text");
    assert!(text.contains("mindwell_http_requests_total"), "{text}");
    assert!(text.contains("mindwell_http_request_duration_seconds_bucket"));

    let (status, spec) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    for path in ["/api/v1/auth/signup", "/api/v1/auth/refresh", "/api/v1/checkins", "/api/v1/insights/{id}"] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    let mood = &spec["components"]["schemas"]["CheckinRequest"]["properties"]["mood"];
    assert_eq!((mood["minimum"].as_f64(), mood["maximum"].as_f64()), (Some(1.0), Some(10.0)), "{mood}");
    let docs = app.http.get(app.url("/docs")).send().await.expect("send");
    assert_eq!(docs.status().as_u16(), 200);
}

#[tokio::test]
async fn text_postgresql_cannot_store_is_422_on_its_field_never_500() {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": "nul@example.com", "password": "correct horse battery", "full_name": "A\u{0}B"})),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec!["full_name".to_owned()]), "{body}");
    let user = app.signup(&email("nul")).await;
    for (bad, field) in [
        (json!({"mood": 5, "sleep_hours": 7, "notes": "a\u{0}b"}), "notes"),
        (json!({"mood": 5, "sleep_hours": 7, "meta": {"k\u{0}": 1}}), "meta"),
        (json!({"mood": 5, "sleep_hours": 7, "meta": {"k": ["x\u{0}"]}}), "meta"),
        // Stored by jsonb as a decimal that no longer reads back as a double.
        (json!({"mood": 5, "sleep_hours": 7, "meta": {"k": 1.797_693_134_862_315_7e308}}), "meta"),
    ] {
        let (status, body) = app.call("POST", "/api/v1/checkins", Some(&user.access), Some(bad.clone())).await;
        assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{bad}: {body}");
    }
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/checkins",
            Some(&user.access),
            Some(json!({"mood": 5, "sleep_hours": 7, "meta": {"k": 1e300}})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    for path in ["/api/v1/checkins", "/api/v1/me/export"] {
        let (status, body) = app.call("GET", path, Some(&user.access), None).await;
        assert_eq!(status, 200, "{path} must still read every stored check-in: {body}");
    }
    for (path, field) in
        [("/api/v1/admin/users?email=a%00b", "email"), ("/api/v1/admin/audit-logs?action=%00", "action")]
    {
        let (status, body) = app.call("GET", path, Some(&admin), None).await;
        assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{path}: {body}");
    }
}
