//! Accounts for tests: unique emails, signed-up users, the bootstrap admin and
//! coaches.

use serde_json::json;

use crate::TestApp;

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

/// A unique email for a test.
pub fn email(tag: &str) -> String {
    format!("{tag}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// The bootstrap admin's credentials in [`TestApp::spawn_with_admin`].
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// See [`ADMIN_EMAIL`].
pub const ADMIN_PASSWORD: &str = "admin password 1";

impl TestApp {
    /// Signs up `email` (password `correct horse battery`).
    pub async fn signup(&self, email: &str) -> TestUser {
        let password = "correct horse battery".to_owned();
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": email, "password": password, "full_name": "Test User"})),
            )
            .await;
        assert_eq!(status, 201, "signup failed: {body}");
        TestUser {
            id: body["data"]["user"]["id"].as_str().expect("id").to_owned(),
            email: email.to_lowercase(),
            password,
            access: body["data"]["tokens"]["access_token"].as_str().expect("access").to_owned(),
            refresh: body["data"]["tokens"]["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// An API with a bootstrap admin, and that admin's access token.
    pub async fn spawn_with_admin() -> (Self, String) {
        let app = Self::spawn_with(|c| {
            c.admin = Some((ADMIN_EMAIL.into(), mindwell_api::config::Secret::new(ADMIN_PASSWORD)));
        })
        .await;
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        (app, token)
    }

    /// Signs in; returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) =
            self.call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await;
        assert_eq!(status, 200, "login failed: {body}");
        body["data"]["tokens"]["access_token"].as_str().expect("token").to_owned()
    }

    /// Signs up a user and makes them a coach (through the admin API); returns
    /// them with a fresh token carrying the new role.
    pub async fn coach(&self, admin: &str, email: &str) -> TestUser {
        let mut user = self.signup(email).await;
        let (status, body) = self
            .call("PATCH", &format!("/api/v1/admin/users/{}", user.id), Some(admin), Some(json!({"role": "coach"})))
            .await;
        assert_eq!(status, 200, "promote: {body}");
        user.access = self.login(&user.email, &user.password).await;
        user
    }
}
