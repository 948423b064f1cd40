use sea_orm::entity::prelude::*;

/// A read or change of `user_id`'s data by a coach or an admin (`actor_id`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose data it was.
    pub user_id: Uuid,
    pub actor_id: Uuid,
    /// `coach` or `admin`, when it happened.
    pub actor_role: String,
    /// An `AccessAction`, e.g. `dashboard.read`.
    pub action: String,
    /// What was touched: a record id, or e.g. `dashboard`.
    pub subject: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
