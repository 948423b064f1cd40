//! `model_runs`: outputs of model versions that do not serve users — shadow
//! candidates scored beside the active models, and backfills of past check-ins.
//! Never shown to users, never used for alerts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DailyCheckins {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ModelRuns {
    Table,
    Id,
    CheckinId,
    UserId,
    Purpose,
    ModelVersion,
    Output,
    LatencyMs,
    BaselineVersion,
    BaselineOutput,
    BaselineLatencyMs,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ModelRuns::Table)
                .col(uuid(ModelRuns::Id).primary_key())
                .col(uuid(ModelRuns::CheckinId))
                .col(uuid(ModelRuns::UserId))
                .col(string(ModelRuns::Purpose))
                .col(string(ModelRuns::ModelVersion))
                .col(json_binary(ModelRuns::Output))
                .col(double(ModelRuns::LatencyMs))
                .col(string_null(ModelRuns::BaselineVersion))
                .col(json_binary_null(ModelRuns::BaselineOutput))
                .col(double_null(ModelRuns::BaselineLatencyMs))
                .col(timestamp_with_time_zone(ModelRuns::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ModelRuns::Table, ModelRuns::CheckinId)
                        .to(DailyCheckins::Table, DailyCheckins::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One run per check-in, version and purpose: redelivered jobs write nothing twice.
        m.create_index(
            Index::create()
                .name("uq_model_runs_checkin_version_purpose")
                .table(ModelRuns::Table)
                .col(ModelRuns::CheckinId)
                .col(ModelRuns::ModelVersion)
                .col(ModelRuns::Purpose)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_model_runs_version_purpose")
                .table(ModelRuns::Table)
                .col(ModelRuns::ModelVersion)
                .col(ModelRuns::Purpose)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ModelRuns::Table).to_owned()).await?;
        Ok(())
    }
}
