//! The embedded default: no DATABASE_URL, no REDIS_URL. `mindwell-api
//! --with-worker` runs on a SQLite file and a SQLite job queue and starts its
//! worker as a child process: a check-in still becomes a completed insight.

use std::{
    os::unix::fs::PermissionsExt,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use mindwell_tests::{binary, free_port, repo_root};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_turns_a_checkin_into_an_insight() {
    let data = std::env::temp_dir().join(format!("mindwell-embedded-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    let root = repo_root();
    let mut api = Command::new(binary("mindwell-api"))
        .arg("--with-worker")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("MINDWELL_DATA_DIR", &data)
        .env("MINDWELL_BIND", format!("127.0.0.1:{port}"))
        .env("MINDWELL_MODEL_DIR", root.join("model-assets"))
        .env("ORT_DYLIB_PATH", mindwell_tests::ort_dylib())
        .env("MINDWELL_BCRYPT_COST", "4")
        .env("MINDWELL_COOKIE_SECURE", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start mindwell-api");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/health/ready")).send().await.ok().map(|r| r.status().as_u16()) != Some(200) {
        assert!(Instant::now() < deadline, "the embedded API did not become ready");
        assert!(api.try_wait().expect("poll").is_none(), "mindwell-api exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready: Value =
        http.get(format!("{base}/health/ready")).send().await.expect("ready").json().await.expect("json");
    assert_eq!(ready["checks"]["redis"], "embedded");

    let signup: Value = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": "first@example.com", "password": "first user pw"}))
        .send()
        .await
        .expect("signup")
        .json()
        .await
        .expect("json");
    let token = signup["data"]["tokens"]["access_token"].as_str().expect("token").to_owned();
    let created: Value = http
        .post(format!("{base}/api/v1/checkins"))
        .bearer_auth(&token)
        .json(&json!({"mood": 8, "sleep_hours": 7, "notes": "A calm and happy evening with family."}))
        .send()
        .await
        .expect("checkin")
        .json()
        .await
        .expect("json");
    let analysis = created["data"]["analysis_id"].as_str().expect("analysis id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let insight = loop {
        let body: Value = http
            .get(format!("{base}/api/v1/insights/{analysis}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("insight")
            .json()
            .await
            .expect("json");
        if body["data"]["status"] == "completed" || body["data"]["status"] == "failed" {
            break body["data"].clone();
        }
        assert!(Instant::now() < deadline, "insight still {}", body["data"]["status"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(insight["status"], "completed", "{insight}");
    assert_eq!(insight["labels"]["sentiment"]["label"], "positive");

    // SIGTERM: the API and its worker stop cleanly.
    Command::new("kill").arg("-TERM").arg(api.id().to_string()).status().expect("kill");
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = api.try_wait().expect("poll") {
            break s;
        }
        assert!(Instant::now() < deadline, "mindwell-api did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_data_folder_and_its_sqlite_files_are_private() {
    let data = std::env::temp_dir().join(format!("mindwell-private-{}", uuid::Uuid::new_v4().simple()));
    // An existing, too open folder is tightened too.
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let port = free_port();
    let mut api = Command::new(binary("mindwell-api"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("MINDWELL_ENV")
        .env_remove("MINDWELL_JWT_SECRET")
        .env("MINDWELL_DATA_DIR", &data)
        .env("MINDWELL_BIND", format!("127.0.0.1:{port}"))
        .env("MINDWELL_BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start mindwell-api");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("http://127.0.0.1:{port}/health/ready")).send().await.ok().map(|r| r.status().as_u16())
        != Some(200)
    {
        assert!(Instant::now() < deadline, "the embedded API did not become ready");
        assert!(api.try_wait().expect("poll").is_none(), "mindwell-api exited early");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signup = http
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/signup"))
        .json(&json!({"email": "private@example.com", "password": "private user pw"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status().as_u16(), 201);

    let mode = |name: &str| {
        let path = data.join(name);
        std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).ok()
    };
    assert_eq!(mode(""), Some(0o700), "the data folder");
    assert_eq!(mode("mindwell.sqlite"), Some(0o600));
    assert_eq!(mode("queue.sqlite"), Some(0o600));
    assert_eq!(mode("mindwell.sqlite-wal"), Some(0o600), "WAL is on, so the file exists while the API runs");
    assert_eq!(mode("mindwell.sqlite-shm"), Some(0o600));
    for side in ["queue.sqlite-wal", "queue.sqlite-shm", "queue.sqlite-journal", "mindwell.sqlite-journal"] {
        assert!(matches!(mode(side), None | Some(0o600)), "{side}: {:o}", mode(side).unwrap_or_default());
    }
    let mut others = std::fs::read_dir(&data).expect("list").flatten();
    assert!(others.all(|e| e.metadata().is_ok_and(|m| m.permissions().mode() & 0o077 == 0)), "every file is private");

    Command::new("kill").arg("-TERM").arg(api.id().to_string()).status().expect("kill");
    let _ = api.wait();
    let _ = std::fs::remove_dir_all(&data);
}
