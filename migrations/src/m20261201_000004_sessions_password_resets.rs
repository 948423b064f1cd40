//! `sessions`: what is known of each login (the refresh-token family one
//! sign-in started) beyond its tokens — the user agent and when it was last
//! used — so that a user can list and end their sessions.
//! `password_reset_codes`: single-use codes mailed for a forgotten password,
//! stored as SHA-256 only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    UserAgent,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum PasswordResetCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    WrongAttempts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // `id` is the login's `refresh_tokens.family_id`.
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(uuid(Sessions::Id).primary_key())
                .col(uuid(Sessions::UserId))
                .col(string_len_null(Sessions::UserAgent, 255))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_sessions_user").table(Sessions::Table).col(Sessions::UserId).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PasswordResetCodes::Table)
                .col(uuid(PasswordResetCodes::Id).primary_key())
                .col(uuid(PasswordResetCodes::UserId))
                .col(string(PasswordResetCodes::CodeHash))
                .col(timestamp_with_time_zone(PasswordResetCodes::CreatedAt))
                .col(timestamp_with_time_zone(PasswordResetCodes::ExpiresAt))
                .col(timestamp_with_time_zone_null(PasswordResetCodes::UsedAt))
                .col(integer(PasswordResetCodes::WrongAttempts))
                .foreign_key(
                    ForeignKey::create()
                        .from(PasswordResetCodes::Table, PasswordResetCodes::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_password_reset_codes_user")
                .table(PasswordResetCodes::Table)
                .col(PasswordResetCodes::UserId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PasswordResetCodes::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        Ok(())
    }
}
