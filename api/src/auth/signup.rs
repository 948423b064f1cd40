//! `POST /api/v1/auth/signup`: create an account and sign in.

use mindwell_shared::{
    domain::{Role, audit, settings},
    entities::{user_settings, users},
    now,
};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ActiveModelTrait, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::{
    Session, Tag,
    password::{self, Email, Password},
    rate_limit,
    session::begin_session,
    tokens,
};
use crate::{
    body::{Body, Fields, FromJson, Reply, created},
    error::ApiError,
    state::AppState,
};

/// `POST /auth/signup` body.
#[derive(Debug, Clone, Object)]
pub struct SignupRequest {
    /// Stored lower-case.
    pub email: String,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
    #[oai(nullable)]
    pub full_name: Option<String>,
}

/// Parsed signup.
#[derive(Debug)]
pub struct Signup {
    email: Email,
    password: Password,
    full_name: Option<String>,
}

crate::body::schema_as!(Signup, SignupRequest);

impl FromJson for Signup {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let email = f.string("email").and_then(|e| Email::parse(&e).map_err(|r| f.error("email", r)).ok());
        let password =
            f.string("password").and_then(|p| Password::parse_new(p).map_err(|r| f.error("password", r)).ok());
        let full_name = f.opt_string("full_name").and_then(|n| match n.map(|s| s.trim().to_owned()) {
            Some(s) if s.chars().count() > 200 => {
                f.error("full_name", "must be at most 200 characters");
                None
            }
            Some(s) if s.is_empty() => Some(None),
            other => Some(other),
        });
        Some(Self { email: email?, password: password?, full_name: full_name? })
    }
}

/// The signup endpoint.
#[derive(Debug, Default)]
pub struct SignupApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl SignupApi {
    /// Create an account (role `user`) and sign in.
    #[oai(path = "/signup", method = "post")]
    async fn signup(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        body: Body<Signup>,
    ) -> Result<Reply<Session, 201>, ApiError> {
        let s = body.value;
        rate_limit::check(&state, req, Some(s.email.as_str())).await?;
        let hash = password::hash(s.password, state.config.bcrypt_cost).await?;
        let at = now();
        let user = users::Model {
            id: Uuid::now_v7(),
            email: s.email.as_str().to_owned(),
            password_hash: hash,
            full_name: s.full_name,
            role: Role::User.into(),
            disabled: false,
            created_at: at,
            updated_at: at,
            last_login: Some(at),
        };
        let txn = state.db.begin().await?;
        let inserted = users::Entity::insert(users::ActiveModel::from(user.clone()))
            .on_conflict_do_nothing_on([users::Column::Email])
            .exec(&txn)
            .await?;
        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
            return Err(ApiError::EmailTaken);
        }
        user_settings::ActiveModel::from(user_settings::Model { updated_at: at, ..settings::defaults(user.id) })
            .insert(&txn)
            .await?;
        audit::record(&txn, Some(user.id), "user.signup", json!({})).await?;
        let tokens = begin_session(&txn, &state, &user, Uuid::now_v7(), req).await?;
        txn.commit().await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(created(Session { user: user.into(), tokens }))
    }
}
