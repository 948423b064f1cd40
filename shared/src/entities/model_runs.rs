use sea_orm::entity::prelude::*;

/// Outputs of a model version that does not serve users: a shadow candidate or
/// a backfill. Never shown to users, never used for alerts.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "model_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub checkin_id: Uuid,
    pub user_id: Uuid,
    /// `shadow` or `backfill`.
    pub purpose: String,
    /// `encoder@v+text-heads@v+risk@v` of the run.
    pub model_version: String,
    /// `{labels, sentiment, emotions, stress, valence}`.
    pub output: Json,
    pub latency_ms: f64,
    /// The active version it is compared with, and that version's output.
    pub baseline_version: Option<String>,
    pub baseline_output: Option<Json>,
    pub baseline_latency_ms: Option<f64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
