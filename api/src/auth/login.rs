//! `POST /api/v1/auth/login`: sign in with email and password.

use mindwell_shared::{domain::audit, entities::users, now};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{
    Session, Tag,
    password::{self, Password},
    rate_limit,
    session::start_login,
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
        let matches = match password {
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
        let Some(user) = user.filter(|u| matches && !u.disabled) else {
            let reason = if matches { "disabled" } else { "bad_credentials" };
            audit::record(&state.db, None, "auth.login_failed", json!({ "reason": reason })).await?;
            return Err(ApiError::InvalidCredentials);
        };
        let at = now();
        let txn = state.db.begin().await?;
        users::Entity::update_many()
            .col_expr(users::Column::LastLogin, Expr::value(at))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        audit::record(&txn, Some(user.id), "auth.login", json!({})).await?;
        let tokens = start_login(&txn, &state, &user, Uuid::now_v7()).await?;
        txn.commit().await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(ok(Session { user: users::Model { last_login: Some(at), ..user }.into(), tokens }))
    }
}
