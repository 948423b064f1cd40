//! `POST /api/v1/auth/logout`: end a login.

use mindwell_shared::{domain::audit, entities::refresh_tokens, now};
use poem::{Request, web::cookie::CookieJar};
use poem_openapi::OpenApi;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{
    Tag,
    guard::{self, presented_token},
    rate_limit,
    refresh::RefreshRequest,
    session::find_refresh,
    tokens::{self, keys},
};
use crate::{
    body::{OptionalBody, Reply, ok},
    error::ApiError,
    state::AppState,
    types::Empty,
};

/// The logout endpoint.
#[derive(Debug, Default)]
pub struct LogoutApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl LogoutApi {
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
        let presented =
            body.value.refresh_token.or_else(|| jar.get(tokens::REFRESH_COOKIE).map(|c| c.value_str().to_owned()));
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
}
