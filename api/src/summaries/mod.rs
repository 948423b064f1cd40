//! `/api/v1/summaries`: daily and weekly summaries, newest first.

use mindwell_shared::{
    domain::{Period, summary},
    entities::summaries,
};
use poem_openapi::{Object, OpenApi, Tags, param::Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    access::View,
    auth::guard::Auth,
    body::{Reply, ok},
    error::ApiError,
    paging::{self, Page},
    state::AppState,
    types::Time,
};

#[derive(Tags)]
enum Tag {
    /// Daily and weekly summaries.
    Summaries,
}

/// A summary of one period.
#[derive(Debug, Clone, Object)]
pub struct Summary {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `daily` or `weekly`.
    pub period: String,
    /// `YYYY-MM-DD`, in the user's time zone.
    pub period_start: String,
    pub period_end: String,
    pub summary: String,
    pub metrics: serde_json::Value,
    pub model_version: String,
    pub created_at: Time,
}

impl From<summaries::Model> for Summary {
    fn from(s: summaries::Model) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            period: s.period,
            period_start: s.period_start.to_string(),
            period_end: s.period_end.to_string(),
            summary: s.summary,
            metrics: s.metrics,
            model_version: s.model_version,
            created_at: s.created_at.into(),
        }
    }
}

/// `s` as `view` shows it: without `notes` (a `trends`-only coach), the text
/// is the template part alone — no quotes, nothing the notes made — and the
/// metrics keep only the numbers.
pub fn for_view(s: summaries::Model, view: View) -> summaries::Model {
    if view.notes {
        return s;
    }
    let metrics = summary::for_numbers_only(&s.metrics);
    let period = s.period.parse().unwrap_or(Period::Daily);
    let text = summary::render(period, s.period_start, &metrics, summary::Words::default());
    summaries::Model { summary: text, metrics, ..s }
}

/// The newest summary of `user`, if any, as `view` shows it.
pub async fn latest(state: &AppState, user: Uuid, view: View) -> Result<Option<Summary>, ApiError> {
    Ok(summaries::Entity::find()
        .filter(summaries::Column::UserId.eq(user))
        .order_by_desc(summaries::Column::PeriodStart)
        .order_by_desc(summaries::Column::CreatedAt)
        .one(&state.db)
        .await?
        .map(|s| for_view(s, view).into()))
}

/// The summary endpoints.
#[derive(Debug, Default)]
pub struct SummariesApi;

#[OpenApi(prefix_path = "/api/v1/summaries", tag = "Tag::Summaries")]
impl SummariesApi {
    /// The caller's summaries, newest period first.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        period: Query<Option<String>>,
        limit: Query<paging::LimitParam>,
        cursor: Query<paging::CursorParam>,
    ) -> Result<Reply<Page<Summary>>, ApiError> {
        let limit = limit.get()?;
        let cursor = cursor.get()?;
        let mut query = summaries::Entity::find().filter(summaries::Column::UserId.eq(auth.0.id));
        match period.0.as_deref() {
            None => {}
            Some(p) => match p.parse::<Period>() {
                Ok(p) => query = query.filter(summaries::Column::Period.eq(p)),
                Err(_) => return Err(ApiError::field("period", "must be daily or weekly")),
            },
        }
        let rows = paging::newest_first(query, summaries::Column::CreatedAt, summaries::Column::Id, cursor, limit)
            .all(&state.db)
            .await?;
        Ok(ok(paging::page(rows, limit, |r| paging::Cursor { at: r.created_at, id: r.id })))
    }
}
