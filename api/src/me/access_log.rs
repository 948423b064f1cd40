//! `/api/v1/me/access-log`: every read or change of the caller's data by a
//! coach or an admin, as `mindwell_shared::domain::access_log` recorded it.

use mindwell_shared::entities::access_log;
use poem_openapi::{Object, OpenApi, param::Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::Tag;
use crate::{
    auth::guard::Auth,
    body::{Reply, ok},
    error::ApiError,
    paging::{self, Cursor, Page},
    state::AppState,
    types::Time,
};

/// One read or change of the caller's data by someone else.
#[derive(Debug, Clone, Object)]
pub struct AccessEntry {
    pub id: Uuid,
    pub actor_id: Uuid,
    /// `coach` or `admin`.
    pub actor_role: String,
    /// e.g. `dashboard.read`, `insight.read`, `alerts.read`, `alert.updated`, `user.updated`.
    pub action: String,
    /// What was touched: a record id, or e.g. `dashboard`.
    pub subject: String,
    pub created_at: Time,
}

impl From<access_log::Model> for AccessEntry {
    fn from(a: access_log::Model) -> Self {
        Self {
            id: a.id,
            actor_id: a.actor_id,
            actor_role: a.actor_role,
            action: a.action,
            subject: a.subject,
            created_at: a.created_at.into(),
        }
    }
}

/// All of `user`'s access-log entries, oldest first (for the export).
pub async fn of_user(state: &AppState, user: Uuid) -> Result<Vec<access_log::Model>, ApiError> {
    Ok(access_log::Entity::find()
        .filter(access_log::Column::UserId.eq(user))
        .order_by_asc(access_log::Column::CreatedAt)
        .order_by_asc(access_log::Column::Id)
        .all(&state.db)
        .await?)
}

/// The access-transparency endpoint.
#[derive(Debug, Default)]
pub struct AccessLogApi;

#[OpenApi(prefix_path = "/api/v1/me", tag = "Tag::Me")]
impl AccessLogApi {
    /// Who (a coach or an admin) read or changed the caller's data, newest first.
    #[oai(path = "/access-log", method = "get")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
    ) -> Result<Reply<Page<AccessEntry>>, ApiError> {
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let query = access_log::Entity::find().filter(access_log::Column::UserId.eq(auth.0.id));
        let rows = paging::newest_first(query, access_log::Column::CreatedAt, access_log::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        Ok(ok(paging::page(rows, limit, |r| Cursor { at: r.created_at, id: r.id })))
    }
}
