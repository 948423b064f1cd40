//! `/api/v1/insights/{id}`: the analysis of a check-in.

use std::collections::BTreeMap;

use mindwell_shared::{
    domain::{AccessAction, access_log, analysis},
    entities::ai_analysis_results as analyses,
};
use poem_openapi::{Object, OpenApi, Tags, param::Path};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::{
    access,
    auth::guard::Auth,
    body::{Reply, ok},
    error::ApiError,
    state::AppState,
    types::{Time, path_id},
};

#[derive(Tags)]
enum Tag {
    /// AI analyses of check-ins.
    Insights,
}

/// The sentiment of the notes.
#[derive(Debug, Clone, Object)]
pub struct SentimentLabel {
    /// `negative`, `neutral` or `positive`.
    pub label: String,
    /// 0 to 1.
    pub score: f64,
}

/// What the models found.
#[derive(Debug, Clone, Object)]
pub struct InsightLabels {
    pub sentiment: SentimentLabel,
    /// Emotion name to probability (0 to 1).
    pub emotions: BTreeMap<String, f64>,
    /// `low`, `moderate` or `high`.
    pub stress_level: String,
    /// 0 to 1.
    pub risk_score: f64,
}

impl From<analysis::Labels> for InsightLabels {
    fn from(l: analysis::Labels) -> Self {
        Self {
            sentiment: SentimentLabel { label: l.sentiment.label, score: l.sentiment.score },
            emotions: l.emotions,
            stress_level: l.stress_level,
            risk_score: l.risk_score,
        }
    }
}

/// The analysis of one check-in.
#[derive(Debug, Clone, Object)]
pub struct Insight {
    pub id: Uuid,
    pub checkin_id: Uuid,
    pub user_id: Uuid,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    #[oai(nullable)]
    pub model_version: Option<String>,
    #[oai(nullable)]
    pub summary: Option<String>,
    #[oai(nullable)]
    pub labels: Option<InsightLabels>,
    /// 0 to 1.
    #[oai(nullable)]
    pub confidence: Option<f64>,
    pub created_at: Time,
    #[oai(nullable)]
    pub completed_at: Option<Time>,
}

impl From<analyses::Model> for Insight {
    fn from(a: analyses::Model) -> Self {
        let labels = a.labels.and_then(|v| serde_json::from_value::<analysis::Labels>(v).ok()).map(Into::into);
        Self {
            id: a.id,
            checkin_id: a.checkin_id,
            user_id: a.user_id,
            status: a.status,
            model_version: a.model_version,
            summary: a.summary,
            labels,
            confidence: a.confidence,
            created_at: a.created_at.into(),
            completed_at: a.completed_at.map(Into::into),
        }
    }
}

/// The insight endpoints.
#[derive(Debug, Default)]
pub struct InsightsApi;

#[OpenApi(prefix_path = "/api/v1/insights", tag = "Tag::Insights")]
impl InsightsApi {
    /// An analysis, by the `analysis_id` that `POST /checkins` returned. Its
    /// owner, a coach with the owner's `insights` consent, or an admin sees it;
    /// anyone else gets 404.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth,
        id: Path<String>,
    ) -> Result<Reply<Insight>, ApiError> {
        let id = path_id(&id.0)?;
        let row = analyses::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
        if !access::view_of(&state, &auth.0, row.user_id).await?.is_some_and(|v| v.notes) {
            return Err(ApiError::NotFound);
        }
        if row.user_id != auth.0.id {
            let subject = row.id.to_string();
            access_log::record(&state.db, row.user_id, auth.0.id, auth.0.role, AccessAction::InsightRead, &subject)
                .await?;
        }
        Ok(ok(row.into()))
    }
}
