//! `/api/v1/admin` (role admin): users, the audit log, the job queue and the
//! workers' models.

pub mod jobs;
pub mod models;

use mindwell_shared::{
    domain::{AccessAction, Role, access_log},
    entities::{audit_logs, refresh_tokens, users},
    now,
};
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{User, guard::Auth, tokens::keys},
    body::{Body, Fields, FromJson, Reply, ok},
    error::ApiError,
    paging::{self, Cursor, Page},
    state::AppState,
    types::{Time, path_id},
};
use mindwell_shared::domain::audit;

#[derive(Tags)]
pub(crate) enum Tag {
    /// Administration.
    Admin,
}

/// An audit log entry.
#[derive(Debug, Clone, Object)]
pub struct AuditEntry {
    pub id: Uuid,
    #[oai(nullable)]
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub context: serde_json::Value,
    pub created_at: Time,
}

impl From<audit_logs::Model> for AuditEntry {
    fn from(a: audit_logs::Model) -> Self {
        Self { id: a.id, actor_id: a.actor_id, action: a.action, context: a.context, created_at: a.created_at.into() }
    }
}

/// `PATCH /admin/users/{id}` body.
#[derive(Debug, Clone, Object)]
pub struct UserUpdate {
    /// `user`, `coach` or `admin`.
    #[oai(nullable)]
    pub role: Option<String>,
    /// A disabled user cannot sign in, and their tokens stop working at once.
    #[oai(nullable)]
    pub disabled: Option<bool>,
}

impl FromJson for UserUpdate {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let role = f.opt_string("role").and_then(|r| match r {
            Some(r) if r.parse::<Role>().is_err() => {
                f.error("role", "must be user, coach or admin");
                None
            }
            other => Some(other),
        });
        let disabled = f.opt_bool("disabled");
        Some(Self { role: role?, disabled: disabled? })
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The admin endpoints for users and the audit log.
#[derive(Debug, Default)]
pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v1/admin", tag = "Tag::Admin")]
impl AdminApi {
    /// Users, newest first; `role` filters, `email` matches a case-insensitive substring.
    #[oai(path = "/users", method = "get")]
    async fn users(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
        role: Query<Option<String>>,
        email: Query<Option<String>>,
    ) -> Result<Reply<Page<User>>, ApiError> {
        auth.0.require_admin()?;
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let mut query = users::Entity::find();
        if let Some(r) = role.0 {
            if r.parse::<Role>().is_err() {
                return Err(ApiError::field("role", "must be user, coach or admin"));
            }
            query = query.filter(users::Column::Role.eq(r));
        }
        if let Some(e) = email.0.filter(|e| !e.is_empty()) {
            let pattern = format!("%{}%", escape_like(&e.to_lowercase()));
            query = query
                .filter(Expr::col(users::Column::Email).like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')));
        }
        let rows = paging::newest_first(query, users::Column::CreatedAt, users::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        Ok(ok(paging::page(rows, limit, |r| Cursor { at: r.created_at, id: r.id })))
    }

    /// Change a user's role or disable them. Either change ends their current
    /// sessions (their tokens carry the old role). Admins cannot demote or
    /// disable themselves.
    #[oai(path = "/users/:id", method = "patch")]
    async fn update_user(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
        body: Body<UserUpdate>,
    ) -> Result<Reply<User>, ApiError> {
        auth.0.require_admin()?;
        let id = path_id(&id.0)?;
        let change = body.value;
        if id == auth.0.id
            && (change.disabled == Some(true) || change.role.as_deref().is_some_and(|r| r != Role::Admin.as_str()))
        {
            return Err(ApiError::Conflict("admins cannot demote or disable themselves".into()));
        }
        let txn = state.db.begin().await?;
        let mut user = users::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let role_changed = change.role.as_ref().is_some_and(|r| *r != user.role);
        let disabled_changed = change.disabled.is_some_and(|d| d != user.disabled);
        if role_changed {
            let to = change.role.unwrap_or_default();
            audit::record(
                &txn,
                Some(auth.0.id),
                "user.role_changed",
                json!({ "user_id": id, "from": user.role, "to": to }),
            )
            .await?;
            user.role = to;
        }
        if disabled_changed {
            user.disabled = !user.disabled;
            let action = if user.disabled { "user.disabled" } else { "user.enabled" };
            audit::record(&txn, Some(auth.0.id), action, json!({ "user_id": id })).await?;
        }
        // Tokens carry the role: a new role, like disabling, ends every session.
        let end_sessions = role_changed || (disabled_changed && user.disabled);
        if role_changed || disabled_changed {
            user.updated_at = now();
            users::Entity::update_many()
                .col_expr(users::Column::Role, Expr::value(user.role.clone()))
                .col_expr(users::Column::Disabled, Expr::value(user.disabled))
                .col_expr(users::Column::UpdatedAt, Expr::value(user.updated_at))
                .filter(users::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        if end_sessions {
            refresh_tokens::Entity::update_many()
                .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(user.updated_at))
                .filter(refresh_tokens::Column::UserId.eq(id))
                .filter(refresh_tokens::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
        }
        if id != auth.0.id {
            access_log::record(&txn, id, auth.0.id, auth.0.role, AccessAction::UserUpdated, "account").await?;
        }
        txn.commit().await?;
        if end_sessions {
            let nbf = chrono::Utc::now().timestamp_millis();
            state.kv.set(&keys::not_before(id), &nbf.to_string(), state.jwt.access_ttl + 10).await?;
        }
        Ok(ok(user.into()))
    }

    /// The audit log, newest first; filter by `actor_id` or `action`.
    #[oai(path = "/audit-logs", method = "get")]
    async fn audit_logs(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
        actor_id: Query<Option<String>>,
        action: Query<Option<String>>,
    ) -> Result<Reply<Page<AuditEntry>>, ApiError> {
        auth.0.require_admin()?;
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let mut query = audit_logs::Entity::find();
        if let Some(a) = actor_id.0 {
            let a = Uuid::parse_str(&a).map_err(|_| ApiError::field("actor_id", "must be a UUID"))?;
            query = query.filter(audit_logs::Column::ActorId.eq(a));
        }
        if let Some(a) = action.0 {
            query = query.filter(audit_logs::Column::Action.eq(a));
        }
        let rows = paging::newest_first(query, audit_logs::Column::CreatedAt, audit_logs::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        Ok(ok(paging::page(rows, limit, |r| Cursor { at: r.created_at, id: r.id })))
    }
}
