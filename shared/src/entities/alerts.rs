use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub checkin_id: Option<Uuid>,
    pub ai_result_id: Option<Uuid>,
    /// `low_sleep`, `high_stress`, `mood_drop` or `crisis_language`.
    pub r#type: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
