//! Server-Sent Events reach the user on any API replica and stop with the token.

use std::time::{Duration, Instant};

use mindwell_tests::{TestApp, api_config, email};
use serde_json::json;

/// Reads SSE frames until one of `event` arrives; returns its data.
async fn next_event(
    resp: &mut reqwest::Response,
    buffer: &mut String,
    event: &str,
    timeout: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let kind = frame.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("message");
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
            if kind == event
                && let Some(data) = data
            {
                return serde_json::from_str(data).expect("event data is JSON");
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk()).await.expect("no event in time").expect("stream");
        buffer.push_str(std::str::from_utf8(&chunk.expect("stream ended")).expect("utf-8"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_a_user_on_another_replica_and_the_stream_ends_on_logout() {
    let first = TestApp::spawn().await;
    let second = TestApp::start(api_config(first.backends.clone())).await;
    let worker = first.start_worker().await;
    let user = first.signup(&email("sse")).await;

    let mut stream = second
        .http
        .get(second.url("/api/v1/notifications/stream"))
        .bearer_auth(&user.access)
        .send()
        .await
        .expect("open stream");
    assert_eq!(stream.status().as_u16(), 200);
    assert!(stream.headers()["content-type"].to_str().expect("ascii").starts_with("text/event-stream"));

    let (_, analysis) =
        first.checkin(&user, json!({"mood": 2, "sleep_hours": 3, "notes": "I want to end it all"})).await;
    let mut buffer = String::new();
    let alert = next_event(&mut stream, &mut buffer, "alert.created", Duration::from_secs(30)).await;
    assert_eq!(alert["user_id"], user.id.as_str());
    let insight = next_event(&mut stream, &mut buffer, "insight.completed", Duration::from_secs(30)).await;
    assert_eq!(insight["id"], analysis.as_str());
    assert_eq!(insight["status"], "completed");

    // Another user's events never reach this stream.
    let other = first.signup(&email("sse-other")).await;
    first.checkin(&other, json!({"mood": 5, "sleep_hours": 2})).await;

    // Logout on the first replica ends the stream on the second.
    let (status, _) = first
        .call("POST", "/api/v1/auth/logout", Some(&user.access), Some(json!({"refresh_token": user.refresh})))
        .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.chunk()).await.expect("the stream did not end after logout") {
            Ok(Some(chunk)) => {
                let text = String::from_utf8_lossy(&chunk);
                assert!(!text.contains(&other.id), "another user's event leaked: {text}");
            }
            Ok(None) | Err(_) => break,
        }
    }
    assert_eq!(second.call("GET", "/api/v1/notifications/stream", Some(&user.access), None).await.0, 401);
    worker.stop().await;
}

/// The value of gauge `name` in the app's `/metrics`, if exported.
async fn gauge(app: &TestApp, name: &str) -> Option<f64> {
    let text = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_went_away_ends_at_its_next_keep_alives() {
    let app = TestApp::spawn_with(|c| c.sse_keep_alive = Duration::from_secs(1)).await;
    let user = app.signup(&email("sse-gone")).await;
    let stream = app
        .http
        .get(app.url("/api/v1/notifications/stream"))
        .bearer_auth(&user.access)
        .send()
        .await
        .expect("open stream");
    assert_eq!(stream.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while gauge(&app, "mindwell_sse_streams").await != Some(1.0) {
        assert!(Instant::now() < deadline, "the stream's task is not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(stream);
    // The server learns the client is gone when a keep-alive cannot be
    // written (the second one after it left); the task then ends at once,
    // not when an event comes or the token expires (15 min), as it used to.
    let deadline = Instant::now() + Duration::from_secs(6);
    while gauge(&app, "mindwell_sse_streams").await != Some(0.0) {
        assert!(Instant::now() < deadline, "the stream's task outlived its client");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
