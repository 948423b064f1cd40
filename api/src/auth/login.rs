//! `POST /api/v1/auth/login`: sign in with email and password.

use hmac::{Hmac, Mac};
use mindwell_shared::{domain::audit, entities::users, now};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::{
    Session, Tag,
    password::{self, Password},
    rate_limit,
    session::begin_session,
    tokens,
};
use crate::{
    body::{Body, Fields, FromJson, Reply, ok},
    error::ApiError,
    state::AppState,
};

/// `POST /auth/login` body.
#[derive(Debug, Clone, Object)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Parsed login.
#[derive(Debug)]
pub struct Login {
    email: String,
    password: String,
}

impl FromJson for Login {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let email = f.string("email");
        let password = f.string("password");
        Some(Self { email: email?.trim().to_lowercase(), password: password? })
    }
}

crate::body::schema_as!(Login, LoginRequest);

/// The login endpoint.
#[derive(Debug, Default)]
pub struct LoginApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl LoginApi {
    /// Sign in with email and password.
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        body: Body<Login>,
    ) -> Result<Reply<Session>, ApiError> {
        let l = body.value;
        rate_limit::check(&state, req, Some(&l.email)).await?;
        let user = users::Entity::find().filter(users::Column::Email.eq(&l.email)).one(&state.db).await?;
        let password = Password::parse(l.password).ok();
        // Always run bcrypt, against a dummy hash when the account is unknown.
        let hash = user.as_ref().map_or_else(|| state.dummy_hash.to_string(), |u| u.password_hash.clone());
        let matches = match password.clone() {
            Some(p) => password::verify(p, hash).await?,
            None => {
                let _ = password::verify(
                    Password::parse("x".repeat(8)).map_err(|_| ApiError::Internal("dummy".into()))?,
                    hash,
                )
                .await;
                false
            }
        };
        let user = match user {
            Some(u) if matches && !u.disabled => u,
            other => {
                let reason = if matches { "disabled" } else { "bad_credentials" };
                let context = failed_login_context(&state, req, reason, other.map(|u| u.id), &l.email);
                audit::record(&state.db, None, "auth.login_failed", context).await?;
                return Err(ApiError::InvalidCredentials);
            }
        };
        let at = now();
        let txn = state.db.begin().await?;
        users::Entity::update_many()
            .col_expr(users::Column::LastLogin, Expr::value(at))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        audit::record(&txn, Some(user.id), "auth.login", json!({})).await?;
        let tokens = begin_session(&txn, &state, &user, Uuid::now_v7(), req).await?;
        txn.commit().await?;
        if let Some(p) = password {
            rehash_if_cost_changed(&state, &user, p).await;
        }
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(ok(Session { user: users::Model { last_login: Some(at), ..user }.into(), tokens }))
    }
}

/// The audit context of a failed login: who was targeted and from where, so an
/// operator can see credential stuffing against one account. The target is
/// the account's id when the email exists, else [`email_tag`]; never the email.
fn failed_login_context(state: &AppState, req: &Request, reason: &str, user: Option<Uuid>, email: &str) -> Value {
    let ip = rate_limit::client_ip(state, req);
    match user {
        Some(id) => json!({ "reason": reason, "user_id": id, "ip": ip }),
        None => json!({ "reason": reason, "email_hmac": email_tag(state.config.jwt_secret.expose(), email), "ip": ip }),
    }
}

/// HMAC-SHA256 of a normalised email keyed with the server's JWT secret
/// (domain-separated by a prefix), hex of its first 16 bytes: stable for one
/// deployment, so failures against one unknown address group together, and
/// not reversible by hashing guessed emails without the key.
fn email_tag(key: &str, email: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"mindwell audit email\0");
    mac.update(email.trim().to_lowercase().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Rehashes the password at the configured cost when the stored hash was made
/// with another (`MINDWELL_BCRYPT_COST` changed). Best effort: a failure is
/// logged and the login goes on. The update lands only while the stored hash
/// is still the one just verified, so a concurrent password change wins.
async fn rehash_if_cost_changed(state: &AppState, user: &users::Model, password: Password) {
    if password::cost(&user.password_hash) == Some(state.config.bcrypt_cost) {
        return;
    }
    let rehash = async {
        let hash = password::hash(password, state.config.bcrypt_cost).await?;
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .filter(users::Column::Id.eq(user.id))
            .filter(users::Column::PasswordHash.eq(user.password_hash.as_str()))
            .exec(&state.db)
            .await?;
        Ok::<_, ApiError>(())
    };
    match rehash.await {
        Ok(()) => tracing::info!(user = %user.id, cost = state.config.bcrypt_cost, "password rehashed"),
        Err(e) => tracing::warn!(user = %user.id, error = %e, "password rehash failed; the old hash stays"),
    }
}

#[cfg(test)]
mod tests {
    use super::email_tag;

    #[test]
    fn the_email_tag_is_keyed_normalised_and_holds_no_email() {
        let tag = email_tag("key one", "Ada@Example.com ");
        assert_eq!(tag, email_tag("key one", "ada@example.com"));
        assert_ne!(tag, email_tag("key two", "ada@example.com"));
        assert_eq!(tag.len(), 32);
        assert!(!tag.contains("ada"));
    }
}
