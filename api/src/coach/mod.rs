//! `/api/v1/coach`: a coach's view of the users who consented to them.

use std::collections::BTreeMap;

use mindwell_shared::{
    domain::{AccessAction, access_log},
    entities::{consents, users},
};
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{
    access,
    auth::guard::Auth,
    body::{RawReply, Reply, ok},
    dashboard::{self, Dashboard},
    error::ApiError,
    paging::{self, Cursor, Page},
    state::AppState,
    types::path_id,
};

#[derive(Tags)]
enum Tag {
    /// Coaches and the users who consented to them.
    Coach,
}

/// A consenting user, as their coach sees them.
#[derive(Debug, Clone, Object)]
pub struct CoachedUser {
    pub id: Uuid,
    #[oai(nullable)]
    pub full_name: Option<String>,
    pub email: String,
}

/// A consenting user and the scopes of their active consents.
#[derive(Debug, Clone, Object)]
pub struct CoachedEntry {
    pub user: CoachedUser,
    pub scopes: Vec<String>,
}

/// The coach endpoints (role `coach`).
#[derive(Debug, Default)]
pub struct CoachApi;

#[OpenApi(prefix_path = "/api/v1/coach", tag = "Tag::Coach")]
impl CoachApi {
    /// The users whose consent to the caller is active, with its scopes.
    #[oai(path = "/users", method = "get")]
    async fn users(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
    ) -> Result<Reply<Page<CoachedEntry>>, ApiError> {
        auth.0.require_coach()?;
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let active: Vec<(Uuid, String)> = consents::Entity::find()
            .select_only()
            .column(consents::Column::UserId)
            .column(consents::Column::Scope)
            .filter(consents::Column::CoachId.eq(auth.0.id))
            .filter(consents::Column::RevokedAt.is_null())
            .into_tuple()
            .all(&state.db)
            .await?;
        let mut scopes: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
        for (user, s) in active {
            let e = scopes.entry(user).or_default();
            if !e.contains(&s) {
                e.push(s);
            }
        }
        let mut query = users::Entity::find()
            .filter(users::Column::Id.is_in(scopes.keys().copied().collect::<Vec<_>>()))
            .filter(users::Column::Disabled.eq(false));
        if let Some(c) = cursor {
            query = query.filter(users::Column::Id.lt(c.id));
        }
        let rows = query.order_by_desc(users::Column::Id).limit(limit + 1).all(&state.db).await?;
        let page: Page<CoachedEntry> = paging::page(
            rows.into_iter()
                .map(|u| CoachedEntry {
                    scopes: scopes.get(&u.id).cloned().unwrap_or_default(),
                    user: CoachedUser { id: u.id, full_name: u.full_name, email: u.email },
                })
                .collect(),
            limit,
            |e: &CoachedEntry| Cursor { at: chrono::DateTime::UNIX_EPOCH, id: e.user.id },
        );
        Ok(ok(page))
    }

    /// A consenting user's dashboard: needs an active `trends` or `insights`
    /// consent (403 otherwise); `recent_insights`, the latest summary's quotes
    /// and what the notes made only with `insights`.
    #[oai(path = "/users/:user_id/dashboard", method = "get")]
    async fn dashboard(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        user_id: Path<String>,
        range: Query<Option<String>>,
    ) -> Result<RawReply<Dashboard>, ApiError> {
        auth.0.require_coach()?;
        let user = path_id(&user_id.0).map_err(|_| ApiError::Forbidden)?;
        let days = paging::range_days(range.0.as_deref())?;
        // `assessments` alone opens only the assessment routes.
        let view = access::View::of_scopes(&access::active_scopes(&state, auth.0.id, user).await?);
        if !view.numbers {
            return Err(ApiError::Forbidden);
        }
        let dashboard = dashboard::cached(&state, user, days, view).await?;
        access_log::record(&state.db, user, auth.0.id, auth.0.role, AccessAction::DashboardRead, "dashboard").await?;
        Ok(RawReply::new(dashboard))
    }
}
