//! Data a test builds on: check-ins, the insights they lead to, and alerts
//! stored directly.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{TestApp, TestUser};

impl TestApp {
    /// Posts a check-in; returns `(checkin id, analysis id)`.
    pub async fn checkin(&self, user: &TestUser, body: Value) -> (String, String) {
        let (status, resp) = self.call("POST", "/api/v1/checkins", Some(&user.access), Some(body)).await;
        assert_eq!(status, 202, "checkin failed: {resp}");
        (
            resp["data"]["checkin"]["id"].as_str().expect("checkin id").to_owned(),
            resp["data"]["analysis_id"].as_str().expect("analysis id").to_owned(),
        )
    }

    /// Polls an insight until it is `completed` or `failed`.
    pub async fn wait_for_insight(&self, user: &TestUser, analysis_id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) =
                self.call("GET", &format!("/api/v1/insights/{analysis_id}"), Some(&user.access), None).await;
            assert_eq!(status, 200, "insight: {body}");
            let s = body["data"]["status"].as_str().unwrap_or_default();
            if s == "completed" || s == "failed" {
                return body["data"].clone();
            }
            assert!(Instant::now() < deadline, "insight {analysis_id} still {s} after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Stores an alert for `user` directly (as a worker would).
    pub async fn insert_alert(&self, user: &TestUser, kind: &str, status: &str) -> String {
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let id = uuid::Uuid::now_v7();
        let at = mindwell_shared::now();
        mindwell_shared::entities::alerts::Entity::insert(mindwell_shared::entities::alerts::ActiveModel {
            id: Set(id),
            user_id: Set(uuid::Uuid::parse_str(&user.id).expect("uuid")),
            checkin_id: Set(None),
            ai_result_id: Set(None),
            r#type: Set(kind.into()),
            severity: Set("warning".into()),
            status: Set(status.into()),
            payload: Set(json!({})),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(self.db())
        .await
        .expect("insert alert");
        id.to_string()
    }
}
