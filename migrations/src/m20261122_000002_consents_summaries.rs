//! Coach consents (versioned receipts, never deleted by a revocation) and summaries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    UserId,
    CoachId,
    Scope,
    GrantedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Summaries {
    Table,
    Id,
    UserId,
    Period,
    PeriodStart,
    PeriodEnd,
    Summary,
    Metrics,
    ModelVersion,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Consents::Table)
                .col(uuid(Consents::Id).primary_key())
                .col(uuid(Consents::UserId))
                .col(uuid(Consents::CoachId))
                .col(string(Consents::Scope))
                .col(timestamp_with_time_zone(Consents::GrantedAt))
                .col(timestamp_with_time_zone_null(Consents::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Consents::Table, Consents::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Consents::Table, Consents::CoachId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_consents_coach_user")
                .table(Consents::Table)
                .col(Consents::CoachId)
                .col(Consents::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_consents_user").table(Consents::Table).col(Consents::UserId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Summaries::Table)
                .col(uuid(Summaries::Id).primary_key())
                .col(uuid(Summaries::UserId))
                .col(string(Summaries::Period))
                .col(date(Summaries::PeriodStart))
                .col(date(Summaries::PeriodEnd))
                .col(text(Summaries::Summary))
                .col(json_binary(Summaries::Metrics))
                .col(string(Summaries::ModelVersion))
                .col(timestamp_with_time_zone(Summaries::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Summaries::Table, Summaries::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One summary per user, period and start date.
        m.create_index(
            Index::create()
                .name("uq_summaries_user_period_start")
                .table(Summaries::Table)
                .col(Summaries::UserId)
                .col(Summaries::Period)
                .col(Summaries::PeriodStart)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Summaries::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Consents::Table).to_owned()).await?;
        Ok(())
    }
}
