//! `POST /api/v1/auth/password`: change the password while signed in. The
//! change starts a new session and ends every other one.

use mindwell_shared::{domain::audit, entities::users, now};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{
    Tag,
    guard::Auth,
    password::{self, Password},
    rate_limit,
    refresh::Refreshed,
    session::begin_session,
    session::mark_ended,
    sessions::{Which, end_sessions},
    tokens,
};
use crate::{
    body::{Body, Fields, FromJson, Reply, ok},
    error::ApiError,
    state::AppState,
};

/// `POST /auth/password` body.
#[derive(Debug, Clone, Object)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// Parsed password change.
#[derive(Debug)]
pub struct PasswordChange {
    current: String,
    new: Password,
}

crate::body::schema_as!(PasswordChange, PasswordChangeRequest);

impl FromJson for PasswordChange {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let current = f.string("current_password");
        let new =
            f.string("new_password").and_then(|p| Password::parse_new(p).map_err(|r| f.error("new_password", r)).ok());
        Some(Self { current: current?, new: new? })
    }
}

/// The password change endpoint.
#[derive(Debug, Default)]
pub struct PasswordChangeApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl PasswordChangeApi {
    /// Change the caller's password. Answers new tokens (a new session); every
    /// other session of the caller ends at once. A wrong current password is
    /// 401 `invalid_credentials`.
    #[oai(path = "/password", method = "post")]
    async fn change(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        auth: Auth,
        body: Body<PasswordChange>,
    ) -> Result<Reply<Refreshed>, ApiError> {
        let c = body.value;
        let user = users::Entity::find_by_id(auth.0.id)
            .one(&state.db)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthorized)?;
        rate_limit::check(&state, req, Some(&user.email)).await?;
        let matches = match Password::parse(c.current) {
            Ok(p) => password::verify(p, user.password_hash.clone()).await?,
            Err(_) => false,
        };
        if !matches {
            return Err(ApiError::InvalidCredentials);
        }
        let hash = password::hash(c.new, state.config.bcrypt_cost).await?;
        let family = Uuid::now_v7();
        let txn = state.db.begin().await?;
        users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(now()))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        let ended = end_sessions(&txn, &state, user.id, Which::AllBut(Some(family))).await?;
        let tokens = begin_session(&txn, &state, &user, family, req).await?;
        audit::record(&txn, Some(user.id), "auth.password_changed", json!({ "session_ids_ended": ended })).await?;
        txn.commit().await?;
        mark_ended(&state, &ended).await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(ok(Refreshed { tokens }))
    }
}
