//! `/api/v1/auth`: signup, login, refresh with rotation and reuse detection,
//! logout, me, the sessions list, password change and reset. One file per
//! action; what they share (the answer types here,
//! the login bookkeeping in `session`) is imported by each, never the other
//! way round.

pub mod guard;
pub mod login;
pub mod logout;
pub mod me;
pub mod password;
pub mod password_change;
pub mod password_reset;
mod rate_limit;
pub mod refresh;
mod session;
pub mod sessions;
pub mod signup;
pub mod tokens;

use mindwell_shared::entities::users;
use poem_openapi::{Object, Tags};
use uuid::Uuid;

use crate::types::Time;

#[derive(Tags)]
enum Tag {
    /// Accounts and tokens.
    Auth,
}

/// An account, as the API shows it.
#[derive(Debug, Clone, Object)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// `user`, `coach` or `admin`.
    pub role: String,
    pub created_at: Time,
    pub updated_at: Time,
    #[oai(nullable)]
    pub last_login: Option<Time>,
}

impl From<users::Model> for User {
    fn from(u: users::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            full_name: u.full_name,
            role: u.role,
            created_at: u.created_at.into(),
            updated_at: u.updated_at.into(),
            last_login: u.last_login.map(Into::into),
        }
    }
}

/// Tokens for a login: the access token authenticates, the refresh token renews it.
#[derive(Debug, Clone, Object)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// A user and their new tokens.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SignIn")]
pub struct Session {
    pub user: User,
    pub tokens: Tokens,
}
