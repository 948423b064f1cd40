//! `POST /api/v1/auth/password-reset` and `/password-reset/confirm`: a
//! forgotten password, reset with a single-use code sent by email.
//!
//! The API never talks SMTP and never sees the code in clear: it enqueues a
//! job for every request, known email or not (the same work either way, so
//! neither the answer nor its timing tells whether an account exists), and the
//! worker issues and mails the code (`mindwell_shared::domain::password_reset`).

use mindwell_shared::{
    domain::{audit, password_reset},
    entities::users,
    jobs::SendPasswordReset,
    now,
};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{
    Tag,
    password::{self, Email, Password},
    rate_limit,
    session::mark_ended,
    sessions::{Which, end_sessions},
    tokens,
};
use crate::{
    body::{Body, Fields, FromJson, Reply, accepted, ok},
    error::{ApiError, failure},
    state::AppState,
    types::Empty,
};

/// `POST /auth/password-reset` body.
#[derive(Debug, Clone, Object)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Parsed reset request.
#[derive(Debug)]
pub struct ResetRequest {
    email: Email,
}

crate::body::schema_as!(ResetRequest, PasswordResetRequest);

impl FromJson for ResetRequest {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let email = f.string("email").and_then(|e| Email::parse(&e).map_err(|r| f.error("email", r)).ok());
        Some(Self { email: email? })
    }
}

/// `POST /auth/password-reset/confirm` body.
#[derive(Debug, Clone, Object)]
pub struct PasswordResetConfirmRequest {
    pub email: String,
    /// The code from the email.
    pub code: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// Parsed reset confirmation.
pub struct ResetConfirm {
    email: String,
    code: String,
    new: Password,
}

impl std::fmt::Debug for ResetConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetConfirm").field("email", &self.email).finish_non_exhaustive()
    }
}

crate::body::schema_as!(ResetConfirm, PasswordResetConfirmRequest);

impl FromJson for ResetConfirm {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let email = f.string("email");
        let code = f.string("code");
        let new =
            f.string("new_password").and_then(|p| Password::parse_new(p).map_err(|r| f.error("new_password", r)).ok());
        Some(Self { email: email?.trim().to_lowercase(), code: code?, new: new? })
    }
}

/// The password reset endpoints.
#[derive(Debug, Default)]
pub struct PasswordResetApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl PasswordResetApi {
    /// Ask for a password reset code by email. Always 202 `{}`, whether or not
    /// the account exists; an existing account is sent a single-use code, valid
    /// 30 minutes, that a newer request replaces.
    #[oai(path = "/password-reset", method = "post")]
    async fn request(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        body: Body<ResetRequest>,
    ) -> Result<Reply<Empty, 202>, ApiError> {
        let email = body.value.email;
        rate_limit::check(&state, req, Some(email.as_str())).await?;
        let job = SendPasswordReset { request_id: Uuid::now_v7(), email: email.as_str().to_owned() };
        state.queue.push(job).await.map_err(|e| ApiError::Unavailable(failure("queue", e)))?;
        Ok(accepted(Empty {}))
    }

    /// Set a new password with the emailed code. Every session of the account
    /// ends. A wrong, used or expired code is 401 `invalid_credentials`; five
    /// wrong codes kill the code.
    #[oai(path = "/password-reset/confirm", method = "post")]
    async fn confirm(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        body: Body<ResetConfirm>,
    ) -> Result<Reply<Empty>, ApiError> {
        let c = body.value;
        rate_limit::check(&state, req, Some(&c.email)).await?;
        // Hashed first, known account or not (the timing tells nothing), and
        // before the code is spent, so a spent code always sets the password.
        let hash = password::hash(c.new, state.config.bcrypt_cost).await?;
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(&c.email))
            .one(&state.db)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::InvalidCredentials)?;
        let at = now();
        let txn = state.db.begin().await?;
        if password_reset::spend(&txn, user.id, &c.code, at).await? != password_reset::Check::Spent {
            // The wrong try is counted even though the answer is an error.
            txn.commit().await?;
            return Err(ApiError::InvalidCredentials);
        }
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(at))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        let ended = end_sessions(&txn, &state, user.id, Which::AllBut(None)).await?;
        audit::record(&txn, Some(user.id), "auth.password_reset", json!({ "session_ids_ended": ended })).await?;
        txn.commit().await?;
        mark_ended(&state, &ended).await?;
        tokens::clear_cookies(jar, &state.config);
        Ok(ok(Empty {}))
    }
}
