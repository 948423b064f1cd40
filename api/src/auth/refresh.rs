//! `POST /api/v1/auth/refresh`: new tokens for a refresh token, which dies;
//! presenting it again revokes the whole login.

use mindwell_shared::{
    entities::{refresh_tokens, users},
    now,
};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};

use super::{
    Tag, Tokens, rate_limit,
    session::{find_refresh, revoke_family, start_login, touch_session},
    tokens,
};
use crate::{
    body::{Fields, FromJson, OptionalBody, Reply, ok},
    error::ApiError,
    state::AppState,
};

/// New tokens only.
#[derive(Debug, Clone, Object)]
pub struct Refreshed {
    pub tokens: Tokens,
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

/// The refresh endpoint.
#[derive(Debug, Default)]
pub struct RefreshApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl RefreshApi {
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
            .or_else(|| jar.get(tokens::REFRESH_COOKIE).map(|c| c.value_str().to_owned()))
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
        // Compare-and-set: unused, not revoked (a logout racing this refresh
        // must not let it mint a live token) and not expired, all at once.
        let at = now();
        let used = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(at))
            .filter(refresh_tokens::Column::Id.eq(token.id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .filter(refresh_tokens::Column::ExpiresAt.gt(at))
            .exec(&txn)
            .await?;
        if used.rows_affected == 0 {
            txn.rollback().await?;
            let now_used = refresh_tokens::Entity::find_by_id(token.id).one(&state.db).await?.and_then(|t| t.used_at);
            if now_used.is_none() {
                // Revoked or expired meanwhile: the session is over.
                return Err(ApiError::Unauthorized);
            }
            // Another request rotated it first: this is a replay.
            revoke_family(&state, token.family_id, token.user_id).await?;
            return Err(ApiError::TokenReused);
        }
        let tokens = start_login(&txn, &state, &user, token.family_id).await?;
        touch_session(&txn, token.family_id).await?;
        txn.commit().await?;
        tokens::set_cookies(jar, &state.config, &tokens.access_token, &tokens.refresh_token);
        Ok(ok(Refreshed { tokens }))
    }
}
