//! `GET /api/v1/auth/sessions`, `DELETE /api/v1/auth/sessions/{id}`,
//! `POST /api/v1/auth/logout-all`: a user's logins, and ending them.
//!
//! A session is one login: the family of refresh tokens one sign-in started
//! (its id is `refresh_tokens.family_id`). It is active while its newest
//! refresh token is unused, unrevoked and unexpired. Ending one revokes its
//! refresh tokens in PostgreSQL first, then marks the family revoked in the
//! key-value store, which the guard checks for every access token.

use std::collections::HashMap;

use chrono::Duration;
use mindwell_shared::{
    domain::audit,
    entities::{refresh_tokens, sessions},
    now,
};
use poem::web::cookie::CookieJar;
use poem_openapi::{Object, OpenApi, param::Path};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{Tag, guard::Auth, session::mark_ended, tokens};
use crate::{
    body::{Reply, ok},
    error::ApiError,
    state::AppState,
    types::{Empty, Time, path_id},
};

/// One active login of the caller.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Session")]
pub struct SessionInfo {
    /// The session's id, for `DELETE /auth/sessions/{id}`.
    pub id: Uuid,
    /// When the sign-in happened.
    pub created_at: Time,
    /// The last sign-in or token refresh of this session.
    pub last_used_at: Time,
    /// The signing-in client's `User-Agent` (at most 255 characters), if it sent one.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// Whether the calling access token belongs to this session.
    pub current: bool,
}

/// Which of a user's sessions to end.
#[derive(Debug, Clone, Copy)]
pub(super) enum Which {
    /// This one.
    One(Uuid),
    /// All of them, except this one if given.
    AllBut(Option<Uuid>),
}

/// Ends `user`'s sessions `which` in the database: revokes their refresh
/// tokens. Returns the families whose access tokens [`mark_ended`] must
/// revoke once this is committed. Families whose refresh tokens are already
/// revoked but whose access tokens may still live are included.
pub(super) async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user: Uuid,
    which: Which,
) -> Result<Vec<Uuid>, ApiError> {
    let at = now();
    let recent = at - Duration::seconds(state.jwt.access_ttl + 10);
    let mut families = refresh_tokens::Entity::find()
        .select_only()
        .column(refresh_tokens::Column::FamilyId)
        .distinct()
        .filter(refresh_tokens::Column::UserId.eq(user))
        .filter(
            Condition::any()
                .add(refresh_tokens::Column::RevokedAt.is_null())
                .add(refresh_tokens::Column::CreatedAt.gt(recent)),
        );
    families = match which {
        Which::One(family) => families.filter(refresh_tokens::Column::FamilyId.eq(family)),
        Which::AllBut(Some(keep)) => families.filter(refresh_tokens::Column::FamilyId.ne(keep)),
        Which::AllBut(None) => families,
    };
    let families: Vec<Uuid> = families.into_tuple().all(db).await?;
    if families.is_empty() {
        return Ok(families);
    }
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(at))
        .filter(refresh_tokens::Column::UserId.eq(user))
        .filter(refresh_tokens::Column::FamilyId.is_in(families.clone()))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(families)
}

/// Ends `user`'s sessions `which`, audited as `action`: database first, then
/// the fast path. Returns how many sessions ended.
async fn end_and_audit(state: &AppState, user: Uuid, which: Which, action: &str) -> Result<usize, ApiError> {
    let txn = state.db.begin().await?;
    let families = end_sessions(&txn, state, user, which).await?;
    audit::record(&txn, Some(user), action, json!({ "session_ids": families })).await?;
    txn.commit().await?;
    mark_ended(state, &families).await?;
    Ok(families.len())
}

/// The sessions endpoints.
#[derive(Debug, Default)]
pub struct SessionsApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Auth")]
impl SessionsApi {
    /// The caller's active sessions (one per sign-in), newest first; `current`
    /// marks the one the calling token belongs to.
    #[oai(path = "/sessions", method = "get")]
    async fn list(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<Vec<SessionInfo>>, ApiError> {
        let me = auth.0;
        let live = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::UserId.eq(me.id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .filter(refresh_tokens::Column::ExpiresAt.gt(now()))
            .all(&state.db)
            .await?;
        let ids: Vec<Uuid> = live.iter().map(|t| t.family_id).collect();
        let known: HashMap<Uuid, sessions::Model> = sessions::Entity::find()
            .filter(sessions::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let mut list: Vec<SessionInfo> = live
            .into_iter()
            .map(|t| {
                let meta = known.get(&t.family_id);
                SessionInfo {
                    id: t.family_id,
                    // Logins from before sessions were recorded: the newest token tells.
                    created_at: meta.map_or(t.created_at, |s| s.created_at).into(),
                    last_used_at: meta.map_or(t.created_at, |s| s.last_used_at).into(),
                    user_agent: meta.and_then(|s| s.user_agent.clone()),
                    current: t.family_id == me.claims.fam,
                }
            })
            .collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        list.dedup_by_key(|s| s.id);
        Ok(ok(list))
    }

    /// End one of the caller's sessions: its refresh and access tokens stop
    /// working at once. Another user's session, or an id that is not a UUID, is 404.
    #[oai(path = "/sessions/:id", method = "delete")]
    async fn end(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        jar: &CookieJar,
        id: Path<String>,
    ) -> Result<Reply<Empty>, ApiError> {
        let family = path_id(&id.0)?;
        let mine = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::FamilyId.eq(family))
            .filter(refresh_tokens::Column::UserId.eq(auth.0.id))
            .one(&state.db)
            .await?;
        if mine.is_none() {
            return Err(ApiError::NotFound);
        }
        end_and_audit(&state, auth.0.id, Which::One(family), "auth.session_ended").await?;
        if family == auth.0.claims.fam {
            tokens::clear_cookies(jar, &state.config);
        }
        Ok(ok(Empty {}))
    }

    /// End every session of the caller, the current one included.
    #[oai(path = "/logout-all", method = "post")]
    async fn logout_all(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        jar: &CookieJar,
    ) -> Result<Reply<Empty>, ApiError> {
        end_and_audit(&state, auth.0.id, Which::AllBut(None), "auth.logout_all").await?;
        // The calling token's family even if its refresh tokens were gone already.
        mark_ended(&state, &[auth.0.claims.fam]).await?;
        tokens::clear_cookies(jar, &state.config);
        Ok(ok(Empty {}))
    }
}
