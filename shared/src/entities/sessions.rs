use sea_orm::entity::prelude::*;

/// One login: its `id` is the `family_id` of the refresh tokens it started.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The signing-in client's `User-Agent`, at most 255 characters.
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    /// The last sign-in or refresh of this login.
    pub last_used_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
