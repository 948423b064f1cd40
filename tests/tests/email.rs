//! Email is opt-in, recorded, and never carries what the user wrote.

use std::time::Duration;

use mindwell_shared::entities::audit_logs;
use mindwell_tests::{TestApp, WorkerHandle, email, fake_smtp, worker_config};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crisis_email_goes_only_to_users_who_opted_in_and_holds_no_note_text() {
    let app = TestApp::spawn().await;
    let (smtp, mut inbox) = fake_smtp().await;
    let mut config = worker_config(app.backends.clone());
    config.smtp = Some((smtp.into(), "MindWell <care@example.com>".into()));
    let worker = WorkerHandle::start(config).await;

    let quiet = app.signup(&email("quiet")).await;
    let (_, a) = app.checkin(&quiet, json!({"mood": 2, "sleep_hours": 4, "notes": "I want to end my life"})).await;
    app.wait_for_insight(&quiet, &a, Duration::from_secs(30)).await;
    assert!(inbox.try_recv().is_err(), "no email without opt-in");

    let keen = app.signup(&email("keen")).await;
    let (status, _) = app
        .call("PUT", "/api/v1/me/settings", Some(&keen.access), Some(json!({"notifications": {"email": true}})))
        .await;
    assert_eq!(status, 200);
    let opted = audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("notifications.email_opted_in"))
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(opted, 1, "the opt-in is recorded");
    let secret = "my sister's wedding in Lisbon";
    let (_, a) = app
        .checkin(&keen, json!({"mood": 2, "sleep_hours": 4, "notes": format!("After {secret} I want to end my life")}))
        .await;
    app.wait_for_insight(&keen, &a, Duration::from_secs(30)).await;
    let (to, data) =
        tokio::time::timeout(Duration::from_secs(10), inbox.recv()).await.expect("an email").expect("open");
    assert_eq!(to, keen.email);
    assert!(data.contains("988"), "carries crisis resources: {data}");
    assert!(!data.contains("Lisbon") && !data.contains("end my life"), "no note text: {data}");
    worker.stop().await;
}
