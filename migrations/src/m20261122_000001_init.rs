//! Users, auth, check-ins, analyses, alerts, settings, audit and idempotency.
//!
//! Over 300 lines on purpose: a migration is applied once and never edited,
//! so the first schema stays in the one file that created it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    FullName,
    Role,
    Disabled,
    CreatedAt,
    UpdatedAt,
    LastLogin,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum DailyCheckins {
    Table,
    Id,
    UserId,
    Mood,
    SleepHours,
    Notes,
    Meta,
    Timestamp,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AiAnalysisResults {
    Table,
    Id,
    CheckinId,
    UserId,
    Status,
    ModelVersion,
    Summary,
    Labels,
    Confidence,
    RawFeatures,
    Error,
    Attempts,
    RequestId,
    CreatedAt,
    StartedAt,
    CompletedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    UserId,
    CheckinId,
    AiResultId,
    Type,
    Severity,
    Status,
    Payload,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserSettings {
    Table,
    UserId,
    Timezone,
    Language,
    NotifyEmail,
    NotifyPush,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    ActorId,
    Action,
    Context,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
    ExpiresAt,
}

fn user_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Users::Table, Users::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid(Users::Id).primary_key())
                .col(string(Users::Email).unique_key())
                .col(string(Users::PasswordHash))
                .col(string_null(Users::FullName))
                .col(string(Users::Role))
                .col(boolean(Users::Disabled).default(false))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .col(timestamp_with_time_zone_null(Users::LastLogin))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(uuid(RefreshTokens::Id).primary_key())
                .col(uuid(RefreshTokens::UserId))
                .col(uuid(RefreshTokens::FamilyId))
                .col(string(RefreshTokens::TokenHash).unique_key())
                .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                .foreign_key(&mut user_fk(RefreshTokens::Table, RefreshTokens::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_family")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::FamilyId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_user")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DailyCheckins::Table)
                .col(uuid(DailyCheckins::Id).primary_key())
                .col(uuid(DailyCheckins::UserId))
                .col(small_integer(DailyCheckins::Mood))
                .col(double(DailyCheckins::SleepHours))
                .col(text(DailyCheckins::Notes))
                .col(json_binary(DailyCheckins::Meta))
                .col(timestamp_with_time_zone(DailyCheckins::Timestamp))
                .col(timestamp_with_time_zone(DailyCheckins::CreatedAt))
                .foreign_key(&mut user_fk(DailyCheckins::Table, DailyCheckins::UserId))
                .to_owned(),
        )
        .await?;
        // Serves the newest-first listing, its cursor, and range scans per user.
        m.create_index(
            Index::create()
                .name("idx_checkins_user_timestamp")
                .table(DailyCheckins::Table)
                .col(DailyCheckins::UserId)
                .col(DailyCheckins::Timestamp)
                .col(DailyCheckins::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AiAnalysisResults::Table)
                .col(uuid(AiAnalysisResults::Id).primary_key())
                .col(uuid(AiAnalysisResults::CheckinId))
                .col(uuid(AiAnalysisResults::UserId))
                .col(string(AiAnalysisResults::Status))
                .col(string_null(AiAnalysisResults::ModelVersion))
                .col(text_null(AiAnalysisResults::Summary))
                .col(json_binary_null(AiAnalysisResults::Labels))
                .col(double_null(AiAnalysisResults::Confidence))
                .col(json_binary_null(AiAnalysisResults::RawFeatures))
                .col(text_null(AiAnalysisResults::Error))
                .col(integer(AiAnalysisResults::Attempts).default(0))
                .col(string_null(AiAnalysisResults::RequestId))
                .col(timestamp_with_time_zone(AiAnalysisResults::CreatedAt))
                .col(timestamp_with_time_zone_null(AiAnalysisResults::StartedAt))
                .col(timestamp_with_time_zone_null(AiAnalysisResults::CompletedAt))
                .col(timestamp_with_time_zone(AiAnalysisResults::UpdatedAt))
                .foreign_key(&mut user_fk(AiAnalysisResults::Table, AiAnalysisResults::UserId))
                .foreign_key(
                    ForeignKey::create()
                        .from(AiAnalysisResults::Table, AiAnalysisResults::CheckinId)
                        .to(DailyCheckins::Table, DailyCheckins::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One analysis per check-in and model version.
        m.create_index(
            Index::create()
                .name("uq_analysis_checkin_version")
                .table(AiAnalysisResults::Table)
                .col(AiAnalysisResults::CheckinId)
                .col(AiAnalysisResults::ModelVersion)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_analysis_user_created")
                .table(AiAnalysisResults::Table)
                .col(AiAnalysisResults::UserId)
                .col(AiAnalysisResults::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_analysis_status_created")
                .table(AiAnalysisResults::Table)
                .col(AiAnalysisResults::Status)
                .col(AiAnalysisResults::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alerts::Table)
                .col(uuid(Alerts::Id).primary_key())
                .col(uuid(Alerts::UserId))
                .col(uuid_null(Alerts::CheckinId))
                .col(uuid_null(Alerts::AiResultId))
                .col(string(Alerts::Type))
                .col(string(Alerts::Severity))
                .col(string(Alerts::Status))
                .col(json_binary(Alerts::Payload))
                .col(timestamp_with_time_zone(Alerts::CreatedAt))
                .col(timestamp_with_time_zone(Alerts::UpdatedAt))
                .foreign_key(&mut user_fk(Alerts::Table, Alerts::UserId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alerts::Table, Alerts::CheckinId)
                        .to(DailyCheckins::Table, DailyCheckins::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Alerts::Table, Alerts::AiResultId)
                        .to(AiAnalysisResults::Table, AiAnalysisResults::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        // At most one alert per rule per check-in: a redelivered job writes nothing twice.
        m.create_index(
            Index::create()
                .name("uq_alerts_checkin_type")
                .table(Alerts::Table)
                .col(Alerts::CheckinId)
                .col(Alerts::Type)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_alerts_user_status_created")
                .table(Alerts::Table)
                .col(Alerts::UserId)
                .col(Alerts::Status)
                .col(Alerts::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserSettings::Table)
                .col(uuid(UserSettings::UserId).primary_key())
                .col(string(UserSettings::Timezone))
                .col(string(UserSettings::Language))
                .col(boolean(UserSettings::NotifyEmail))
                .col(boolean(UserSettings::NotifyPush))
                .col(timestamp_with_time_zone(UserSettings::UpdatedAt))
                .foreign_key(&mut user_fk(UserSettings::Table, UserSettings::UserId))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLogs::Table)
                .col(uuid(AuditLogs::Id).primary_key())
                .col(uuid_null(AuditLogs::ActorId))
                .col(string(AuditLogs::Action))
                .col(json_binary(AuditLogs::Context))
                .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_audit_logs_actor").table(AuditLogs::Table).col(AuditLogs::ActorId).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_audit_logs_action").table(AuditLogs::Table).col(AuditLogs::Action).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(uuid(IdempotencyKeys::UserId))
                .col(string(IdempotencyKeys::Key))
                .col(string(IdempotencyKeys::RequestHash))
                .col(integer(IdempotencyKeys::ResponseStatus))
                .col(json_binary(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                .primary_key(Index::create().col(IdempotencyKeys::UserId).col(IdempotencyKeys::Key))
                .foreign_key(&mut user_fk(IdempotencyKeys::Table, IdempotencyKeys::UserId))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            AuditLogs::Table.into_iden(),
            UserSettings::Table.into_iden(),
            Alerts::Table.into_iden(),
            AiAnalysisResults::Table.into_iden(),
            DailyCheckins::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
