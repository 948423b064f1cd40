//! What every way of signing in shares: storing a refresh token and signing
//! an access token, finding a presented refresh token, revoking a login.

use chrono::Duration;
use mindwell_shared::{
    domain::audit,
    entities::{refresh_tokens, sessions, users},
    now,
};
use poem::Request;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Tokens,
    tokens::{self, keys},
};
use crate::{error::ApiError, state::AppState};

/// The stored refresh token `presented` stands for, if any.
pub(super) async fn find_refresh(state: &AppState, presented: &str) -> Result<Option<refresh_tokens::Model>, ApiError> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(tokens::hash_refresh_token(presented)))
        .one(&state.db)
        .await?)
}

/// Stores a new refresh token in `family` and signs an access token.
pub(super) async fn start_login<C: ConnectionTrait>(
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

/// The longest `User-Agent` kept with a session, in characters.
const USER_AGENT_MAX: usize = 255;

/// Starts login `family` for `user` from the client of `req`: records the
/// session (its user agent, truncated) and issues its first tokens.
pub(super) async fn begin_session<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user: &users::Model,
    family: Uuid,
    req: &Request,
) -> Result<Tokens, ApiError> {
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).chars().take(USER_AGENT_MAX).collect::<String>());
    let at = now();
    sessions::ActiveModel {
        id: Set(family),
        user_id: Set(user.id),
        user_agent: Set(user_agent),
        created_at: Set(at),
        last_used_at: Set(at),
    }
    .insert(db)
    .await?;
    start_login(db, state, user, family).await
}

/// Records that login `family` was just used (a refresh).
pub(super) async fn touch_session<C: ConnectionTrait>(db: &C, family: Uuid) -> Result<(), ApiError> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::LastUsedAt, Expr::value(now()))
        .filter(sessions::Column::Id.eq(family))
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every access token of `families` in the fast path the guard reads.
pub(super) async fn mark_ended(state: &AppState, families: &[Uuid]) -> Result<(), ApiError> {
    for family in families {
        state.kv.set(&keys::family(*family), "1", state.jwt.access_ttl + 10).await?;
    }
    Ok(())
}

/// Revokes every refresh token of a login and every access token issued in it.
pub(super) async fn revoke_family(state: &AppState, family: Uuid, user: Uuid) -> Result<(), ApiError> {
    mark_ended(state, &[family]).await?;
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
