use sea_orm::entity::prelude::*;

/// A daily or weekly summary of one user's check-ins and analyses.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `daily` or `weekly`.
    pub period: String,
    pub period_start: Date,
    pub period_end: Date,
    pub summary: String,
    pub metrics: Json,
    pub model_version: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
