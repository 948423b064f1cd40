//! The contract's consent scopes, proved with a canary word in the notes:
//! `trends` shows numbers only (no quote, nothing the notes made, no
//! note-derived alert payload), `insights` adds them, `assessments` alone opens
//! neither the dashboard nor the alerts; and a summary never quotes a sentence
//! the crisis detector flags, to anyone.

use std::time::Duration;

use chrono::Utc;
use mindwell_shared::jobs::{GenerateSummary, Period};
use mindwell_tests::{TestApp, TestUser, email};
use serde_json::{Value, json};
use uuid::Uuid;

const CANARY: &str = "zebracanary";
const WAIT: Duration = Duration::from_secs(45);

/// A user whose day holds the canary, a crisis sentence and short sleep, with
/// its analyses done and its daily summary written; a coach per scope.
struct Scene {
    app: TestApp,
    user: TestUser,
    coaches: Vec<(&'static str, TestUser)>,
}

async fn scene() -> Scene {
    let (app, admin) = TestApp::spawn_with_admin().await;
    let worker = app.start_worker().await;
    let user = app.signup(&email("scoped")).await;
    let notes = [
        format!("The {CANARY} walked beside me all morning. I want to kill myself tonight."),
        format!("Work was heavy and I kept thinking about {CANARY} deadlines all day."),
    ];
    for note in &notes {
        let (_, analysis) = app.checkin(&user, json!({"mood": 3, "sleep_hours": 4, "notes": note})).await;
        app.wait_for_insight(&user, &analysis, WAIT).await;
    }
    let job = GenerateSummary {
        user_id: Uuid::parse_str(&user.id).expect("uuid"),
        period: Period::Daily,
        start: Utc::now().date_naive(),
    };
    app.state.queue.push(job).await.expect("push");
    let deadline = std::time::Instant::now() + WAIT;
    while summaries(&app, &user).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no summary written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.stop().await;

    let mut coaches = Vec::new();
    for scope in ["trends", "insights", "assessments"] {
        let coach = app.coach(&admin, &email(&format!("coach-{scope}"))).await;
        let body = json!({"coach_id": coach.id, "scope": scope});
        let (status, consent) = app.call("POST", "/api/v1/me/consents", Some(&user.access), Some(body)).await;
        assert_eq!(status, 201, "{consent}");
        coaches.push((scope, coach));
    }
    Scene { app, user, coaches }
}

async fn summaries(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let (_, page) = app.call("GET", "/api/v1/summaries?period=daily", Some(&user.access), None).await;
    page["data"]["items"].as_array().cloned().unwrap_or_default()
}

impl Scene {
    fn coach(&self, scope: &str) -> &TestUser {
        &self.coaches.iter().find(|(s, _)| *s == scope).expect("coach").1
    }

    async fn dashboard(&self, scope: &str) -> (u16, Value) {
        let path = format!("/api/v1/coach/users/{}/dashboard", self.user.id);
        self.app.call("GET", &path, Some(&self.coach(scope).access), None).await
    }

    /// The user's alerts as the coach of `scope` lists them, by type.
    async fn alerts(&self, scope: &str) -> Vec<Value> {
        let (status, page) = self.app.call("GET", "/api/v1/alerts", Some(&self.coach(scope).access), None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["data"]["items"].as_array().cloned().unwrap_or_default();
        items.into_iter().filter(|a| a["user_id"] == self.user.id.as_str()).collect()
    }
}

fn of_type<'a>(alerts: &'a [Value], kind: &str) -> &'a Value {
    alerts.iter().find(|a| a["type"] == kind).unwrap_or_else(|| panic!("no {kind} alert in {alerts:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scopes_decide_what_a_coach_reads_of_the_notes_and_a_crisis_is_never_quoted() {
    let s = scene().await;

    // The user's own summary quotes their notes, but never the crisis sentence:
    // it says a hard moment was noted and where help is.
    let own = summaries(&s.app, &s.user).await;
    let text = own[0]["summary"].as_str().expect("text");
    assert!(text.contains(CANARY) && text.contains("In your words"), "{text}");
    assert!(!text.contains("kill myself"), "a crisis sentence was quoted: {text}");
    assert!(text.contains("very hard moment") && text.contains("988"), "{text}");

    // trends: numbers only. The canary appears nowhere in what the coach reads.
    let (status, dash) = s.dashboard("trends").await;
    assert_eq!(status, 200, "{dash}");
    assert!(!dash.to_string().contains(CANARY), "trends dashboard leaks the notes: {dash}");
    assert_eq!(dash["data"]["recent_insights"], json!([]));
    let summary = &dash["data"]["latest_summary"];
    let text = summary["summary"].as_str().expect("template text");
    assert!(text.starts_with("On ") && !text.contains("In your words") && !text.contains("hard moment"), "{text}");
    assert!(summary["metrics"].get("emotions").is_none() && summary["metrics"]["checkins"] == 2, "{summary}");
    let alerts = s.alerts("trends").await;
    assert!(!Value::from(alerts.clone()).to_string().contains("kill"), "{alerts:?}");
    assert_eq!(of_type(&alerts, "crisis_language")["payload"], json!({}));
    assert_eq!(of_type(&alerts, "low_sleep")["payload"]["sleep_hours"], 4.0, "numbers stay");

    // insights adds the quotes, the insights and the note-derived payloads.
    let (status, dash) = s.dashboard("insights").await;
    assert_eq!(status, 200, "{dash}");
    assert!(dash["data"]["latest_summary"]["summary"].as_str().is_some_and(|t| t.contains(CANARY)), "{dash}");
    assert_eq!(dash["data"]["recent_insights"].as_array().map(Vec::len), Some(2));
    let alerts = s.alerts("insights").await;
    assert!(of_type(&alerts, "crisis_language")["payload"]["matched"].is_array(), "{alerts:?}");

    // assessments alone opens neither the dashboard nor the user's alerts.
    assert_eq!(s.dashboard("assessments").await.0, 403);
    assert!(s.alerts("assessments").await.is_empty());
}
