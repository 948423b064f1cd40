//! `access_log`: every read or change of a user's data by a coach or an
//! admin, for the user to see (`GET /me/access-log`). Erased with the user;
//! the actor is kept as an id only, so an entry outlives the actor's account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccessLog {
    Table,
    Id,
    UserId,
    ActorId,
    ActorRole,
    Action,
    Subject,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AccessLog::Table)
                .col(uuid(AccessLog::Id).primary_key())
                .col(uuid(AccessLog::UserId))
                .col(uuid(AccessLog::ActorId))
                .col(string_len(AccessLog::ActorRole, 16))
                .col(string_len(AccessLog::Action, 64))
                .col(string_len(AccessLog::Subject, 255))
                .col(timestamp_with_time_zone(AccessLog::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AccessLog::Table, AccessLog::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_access_log_user_created")
                .table(AccessLog::Table)
                .col(AccessLog::UserId)
                .col(AccessLog::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AccessLog::Table).to_owned()).await?;
        Ok(())
    }
}
