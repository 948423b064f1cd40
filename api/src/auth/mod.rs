//! `/api/v1/auth`: signup, login, refresh with rotation and reuse detection,
//! logout, me.

pub mod guard;
pub mod password;
mod rate_limit;
pub mod tokens;

use chrono::Duration;
use mindwell_shared::{
    entities::{refresh_tokens, user_settings, users},
    now,
};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi, Tags};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use self::{
    guard::{Auth, presented_token},
    password::{Email, Password},
    tokens::keys,
};
use crate::{
    audit,
    body::{Body, Fields, FromJson, OptionalBody, Reply, created, ok},
    error::ApiError,
    state::AppState,
    types::{Empty, Time},
};

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
pub struct Session {
    pub user: User,
    pub tokens: Tokens,
}

/// New tokens only.
#[derive(Debug, Clone, Object)]
pub struct Refreshed {
    pub tokens: Tokens,
}

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
        let password = f.string("password").and_then(|p| Password::parse(p).map_err(|r| f.error("password", r)).ok());
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

/// `POST /auth/refresh` and `/auth/logout` body: the refresh token, or none
/// when the cookie carries it.
#[derive(Debug, Clone, Default, Object)]
pub struct RefreshRequest {
    #[oai(nullable)]
    pub refresh_token: Option<String>,
}

impl FromJson for RefreshRequest {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        Some(Self { refresh_token: f.opt_string("refresh_token")? })
    }
}

crate::body::schema_as!(Login, LoginRequest);

/// The auth endpoints.
#[derive(Debug, Default)]
pub struct AuthApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl AuthApi {
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
            role: guard::role::USER.into(),
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
        user_settings::ActiveModel {
            user_id: Set(user.id),
            timezone: Set("UTC".into()),
            language: Set("en".into()),
            notify_email: Set(false),
            notify_push: Set(true),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await?;
        audit::record(&txn, Some(user.id), "user.signup", json!({})).await?;
        let tokens = start_login(&txn, &state, &user, Uuid::now_v7()).await?;
        txn.commit().await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(created(Session { user: user.into(), tokens }))
    }

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

    /// Trade a refresh token for new tokens; the old refresh token dies.
    /// Presenting a rotated one again revokes the whole login (`token_reused`).
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        body: OptionalBody<RefreshRequest>,
    ) -> Result<Reply<Refreshed>, ApiError> {
        rate_limit::check(&state, req, None).await?;
        let presented = body
            .value
            .refresh_token
            .or_else(|| jar.get("refresh_token").map(|c| c.value_str().to_owned()))
            .ok_or(ApiError::Unauthorized)?;
        let token = find_refresh(&state, &presented).await?.ok_or(ApiError::Unauthorized)?;
        if token.used_at.is_some() {
            revoke_family(&state, token.family_id, token.user_id).await?;
            return Err(ApiError::TokenReused);
        }
        if token.revoked_at.is_some() || token.expires_at <= now() {
            return Err(ApiError::Unauthorized);
        }
        let user = users::Entity::find_by_id(token.user_id)
            .one(&state.db)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthorized)?;
        let txn = state.db.begin().await?;
        let used = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now()))
            .filter(refresh_tokens::Column::Id.eq(token.id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if used.rows_affected == 0 {
            // Another request rotated it first: this is a replay.
            txn.rollback().await?;
            revoke_family(&state, token.family_id, token.user_id).await?;
            return Err(ApiError::TokenReused);
        }
        let tokens = start_login(&txn, &state, &user, token.family_id).await?;
        txn.commit().await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(ok(Refreshed { tokens }))
    }

    /// Sign out: the refresh token's login and the presenting access token stop
    /// working at once.
    #[oai(path = "/logout", method = "post")]
    async fn logout(
        &self,
        state: poem::web::Data<&AppState>,
        req: &Request,
        jar: &CookieJar,
        body: OptionalBody<RefreshRequest>,
    ) -> Result<Reply<Empty>, ApiError> {
        rate_limit::check(&state, req, None).await?;
        let access = match presented_token(req) {
            Some(t) => Some(guard::authenticate(&state, &t).await?),
            None => None,
        };
        let presented = body.value.refresh_token.or_else(|| jar.get("refresh_token").map(|c| c.value_str().to_owned()));
        let refresh = match presented {
            Some(t) => find_refresh(&state, &t).await?,
            None => None,
        };
        if let (Some(a), Some(r)) = (&access, &refresh)
            && a.id != r.user_id
        {
            return Err(ApiError::Unauthorized);
        }
        let user_id =
            access.as_ref().map(|a| a.id).or(refresh.as_ref().map(|r| r.user_id)).ok_or(ApiError::Unauthorized)?;
        if let Some(a) = &access {
            let ttl = a.claims.exp - chrono::Utc::now().timestamp() + 10;
            state.kv.set(&keys::jti(a.claims.jti), "1", ttl).await?;
        }
        let families: Vec<Uuid> =
            access.iter().map(|a| a.claims.fam).chain(refresh.iter().map(|r| r.family_id)).collect();
        for family in families {
            refresh_tokens::Entity::update_many()
                .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
                .filter(refresh_tokens::Column::FamilyId.eq(family))
                .filter(refresh_tokens::Column::RevokedAt.is_null())
                .exec(&state.db)
                .await?;
        }
        audit::record(&state.db, Some(user_id), "auth.logout", json!({})).await?;
        tokens::clear_cookies(jar, &state.config);
        Ok(ok(Empty {}))
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<User>, ApiError> {
        let user = users::Entity::find_by_id(auth.0.id)
            .one(&state.db)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::Unauthorized)?;
        Ok(ok(user.into()))
    }
}

/// The stored refresh token `presented` stands for, if any.
async fn find_refresh(state: &AppState, presented: &str) -> Result<Option<refresh_tokens::Model>, ApiError> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(tokens::hash_refresh_token(presented)))
        .one(&state.db)
        .await?)
}

/// Stores a new refresh token in `family` and signs an access token.
async fn start_login<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user: &users::Model,
    family: Uuid,
) -> Result<Tokens, ApiError> {
    let refresh = tokens::new_refresh_token();
    let at = now();
    refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(tokens::hash_refresh_token(&refresh)),
        created_at: Set(at),
        expires_at: Set(at + Duration::seconds(state.config.refresh_ttl_secs)),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    let (access, _) = state.jwt.issue(user.id, &user.role, family)?;
    Ok(Tokens {
        access_token: access,
        refresh_token: refresh,
        token_type: "bearer".into(),
        expires_in: state.jwt.access_ttl,
    })
}

/// Revokes every refresh token of a login and every access token issued in it.
async fn revoke_family(state: &AppState, family: Uuid, user: Uuid) -> Result<(), ApiError> {
    state.kv.set(&keys::family(family), "1", state.jwt.access_ttl + 10).await?;
    let txn = state.db.begin().await?;
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    audit::record(&txn, Some(user), "auth.refresh_reuse", json!({ "family_id": family })).await?;
    txn.commit().await?;
    Ok(())
}
