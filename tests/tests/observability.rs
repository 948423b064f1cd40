//! What operators see: the API's and the worker's Prometheus metrics and
//! health endpoints, and JSON logs that carry the request id into the job it
//! causes and hold no note text, password, token or email.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mindwell_shared::config::Database;
use mindwell_tests::{binary, free_port, redis_url, repo_root, test_backends};
use serde_json::{Value, json};

/// A child process whose stdout and stderr lines are kept.
struct Logged {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out: Vec<Box<dyn std::io::Read + Send>> =
            vec![Box::new(child.stdout.take().expect("stdout")), Box::new(child.stderr.take().expect("stderr"))];
        for pipe in out {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        Self { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(http: &reqwest::Client, url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(url).send().await.ok().map(|r| r.status().as_u16()) != Some(200) {
        assert!(Instant::now() < deadline, "{what} never became ready at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_json_logs_carry_the_request_id_and_no_personal_data() {
    let backends = test_backends().await;
    let Database::Postgres(db_url) = &backends.database else { panic!("tests run on PostgreSQL") };
    let root = repo_root();
    let ort = mindwell_tests::ort_dylib();
    let (api_port, worker_port) = (free_port(), free_port());
    let common = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", db_url.expose())
            .env("REDIS_URL", redis_url())
            .env("MINDWELL_NAMESPACE", &backends.namespace)
            .env("MINDWELL_MODEL_DIR", root.join("model-assets"))
            .env("ORT_DYLIB_PATH", &ort)
            .env_remove("RUST_LOG");
    };
    let mut api = Command::new(binary("mindwell-api"));
    common(&mut api);
    api.arg("serve")
        .env("MINDWELL_BIND", format!("127.0.0.1:{api_port}"))
        .env("MINDWELL_BCRYPT_COST", "4")
        .env("MINDWELL_JWT_SECRET", "observability-test-secret-0123456789abcdef");
    let api = Logged::start(api);
    let mut worker = Command::new(binary("mindwell-worker"));
    common(&mut worker);
    worker.env("MINDWELL_METRICS_ADDR", format!("127.0.0.1:{worker_port}"));
    let worker = Logged::start(worker);

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api_port}");
    let wbase = format!("http://127.0.0.1:{worker_port}");
    wait_ready(&http, &format!("{base}/health/ready"), "the API").await;
    wait_ready(&http, &format!("{wbase}/health/ready"), "the worker").await;
    assert_eq!(http.get(format!("{wbase}/health")).send().await.expect("health").status(), 200);

    let email = format!("secret-person-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let password = "a very private passphrase";
    let note = "I keep thinking about suicide and my secret diary words zebra-quartz.";
    let signup: Value = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": password, "full_name": "Private Name"}))
        .send()
        .await
        .expect("signup")
        .json()
        .await
        .expect("json");
    let access = signup["data"]["tokens"]["access_token"].as_str().expect("token").to_owned();
    let refresh = signup["data"]["tokens"]["refresh_token"].as_str().expect("refresh").to_owned();
    let wrong = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "not the passphrase"}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);
    let request_id = format!("obs-{}", uuid::Uuid::new_v4().simple());
    let created: Value = http
        .post(format!("{base}/api/v1/checkins"))
        .bearer_auth(&access)
        .header("x-request-id", &request_id)
        .json(&json!({"mood": 2, "sleep_hours": 3, "notes": note}))
        .send()
        .await
        .expect("checkin")
        .json()
        .await
        .expect("json");
    let analysis = created["data"]["analysis_id"].as_str().expect("analysis").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body: Value = http
            .get(format!("{base}/api/v1/insights/{analysis}"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("insight")
            .json()
            .await
            .expect("json");
        if body["data"]["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "no insight: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bad = http.get(format!("{base}/api/v1/insights/not-a-uuid")).bearer_auth(&access).send().await.expect("bad");
    assert!(bad.status().is_client_error());
    for n in 0..5 {
        let probe = http.get(format!("{base}/probe-{n}/{}", uuid::Uuid::new_v4())).send().await.expect("probe");
        assert_eq!(probe.status(), 404);
    }

    // Metrics, named as the house style says.
    let api_metrics = http.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    for name in [
        "mindwell_http_requests_total{method=\"POST\",route=\"/api/v1/checkins\",status=\"202\"}",
        "mindwell_http_request_duration_seconds_bucket",
        "mindwell_jobs_enqueued_total{job=\"analyze_checkin\"}",
        // Labelled by the route matched, not the path: one series for every id,
        // one for every unknown path.
        "mindwell_http_requests_total{method=\"GET\",route=\"/api/v1/insights/{id}\",status=\"200\"}",
        "mindwell_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 5",
    ] {
        assert!(api_metrics.contains(name), "API /metrics lacks {name}:\n{api_metrics}");
    }
    assert!(!api_metrics.contains("probe-") && !api_metrics.contains(&analysis), "raw paths in labels:\n{api_metrics}");
    tokio::time::sleep(Duration::from_secs(6)).await; // one status tick for the gauges
    let metrics = http.get(format!("{wbase}/metrics")).send().await.expect("metrics").text().await.expect("text");
    for name in [
        "mindwell_jobs_started_total{job=\"analyze_checkin\"}",
        "mindwell_jobs_total{job=\"analyze_checkin\",outcome=\"succeeded\"}",
        "mindwell_job_duration_seconds_bucket{job=\"analyze_checkin\",outcome=\"succeeded\"",
        "mindwell_inference_duration_seconds_bucket{model=\"text\",version=\"encoder@1.0.0+text-heads@1.0.0+risk@1.0.0\"",
        "mindwell_inference_batch_size_bucket{model=\"risk\"",
        "mindwell_alerts_raised_total{type=\"crisis_language\",severity=\"critical\"}",
        "mindwell_models_active{model=\"risk\",version=\"1.0.0\"} 1",
        "mindwell_queue_depth{queue=\"analyze_checkin\",state=\"pending\"} 0",
        "mindwell_db_pool_connections{state=\"idle\"}",
        "mindwell_redis_up 1",
    ] {
        assert!(metrics.contains(name), "worker /metrics lacks {name}:\n{metrics}");
    }

    // Logs: JSON, the request id in the job's log, and nothing personal.
    let mut lines = api.lines();
    lines.extend(worker.lines());
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a JSON log line: {line}");
        for secret in [email.as_str(), password, "zebra-quartz", "suicide", &access, &refresh, "Private Name"] {
            assert!(!line.contains(secret), "a log line leaks {secret:?}: {line}");
        }
    }
    assert!(
        worker.lines().iter().any(|l| l.contains("analysis completed") && l.contains(&request_id)),
        "the worker's log of the job lacks the request id {request_id}: {:#?}",
        worker.lines()
    );
}

/// A local stand-in for a Sentry server and an OTLP collector: keeps each
/// request's path and body.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 8192];
                    let Ok(n) = conn.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Every complete request in the buffer: headers, then content-length bytes.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            break;
                        }
                        let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                        let body = buf[end + 4..end + 4 + len].to_vec();
                        buf.drain(..end + 4 + len);
                        seen.lock().expect("seen").push((path, body));
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if conn.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_sentry_and_spans_reach_an_otlp_collector_when_configured() {
    use mindwell_shared::telemetry::{Exporters, subscriber};
    let (addr, got) = receiver().await;
    let exporters = Exporters {
        sentry_dsn: Some(format!("http://publickey@{addr}/42").into()),
        otlp_endpoint: Some(format!("http://{addr}")),
        environment: "test".into(),
    };
    let (subscriber, guard) = subscriber("mindwell-test", "info", &exporters).expect("telemetry");
    {
        let _default = tracing::subscriber::set_default(subscriber);
        let span = tracing::info_span!("span_for_the_collector");
        let _entered = span.enter();
        tracing::error!(code = 7, "an error for the error tracker");
    }
    tokio::task::spawn_blocking(move || drop(guard)).await.expect("flush");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = got.lock().expect("got").clone();
        let sentry = got.iter().any(|(path, body)| {
            path.starts_with("/api/42/") && String::from_utf8_lossy(body).contains("an error for the error tracker")
        });
        let otlp = got
            .iter()
            .any(|(path, body)| path == "/v1/traces" && body.windows(22).any(|w| w == b"span_for_the_collector"));
        if sentry && otlp {
            break;
        }
        let paths: Vec<&String> = got.iter().map(|(p, _)| p).collect();
        assert!(Instant::now() < deadline, "sentry {sentry}, otlp {otlp}; requests: {paths:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
