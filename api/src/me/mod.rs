//! `/api/v1/me`: settings, consents, the access log, export of everything
//! stored about the caller, and erasure.

pub mod access_log;
pub mod consents;
pub mod settings;

use mindwell_shared::entities::{
    ai_analysis_results as analyses, alerts, daily_checkins as checkins, summaries, users,
};
use poem_openapi::{Object, OpenApi, Tags};
use sea_orm::{ColumnTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde_json::json;

use crate::{
    alerts::Alert,
    auth::{User, guard::Auth, tokens::keys},
    body::{Reply, ok},
    checkins::Checkin,
    error::ApiError,
    insights::Insight,
    state::AppState,
    summaries::Summary,
    types::Empty,
};
use mindwell_shared::domain::audit;

#[derive(Tags)]
pub(crate) enum Tag {
    /// The signed-in user's own account.
    Me,
}

/// Everything stored about a user.
#[derive(Debug, Clone, Object)]
pub struct Export {
    pub user: User,
    pub settings: settings::Settings,
    pub checkins: Vec<Checkin>,
    pub insights: Vec<Insight>,
    pub alerts: Vec<Alert>,
    pub summaries: Vec<Summary>,
    pub consents: Vec<consents::Consent>,
    /// Who (a coach or an admin) read or changed the caller's data, oldest first.
    pub access_log: Vec<access_log::AccessEntry>,
}

/// Export and erasure.
#[derive(Debug, Default)]
pub struct MeApi;

#[OpenApi(prefix_path = "/api/v1/me", tag = "Tag::Me")]
impl MeApi {
    /// Everything stored about the caller: account, settings, check-ins,
    /// insights, alerts, summaries, consents and the access log.
    #[oai(path = "/export", method = "get")]
    async fn export(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<Export>, ApiError> {
        let id = auth.0.id;
        let user = users::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::Unauthorized)?;
        let (settings, checkins, insights, alerts, summaries, consents, access_log) = tokio::try_join!(
            settings::load(&state, id),
            async {
                Ok::<_, ApiError>(
                    checkins::Entity::find()
                        .filter(checkins::Column::UserId.eq(id))
                        .order_by_asc(checkins::Column::Timestamp)
                        .all(&state.db)
                        .await?,
                )
            },
            async {
                Ok(analyses::Entity::find()
                    .filter(analyses::Column::UserId.eq(id))
                    .order_by_asc(analyses::Column::CreatedAt)
                    .all(&state.db)
                    .await?)
            },
            async {
                Ok(alerts::Entity::find()
                    .filter(alerts::Column::UserId.eq(id))
                    .order_by_asc(alerts::Column::CreatedAt)
                    .all(&state.db)
                    .await?)
            },
            async {
                Ok(summaries::Entity::find()
                    .filter(summaries::Column::UserId.eq(id))
                    .order_by_asc(summaries::Column::PeriodStart)
                    .all(&state.db)
                    .await?)
            },
            consents::of_user(&state, id),
            access_log::of_user(&state, id),
        )?;
        audit::record(&state.db, Some(id), "user.exported", json!({})).await?;
        Ok(ok(Export {
            user: user.into(),
            settings: settings.into(),
            checkins: checkins.into_iter().map(Into::into).collect(),
            insights: insights.into_iter().map(Into::into).collect(),
            alerts: alerts.into_iter().map(Into::into).collect(),
            summaries: summaries.into_iter().map(Into::into).collect(),
            consents: consents.into_iter().map(Into::into).collect(),
            access_log: access_log.into_iter().map(Into::into).collect(),
        }))
    }

    /// Erase the caller: every row about them goes (check-ins, analyses,
    /// alerts, settings, consents given and received, summaries, access log,
    /// tokens), their tokens stop working at once, and the audit log keeps the
    /// event with no personal data. Queued jobs carry ids only and find nothing left to do.
    #[oai(path = "/", method = "delete")]
    async fn delete(&self, state: poem::web::Data<&AppState>, auth: Auth) -> Result<Reply<Empty>, ApiError> {
        erase(&state, auth.0.id, "self").await?;
        Ok(ok(Empty {}))
    }
}

/// Deletes `user` and everything that cascades from them, drops their cached
/// dashboards, and kills their tokens.
pub async fn erase(state: &AppState, user: uuid::Uuid, by: &str) -> Result<(), ApiError> {
    let txn = state.db.begin().await?;
    let Some(row) = users::Entity::find_by_id(user).one(&txn).await? else {
        return Err(ApiError::NotFound);
    };
    row.delete(&txn).await?;
    audit::record(&txn, Some(user), "user.deleted", json!({ "by": by })).await?;
    txn.commit().await?;
    let now = chrono::Utc::now().timestamp_millis();
    state.kv.set(&keys::not_before(user), &now.to_string(), state.jwt.access_ttl + 10).await?;
    state.kv.dashboard_forget(user).await?;
    Ok(())
}
