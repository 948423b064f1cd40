//! Database schema for MindWell, as SeaORM migrations.
//!
//! One migration set runs on PostgreSQL (production) and SQLite (the embedded
//! default). Timestamps carry no database default: the code always sets them, so
//! both backends store the same RFC 3339 form (see the SQLite note in the README).

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_init;
mod m20261122_000002_consents_summaries;
mod m20261122_000003_model_runs;
mod m20261201_000004_sessions_password_resets;
mod m20261201_000005_access_log;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_init::Migration),
            Box::new(m20261122_000002_consents_summaries::Migration),
            Box::new(m20261122_000003_model_runs::Migration),
            Box::new(m20261201_000004_sessions_password_resets::Migration),
            Box::new(m20261201_000005_access_log::Migration),
        ]
    }
}
