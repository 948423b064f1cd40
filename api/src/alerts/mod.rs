//! `/api/v1/alerts`: list and acknowledge or close alerts.
//!
//! A user sees their own alerts, a coach those of users with an active consent
//! to them, an admin all. Status changes follow open → acknowledged → closed
//! (or open → closed) and are audited in the same transaction.

use mindwell_shared::{
    domain::{AccessAction, AlertStatus, Role, access_log, audit},
    entities::alerts,
    now,
};
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
};
use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::{
    access::{self, View},
    auth::guard::{Auth, AuthUser},
    body::{Body, Fields, FromJson, Reply, ok},
    error::ApiError,
    paging::{self, Cursor, Page},
    state::AppState,
    types::{Time, path_id},
};

#[derive(Tags)]
enum Tag {
    /// Alerts raised by the analyses.
    Alerts,
}

/// An alert.
#[derive(Debug, Clone, Object)]
pub struct Alert {
    pub id: Uuid,
    pub user_id: Uuid,
    #[oai(nullable)]
    pub ai_result_id: Option<Uuid>,
    /// `low_sleep`, `high_stress`, `mood_drop` or `crisis_language`.
    #[oai(rename = "type")]
    pub kind: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    pub payload: serde_json::Value,
    pub created_at: Time,
    pub updated_at: Time,
}

impl From<alerts::Model> for Alert {
    fn from(a: alerts::Model) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id,
            ai_result_id: a.ai_result_id,
            kind: a.r#type,
            severity: a.severity,
            status: a.status,
            payload: a.payload,
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}

/// `PATCH /alerts/{id}` body.
#[derive(Debug, Clone, Object)]
pub struct AlertUpdate {
    /// `acknowledged` or `closed`.
    pub status: String,
}

impl FromJson for AlertUpdate {
    fn from_json(f: &mut Fields<'_>) -> Option<Self> {
        let status = f.string("status")?;
        if !matches!(status.parse(), Ok(AlertStatus::Acknowledged | AlertStatus::Closed)) {
            f.error("status", "must be acknowledged or closed");
            return None;
        }
        Some(Self { status })
    }
}

/// Whether an alert may go from `from` to `to` (stored strings).
fn allowed(from: &str, to: &str) -> bool {
    matches!((from.parse::<AlertStatus>(), to.parse()), (Ok(from), Ok(to)) if from.may_become(to))
}

/// The users whose alerts `caller` sees, each with the caller's view of them:
/// `None` for everyone, fully (admin). A coach sees the alerts of users whose
/// consents give numbers (`trends` or `insights`), their own, and nobody else's.
async fn visible_users(state: &AppState, caller: &AuthUser) -> Result<Option<HashMap<Uuid, View>>, ApiError> {
    Ok(match caller.role {
        Role::Admin => None,
        Role::Coach => {
            let mut users = access::coach_views(state, caller.id).await?;
            users.retain(|_, v| v.numbers);
            users.insert(caller.id, View::FULL);
            Some(users)
        }
        Role::User => Some(HashMap::from([(caller.id, View::FULL)])),
    })
}

/// `alert` as `users` shows it (see [`visible_users`]).
fn shown(users: Option<&HashMap<Uuid, View>>, alert: alerts::Model) -> alerts::Model {
    match users {
        None => alert,
        // A user missing from the map is never fetched; redact all the same.
        Some(users) => users.get(&alert.user_id).copied().unwrap_or(View::of_scopes(&[])).alert(alert),
    }
}

/// The alert endpoints.
#[derive(Debug, Default)]
pub struct AlertsApi;

#[OpenApi(prefix_path = "/api/v1/alerts", tag = "Tag::Alerts")]
impl AlertsApi {
    /// Alerts the caller may see, newest first; `status` filters.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        status: Query<Option<String>>,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
    ) -> Result<Reply<Page<Alert>>, ApiError> {
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let mut query = alerts::Entity::find();
        match status.0.as_deref() {
            None => {}
            Some(s) => match s.parse::<AlertStatus>() {
                Ok(s) => query = query.filter(alerts::Column::Status.eq(s)),
                Err(_) => return Err(ApiError::field("status", "must be open, acknowledged or closed")),
            },
        }
        let users = visible_users(&state, &auth.0).await?;
        if let Some(users) = &users {
            query = query.filter(alerts::Column::UserId.is_in(users.keys().copied()));
        }
        let rows = paging::newest_first(query, alerts::Column::CreatedAt, alerts::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        let rows: Vec<alerts::Model> = rows.into_iter().map(|a| shown(users.as_ref(), a)).collect();
        let page: Page<Alert> = paging::page(rows, limit, |r: &alerts::Model| Cursor { at: r.created_at, id: r.id });
        let others: BTreeSet<Uuid> = page.items.iter().map(|a| a.user_id).filter(|u| *u != auth.0.id).collect();
        if !others.is_empty() {
            let txn = state.db.begin().await?;
            for user in others {
                access_log::record(&txn, user, auth.0.id, auth.0.role, AccessAction::AlertsRead, "alerts").await?;
            }
            txn.commit().await?;
        }
        Ok(ok(page))
    }

    /// Acknowledge or close an alert. Allowed: open → acknowledged, open →
    /// closed, acknowledged → closed; anything else is 409 `conflict`.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
        body: Body<AlertUpdate>,
    ) -> Result<Reply<Alert>, ApiError> {
        let id = path_id(&id.0)?;
        let to = body.value.status;
        let txn = state.db.begin().await?;
        let current = alerts::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let users = visible_users(&state, &auth.0).await?;
        let visible = match &users {
            None => true,
            Some(users) => users.contains_key(&current.user_id),
        };
        if !visible {
            return Err(ApiError::NotFound);
        }
        if !allowed(&current.status, &to) {
            return Err(ApiError::Conflict(format!("an alert cannot go from {} to {to}", current.status)));
        }
        let at = now();
        // Only from the status read above: a concurrent change makes this a conflict.
        let changed = alerts::Entity::update_many()
            .col_expr(alerts::Column::Status, Expr::value(to.clone()))
            .col_expr(alerts::Column::UpdatedAt, Expr::value(at))
            .filter(alerts::Column::Id.eq(id))
            .filter(alerts::Column::Status.eq(current.status.clone()))
            .exec(&txn)
            .await?;
        if changed.rows_affected == 0 {
            return Err(ApiError::Conflict("the alert changed meanwhile; read it again".into()));
        }
        audit::record(
            &txn,
            Some(auth.0.id),
            "alert.status_changed",
            json!({ "alert_id": id, "user_id": current.user_id, "from": current.status, "to": to }),
        )
        .await?;
        if current.user_id != auth.0.id {
            let subject = id.to_string();
            access_log::record(&txn, current.user_id, auth.0.id, auth.0.role, AccessAction::AlertUpdated, &subject)
                .await?;
        }
        txn.commit().await?;
        crate::infra::dashboard_cache::invalidate(&state.kv, current.user_id).await;
        Ok(ok(shown(users.as_ref(), alerts::Model { status: to, updated_at: at, ..current }).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_forward_transitions_are_allowed() {
        assert!(allowed("open", "acknowledged") && allowed("open", "closed") && allowed("acknowledged", "closed"));
        for (from, to) in
            [("acknowledged", "acknowledged"), ("closed", "open"), ("closed", "acknowledged"), ("open", "open")]
        {
            assert!(!allowed(from, to), "{from} -> {to}");
        }
    }
}
