use sea_orm::entity::prelude::*;

/// The analysis of one check-in by one model version (`analysis_id` in the API).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_analysis_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub checkin_id: Uuid,
    pub user_id: Uuid,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub model_version: Option<String>,
    pub summary: Option<String>,
    /// [`crate::analysis::Labels`] as JSON.
    pub labels: Option<Json>,
    pub confidence: Option<f64>,
    /// Every model input and output, kept for retraining.
    pub raw_features: Option<Json>,
    pub error: Option<String>,
    pub attempts: i32,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
